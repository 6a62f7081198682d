"""Submission + autograder bundle -> :class:`GradeResult`.

Grading happens in three steps:

1. :func:`read_submission` loads the notebook and says clearly what is wrong with it
   (invalid JSON, wrong nbformat, not a notebook of this assignment).
2. :func:`plan_steps` lines the student's cells up with the bundle's layout by grade id:
   read-only cells are restored, deleted or moved tests are put back after the cell they
   test, and every deviation becomes a note for the feedback.
3. :func:`run_plan` executes the plan: code cells run in a :class:`SandboxKernel`; at each
   test the *trusted* grader process runs the test's code (public and hidden checks),
   reading notebook values through a :class:`Channel` as data. No assertion ever runs in
   the kernel, so nothing the student patches there can change a verdict.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .artifacts import ArtifactError, artifact_folder, copy_artifacts
from .bundle import Bundle, BundleError, NotebookEntry, find_bundle, valid_assignment_id
from .data import fashion_mnist_folder
from .remote import MISSING, Channel, RemoteError, RemoteUnavailable, wait_budget
from .results import CellOutcome, GradeResult, TestResult, clip_text
from .sandbox import Limits, SandboxError, SandboxKernel
from .wire import WireError

DEFAULT_CELL_TIMEOUT = 60.0
DEFAULT_TEST_TIMEOUT = 60.0
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
MAX_FEEDBACK_CHARS = 20_000  # per test


class SubmissionError(ValueError):
    """The submission cannot be graded as it is; the message tells the student why."""


# --- 1. reading the submission -----------------------------------------------------------


def read_submission(path: Path) -> nbformat.NotebookNode:
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SubmissionError(f"{path} does not exist") from None
    if path.is_dir():
        raise SubmissionError(f"{path} is a folder, not a notebook")
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path.name} is {size // 2**20} MB; notebooks over {MAX_NOTEBOOK_BYTES // 2**20} MB are not graded (clear large outputs)")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a text file (is it really a .ipynb notebook?)") from None
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file was probably damaged while editing it outside Jupyter") from None
    if not isinstance(data, dict):
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook")
    major = data.get("nbformat")
    if major is not None and major != 4:
        raise SubmissionError(
            f"{path.name} uses nbformat {major!r}; save it as a current Jupyter notebook (nbformat 4)")
    if "cells" not in data or major is None:
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (no 'cells' or 'nbformat')")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for malformed structure
        raise SubmissionError(f"{path.name} is not a well-formed notebook: {exc}") from None
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell.get("source", ""), str) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise SubmissionError(f"{path.name}: cell {index + 1} is malformed")
    return nb


def notebook_identity(nb: nbformat.NotebookNode) -> tuple[str | None, str | None]:
    meta = nb.metadata.get("mlgrader") or {}
    if not isinstance(meta, dict):
        return None, None
    return meta.get("assignment"), meta.get("notebook")


# --- 2. planning ---------------------------------------------------------------------------


@dataclass
class Step:
    """One thing to do, in order: run a cell's code, or run a test."""

    kind: str  # "cell" | "test"
    label: str
    source: str = ""
    timeout: float = DEFAULT_CELL_TIMEOUT
    grade_id: str | None = None


@dataclass
class Plan:
    steps: list[Step]
    notes: list[str] = field(default_factory=list)


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def plan_steps(nb: nbformat.NotebookNode, entry: NotebookEntry) -> Plan:
    """Line the student's cells up with the bundle's layout, by grade id."""
    layout = {c.grade_id: c for c in entry.cells}
    steps: list[Step] = []
    notes: list[str] = []
    seen: set[str] = set()
    for number, cell in enumerate(nb.cells, start=1):
        gid = _grade_id(cell)
        spec = layout.get(gid) if gid else None
        label = f"cell {number}" + (f" ({gid})" if gid else "")
        if spec is None or spec.kind == "markdown":
            if cell.cell_type == "code":
                steps.append(Step("cell", label, cell.source))
            continue
        duplicate = gid in seen
        seen.add(gid)
        if spec.kind == "test":
            if duplicate:
                notes.append(f"test cell {gid} appears more than once; it was graded once")
            else:
                steps.append(Step("test", gid, timeout=spec.timeout or DEFAULT_TEST_TIMEOUT, grade_id=gid))
        elif spec.kind == "setup":
            if duplicate:
                notes.append(f"read-only cell {gid} appears more than once; it ran once")
                continue
            if cell.cell_type != "code" or cell.source != spec.source:
                notes.append(f"read-only cell {gid} was changed; the original was run instead")
            steps.append(Step("cell", label, spec.source or "", spec.timeout or DEFAULT_CELL_TIMEOUT, gid))
        elif spec.kind == "exercise":
            if cell.cell_type != "code":
                notes.append(f"exercise cell {gid} was turned into a {cell.cell_type} cell, so it did not run")
                continue
            if duplicate:
                notes.append(f"exercise cell {gid} appears more than once; each copy ran")
            steps.append(Step("cell", label, cell.source, spec.timeout or DEFAULT_CELL_TIMEOUT, gid))
    _restore_missing(entry, steps, seen, notes)
    _move_early_tests(entry, steps, notes)
    return Plan(steps, notes)


