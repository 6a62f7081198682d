"""`mlgrader import` on what it must refuse or tell apart, and the translation rules, without kernels.

Whatever cannot be carried is named with notebook and cell, exit 1, and nothing is written;
bad usage is exit 2 with one line. The otter translation rules are checked on the examples of
otter's own documentation.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from conftest import run_cli
from importing import NBGRADER_COURSE, OTTER_COURSE
from mlgrader.authoring.importing.otter_code import (NotCarried, OtterCase, case_code, resolve_points,
                                                     solution_regions)
from mlgrader.authoring.importing.run import detect_format

KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def nbgrader_cell(kind: str, source: str, grade_id: str, **flags):
    meta = {"grade_id": grade_id, "schema_version": 3, "grade": False, "solution": False, "locked": False, **flags}
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    return make(source, metadata={"nbgrader": meta})


def write(path: Path, cells: list, kernelspec: dict = KERNEL) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), path)
    return path


def import_into(root: Path, *paths: Path, extra: tuple[str, ...] = ()):
    return run_cli("import", *map(str, paths), "--root", str(root), *extra)


def assert_nothing_written(root: Path) -> None:
    solutions = root / "solutions"
    assert not solutions.exists() or not any(solutions.iterdir()), sorted(solutions.rglob("*"))


def test_what_nbgrader_cannot_carry_is_named_and_nothing_is_written(tmp_path):
    course = tmp_path / "course"
    good = write(course / "source" / "hw" / "good.ipynb", [
        nbgrader_cell("code", "x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION", "x", solution=True)])
    write(course / "source" / "hw" / "bad.ipynb", [
        nbformat.v4.new_raw_cell("\\begin{equation}1\\end{equation}"),
        nbgrader_cell("code", "### AUTOTEST x", "auto", grade=True, locked=True, points=1),
        nbgrader_cell("code", "assert x == 2\nx", "partial", grade=True, locked=True, points=1),
    ])
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.GenerateAssignment.preprocessors = ['mycourse.Shuffle']\n"
        "c.ClearSolutions.enforce_metadata = False\nc.Exchange.root = '/srv/exchange'\n")
    root = tmp_path / "target"
    proc = import_into(root, course / "source" / "hw")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == "mlgrader import: nothing was written (5 problems)"
    text = proc.stderr
    assert "nbgrader_config.py: c.GenerateAssignment.preprocessors" in text and "custom preprocessors" in text
    assert "c.ClearSolutions.enforce_metadata" in text and "Exchange" not in text
    assert "bad.ipynb: cell 1: a raw cell is not carried" in text
    assert "bad.ipynb: cell 2 (grade id auto): ### AUTOTEST" in text
    assert "bad.ipynb: cell 3 (grade id partial): ends with a bare value" in text
    assert_nothing_written(root)
    assert good.exists()  # the input is never touched


def test_other_kernels_and_duplicate_ids_are_refused(tmp_path):
    r_notebook = write(tmp_path / "r" / "lab.ipynb", [nbgrader_cell("code", "x <- 1", "x", solution=True)],
                       {"display_name": "R", "language": "R", "name": "ir"})
    twice = write(tmp_path / "twice" / "lab.ipynb", [nbgrader_cell("code", "1", "same", locked=True),
                                                      nbgrader_cell("code", "2", "same", locked=True)])
    proc = import_into(tmp_path / "out", r_notebook)
    assert proc.returncode == 1 and "the notebook's kernel is R (ir)" in proc.stderr
    proc = import_into(tmp_path / "out", twice)
    assert proc.returncode == 1 and "cell 2 (grade id same): uses a grade_id another cell has" in proc.stderr
    assert_nothing_written(tmp_path / "out")


def test_what_otter_cannot_carry_is_named(tmp_path):
    master = write(tmp_path / "hw" / "hw.ipynb", [
        nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\nplugins:\n  - otter.plugins.builtin.GoogleSheetsGradeOverride"),
        nbformat.v4.new_code_cell("# IGNORE\nprint('only in the master')"),
        nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: q1"),
        nbformat.v4.new_raw_cell("# BEGIN SOLUTION"),
        nbformat.v4.new_code_cell('def f(r):\n    # BEGIN SOLUTION NO PROMPT\n    return 2 * r\n    # END SOLUTION\n'
                                  '    """ # BEGIN PROMPT\n    pass\n    """; # END PROMPT'),
        nbformat.v4.new_raw_cell("# END SOLUTION"),
        nbformat.v4.new_raw_cell("# END QUESTION"),
        nbformat.v4.new_code_cell("x = 1  # IGNORE"),
    ])
    proc = import_into(tmp_path / "out", master)
    assert proc.returncode == 1
    assert "hw.ipynb: cell 2: an otter # IGNORE cell is not carried" in proc.stderr
    assert "hw.ipynb: cell 5: otter's in-code prompts" in proc.stderr
    assert "hw.ipynb: cell 8: holds otter # IGNORE lines" in proc.stderr
    assert "otter plugins are not carried" in proc.stderr
    assert_nothing_written(tmp_path / "out")


