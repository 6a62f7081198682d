"""Shared helpers of the import tests: the fixture courses, and running real nbgrader and otter on them."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import nbformat

from conftest import BIN, ROOT, cli_env, run_cli

FIXTURES = ROOT / "tests" / "fixtures"
NBGRADER_COURSE = FIXTURES / "nbgrader-course"
OTTER_COURSE = FIXTURES / "otter-course"
STUDENTS = ("alice", "bob", "carol")


def tool(name: str, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a console script of this venv (nbgrader, otter), failing the test with its output."""
    proc = subprocess.run([str(BIN / name), *args], cwd=cwd, env=cli_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{name} {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def imported_course(root: Path, *paths: Path, build: bool = True) -> dict:
    """`mlgrader import PATH... --root root --json`, then `mlgrader build`; the import report."""
    proc = run_cli("import", *map(str, paths), "--root", str(root), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    if build:
        built = run_cli("build", "--root", str(root))
        assert built.returncode == 0, built.stderr
    return report


def validation(root: Path) -> dict:
    proc = run_cli("validate", "--root", str(root), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], json.dumps(report, indent=1)
    return report


def real_nbgrader_course(tmp: Path) -> Path:
    """A copy of the fixture course, run through nbgrader's own generate_assignment and autograde."""
    course = tmp / "nbgrader-real"
    shutil.copytree(NBGRADER_COURSE, course)
    with (course / "nbgrader_config.py").open("a") as handle:
        handle.write(f"c.CourseDirectory.root = {str(course)!r}\n")
    tool("nbgrader", "generate_assignment", "week1", "--force", cwd=course)
    tool("nbgrader", "autograde", "week1", "--force", cwd=course)
    return course


def gradebook_scores(db: Path, assignment: str, notebook: str, students=STUDENTS) -> dict:
    """student -> grade cell -> (automatic score, needs a manual grade), from an nbgrader gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for student in students:
            notebook_row = gb.find_submission_notebook(notebook, assignment, student)
            out[student] = {g.name: (g.auto_score, g.needs_manual_grade) for g in notebook_row.grades}
    return out


def grades_csv(path: Path) -> dict[str, dict]:
    with path.open(newline="") as handle:
        return {(row["student"], row["notebook"]): row for row in csv.DictReader(handle)}


def cells_by_id(path: Path) -> dict[str, nbformat.NotebookNode]:
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}
