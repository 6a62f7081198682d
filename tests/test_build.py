"""The build pipeline: authoring format, nbgrader metadata, determinism, --check."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, grade_id, run_cli
from mlgrader.authoring.build import build
from mlgrader.authoring.errors import AuthoringError
from mlgrader.authoring.notebooks import source_notebook
from mlgrader.authoring.solution import read_solution
from mlgrader.bundle import public_part
from mlgrader.bundle import load_bundle


def test_build_check_is_clean_on_main():
    proc = run_cli("build", "--check")
    assert proc.returncode == 0, proc.stderr


def test_source_notebook_has_nbgrader_metadata():
    spec = read_solution(ROOT / "solutions" / ASSIGNMENT / "gradient_descent.py")
    nb = source_notebook(spec)
    kinds = {grade_id(c): c.metadata["nbgrader"] for c in nb.cells}
    assert kinds["derivative"]["solution"] and not kinds["derivative"]["locked"]
    assert kinds["test-gd-loop"]["grade"] and kinds["test-gd-loop"]["points"] == 2
    assert kinds["setup-1"]["locked"] and not kinds["setup-1"]["grade"]
    assert spec.total_points == 8
    assert nb.metadata["mlgrader"] == {"assignment": ASSIGNMENT, "notebook": "gradient_descent"}


def test_release_has_stubs_and_no_hidden_tests():
    release = (ROOT / "release" / ASSIGNMENT / "gradient_descent.ipynb").read_text()
    assert "BEGIN HIDDEN TESTS" not in release and "BEGIN SOLUTION" not in release
    assert "raise NotImplementedError()" in release
    bundle = load_bundle(ROOT / "autograder" / ASSIGNMENT)
    hidden = bundle.notebook(None).tests["test-gd-loop"]
    assert "BEGIN HIDDEN TESTS" in hidden
    assert "0.8 ** np.arange(11)" in hidden and "0.8 ** np.arange(11)" not in release
    # nbgrader wrote checksums into the release: it really went through generate_assignment
    nb = nbformat.reads(release, as_version=4)
    assert all("checksum" in c.metadata["nbgrader"] for c in nb.cells if c.metadata["nbgrader"]["grade"])


def test_public_part_drops_hidden_region():
    text = "a = 1\n### BEGIN HIDDEN TESTS\nsecret = 2\n### END HIDDEN TESTS\nb = 3"
    assert public_part(text) == "a = 1\nb = 3"


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    return course


def test_rebuild_changes_no_byte_and_check_names_stale_files(tmp_path):
    course = _course(tmp_path)
    first = build(course)
    assert "release/01-gradient-descent/gradient_descent.ipynb" in first.written
    snapshot = {p: p.read_bytes() for p in course.rglob("*") if p.is_file() and ".mlgrader-cache" not in p.parts}
    second = build(course)
    assert second.written == [] and second.removed == []
    assert snapshot == {p: p.read_bytes() for p in snapshot}
    solution = course / "solutions" / ASSIGNMENT / "gradient_descent.py"
    solution.write_text(solution.read_text().replace("alpha = 0.1", "alpha = 0.1  # step size"))
    proc = run_cli("build", "--check", "--root", str(course))
    assert proc.returncode == 1
    assert "source/01-gradient-descent/gradient_descent.ipynb" in proc.stderr
    assert "release/01-gradient-descent/gradient_descent.ipynb" in proc.stderr
    stray = course / "autograder" / ASSIGNMENT / "tests" / "gradient_descent" / "old-test.py"
    stray.write_text("")
    report = build(course, check=True)
    assert "autograder/01-gradient-descent/tests/gradient_descent/old-test.py" in report.stale


@pytest.mark.parametrize("text, message", [
    ("# %% grade_id=\"t\" points=1\n### BEGIN SOLUTION\nx\n### END SOLUTION\n", "cannot hold a solution"),
    ("# %%\n### BEGIN SOLUTION\nx = 1\n", "END SOLUTION"),
    ("# %% grade_id=\"a b\"\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "may hold only"),
    ("# %%\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "need grade_id"),
    ("# %% grade_id=\"t\" points=0\nassert True\n", "points must be positive"),
    ("# %% colour=\"red\"\nx = 1\n", "unknown cell option"),
    ("# %% grade_id=\"t\" points=1\nacc = 0.9\nacc\n", "partial credit"),
    ("# %% grade_id=\"t\" points=1\nassert True\n# %% grade_id=\"t\" points=1\nassert True\n", "used twice"),
])
def test_authoring_errors_name_the_problem(tmp_path, text, message):
    path = tmp_path / "solutions" / "x" / "nb.py"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(AuthoringError, match=message):
        read_solution(path)


def test_build_reports_authoring_errors_as_usage_errors(tmp_path):
    course = tmp_path / "course"
    (course / "solutions" / "bad").mkdir(parents=True)
    (course / "solutions" / "bad" / "nb.py").write_text("# %% grade_id=\"t\" points=-1\nassert True\n")
    proc = run_cli("build", "--root", str(course))
    assert proc.returncode == 2 and "points must be positive" in proc.stderr
    proc = run_cli("build", "nope", "--root", str(course))
    assert proc.returncode == 2 and "no such assignment: nope" in proc.stderr


def test_every_command_has_help():
    for command in ("build", "validate", "grade", "grade-batch", "export", "import", "new", "preview", "check"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0 and "usage: mlgrader" in proc.stdout


def test_a_closed_pipe_ends_the_command_without_a_traceback():
    """`mlgrader ... | head`: the reader goes away before the output is written."""
    import subprocess

    from conftest import BIN, cli_env

    proc = subprocess.Popen([str(BIN / "mlgrader"), "build", "--check", ASSIGNMENT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env(), cwd=ROOT)
    proc.stdout.close()  # nothing will read what it prints
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_authoring_errors_start_with_file_and_line(tmp_path):
    path = tmp_path / "solutions" / "x" / "nb.py"
    path.parent.mkdir(parents=True)
    path.write_text('# ---\n# jupyter:\n#   mlgrader:\n#     assignment: x\n# ---\n\n# %%\nx = 1\n\n'
                    '# %% grade_id="t" points=1\n### BEGIN SOLUTION\nx\n### END SOLUTION\n')
    with pytest.raises(AuthoringError, match=rf"^{path}:10: cell 2: a test cell cannot hold a solution region$"):
        read_solution(path)
    path.write_text('# ---\n# jupyter:\n#   mlgrader:\n#     assignment: x\n#     files: [gone.csv]\n# ---\n\n'
                    '# %%\nx = 1\n')
    with pytest.raises(AuthoringError, match=rf"^{path}:5: files: 'gone.csv' does not exist"):
        read_solution(path)


def test_build_says_what_it_wrote_and_q_silences_it(tmp_path):
    course = _course(tmp_path)
    first = run_cli("build", "--root", str(course))
    assert first.returncode == 0 and first.stdout.startswith(f"{ASSIGNMENT}: wrote "), first.stderr
    assert "(source/, release/, autograder/, classroom/)" in first.stdout
    again = run_cli("build", "--root", str(course))
    checked = run_cli("build", "--check", "--root", str(course))
    quiet = run_cli("build", "-q", "--root", str(course))
    assert again.stdout == checked.stdout == f"{ASSIGNMENT}: up to date\n"
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    # what validate reads is stale only when the notebooks or the bundle are: not for the
    # wheel's zips or the student template (they change with the toolkit, not the exercise)
    from mlgrader.authoring.build import stale_graded_files

    (course / "autograder" / ASSIGNMENT / "gradescope.zip").write_bytes(b"old")
    (course / "classroom" / ASSIGNMENT / "README.md").write_text("old")
    assert stale_graded_files(course, [ASSIGNMENT]) == []
    stray = course / "autograder" / ASSIGNMENT / "tests" / "gradient_descent" / "gone.py"
    stray.write_text("")
    release = course / "release" / ASSIGNMENT / "gradient_descent.ipynb"
    release.write_text(release.read_text().replace("xs", "ys"))
    assert stale_graded_files(course, [ASSIGNMENT]) == [
        f"autograder/{ASSIGNMENT}/tests/gradient_descent/gone.py", f"release/{ASSIGNMENT}/gradient_descent.ipynb"]
