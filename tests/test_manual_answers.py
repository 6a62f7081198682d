"""Manually graded answers, tasks, helper cells and files beside a notebook, in mlgrader's own authoring format.

A solution source declares them (docs/authoring.md); the release keeps answer cells for
students; grading reports them ``pending`` (0 points until staff grade them, and says so),
validate counts them neither way, the gradebook flags them for a TA, and the scores a TA
gives come back into the result.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import grade_json, run_cli
from mlgrader.authoring.errors import AuthoringError
from mlgrader.authoring.solution import read_solution
from mlgrader.bundle import INSTALL_CELL_ID, load_bundle
from mlgrader.results import GradeResult, apply_staff_scores
from mlgrader.results import TestResult as Verdict  # not named Test*: pytest would collect it

HEADER = """\
# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   mlgrader:
#     assignment: demo
#     files: [data/values.csv]
# ---
"""

SOURCE = HEADER + '''
# %% [markdown]
# # Demo

# %% helper=true
import numpy as np
TOL = 1e-9
values = np.loadtxt("data/values.csv")
def close_enough(a, b):
    return abs(a - b) < TOL

# %% grade_id="total"
### BEGIN SOLUTION
total = values.sum()
### END SOLUTION

# %% grade_id="test-total" points=2
assert close_enough(total, 10.0)
### BEGIN HIDDEN TESTS
assert close_enough(total / len(values), 2.5)
### END HIDDEN TESTS

# %% locked=false
print(total)

# %% [markdown] grade_id="explain" points=1 manual=true rubric="1 point: it adds every value"
# It adds every value.

# %% grade_id="squares" points=2 manual=true
### BEGIN SOLUTION
squares = values ** 2
### END SOLUTION

# %% [markdown] grade_id="report" points=3 task=true
# Describe the values.
# ### BEGIN MARK SCHEME
# one point each for the centre, the spread and the shape
# ### END MARK SCHEME
'''


def write_course(root: Path, source: str = SOURCE) -> Path:
    folder = root / "solutions" / "demo"
    (folder / "files" / "data").mkdir(parents=True)
    (folder / "files" / "data" / "values.csv").write_text("1\n2\n3\n4\n")
    (folder / "demo.py").write_text(source)
    return folder / "demo.py"


@pytest.mark.parametrize("cell, message", [
    ('# %% [markdown] points=2\n# text', "is manual=true"),
    ('# %% [markdown] grade_id="a" points=1 manual=true task=true\n# text', "not both"),
    ('# %% grade_id="a" task=true points=1\nx = 1', "task=true is for markdown"),
    ('# %% [markdown] grade_id="a" manual=true\n# text', "points must be positive"),
    ('# %% helper=true\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION', "helper=true is for read-only"),
    ('# %% grade_id="a" points=1 rubric="r"\nassert True', "rubric"),
    ('# %% [markdown]\n# ### BEGIN MARK SCHEME\n# m\n# ### END MARK SCHEME', "task=true"),
    ('# %% locked=false\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION', "locked=false is for cells"),
    ('# %% grade_id="a" manual=true points=1\n### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS', "cannot hold hidden"),
])
def test_the_format_says_what_is_wrong(tmp_path, cell, message):
    path = write_course(tmp_path, HEADER + "\n" + cell + "\n")
    with pytest.raises(AuthoringError, match=message):
        read_solution(path)


def test_files_must_exist_in_the_files_folder(tmp_path):
    path = write_course(tmp_path, HEADER.replace("data/values.csv", "data/missing.csv") + "\n# %%\nx = 1\n")
    with pytest.raises(AuthoringError, match="does not exist in"):
        read_solution(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("manual") / "course"
    write_course(root)
    proc = run_cli("build", "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    return root


def release_cells(root: Path) -> dict:
    """The release's cells by grade id (cell-<i> for the others), not counting the install cell mlgrader adds first."""
    nb = nbformat.read(root / "release" / "demo" / "demo.ipynb", as_version=4)
    assert nb.cells[0].id == INSTALL_CELL_ID
    return {c.metadata.get("nbgrader", {}).get("grade_id", f"cell-{i}"): c for i, c in enumerate(nb.cells[1:])}


