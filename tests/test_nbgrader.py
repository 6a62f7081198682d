"""Real nbgrader on this course: generate_assignment and autograde agree with mlgrader."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import ASSIGNMENT, BIN, ROOT, cli_env


def _nbgrader(course: Path, *args: str) -> None:
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=cli_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_nbgrader_autograde_gives_solution_full_marks_and_stub_zero(tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = course / "release" / ASSIGNMENT / "gradient_descent.ipynb"
    for student, notebook in (("alice", course / "source" / ASSIGNMENT / "gradient_descent.ipynb"),
                              ("bob", release)):
        target = course / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copy(notebook, target / "gradient_descent.ipynb")
    _nbgrader(course, "autograde", ASSIGNMENT, "--force")
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        alice = gb.find_submission(ASSIGNMENT, "alice")
        bob = gb.find_submission(ASSIGNMENT, "bob")
        assert alice.max_score == 8
        assert alice.score == 8
        assert bob.score == 0
