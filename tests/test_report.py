"""Tests for mlgrader.report: real self-contained HTML, escaped, with plots."""

import base64
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from mlgrader.bundle import public_part
from mlgrader.grading import grade_notebook
from mlgrader.report import ReportRow, write_class_report, write_feedback
from mlgrader import results
from mlgrader.results import CellOutcome, GradeResult

Verdict = results.TestResult  # not named Test*: pytest would try to collect it

ROOT = Path(__file__).resolve().parents[1]
EVIL = '<script>alert("pwned")</script>'


def sample_result(score_first: float = 1.0) -> GradeResult:
    return GradeResult(
        assignment="01-gradient-descent", score=score_first + 2.0, max_score=8.0, notebook="gradient_descent",
        submission="submitted/alice/01-gradient-descent/gradient_descent.ipynb", sandbox="bubblewrap",
        tests=[
            Verdict("test-derivative", score_first, 1.0, "passed" if score_first else "failed",
                       "" if score_first else "df(3.0) is 9.0, expected 6.0"),
            Verdict("test-gd-loop", 2.0, 2.0, "passed"),
            Verdict("test-nudge", 0.0, 2.0, "failed", f"printed {EVIL} & <b>bold</b>"),
            Verdict("test-gradient-weight", 0.0, 3.0, "error", "time limit of 60 s reached"),
        ],
        messages=[f"read-only cell setup-1 was changed {EVIL}"],
        cells=[CellOutcome("cell 2 (setup-1)", "ok", 0.01), CellOutcome("cell 5 (derivative)", "ok", 0.2),
               CellOutcome("cell 8 (gd-loop)", "error", 0.05, f"ValueError: {EVIL}"),
               CellOutcome("cell 14 (gradient-weight)", "timeout", 60.0, "time limit")],
        seconds=3.2)


def plot_images(page: str) -> list[ElementTree.Element]:
    """The page's inline SVG plots, parsed (a malformed one fails here)."""
    return [ElementTree.fromstring(base64.b64decode(data))
            for data in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)]


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower()  # neither ours nor the student's
    assert not re.search(r'(src|href)="(https?:)?//', page), "no external resources (CDN)"


def test_feedback_is_escaped_self_contained_html_with_plots(tmp_path):
    path = write_feedback(sample_result(), tmp_path / "feedback" / "alice.html")
    page = path.read_text()
    assert_self_contained(page)
    assert EVIL not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt; " not in page and "&amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "3 / 8" in page
    for text in ("test-derivative", "test-nudge", "time limit of 60 s reached", "read-only cell setup-1 was changed",
                 "cell 14 (gradient-weight)", "timeout"):
        assert text in page
    images = plot_images(page)
    assert len(images) == 2  # points per test, time per cell
    assert all(image.tag == "{http://www.w3.org/2000/svg}svg" for image in images)
    texts = ["".join(image.itertext()) for image in images]
    assert "test-derivative" in texts[0] and "cell 14 (gradient-weight)" in texts[1]  # labels, escaped as XML


def test_feedback_for_an_ungradable_submission(tmp_path):
    result = GradeResult("", 0.0, 0.0, submission="carol.ipynb",
                         messages=["carol.ipynb is not valid notebook JSON (line 2, column 1)"])
    page = write_feedback(result, tmp_path / "carol.html").read_text()
    assert_self_contained(page)
    assert "not valid notebook JSON" in page and "No tests were graded" in page
    assert plot_images(page) == []


def test_class_report_with_no_results(tmp_path):
    page = write_class_report([], tmp_path / "report.html").read_text()
    assert_self_contained(page)
    assert "No submissions" in page and plot_images(page) == []


def test_class_report_has_distribution_pass_rates_links_and_problems(tmp_path):
    rows = [ReportRow("alice", sample_result(1.0), feedback="feedback/alice.html"),
            ReportRow("bob", sample_result(0.0), feedback="feedback/bob.html"),
            ReportRow(f"mallory{EVIL}", GradeResult("01-gradient-descent", 0.0, 8.0, notebook="gradient_descent"),
                      status="error", reason=f"the grading process was killed by SIGKILL {EVIL}",
                      feedback="feedback/mallory.html")]
    page = write_class_report(rows, tmp_path / "report.html").read_text()
    assert_self_contained(page)
    assert EVIL not in page
    assert 'href="feedback/alice.html"' in page and 'href="feedback/bob.html"' in page
    assert "killed by SIGKILL" in page and "could not be graded" in page
    assert "timeout" in page  # alice's and bob's timed-out cell is listed under problems
    # pass rates over the graded rows only: test-derivative passed for 1 of 2
    assert re.search(r"<td>test-derivative</td><td class=\"num\">1</td><td class=\"num\">50%</td>", page)
    assert len(plot_images(page)) == 2  # histogram, pass rates


def test_class_report_accepts_plain_results(tmp_path):
    page = write_class_report([sample_result()], tmp_path / "report.html").read_text()
    assert "gradient_descent" in page and len(plot_images(page)) == 2


@pytest.mark.slow
def test_feedback_of_a_real_grade_never_shows_hidden_tests(tmp_path):
    result = grade_notebook(ROOT / "release/01-gradient-descent/gradient_descent.ipynb",
                            autograder_dir=ROOT / "autograder")
    page = write_feedback(result, tmp_path / "stub.html").read_text()
    hidden_lines = []
    for test_file in (ROOT / "autograder/01-gradient-descent/tests").rglob("*.py"):
        source = test_file.read_text()
        public = {line.strip() for line in public_part(source).splitlines()}
        hidden_lines += [line.strip() for line in source.splitlines()
                         if len(line.strip()) > 12 and line.strip() not in public]
    assert hidden_lines, "the sample bundle has hidden tests"
    for line in hidden_lines:
        assert line not in page and line.replace('"', "&quot;").replace("'", "&#x27;") not in page
    assert "0 / 8" in page