def test_the_build_keeps_answer_cells_and_the_files(built):
    cells = release_cells(built)
    assert cells["explain"].source == "YOUR ANSWER HERE" and cells["explain"].metadata.nbgrader["points"] == 1
    assert cells["squares"].source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert cells["report"].source == "Describe the values." and cells["report"].metadata.nbgrader["task"]
    assert "nbgrader" not in cells["cell-4"].metadata  # the cell students may edit
    assert (built / "release" / "demo" / "data" / "values.csv").read_text() == "1\n2\n3\n4\n"
    entry = load_bundle(built / "autograder" / "demo").notebook(None)
    kinds = {c.grade_id: c.kind for c in entry.cells}
    assert (kinds["explain"], kinds["squares"], kinds["report"]) == ("manual", "manual", "task")
    assert entry.cell("explain").rubric == "1 point: it adds every value" and entry.cell("setup-1").helper
    assert entry.files == ("data/values.csv",) and entry.max_score == 8 and entry.staff_points == 6
    assert "one point each" not in json.dumps(nbformat.read(built / "release" / "demo" / "demo.ipynb", 4))


def test_validate_counts_answers_staff_grade_neither_way(built):
    proc = run_cli("validate", "--root", str(built), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], report
    solution = next(c for c in report["cases"] if c["case"] == "solution")
    assert (solution["score"], solution["max_score"]) == (2, 8)
    assert solution["detail"] == "6 points graded by staff (pending): explain, squares, report"


def test_grading_reports_pending_answers_and_no_answers(built, tmp_path):
    nb = nbformat.read(built / "release" / "demo" / "demo.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "total":  # right answer, then a helper the student made agree with anything
            cell.source = "total = values.sum()\ndef close_enough(a, b):\n    return True\nTOL = 1e9"
        elif gid == "explain":
            cell.source = "Adds them all up."
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "values.csv").write_text("5\n5\n")  # a data file of the student's: never used
    result = grade_json(path, "--autograder", str(built / "autograder"), "--feedback", str(tmp_path / "f.html"))
    tests = {t["name"]: (t["status"], t["score"]) for t in result["tests"]}
    assert tests == {"test-total": ("passed", 2.0), "explain": ("pending", 0.0), "squares": ("failed", 0.0),
                     "report": ("pending", 0.0)}
    assert next(t for t in result["tests"] if t["name"] == "squares")["output"].startswith("no answer")
    assert "4 points (explain, report) are graded by the course staff later" in " ".join(result["messages"])
    assert "Still to be graded by the course staff" in (tmp_path / "f.html").read_text()


def test_a_wrong_answer_is_not_rescued_by_a_redefined_helper(built, tmp_path):
    nb = nbformat.read(built / "release" / "demo" / "demo.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "total":
            cell.source = "total = 3.0\ndef close_enough(a, b):\n    return True\nTOL = 1e9"
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    result = grade_json(path, "--autograder", str(built / "autograder"))
    assert {t["name"]: t["status"] for t in result["tests"]}["test-total"] == "failed"


def test_the_gradebook_flags_pending_answers_and_gives_back_the_tas_points(built, tmp_path):
    from nbgrader.api import Gradebook

    from mlgrader.batch.gradebook import manual_scores, record_grades

    entry = load_bundle(built / "autograder" / "demo").notebook(None)
    tests = [Verdict("test-total", 2.0, 2.0, "passed"), Verdict("explain", 0.0, 1.0, "pending"),
             Verdict("squares", 0.0, 2.0, "failed", "no answer"), Verdict("report", 0.0, 3.0, "pending")]
    result = GradeResult("demo", 2.0, 8.0, tests, "demo", "demo.ipynb")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    record_grades([result], url, ["ann"], layouts={("demo", "demo"): entry})
    with Gradebook(url) as gb:
        explain = gb.find_grade("explain", "demo", "demo", "ann")
        assert (explain.auto_score, explain.needs_manual_grade, explain.cell.cell_type) == (None, True, "markdown")
        assert gb.find_grade("squares", "demo", "demo", "ann").cell.cell_type == "code"
        assert gb.find_grade("report", "demo", "demo", "ann").cell.type == "TaskCell"
        assert gb.find_comment("total", "demo", "demo", "ann") is not None  # formgrader's comment box
        explain.manual_score = 0.5
        gb.db.commit()
    given = manual_scores(url)  # only what a grader gave: the other cells are left out
    assert {k[3]: v.score for k, v in given.items()} == {"explain": 0.5}
    assert apply_staff_scores(result, {"explain": 0.5}) == 0.5
    assert result.score == 2.5 and [m for m in result.messages] == [
        "3 points (report) are graded by the course staff later; the score counts them as 0 until then"]
