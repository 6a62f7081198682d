"""Real nbgrader on this course: generate_assignment and autograde agree with mlgrader.

The solution (the source notebook) must get full marks in nbgrader's own gradebook and the
student release zero, for every assignment whose notebooks train in seconds. (The
FashionMNIST assignments are validated through mlgrader; under nbgrader they work the
same way but retrain for a minute each.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, ROOT, cli_env

ASSIGNMENTS = ["01-gradient-descent", "02-linear-regression", "03-neural-networks", "04-softmax-regression"]


def _nbgrader(course: Path, *args: str) -> None:
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=cli_env(),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nbgrader_autograde_gives_solution_full_marks_and_stub_zero(tmp_path, assignment):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / assignment, course / "source" / assignment)
    _nbgrader(course, "generate_assignment", assignment, "--force")
    notebooks = sorted(p.name for p in (course / "source" / assignment).glob("*.ipynb"))
    for student, folder in (("alice", "source"), ("bob", "release")):
        target = course / "submitted" / student / assignment
        target.mkdir(parents=True)
        for name in notebooks:
            shutil.copy(course / folder / assignment / name, target / name)
    _nbgrader(course, "autograde", assignment, "--force")
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        alice = gb.find_submission(assignment, "alice")
        bob = gb.find_submission(assignment, "bob")
        assert alice.max_score > 0
        assert alice.score == alice.max_score
        assert bob.score == 0