def _position_after(entry: NotebookEntry, steps: list[Step], grade_id: str, skip_added: bool) -> int:
    """Index just after the nearest earlier layout cell present in ``steps``."""
    order = [c.grade_id for c in entry.cells if c.kind != "markdown"]
    for previous in reversed(order[: order.index(grade_id)]):
        found = [i for i, s in enumerate(steps) if s.grade_id == previous]
        if found:
            index = found[-1] + 1
            # Tests go after the student's own extra cells that follow the exercise:
            # that is where students often finish an exercise.
            while skip_added and index < len(steps) and steps[index].grade_id is None:
                index += 1
            return index
    return 0 if not skip_added else len(steps)


def _restore_missing(entry: NotebookEntry, steps: list[Step], seen: set[str], notes: list[str]) -> None:
    for spec in entry.cells:
        if spec.grade_id in seen or spec.kind == "markdown":
            continue
        if spec.kind == "setup":
            index = _position_after(entry, steps, spec.grade_id, skip_added=False)
            steps.insert(index, Step("cell", f"restored {spec.grade_id}", spec.source or "",
                                     spec.timeout or DEFAULT_CELL_TIMEOUT, spec.grade_id))
            notes.append(f"read-only cell {spec.grade_id} was missing; it was restored")
        elif spec.kind == "test":
            index = _position_after(entry, steps, spec.grade_id, skip_added=True)
            steps.insert(index, Step("test", spec.grade_id, timeout=spec.timeout or DEFAULT_TEST_TIMEOUT,
                                     grade_id=spec.grade_id))
            notes.append(f"test cell {spec.grade_id} was missing; it was put back after the cell it tests")
        elif spec.kind == "exercise":
            notes.append(f"exercise cell {spec.grade_id} is missing from the notebook")


def _move_early_tests(entry: NotebookEntry, steps: list[Step], notes: list[str]) -> None:
    """A test moved above the exercise it checks would see nothing: move it back."""
    order = [c.grade_id for c in entry.cells if c.kind != "markdown"]
    for spec in entry.cells:
        if spec.kind != "test":
            continue
        index = next(i for i, s in enumerate(steps) if s.kind == "test" and s.grade_id == spec.grade_id)
        earlier_code = [g for g in order[: order.index(spec.grade_id)] if entry.cell(g).kind != "test"]
        anchor = earlier_code[-1] if earlier_code else None
        anchor_positions = [i for i, s in enumerate(steps) if anchor and s.grade_id == anchor]
        if anchor_positions and anchor_positions[-1] > index:
            step = steps.pop(index)
            steps.insert(_position_after(entry, steps, spec.grade_id, skip_added=True), step)
            notes.append(f"test cell {spec.grade_id} was above the cell it tests; it ran after it")


# --- 3. running ----------------------------------------------------------------------------


def free_names(source: str) -> list[str]:
    """Names a test reads but never binds: the notebook values it needs."""
    tree = ast.parse(source)
    loaded, bound = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    names = []
    for name in loaded:
        if name not in bound and not hasattr(builtins, name) and name not in names:
            names.append(name)
    return names


@dataclass
class TestOutcome:
    status: str
    output: str


