"""Tests for mlgrader.batch.gradebook against real nbgrader sqlite gradebooks, read back with nbgrader's API."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgrader import results
from mlgrader.batch.gradebook import record_grades
from mlgrader.results import GradeResult

api = pytest.importorskip("nbgrader.api")

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, NOTEBOOK = "01-gradient-descent", "gradient_descent"
Verdict = results.TestResult  # not named Test*: pytest would try to collect it


def bundle_tests() -> list[tuple[str, float]]:
    manifest = json.loads((ROOT / "autograder" / ASSIGNMENT / "manifest.json").read_text())
    return [(c["grade_id"], c["points"]) for c in manifest["notebooks"][0]["cells"] if c["kind"] == "test"]


def result_with(passed: set[str], tests=None) -> GradeResult:
    tests = tests or bundle_tests()
    verdicts = [Verdict(name, points if name in passed else 0.0, points,
                        "passed" if name in passed else "failed") for name, points in tests]
    return GradeResult(ASSIGNMENT, sum(v.score for v in verdicts), sum(points for _, points in tests), verdicts,
                       NOTEBOOK, f"submitted/x/{ASSIGNMENT}/{NOTEBOOK}.ipynb")


ALL = {name for name, _ in bundle_tests()}


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory) -> Path:
    """A course copy in which nbgrader's own generate_assignment created the gradebook."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n")
    from mlgrader.authoring.release import nbgrader_env

    nbgrader = Path(sys.executable).parent / "nbgrader"
    proc = subprocess.run([str(nbgrader), "generate_assignment", ASSIGNMENT, "--force"], cwd=course,
                          env=nbgrader_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return course


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory) -> Path:
    """A new, empty gradebook made once (nbgrader stamps each new one with a slow `alembic` run)."""
    path = tmp_path_factory.mktemp("empty") / "gradebook.db"
    record_grades([], f"sqlite:///{path}", [])
    return path


@pytest.fixture
def db_url(empty_gradebook, tmp_path) -> str:
    shutil.copy(empty_gradebook, tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def test_grades_land_on_the_grade_cells_nbgrader_created(nbgrader_course, tmp_path):
    db = tmp_path / "gradebook.db"
    shutil.copy(nbgrader_course / "gradebook.db", db)
    url = f"sqlite:///{db}"
    with api.Gradebook(url) as gb:
        before = {c.name: c.max_score for c in gb.find_notebook(NOTEBOOK, ASSIGNMENT).grade_cells}
    assert before == dict(bundle_tests())  # nbgrader's grade cells are mlgrader's tests

    write = record_grades([result_with(ALL), result_with({"test-gd-loop"})], url, ["alice", "bob"])
    assert (write.recorded, write.created_cells, write.skipped) == (2, [], [])

    with api.Gradebook(url) as gb:
        assert gb.find_submission(ASSIGNMENT, "alice").score == 8.0
        assert gb.find_submission(ASSIGNMENT, "bob").score == 2.0
        grade = gb.find_grade("test-gd-loop", NOTEBOOK, ASSIGNMENT, "bob")
        assert (grade.auto_score, grade.max_score, grade.needs_manual_grade) == (2.0, 2.0, False)
        assert gb.find_grade("test-derivative", NOTEBOOK, ASSIGNMENT, "bob").auto_score == 0.0
        assert gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "bob").failed_tests
        assert gb.average_assignment_score(ASSIGNMENT) == 5.0


def test_an_empty_gradebook_gets_the_structure_and_regrades_update_it(db_url):
    url = db_url
    write = record_grades([result_with({"test-derivative"})], url, ["carol"])
    assert len(write.created_cells) == len(bundle_tests())
    with api.Gradebook(url) as gb:
        assert gb.find_assignment(ASSIGNMENT).max_score == 8.0
        assert gb.find_submission(ASSIGNMENT, "carol").score == 1.0
        # a grader gives a manual score to one cell; a regrade must keep it and flag it
        gb.find_grade("test-nudge", NOTEBOOK, ASSIGNMENT, "carol").manual_score = 1.5
        gb.db.commit()

    write = record_grades([result_with(ALL)], url, ["carol"])
    assert write.created_cells == []
    with api.Gradebook(url) as gb:
        nudge = gb.find_grade("test-nudge", NOTEBOOK, ASSIGNMENT, "carol")
        assert (nudge.auto_score, nudge.manual_score, nudge.score, nudge.needs_manual_grade) == (2.0, 1.5, 1.5, True)
        assert gb.find_grade("test-derivative", NOTEBOOK, ASSIGNMENT, "carol").needs_manual_grade is False
        assert len(gb.find_submission(ASSIGNMENT, "carol").notebooks[0].grades) == len(bundle_tests())
        assert gb.find_submission(ASSIGNMENT, "carol").score == 7.5


def test_a_submission_made_before_a_new_test_gets_its_grade_row(db_url):
    url = db_url
    record_grades([result_with(ALL, tests=[("test-derivative", 1.0)])], url, ["dave"])
    write = record_grades([result_with(ALL)], url, ["dave"])
    assert len(write.created_cells) == len(bundle_tests()) - 1
    with api.Gradebook(url) as gb:
        assert gb.find_grade("test-gradient-weight", NOTEBOOK, ASSIGNMENT, "dave").auto_score == 3.0
        assert gb.find_submission(ASSIGNMENT, "dave").score == 8.0


def test_results_without_an_assignment_are_skipped_not_recorded(db_url):
    url = db_url
    broken = GradeResult("", 0.0, 0.0, submission="erin.ipynb", messages=["not valid notebook JSON"])
    write = record_grades([broken, result_with(ALL)], url, ["erin", "frank"])
    assert write.recorded == 1 and write.skipped and "erin" in write.skipped[0]
    with api.Gradebook(url) as gb:
        assert [s.id for s in gb.students] == ["frank"]
    with pytest.raises(ValueError):
        record_grades([broken], url, [])


def test_a_batch_records_its_graded_rows_only(db_url, tmp_path):
    from mlgrader.batch.layouts import Submission
    from mlgrader.batch.rows import BatchRow
    from mlgrader.batch.run import record_in_gradebook, write_row_files

    rows = [BatchRow(Submission(Path("a.ipynb"), "alice", key="alice"), result_with(ALL), "graded", ""),
            BatchRow(Submission(Path("b.ipynb"), "bob", key="bob"), result_with(set()), "error",
                     "the grading process was killed by SIGKILL")]
    write = record_in_gradebook(rows, db_url)
    assert write.recorded == 1
    with api.Gradebook(db_url) as gb:
        assert [s.id for s in gb.students] == ["alice"]
        assert gb.find_submission(ASSIGNMENT, "alice").score == 8.0
    for row in rows:
        write_row_files(row, tmp_path / "out")
    saved = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out" / "results").glob("*.json")}
    assert (saved["alice"]["status"], saved["alice"]["score"]) == ("graded", 8.0)
    assert saved["bob"]["status"] == "error"  # on file, but never in the gradebook
