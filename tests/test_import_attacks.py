"""The corpus's attacks that work on any notebook (monkeypatching numpy, builtins, mlgrader or otter,
IPython input transformers and hooks, sys.settrace, reading the tests from disk) and the
imported courses' own (redefining the helper a test calls), each injected into a student's
honest notebook of an imported assignment: none gains a point, none shows hidden test text.

Both import paths: the nbgrader course's existing submission of bob (2 points honestly), and
a student's own otter notebook of hw1 (3 points honestly), graded by grade-batch as a class.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from adversarial import corpus
from conftest import run_cli
from importing import NBGRADER_COURSE, OTTER_COURSE, imported_course, tool
from test_import_otter import WRONG, answered

pytestmark = pytest.mark.slow

HIDDEN = {
    "nbgrader": ('check_close(mean(data), 3.5, "the mean of the data")', "the spread of z", "z = standardise(data)"),
    "otter": ("close(spread, 30.0)", "centre([2, 4, 9])"),
}


def with_attack(notebook: Path, code: str, after: str, target: Path) -> None:
    """``notebook`` with one more cell, holding ``code``, after the first cell whose source starts with ``after``."""
    nb = nbformat.read(notebook, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.source.startswith(after))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    for extra in notebook.parent.iterdir():
        if extra.suffix != ".ipynb":
            (shutil.copytree if extra.is_dir() else shutil.copy)(extra, target.parent / extra.name)


def graded_class(folder: Path, course: Path, *extra: str) -> dict[str, dict]:
    out = folder.parent / f"{folder.name}-grades"
    proc = run_cli("grade-batch", str(folder), "--out", str(out), "--autograder", str(course / "autograder"),
                   "--workers", "2", *extra, cwd=folder.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    graded = {}
    for path in (out / "results").glob("*.json"):
        text = path.read_text() + (out / "feedback" / f"{path.stem}.html").read_text()
        graded[path.stem] = {"result": json.loads(path.read_text()), "text": text}
    return graded


def hidden_text_may_be_readable(result: dict) -> bool:
    """The fallback sandbox of a non-root grader without Landlock hides no file of the grader's own user."""
    return result["sandbox"] == "subprocess" and os.geteuid() != 0 and not corpus.LANDLOCK_FS


def assert_no_gain(graded: dict, honest: float, kind: str) -> None:
    assert set(graded) == {"honest", *corpus.ANY_ASSIGNMENT_ATTACKS}
    assert graded["honest"]["result"]["score"] == honest
    for name, case in graded.items():
        assert case["result"]["score"] <= honest, (name, case["result"]["tests"])
        if name == "read-hidden-tests" and hidden_text_may_be_readable(case["result"]):
            continue
        leaked = [line for line in HIDDEN[kind] if line in case["text"]]
        assert not leaked, (name, leaked)


def test_attacks_gain_nothing_on_an_imported_nbgrader_assignment(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    imported_course(course, NBGRADER_COURSE / "source" / "week1")
    honest = NBGRADER_COURSE / "submitted" / "bob" / "week1" / "stats.ipynb"
    submitted = tmp_path / "class" / "submitted"
    shutil.copytree(honest.parent, submitted / "honest" / "week1")
    for name, code in corpus.ANY_ASSIGNMENT_ATTACKS.items():
        with_attack(honest, code, "TOLERANCE = 1e-9", submitted / name / "week1" / "stats.ipynb")
    graded = graded_class(submitted, course)
    assert_no_gain(graded, 2.0, "nbgrader")
    helpers = graded["redefine-test-helpers"]["result"]
    assert {t["name"]: t["status"] for t in helpers["tests"]}["test-mean"] == "failed"  # the grader's check_close


def test_attacks_gain_nothing_on_an_imported_otter_assignment(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    imported_course(course, OTTER_COURSE / "hw1" / "hw1.ipynb")
    work = tmp_path / "otter"
    shutil.copytree(OTTER_COURSE / "hw1", work / "hw1")
    tool("otter", "assign", "hw1.ipynb", "dist", "--no-pdfs", cwd=work / "hw1")
    honest = answered(work / "hw1" / "dist" / "student" / "hw1.ipynb", WRONG, tmp_path / "class" / "honest" / "hw1.ipynb")
    for name, code in corpus.ANY_ASSIGNMENT_ATTACKS.items():
        with_attack(honest, code, "def close(", tmp_path / "class" / name / "hw1.ipynb")
    graded = graded_class(tmp_path / "class", course, "--assignment", "hw1")
    assert_no_gain(graded, 3.0, "otter")
