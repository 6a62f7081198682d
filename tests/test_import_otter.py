"""`mlgrader import` of otter-grader master notebooks, end to end: hw1 (format v1, OK tests), hw2
(exception-based tests) and hw0 (format v0) from tests/fixtures/otter-course: import, build,
validate, grade (the students' own otter notebooks side by side with a real `otter run`), and
the gradebook with pending manual answers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import grade_json, run_cli
from importing import OTTER_COURSE, imported_course, tool, validation
from mlgrader.authoring.solution import read_solution

pytestmark = pytest.mark.slow

# Answers a student gives in otter's own student notebook of hw1 (cell starts -> source).
SOLVED = {"def centre(x):": "def centre(x):\n    return np.mean(x)\n\ntallest = heights.max()",
          "spread = ...": "spread = heights.max() - heights.min()",
          "_Write your answer here._": "One tall person moves the sum, and so the mean, a lot."}
# The median for the mean (right on both public cases, wrong on the hidden one), the maximum for the range.
WRONG = {"def centre(x):": "def centre(x):\n    return np.median(x)\n\ntallest = heights.max()",
         "spread = ...": "spread = heights.max()"}
UNTOUCHED: dict[str, str] = {}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("otter-imported") / "course"
    root.mkdir()
    report = imported_course(root, *(OTTER_COURSE / name / f"{name}.ipynb" for name in ("hw1", "hw2", "hw0")))
    assert report["format"] == "otter" and [nb["assignment"] for nb in report["notebooks"]] == ["hw1", "hw2", "hw0"]
    return root


@pytest.fixture(scope="module")
def otter_assigned(tmp_path_factory) -> Path:
    """hw1 through otter's own `otter assign`: its student notebook and autograder zip."""
    work = tmp_path_factory.mktemp("otter-real")
    shutil.copytree(OTTER_COURSE / "hw1", work / "hw1")
    tool("otter", "assign", "hw1.ipynb", "dist", "--no-pdfs", cwd=work / "hw1")
    return work / "hw1" / "dist"


def answered(student_notebook: Path, answers: dict[str, str], target: Path) -> Path:
    nb = nbformat.read(student_notebook, as_version=4)
    for cell in nb.cells:
        for start, source in answers.items():
            if cell.source.startswith(start):
                cell.source = source
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    for extra in ("bars.png", "data"):
        source = student_notebook.parent / extra
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target.parent / extra)
    return target


def otter_scores(dist: Path, notebook: Path) -> dict[str, float]:
    """Question -> points, from a real `otter run` with otter's autograder zip."""
    out = notebook.parent / "otter-out"
    out.mkdir()
    zip_path = next((dist / "autograder").glob("hw1-autograder_*.zip"))
    tool("otter", "run", "-a", str(zip_path), "-o", str(out), str(notebook), cwd=notebook.parent)
    results = json.loads((out / "results.json").read_text())
    return {t["name"]: t["score"] for t in results["tests"] if t.get("max_score")}


def per_question(result: dict, course: Path) -> dict[str, float]:
    """mlgrader's tests summed per otter question (the question each test's check cell names)."""
    manifest = json.loads((course / "autograder" / "hw1" / "manifest.json").read_text())
    question = {c["grade_id"]: c["match"].split('"')[1] for c in manifest["notebooks"][0]["cells"] if c.get("match")}
    out: dict[str, float] = {}
    for test in result["tests"]:
        if test["name"] in question:
            out[question[test["name"]]] = out.get(question[test["name"]], 0.0) + test["score"]
    return out


def test_every_part_of_the_masters_is_carried(course):
    hw1 = read_solution(course / "solutions" / "hw1" / "hw1.py")
    kinds = {c.grade_id: (c.kind, round(c.points, 3)) for c in hw1.cells if c.explicit_id}
    assert kinds == {"q1-answer": ("exercise", 0), "q1-1": ("test", 1), "q1-2": ("test", 1), "q1-3": ("test", 1),
                     "q2": ("manual", 2), "q3": ("manual", 1), "q4-answer": ("exercise", 0), "q4-1": ("test", 1),
                     "q4-2": ("test", 1)}
    assert "### BEGIN HIDDEN TESTS" in hw1.cell("q1-3").source and "### BEGIN HIDDEN TESTS" in hw1.cell("q4-1").source
    assert hw1.cell("q1-1").match == 'grader.check("q1")'
    assert [c.kind for c in hw1.cells if c.helper] == ["setup"]  # the close() the tests call
    assert hw1.files == ("bars.png", "data/heights.csv") and hw1.stubs == {"code": "...", "text": ""}
    hw2 = read_solution(course / "solutions" / "hw2" / "hw2.py")
    assert "test_small(double=double)" in hw2.cell("q1-1").source  # otter calls a test function with its values
    hw0 = read_solution(course / "solutions" / "hw0" / "hw0.py")
    assert {c.grade_id: c.kind for c in hw0.cells if c.explicit_id} == {
        "q1-answer": "exercise", "q1-1": "test", "q1-2": "test", "q2": "manual"}


