"""`mlgrader import` of an nbgrader course, end to end: import, build, validate, grade the students'
existing submissions side by side with a real `nbgrader autograde`, the gradebook with pending
manual answers, formgrader, and the TA's manual points read back into grades.csv.

The course is tests/fixtures/nbgrader-course (made by tests/fixtures/make_import_fixtures.py);
nbgrader's own documentation example (ps1, shipped with nbgrader) is imported too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import run_cli
from importing import (NBGRADER_COURSE, STUDENTS, cells_by_id, gradebook_scores, grades_csv, imported_course,
                       real_nbgrader_course, validation)
from mlgrader.authoring.solution import read_solution
from mlgrader.bundle import INSTALL_CELL_ID

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The fixture course imported into a fresh course directory, built, with the students' submissions."""
    root = tmp_path_factory.mktemp("imported") / "course"
    root.mkdir()
    report = imported_course(root, NBGRADER_COURSE / "source" / "week1")
    assert report["format"] == "nbgrader" and report["ok"]
    shutil.copytree(NBGRADER_COURSE / "submitted", root / "submitted")
    return root


@pytest.fixture(scope="module")
def nbgrader_autograded(tmp_path_factory) -> Path:
    return real_nbgrader_course(tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="module")
def batch(course) -> Path:
    """grade-batch over the existing submissions, recording into a fresh nbgrader gradebook."""
    proc = run_cli("grade-batch", str(course / "submitted"), "--out", str(course / "grades"),
                   "--autograder", str(course / "autograder"), "--gradebook", f"sqlite:///{course / 'gradebook.db'}",
                   cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return course / "grades"


def test_every_kind_of_cell_is_carried(course):
    spec = read_solution(course / "solutions" / "week1" / "stats.py")
    kinds = {c.grade_id: (c.kind, c.points) for c in spec.cells if c.explicit_id}
    assert kinds == {
        "intro": ("markdown", 0), "load-data": ("setup", 0), "test-helpers": ("setup", 0), "mean": ("exercise", 0),
        "test-mean": ("test", 1), "test-mean-empty": ("test", 1), "standardise": ("exercise", 0),
        "test-standardise": ("test", 2), "interpret": ("manual", 2), "histogram": ("manual", 1),
        "report": ("task", 3)}
    assert spec.cell("test-helpers").helper  # a hidden test calls its check_close
    assert spec.cell("interpret").cell_type == "markdown" and spec.cell("histogram").cell_type == "code"
    assert "### BEGIN MARK SCHEME" in spec.cell("report").source
    assert "### BEGIN HIDDEN TESTS" in spec.cell("test-standardise").source
    # the header notebook nbgrader prepends, as cells students may edit
    assert [c.kind for c in spec.cells[:2]] == ["editable", "editable"] and 'NAME = ""' in spec.cells[1].source
    assert spec.files == ("data/measurements.csv", "plot.png")
    for name in spec.files:
        source = (NBGRADER_COURSE / "source" / "week1" / name).read_bytes()
        assert (course / "solutions" / "week1" / "files" / name).read_bytes() == source
        for copy in ("source", "release"):
            assert (course / copy / "week1" / name).read_bytes() == source
        assert (course / "autograder" / "week1" / "files" / name).read_bytes() == source


def test_students_get_what_nbgrader_gave_them(course, nbgrader_autograded):
    """The release mlgrader builds (through nbgrader) has nbgrader's own release's cells, sources and metadata."""
    ours = nbformat.read(course / "release" / "week1" / "stats.ipynb", as_version=4)
    theirs = nbformat.read(nbgrader_autograded / "release" / "week1" / "stats.ipynb", as_version=4)
    # mlgrader adds one cell in front: the install cell of the carried wheel (the student template's)
    assert ours.cells[0].id == INSTALL_CELL_ID and len(ours.cells) == len(theirs.cells) + 1
    keys = ("grade", "solution", "locked", "task", "points", "grade_id")
    for mine, real in zip(ours.cells[1:], theirs.cells):
        assert (mine.cell_type, mine.source) == (real.cell_type, real.source)
        assert {k: mine.metadata.get("nbgrader", {}).get(k) for k in keys} == \
               {k: real.metadata.get("nbgrader", {}).get(k) for k in keys}
    assert ours.metadata.kernelspec == theirs.metadata.kernelspec
    assert sorted(p.name for p in (course / "release" / "week1").iterdir()) == ["data", "plot.png", "stats.ipynb"]


def test_the_imported_assignment_validates(course):
    cases = {c["case"]: c for c in validation(course)["cases"]}
    assert cases["solution"]["score"] == 4 and cases["solution"]["max_score"] == 10
    assert "6 points graded by staff (pending): interpret, histogram, report" in cases["solution"]["detail"]
    assert cases["stub"]["score"] == 0


def test_existing_submissions_grade_as_nbgrader_autograde_does(course, batch, nbgrader_autograded):
    ours = gradebook_scores(course / "gradebook.db", "week1", "stats")
    theirs = gradebook_scores(nbgrader_autograded / "gradebook.db", "week1", "stats")
    assert ours == theirs  # every cell: the same automatic score, the same "needs a manual grade"
    assert theirs["alice"]["interpret"] == (None, True) and theirs["bob"]["interpret"] == (0.0, False)
    rows = grades_csv(batch / "grades.csv")
    assert {s: float(rows[(s, "stats")]["score"]) for s in STUDENTS} == {"alice": 4.0, "bob": 2.0, "carol": 0.0}
    alice = json.loads((batch / "results" / "alice.json").read_text())
    assert {t["name"]: t["status"] for t in alice["tests"]} == {
        "test-mean": "passed", "test-mean-empty": "passed", "test-standardise": "passed",
        "interpret": "pending", "histogram": "pending", "report": "pending"}
    assert any("graded by the course staff later" in m for m in alice["messages"])
    assert "Still to be graded by the course staff" in (batch / "feedback" / "alice.html").read_text()


def test_formgrader_shows_the_pending_answers_to_a_ta(course, batch):
    from nbconvert.exporters import HTMLExporter
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    api = NbGraderAPI(coursedir=CourseDirectory(root=str(course), db_url=f"sqlite:///{course / 'gradebook.db'}"))
    listed = {s["student"]: s for s in api.get_notebook_submissions("week1", "stats")}
    assert set(listed) == set(STUDENTS) and all(s["needs_manual_grade"] for s in listed.values())
    autograded = course / "autograded" / "alice" / "week1" / "stats.ipynb"
    assert (autograded.parent / "plot.png").exists()
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    html, _ = HTMLExporter(config=config).from_filename(str(autograded), resources={
        "assignment_id": "week1", "notebook_id": "stats", "submission_id": listed["alice"]["id"], "index": 0,
        "total": 3, "base_url": "", "student": "alice", "last_name": None, "first_name": None,
        "notebook_path": "autograded/alice/week1/stats.ipynb"})
    assert "It is two standard deviations above the average." in html and "interpret" in html


def test_manual_points_from_the_gradebook_join_the_scores(course, batch):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_grade("interpret", "stats", "week1", "alice").manual_score = 1.5
        gb.find_grade("histogram", "stats", "week1", "alice").manual_score = 1.0
        gb.db.commit()
    out = course / "grades-after-ta"
    proc = run_cli("grade-batch", str(course / "submitted"), "--out", str(out), "--autograder",
                   str(course / "autograder"), "--gradebook", f"sqlite:///{course / 'gradebook.db'}", cwd=course)
    assert proc.returncode == 0, proc.stderr
    rows = grades_csv(out / "grades.csv")
    assert (rows[("alice", "stats")]["score"], rows[("alice", "stats")]["manual_points"]) == ("6.5", "2.5")
    assert rows[("bob", "stats")]["manual_points"] == ""  # nobody graded bob's answers yet
    alice = json.loads((out / "results" / "alice.json").read_text())
    assert {t["name"]: (t["status"], t["score"]) for t in alice["tests"] if t["name"] in ("interpret", "report")} \
        == {"interpret": ("failed", 1.5), "report": ("pending", 0.0)}
    assert any("(report)" in m for m in alice["messages"])  # only the task still waits
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # the TA's score survives the regrade
        assert gb.find_grade("interpret", "stats", "week1", "alice").manual_score == 1.5
    report = (out / "report.html").read_text()
    assert "Still to be graded by staff" in report


def test_nbgraders_own_documentation_example(tmp_path):
    """nbgrader's docs example (ps1: a picture, manual answers, a task, a test that deletes a notebook
    name): imported, validated, and its two students graded to the scores of nbgrader's own grades.csv."""
    import csv

    import nbgrader

    guide = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
    root = tmp_path / "course"
    root.mkdir()
    imported_course(root, guide / "source" / "ps1")
    validation(root)
    shutil.copytree(guide / "submitted", root / "submitted")
    proc = run_cli("grade-batch", str(root / "submitted"), "--out", str(root / "grades"), "--autograder",
                   str(root / "autograder"), cwd=root)
    assert proc.returncode == 0, proc.stderr
    ours: dict[str, float] = {}
    for row in grades_csv(root / "grades" / "grades.csv").values():
        ours[row["student"]] = ours.get(row["student"], 0.0) + float(row["score"])
    with (guide / "grades.csv").open() as handle:
        documented = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)}
    assert ours == documented  # bitdiddle 1.5, hacker 3.0
