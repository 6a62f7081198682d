"""A new assignment from `mlgrader new` to a green validate, as docs/authoring.md tells it,
and the student's view of it (`mlgrader preview`, `mlgrader check`).

One scaffold is built and validated once (module-scoped fixtures) in a temporary course;
every test below reads that course.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, cli_env, grade_id, run_cli

NEW = "07-knn"  # the name docs/authoring.md uses
NOTEBOOK = "knn"


def documented_commands() -> list[list[str]]:
    """The commands of docs/authoring.md's "Starting an assignment", comments dropped."""
    text = (ROOT / "docs" / "authoring.md").read_text()
    block = text.split("## Starting an assignment", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].split() for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course holding one existing assignment (unbuilt) and the scaffold, made and built by
    the commands the docs give, in order; each must succeed."""
    course = tmp_path_factory.mktemp("new") / "course"
    shutil.copytree(ROOT / "solutions" / "01-gradient-descent", course / "solutions" / "01-gradient-descent")
    commands = documented_commands()
    assert [c[:2] for c in commands] == [["mlgrader", "new"], ["python", f"solutions/{NEW}/{NOTEBOOK}.py"],
                                         ["mlgrader", "build"], ["mlgrader", "validate"], ["mlgrader", "preview"]]
    for command in commands:
        if command[0] == "python":  # the course's Python, as the docs say
            proc = subprocess.run([sys.executable, *command[1:]], cwd=course, env=cli_env(), capture_output=True,
                                  text=True, timeout=120)
        else:
            proc = run_cli(*command[1:], cwd=course)
        assert proc.returncode == 0, f"{' '.join(command)}:\n{proc.stdout}\n{proc.stderr}"
        if command[1:2] == ["new"]:
            assert proc.stdout.splitlines() == [
                f"wrote solutions/{NEW}/{NOTEBOOK}.py", f"wrote solutions/{NEW}/variants.toml",
                f"next: mlgrader build {NEW} && mlgrader validate {NEW}"]
        if command[1:2] == ["build"]:
            assert proc.stdout == f"{NEW}: wrote 15 files (source/, release/, autograder/, classroom/)\n"
    return course


@pytest.fixture(scope="module")
def validation(course) -> dict:
    proc = run_cli("validate", NEW, "--root", str(course), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_the_scaffold_validates_green(validation):
    cases = {c["case"]: c for c in validation["cases"]}
    assert validation["ok"] and set(cases) == {"solution", "stub", "variant no-square"}
    assert (cases["solution"]["score"], cases["solution"]["max_score"], cases["stub"]["score"]) == (2, 2, 0)
    # --json carries the whole message that satisfied the variant, over several lines
    detail = cases["variant no-square"]["detail"]
    # the likely mistake first (the variant's `mistakes=`), then the numbers
    assert detail.startswith("test-mse: This looks like: forgot to square the errors") and "\n" in detail
    assert "mse on new data: found 0.125, expected 3.3125" in detail
    assert cases["variant no-square"]["grade"]["tests"][0]["output"].strip() in detail


def test_the_release_keeps_the_teaching_comments_to_the_instructor(course):
    release = (course / "release" / NEW / f"{NOTEBOOK}.ipynb").read_text()
    for private in ("BEGIN HIDDEN", "mistakes=", "A cell with a solution region", "YAML comments", "np.sum(errors"):
        assert private not in release
    cells = {grade_id(c): c.source for c in nbformat.reads(release, as_version=4).cells}
    assert cells["test-mse"].endswith('check_close(mse([1.0, 2.0], [1.0, 4.0]), 2.0, name="mse([1, 2], [1, 4])")')


def test_the_validate_table_fits_100_columns_with_details_below(validation, capsys):
    from mlgrader import cli
    from mlgrader.validate import CaseResult, ValidationReport

    names = {f.name for f in fields(CaseResult)} - {"grade"}
    report = ValidationReport([CaseResult(**{k: v for k, v in c.items() if k in names}) for c in validation["cases"]])
    cli._print_validation_table(report)
    out = capsys.readouterr().out.splitlines()
    table_end = next(i for i, line in enumerate(out) if line.startswith("[1] "))
    assert all(len(line) <= 100 for line in out[:table_end])
    assert any(line.split() == [NEW, NOTEBOOK, "no-square", "0/2", "yes", "[1]"] for line in out)
    assert out[table_end].startswith(f"[1] {NEW}/{NOTEBOOK} variant no-square (yes): test-mse: This looks like: "
                                     "forgot to square")
    assert any("mse on new data: found 0.125" in line for line in out[table_end + 1:])  # the detail's other lines


def test_show_prints_what_the_student_would_read(course):
    proc = run_cli("validate", NEW, "--root", str(course), "--show", "stub")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{NEW}/{NOTEBOOK} stub: yes\n\n{NEW}/{NOTEBOOK}: 0 / 2\n  failed     0 / 2    test-mse\n")
    assert "raised NotImplementedError" in proc.stdout


def test_new_refuses_an_existing_assignment_and_copies_from_another(course):
    proc = run_cli("new", NEW, "--root", str(course))
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    assert "already exists" in proc.stderr
    proc = run_cli("new", "08-copy", "--from", "01-gradient-descent", "--root", str(course))
    assert proc.returncode == 0, proc.stderr
    from mlgrader.authoring.solution import read_solution

    copied = read_solution(course / "solutions" / "08-copy" / "gradient_descent.py")
    original = read_solution(course / "solutions" / "01-gradient-descent" / "gradient_descent.py")
    assert copied.assignment == "08-copy" and copied.cells == original.cells
    assert (course / "solutions" / "08-copy" / "variants.toml").read_bytes() == \
        (course / "solutions" / "01-gradient-descent" / "variants.toml").read_bytes()
    proc = run_cli("new", "09-x", "--from", "nope", "--root", str(course))
    assert proc.returncode == 2 and "--from nope: no such assignment" in proc.stderr
    assert not (course / "solutions" / "09-x").exists()


def test_preview_writes_the_release_beside_the_stubs_feedback(course, tmp_path):
    out = tmp_path / "preview"
    proc = run_cli("preview", NEW, "--root", str(course), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == f"side by side: {out / 'index.html'}"
    assert (course / ".mlgrader-cache" / "preview" / NEW / "index.html").is_file()  # the docs' run, default folder
    index = (out / "index.html").read_text()
    assert f'src="{NOTEBOOK}.html"' in index and f'src="{NOTEBOOK}.feedback.html"' in index
    assert (out / f"{NOTEBOOK}.ipynb").read_bytes() == (course / "release" / NEW / f"{NOTEBOOK}.ipynb").read_bytes()
    feedback = (out / f"{NOTEBOOK}.feedback.html").read_text()
    assert "NotImplementedError" in feedback and "0 / 2" in feedback
    assert "mse(predictions, targets)" in (out / f"{NOTEBOOK}.html").read_text()


def _hard_coded(course: Path, folder: Path) -> Path:
    """The release notebook with `mse` returning the public check's answer: right for the
    public check, wrong for the hidden one."""
    nb = nbformat.read(course / "release" / NEW / f"{NOTEBOOK}.ipynb", as_version=4)
    for cell in nb.cells:
        if grade_id(cell) == "mse":
            cell.source = "def mse(predictions, targets):\n    return 2.0"
    path = folder / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, path)
    return path


def test_check_runs_the_public_checks_only_from_a_student_repository(course, tmp_path):
    from mlgrader.authoring.targets.classroom import BUNDLES
    from mlgrader.grading.public_checks import PUBLIC_BUNDLES

    assert PUBLIC_BUNDLES == BUNDLES
    repository = tmp_path / "student-repo"
    shutil.copytree(course / "classroom" / NEW, repository)
    notebook = _hard_coded(course, repository)
    proc = run_cli("check", str(notebook), cwd=repository)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{NEW}/{NOTEBOOK}: 2 / 2\n  passed     2 / 2    test-mse\n")
    assert f"public checks only ({repository / BUNDLES})" in proc.stdout
    graded = json.loads(run_cli("grade", str(notebook), "--autograder", str(course / "autograder"), "--json").stdout)
    assert graded["score"] == 0 and "mse on new data" in graded["tests"][0]["output"]  # the hidden check says no


def test_check_finds_the_public_bundle_of_a_built_course(course):
    proc = run_cli("check", str(course / "release" / NEW / f"{NOTEBOOK}.ipynb"), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["score"] == 0 and "NotImplementedError" in result["tests"][0]["output"]
    assert "mse on new data" not in proc.stdout
    stray = course / "stray.ipynb"
    shutil.copyfile(course / "release" / NEW / f"{NOTEBOOK}.ipynb", stray)
    (course / "classroom").rename(course / "classroom-moved")
    try:
        proc = run_cli("check", str(stray))
    finally:
        (course / "classroom-moved").rename(course / "classroom")
    assert proc.returncode == 2 and "no public checks found" in proc.stderr