def test_bad_usage_is_exit_2_with_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    plain = write(tmp_path / "plain.ipynb", [nbformat.v4.new_code_cell("1 + 1")])
    for path, words in ((tmp_path / "missing.ipynb", "no such file or folder"),
                        (tmp_path / "notes.txt", "is not a notebook"),
                        (plain, "is neither an nbgrader source notebook nor an otter master notebook"),
                        (tmp_path / "empty-folder", "no such file or folder")):
        proc = import_into(tmp_path / "out", path)
        assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = import_into(tmp_path / "out", NBGRADER_COURSE / "source" / "week1", OTTER_COURSE / "hw0")
    assert proc.returncode == 2 and "one format per import" in proc.stderr


def test_an_existing_assignment_is_never_overwritten(tmp_path):
    root = tmp_path / "course"
    (root / "solutions" / "hw0").mkdir(parents=True)
    (root / "solutions" / "hw0" / "mine.py").write_text("# the instructor's own work\n")
    proc = import_into(root, OTTER_COURSE / "hw0" / "hw0.ipynb")
    assert proc.returncode == 1 and "exists already" in proc.stderr
    assert [p.name for p in (root / "solutions").iterdir()] == ["hw0"]
    assert [p.name for p in (root / "solutions" / "hw0").iterdir()] == ["mine.py"]
    proc = import_into(root, OTTER_COURSE / "hw0" / "hw0.ipynb", extra=("--assignment", "hw0-otter", "--json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["written"] == ["solutions/hw0-otter/hw0.py"]
    assert sorted(p.name for p in (root / "solutions").iterdir()) == ["hw0", "hw0-otter"]  # no staging left


def test_the_format_is_told_by_the_cells(tmp_path):
    assert detect_format(NBGRADER_COURSE / "source" / "week1" / "stats.ipynb") == "nbgrader"
    assert detect_format(OTTER_COURSE / "hw1" / "hw1.ipynb") == "otter"
    assert detect_format(OTTER_COURSE / "hw0" / "hw0.ipynb") == "otter"  # format v0
    fenced = write(tmp_path / "fenced.ipynb", [nbformat.v4.new_markdown_cell("```otter\n# BEGIN QUESTION\nname: q1\n```")])
    assert detect_format(fenced) == "otter"


# --- otter's rules, on the examples of its documentation ------------------------------------


def test_otter_solution_markers_become_regions_students_see_as_placeholders():
    assert solution_regions("def square(x):\n    y = x * x # SOLUTION NO PROMPT\n    return y # SOLUTION\n\n"
                            "nine = square(3) # SOLUTION") == (
        "def square(x):\n    ### BEGIN SOLUTION\n    y = x * x\n    return y\n    ### END SOLUTION\n\n"
        "nine = (\n    ### BEGIN SOLUTION\n    square(3)\n    ### END SOLUTION\n)")
    assert solution_regions("if True:\n    # BEGIN SOLUTION\n    radius = 3\n    # END SOLUTION\n    print(radius)") == (
        "if True:\n    ### BEGIN SOLUTION\n    radius = 3\n    ### END SOLUTION\n    print(radius)")
    with pytest.raises(NotCarried, match="without # END SOLUTION"):
        solution_regions("# BEGIN SOLUTION\nx = 1")


def test_otter_points_are_resolved_as_otter_documents():
    case = lambda points=None: OtterCase("x", "", False, points, 1)  # noqa: E731
    assert resolve_points(6, [case(2), case(2), case(), case()], "q") == [2, 2, 1, 1]
    assert resolve_points(None, [case(2), case()], "q") == [2, 0]
    assert resolve_points(None, [case(), case()], "q") == [0.5, 0.5]
    assert resolve_points({"each": 2}, [case(), case(), case()], "q") == [2, 2, 2]
    assert resolve_points([0, 1, 0.5], [case(), case(), case()], "q") == [0, 1, 0.5]
    with pytest.raises(NotCarried, match="lists 2 points for 3 test cases"):
        resolve_points([1, 1], [case(), case(), case()], "q")


def test_otter_cases_compare_what_they_show_with_the_masters_output():
    shown = OtterCase("x = f(2)\nx == 4", "True\n", False, None, 1)
    assert case_code(shown, True, "q1") == "x = f(2)\nassert repr(x == 4) == 'True'"
    assert case_code(OtterCase("None", "", False, None, 1), True, "q1") == "assert (None) is None"
    printed = OtterCase("print(f(2))", "4\n", False, None, 1)
    assert "redirect_stdout" in case_code(printed, True, "q1")
    with pytest.raises(NotCarried, match="recorded no output"):
        case_code(OtterCase("f(2) + 1 == 5 and x", "", False, None, 1), True, "q1")
    function = OtterCase("def test_f(f):\n    assert f(2) == 4\n\ntest_f(f)  # IGNORE", "", False, None, 1)
    assert case_code(function, False, "q1") == "def test_f(f):\n    assert f(2) == 4\n\ntest_f(f=f)"
