"""The instructor's final grade over cloned student repositories, with tamper flags.

Real git repositories made from classroom/01-gradient-descent/ (the GitHub Classroom layout,
`<assignment>-<login>/`): one student only fills in the exercises; another also edits the
workflow, the requirements and a public test, adds a workflow, and edits or deletes read-only
cells. grade-batch grades both with the real bundle, and grades.csv's tamper column and the
report name exactly what the second changed.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlgrader.batch.tamper import read_templates, tamper_flags

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, NOTEBOOK = "01-gradient-descent", "gradient_descent"
TEMPLATE = ROOT / "classroom" / ASSIGNMENT

pytestmark = pytest.mark.slow


def completed_release() -> nbformat.NotebookNode:
    """The release notebook with the exercise cells of the solution: what an honest student pushes."""
    release = nbformat.read(TEMPLATE / f"{NOTEBOOK}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return release


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Student", "-c", "user.email=s@example.org", *args], cwd=repo,
                   check=True, capture_output=True)


def student_repository(folder: Path, login: str, tamper: bool) -> Path:
    repo = folder / f"{ASSIGNMENT}-{login}"
    shutil.copytree(TEMPLATE, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "template")
    nb = completed_release()
    if tamper:
        workflow = repo / ".github/workflows/classroom.yml"
        workflow.write_text(workflow.read_text() + "# skip the checks\n")
        (repo / ".github/workflows/extra.yml").write_text("on: push\njobs: {}\n")
        (repo / "requirements.txt").write_text("numpy\n")
        public_test = next((repo / ".mlgrader" / "autograder").rglob("test-derivative.py"))
        public_test.write_text("pass\n")
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid == "setup-1":
                cell.source += "\nimport numpy; numpy.allclose = lambda *a, **k: True"
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test-nudge"]
    nbformat.write(nb, repo / f"{NOTEBOOK}.ipynb")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "my work")
    return repo


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("repos")
    student_repository(folder, "honest", tamper=False)
    student_repository(folder, "tinkerer", tamper=True)
    out = folder / "grades"
    proc = subprocess.run([str(Path(sys.executable).parent / "mlgrader"), "grade-batch", str(folder), "--out",
                           str(out), "--workers", "2", "--autograder", str(ROOT / "autograder"),
                           "--templates", str(ROOT / "classroom")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with (out / "grades.csv").open(newline="") as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    return rows, out, proc.stdout


def test_an_honest_repository_has_no_flag_and_full_marks(graded):
    rows, _, _ = graded
    assert (rows["honest"]["score"], rows["honest"]["status"], rows["honest"]["tamper"]) == ("8", "graded", "")


def test_every_change_to_the_template_is_flagged(graded):
    rows, out, stdout = graded
    flags = rows["tinkerer"]["tamper"].split("; ")
    test_file = f".mlgrader/autograder/{ASSIGNMENT}/tests/{NOTEBOOK}/test-derivative.py"
    assert set(flags) == {".github/workflows/classroom.yml changed", "requirements.txt changed",
                          f"{test_file} changed", ".github/workflows/extra.yml added",
                          "read-only cell setup-1 changed", "read-only cell test-nudge deleted"}
    assert "tamper  tinkerer" in stdout
    report = (out / "report.html").read_text()
    assert "Repositories changed where they must not be (1)" in report and "extra.yml added" in report
    saved = json.loads((out / "results" / "tinkerer.json").read_text())
    assert "requirements.txt changed" in saved["tamper"]


def test_tampering_gains_nothing(graded):
    rows, _, _ = graded
    # The grader used its own bundle, restored the read-only cells (the patched setup cell too)
    # and put the deleted test back: the same score as the honest student.
    assert rows["tinkerer"]["score"] == "8" and rows["tinkerer"]["status"] == "graded"


def test_the_students_own_template_manifest_is_never_trusted(tmp_path):
    repo = student_repository(tmp_path, "forger", tamper=True)
    forged = json.loads((repo / ".mlgrader/template.json").read_text())
    forged["protected"] = {}
    (repo / ".mlgrader/template.json").write_text(json.dumps(forged))
    template = read_templates(ROOT / "classroom")[ASSIGNMENT]
    flags = tamper_flags(repo, repo / f"{NOTEBOOK}.ipynb", template)
    assert "requirements.txt changed" in flags and ".github/workflows/classroom.yml changed" in flags


def test_a_protected_file_replaced_by_a_link_is_flagged_and_not_followed(tmp_path):
    repo = student_repository(tmp_path, "linker", tamper=False)
    (repo / "requirements.txt").unlink()
    (repo / "requirements.txt").symlink_to("/dev/zero")  # reading it would never end
    template = read_templates(ROOT / "classroom")[ASSIGNMENT]
    assert tamper_flags(repo, repo / f"{NOTEBOOK}.ipynb", template) == ("requirements.txt replaced by a link",)
