"""The feedback page and the class report, rendered by a real browser (headless Chromium):
what a student sees on screen, whether the plots load, and that no hidden test source shows."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT
from mlgrader.bundle import public_part
from mlgrader.grading import grade_notebook
from mlgrader.report.class_report import write_class_report
from mlgrader.report.feedback import write_feedback

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (scripts/system-deps.sh installs it)")

# Appended to a copy of the page: once everything loaded, write what the browser shows
# (innerText: only rendered, visible text) and how many images decoded into the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const probe = document.createElement("pre");
  probe.id = "mlgrader-probe";
  probe.textContent = JSON.stringify({
    text: document.body.innerText,
    images: images.length,
    loaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
  });
  document.body.appendChild(probe);
});
</script>"""


def rendered(page_path, tmp_path) -> dict:
    """What Chromium shows of ``page_path``: its visible text and its images, loaded or not."""
    probed = tmp_path / f"probed-{page_path.name}"
    probed.write_text(page_path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", probed.as_uri()],
                          capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="mlgrader-probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"Chromium rendered no probe: {proc.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


def _graded(nb, tmp_path, name):
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return grade_notebook(path, ASSIGNMENT, ROOT / "autograder")


def _hidden_lines(assignment: str) -> list[str]:
    """Distinctive lines of the hidden tests of an assignment (they must never be on screen)."""
    lines = []
    for test in (ROOT / "autograder" / assignment / "tests").rglob("*.py"):
        source = test.read_text()
        public = set(public_part(source).splitlines())
        lines += [line.strip() for line in source.splitlines() if len(line.strip()) > 25 and line not in public]
    return lines


def test_feedback_page_shows_the_summary_the_mistake_and_the_loss_curve(solution_nb, tmp_path):
    for cell in solution_nb.cells:  # a gradient that sums over the examples, from a Colab notebook
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "gradient-weight":
            cell.source = cell.source.replace("grad = 2 * np.mean(error * x)", "grad = 2 * np.sum(error * x)")
    solution_nb.cells.insert(1, nbformat.v4.new_code_cell("from google.colab import drive\ndrive.mount('/content/drive')"))
    result = _graded(solution_nb, tmp_path, "colab")
    assert result.curves, "the loss history the tests checked is kept for the plot"
    page = write_feedback(result, tmp_path / "feedback.html", student="ada")
    shown = rendered(page, tmp_path)
    text = shown["text"]
    assert shown["images"] >= 2 and shown["loaded"] == shown["images"]  # points, loss curves, cell times
    assert "Google Colab" in text and "Your training" in text
    assert "the steps were larger than they should be" in text
    assert not [line for line in _hidden_lines(ASSIGNMENT) if line in text]


def test_feedback_of_a_foreign_notebook_starts_its_notes_with_the_summary(tmp_path):
    other = nbformat.read(ROOT / "release" / "02-linear-regression" / "linear_regression.ipynb", as_version=4)
    other.metadata.pop("mlgrader", None)
    other.metadata.pop("nbgrader", None)
    result = _graded(other, tmp_path, "foreign")
    shown = rendered(write_feedback(result, tmp_path / "foreign.html"), tmp_path)
    notes = shown["text"].split("Notes", 1)[1]
    assert notes.strip().startswith("none of the 4 cells you write in gradient_descent.ipynb")


def test_class_report_renders_with_its_plots_and_names_a_foreign_notebook(solution_nb, release_nb, tmp_path):
    other = nbformat.read(ROOT / "release" / "02-linear-regression" / "linear_regression.ipynb", as_version=4)
    other.metadata.pop("mlgrader", None)
    other.metadata.pop("nbgrader", None)
    results = [_graded(solution_nb, tmp_path, "full"), _graded(release_nb, tmp_path, "stub"),
               _graded(other, tmp_path, "foreign")]
    shown = rendered(write_class_report(results, tmp_path / "report.html"), tmp_path)
    assert shown["images"] >= 1 and shown["loaded"] == shown["images"]
    assert ASSIGNMENT in shown["text"]
    assert "not this assignment's notebook" in shown["text"] and "none of the 4 cells you write in" in shown["text"]
    assert not [line for line in _hidden_lines(ASSIGNMENT) if line in shown["text"]]