def test_students_get_otters_placeholders(course):
    release = nbformat.read(course / "release" / "hw1" / "hw1.ipynb", as_version=4)
    sources = [c.source for c in release.cells]
    assert "def centre(x):\n    ...\n\ntallest = (\n    ...\n)" in sources
    assert "_Write your answer here._\n" in sources  # the prompt of the written question
    assert not any("SOLUTION" in s for s in sources) and not any("tallest) == 180" in s for s in sources)
    assert (course / "release" / "hw1" / "data" / "heights.csv").exists()


def test_the_imported_masters_validate(course):
    cases = {(c["assignment"], c["case"]): c for c in validation(course)["cases"]}
    assert cases[("hw1", "solution")]["score"] == 5 and "q2, q3" in cases[("hw1", "solution")]["detail"]
    assert cases[("hw2", "solution")]["score"] == cases[("hw2", "solution")]["max_score"] == 2
    assert cases[("hw0", "solution")]["score"] == 2


@pytest.mark.parametrize("answers", [SOLVED, WRONG, UNTOUCHED], ids=["solved", "wrong", "untouched"])
def test_students_otter_notebooks_grade_as_otter_does(course, otter_assigned, tmp_path, answers):
    notebook = answered(otter_assigned / "student" / "hw1.ipynb", answers, tmp_path / "sub" / "hw1.ipynb")
    theirs = otter_scores(otter_assigned, notebook)
    result = grade_json(notebook, "--assignment", "hw1", "--autograder", str(course / "autograder"))
    assert per_question(result, course) == theirs
    statuses = {t["name"]: t["status"] for t in result["tests"]}
    assert statuses["q2"] == statuses["q3"] == "pending"  # otter's manual questions, for staff
    assert any("no mlgrader cell ids" in m for m in result["messages"])


def test_the_mlgrader_release_grades_the_same(course, tmp_path):
    release = course / "release" / "hw1" / "hw1.ipynb"
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "q1-answer":
            cell.source = WRONG["def centre(x):"]
        elif gid == "q4-answer":
            cell.source = WRONG["spread = ..."]
        elif gid == "q2":
            cell.source = "Because it adds every value."
    path = tmp_path / "hw1.ipynb"
    nbformat.write(nb, path)
    result = grade_json(path, "--autograder", str(course / "autograder"))
    assert per_question(result, course) == {"q1": 2.0, "q4": 1.0}
    assert {t["name"]: t["status"] for t in result["tests"] if t["name"] in ("q2", "q3")} == \
        {"q2": "pending", "q3": "failed"}  # q3 left as handed out: no answer


def test_otter_answers_go_to_the_gradebook_as_pending(course, otter_assigned, tmp_path):
    from nbgrader.api import Gradebook

    notebook = answered(otter_assigned / "student" / "hw1.ipynb", SOLVED, tmp_path / "alice" / "hw1.ipynb")
    db = tmp_path / "gradebook.db"
    proc = run_cli("grade-batch", str(notebook), "--assignment", "hw1", "--autograder", str(course / "autograder"),
                   "--out", str(tmp_path / "grades"), "--gradebook", f"sqlite:///{db}")
    assert proc.returncode == 0, proc.stderr
    with Gradebook(f"sqlite:///{db}") as gb:
        q2 = gb.find_grade("q2", "hw1", "hw1", "alice")
        assert (q2.auto_score, q2.needs_manual_grade, q2.cell.cell_type) == (None, True, "markdown")
        assert gb.find_grade("q3", "hw1", "hw1", "alice").cell.cell_type == "code"
        assert gb.find_submission("hw1", "alice").score == 5.0