def run_test(source: str, grade_id: str, channel: Channel, timeout: float, seed: int,
             workdir: Path | None = None) -> TestOutcome:
    """Run one test's code in this (trusted) process against values from the notebook."""
    channel.deadline = wait_budget(timeout)
    try:
        names = free_names(source)
        values = channel.export(names)
    except SyntaxError as exc:
        return TestOutcome("error", f"the test {grade_id} itself is broken ({exc}); tell your instructor")
    except (RemoteUnavailable, WireError) as exc:
        return TestOutcome("error", str(exc))
    except RemoteError as exc:
        return TestOutcome("failed", _remote_error_text(exc))
    missing = [n for n, v in values.items() if v is MISSING]
    namespace = {"__name__": f"mlgrader_test_{grade_id.replace('-', '_')}", "__builtins__": builtins}
    namespace.update({n: v for n, v in values.items() if v is not MISSING})
    _seed_grader(seed)
    try:
        with artifact_folder(workdir or Path.cwd()):
            exec(compile(source, f"<test {grade_id}>", "exec"), namespace)
    except ArtifactError as exc:
        return TestOutcome("failed", str(exc))
    except AssertionError as exc:  # CheckFailure is an AssertionError
        return TestOutcome("failed", str(exc) or _bare_assert_text(exc, source))
    except NameError as exc:
        name = getattr(exc, "name", None)
        if name in missing:
            return TestOutcome("failed", f"your notebook does not define `{name}` at this point; "
                                         "did the cell that should define it run without an error?")
        return TestOutcome("error", f"the test {grade_id} is broken ({exc}); tell your instructor")
    except RemoteError as exc:
        return TestOutcome("failed", _remote_error_text(exc))
    except (RemoteUnavailable, WireError) as exc:
        return TestOutcome("error", str(exc))
    except Exception as exc:  # a test tripping over an odd value is still the value's fault
        return TestOutcome("failed", f"the test could not use your values: {type(exc).__name__}: {exc}")
    finally:
        channel.deadline = None
    return TestOutcome("passed", "")


def _remote_error_text(exc: RemoteError) -> str:
    hint = ""
    if exc.type_name == "NotImplementedError":
        hint = " (this exercise is not done yet)"
    trace = exc.traceback.strip()
    return f"{exc}{hint}" + (f"\n{trace}" if trace else "")


def _bare_assert_text(exc: AssertionError, source: str) -> str:
    """For a bare ``assert``: the failing line, but only when students can see it anyway."""
    from .authoring import public_part

    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    lines = source.splitlines()
    lineno = tb.tb_lineno if tb is not None else 0
    line = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    public = {l.strip() for l in public_part(source).splitlines()}
    if line and line in public:
        return f"this check failed: {line}"
    return "a hidden check failed"


def _seed_grader(seed: int) -> None:
    """Hidden tests that draw random inputs get the same inputs for every student."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def run_plan(plan: Plan, entry: NotebookEntry, bundle: Bundle, result: GradeResult,
             mode: str | None = None, limits: Limits | None = None, submission_dir: Path | None = None) -> None:
    """Execute the plan in a sandboxed kernel, filling ``result`` in place."""
    limits = limits or Limits(memory_mb=entry.memory_mb)
    preload_test_imports(entry)
    workdir = Path(tempfile.mkdtemp(prefix="mlgrader-run-"))
    if submission_dir is not None and entry.artifacts:
        result.messages.extend(n for n in copy_artifacts(submission_dir, list(entry.artifacts), workdir)
                               if "was not found" not in n)
    verdicts: dict[str, TestOutcome] = {}
    try:
        data = fashion_mnist_folder()
        with SandboxKernel(workdir, limits, mode=mode, readonly_paths=[str(data)] if data else None,
                           env={"MLGRADER_DATA": str(data)} if data else None) as kernel:
            result.sandbox = kernel.mode
            if kernel.mode == "subprocess":
                result.messages.append(kernel.sandbox_note())
            _start_agent(kernel, bundle.seed, entry.seed_torch)
            channel = Channel(kernel)
            _execute_steps(plan, entry, bundle, kernel, channel, result, verdicts)
        if kernel.leftovers:
            result.messages.append(leftovers_note(kernel.leftovers))
    except SandboxError as exc:
        result.messages.append(str(exc))
        for step in plan.steps:
            if step.kind == "test" and step.grade_id not in verdicts:
                verdicts[step.grade_id] = TestOutcome("error", f"not graded: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for spec in entry.cells:
        if spec.kind == "test":
            outcome = verdicts.get(spec.grade_id, TestOutcome("error", "this test did not run"))
            score = spec.points if outcome.status == "passed" else 0.0
            result.tests.append(TestResult(spec.grade_id, score, spec.points, outcome.status,
                                           clip_text(outcome.output, MAX_FEEDBACK_CHARS)))
    result.score = sum(t.score for t in result.tests)


def preload_test_imports(entry: NotebookEntry) -> None:
    """Import what the tests import before any student code runs.

    Tests then use modules loaded while the submission could not have touched their
    files yet: defence in depth for the fallback sandbox, where the file system is shared.
    """
    modules = {"mlgrader.checks", "mlgrader.artifacts", "numpy"} | ({"torch"} if entry.seed_torch else set())
    for source in entry.tests.values():
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    for name in sorted(modules):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the test will report it when it runs



def _start_agent(kernel: SandboxKernel, seed: int, seed_torch: bool) -> None:
    code = (f"import mlgrader.agent as _mlgrader_agent_module\n"
            f"_mlgrader_agent_module.start(globals(), seed={int(seed)}, seed_torch={bool(seed_torch)})\n"
            f"del _mlgrader_agent_module")
    run = kernel.run(code, timeout=120, store_history=False)
    if not run.ok:
        raise SandboxError(f"the grader's helper did not start in the kernel: {run.error_name}: {run.error_value}")


def _execute_steps(plan, entry, bundle, kernel, channel, result, verdicts) -> None:
    deadline = time.monotonic() + entry.timeout
    stopped: str | None = None  # why the remaining steps cannot run
    for step in plan.steps:
        remaining = deadline - time.monotonic()
        if stopped is None and remaining <= 0:
            stopped = f"the notebook's time limit ({entry.timeout:.0f} s) was reached before this test"
            result.messages.append(f"time limit of {entry.timeout:.0f} s for the whole notebook reached")
        if stopped is not None:
            if step.kind == "test":
                verdicts[step.grade_id] = TestOutcome("error", stopped)
            else:
                result.cells.append(CellOutcome(step.label, "skipped"))
            continue
        if step.kind == "test":
            verdicts[step.grade_id] = run_test(entry.tests[step.grade_id], step.grade_id, channel,
                                               min(step.timeout, max(remaining, 1.0)), bundle.seed,
                                               kernel.workdir)
            if kernel.dead:
                stopped = "the notebook's kernel died (os._exit, a crash or the memory limit)"
            continue
        run = kernel.run(step.source, timeout=min(step.timeout, max(remaining, 1.0)))
        error = f"{run.error_name}: {run.error_value}" if run.error_name else None
        result.cells.append(CellOutcome(step.label, run.status, round(run.seconds, 3), error))
        hint = gpu_hint(run.traceback or error or "")
        if hint and hint not in result.messages:
            result.messages.append(hint)
        if run.status == "timeout":
            result.messages.append(f"{step.label} was stopped after {min(step.timeout, remaining):.0f} s (time limit)")
        if run.truncated:
            result.messages.append(f"{step.label} printed too much; the rest of its output was dropped")
        if run.status == "died":
            stopped = f"the notebook's kernel died while running {step.label} ({death_cause(run)})"
            result.messages.append(stopped)


def leftovers_note(count: int) -> str:
    if count == 1:
        return "1 process the notebook started was still running after grading; it was killed"
    return f"{count} processes the notebook started were still running after grading; they were killed"


def death_cause(run) -> str:
    """Why a kernel died, as far as the grader knows: it stopped a flood, or the usual suspects."""
    if run.error_name == "OutputFlood":
        return run.error_value
    return "os._exit, a crash or the memory limit"


def gpu_hint(error_text: str) -> str | None:
    """A clear word for the usual reason a GPU notebook fails on a CPU grader."""
    text = error_text.lower()
    if "deserialize object on a cuda device" in text:
        return ("a file saved on a GPU was loaded without map_location: use "
                "torch.load(path, map_location=device, weights_only=True)")
    if any(s in text for s in ("torch not compiled with cuda", "no nvidia driver", "no cuda gpus",
                               "found no nvidia", "cuda driver initialization failed")):
        return ("the notebook asks for a CUDA GPU but this grader has none: choose the device with "
                "torch.cuda.is_available() and use .to(device) instead of .cuda()")
    if "expected all tensors to be on the same device" in text:
        return ("tensors on two devices met in one operation: move inputs and labels to the model's "
                "device with .to(device) before using them together")
    return None


# --- the entry point ------------------------------------------------------------------------


def grade_notebook(path: Path, assignment: str | None = None, autograder_dir: Path = Path("autograder"),
                   mode: str | None = None, limits: Limits | None = None, threads: int | None = None) -> GradeResult:
    """Grade one submitted notebook. Always returns a result unless the assignment is unknown.

    Raises :class:`SubmissionError` or :class:`BundleError` only when no grade can be
    attached to any assignment (the command line turns those into exit status 2).
    """
    started = time.monotonic()
    path = Path(path)
    try:
        nb = read_submission(path)
    except SubmissionError as exc:
        bundle = _bundle_for_unreadable(assignment, autograder_dir, exc)
        entry = bundle.notebook(_notebook_name_from_path(bundle, path))
        return _zero_result(bundle, entry, path, str(exc), started)
    meta_assignment, meta_notebook = notebook_identity(nb)
    notes = []
    if meta_assignment is not None and not valid_assignment_id(meta_assignment):
        # A path in the metadata must never choose which bundle (and so which code) runs.
        notes.append(f"the notebook's metadata names an invalid assignment {str(meta_assignment)[:60]!r}; ignored")
        meta_assignment = None
        if not assignment:
            assignment = _only_bundle(autograder_dir)
    if assignment and meta_assignment and assignment != meta_assignment:
        bundle = find_bundle(assignment, autograder_dir)
        entry = bundle.notebook(_notebook_name_from_path(bundle, path))
        return _zero_result(bundle, entry, path,
                            f"this notebook belongs to assignment {meta_assignment}, not {assignment}", started)
    assignment = assignment or meta_assignment
    if not assignment:
        raise SubmissionError(f"cannot tell which assignment {path.name} belongs to "
                              "(no mlgrader metadata in the notebook); pass --assignment")
    bundle = find_bundle(assignment, autograder_dir)
    entry = bundle.notebook(meta_notebook if _has_notebook(bundle, meta_notebook) else _notebook_name_from_path(bundle, path))
    result = GradeResult(assignment, 0.0, entry.max_score, notebook=entry.name, submission=str(path))
    result.messages.extend(notes)
    plan = plan_steps(nb, entry)
    result.messages.extend(plan.notes)
    if not nb.metadata.get("kernelspec"):
        result.messages.append("the notebook names no kernel; it was run with Python 3")
    limits = limits or Limits(memory_mb=entry.memory_mb, threads=threads)
    run_plan(plan, entry, bundle, result, mode=mode, limits=limits, submission_dir=path.parent)
    result.seconds = time.monotonic() - started
    return result


def _has_notebook(bundle: Bundle, name: str | None) -> bool:
    return name is not None and any(n.name == name for n in bundle.notebooks)


def _notebook_name_from_path(bundle: Bundle, path: Path) -> str | None:
    if len(bundle.notebooks) == 1:
        return None
    return path.stem if _has_notebook(bundle, path.stem) else None


def _only_bundle(autograder_dir: Path) -> str | None:
    bundles = sorted(p.parent.name for p in Path(autograder_dir).glob("*/manifest.json"))
    return bundles[0] if len(bundles) == 1 else None


def _bundle_for_unreadable(assignment: str | None, autograder_dir: Path, exc: SubmissionError) -> Bundle:
    if assignment:
        return find_bundle(assignment, autograder_dir)
    only = _only_bundle(autograder_dir)
    if only:
        return find_bundle(only, autograder_dir)
    raise SubmissionError(f"{exc} (and without a readable notebook, pass --assignment to record a grade)")


def _zero_result(bundle: Bundle, entry: NotebookEntry, path: Path, message: str, started: float) -> GradeResult:
    tests = [TestResult(c.grade_id, 0.0, c.points, "error", message) for c in entry.cells if c.kind == "test"]
    return GradeResult(bundle.assignment, 0.0, entry.max_score, tests, entry.name, str(path), "",
                       [message], [], time.monotonic() - started)


__all__ = ["grade_notebook", "read_submission", "plan_steps", "run_test", "free_names",
           "SubmissionError", "BundleError"]
