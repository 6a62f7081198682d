"""One notebook's run: its cells in a sandboxed kernel, its tests in this trusted process.

:class:`NotebookRun` has one short lifecycle: :meth:`NotebookRun.execute` prepares a
scratch folder (with the saved files the bundle asks for), starts a
:class:`~mlgrader.sandbox.kernel.SandboxKernel` that may read the notebook's data sets, installs
the channel's helper, then walks the plan: each cell runs in the kernel, each test runs
here (:func:`~mlgrader.grading.trusted_tests.run_test`). Whatever happens (a time limit, a dead
kernel, a sandbox that would not start), every test of the notebook ends with a verdict.
"""

from __future__ import annotations

import ast
import functools
import time
from contextlib import contextmanager
from pathlib import Path

from ..artifacts import copy_artifacts
from ..bundle import FILES_DIR, Bundle, CellEntry, NotebookEntry
from ..channel.protocol import agent_start_code
from ..channel.proxy import Channel
from ..config import GradingConfig
from ..data import KernelData, kernel_data
from ..results import PENDING_OUTPUT, CellOutcome, GradeResult, TestResult, clip_text, pending_note
from ..sandbox.kernel import SandboxKernel
from ..sandbox.limits import Limits, SandboxError
from ..sandbox.warm import ColdKernels, KernelSource, Scratch, preloadable
from .hints import death_cause, gpu_hint, leftovers_note
from .memory import return_freed_memory
from .plan import NOT_RUN_IN_FOCUS, Plan, Step
from .trusted_tests import TestOutcome, helper_definitions, preload_test_imports, run_test

AGENT_START_TIMEOUT_S = 120  # a cold kernel importing numpy on a loaded machine


class NotebookRun:
    """Executes one :class:`~mlgrader.grading.plan.Plan` and fills a :class:`GradeResult` in place."""

    def __init__(self, bundle: Bundle, entry: NotebookEntry, config: GradingConfig,
                 kernels: KernelSource | None = None, stop_at_failure: bool = False):
        self.bundle = bundle
        self.stop_at_failure = stop_at_failure  # a focused grading: the first failing test decides
        self.entry = entry
        self.config = config
        self.kernels = kernels or ColdKernels()  # a batch worker passes its warm kernels
        self.verdicts: dict[str, TestOutcome] = {}
        self.answers: dict[str, str] = {}  # manually graded answers as submitted (from the plan)
        self.foreign = False  # a notebook of the previous tool: its answer cells cannot be found

    @contextmanager
    def _phase(self, result: GradeResult, name: str):
        """Add the seconds of the block to ``result.phases[name]``."""
        started = time.monotonic()
        try:
            yield
        finally:
            result.phases[name] = result.phases.get(name, 0.0) + time.monotonic() - started

    def limits(self) -> Limits:
        return Limits(memory_mb=self.entry.memory_mb, threads=self.config.threads)

    def execute(self, plan: Plan, result: GradeResult, submission_dir: Path | None = None) -> None:
        """Run every step; record each test's verdict and the score in ``result``."""
        preload_test_imports(self.entry)
        self.answers = dict(plan.answers)
        self.foreign = plan.foreign
        data = kernel_data(self.entry.data)
        scratch = None
        try:
            scratch = self.kernels.scratch(preloadable(kernel_imports(self.entry)), data.readonly)
            self._copy_bundle_files(scratch.workdir)
            self._copy_artifacts(submission_dir, scratch.workdir, result)
            self._run_in_kernel(plan, scratch, data, result)
        except SandboxError as exc:
            result.messages.append(str(exc))
            for step in plan.steps:
                if step.kind == "test" and step.grade_id not in self.verdicts:
                    self.verdicts[step.grade_id] = TestOutcome("error", f"not graded: {exc}")
        finally:
            if scratch is not None:
                scratch.remove()
        self._record_tests(result)

    # -- the steps of execute ------------------------------------------------------------

    def _copy_bundle_files(self, workdir: Path) -> None:
        """The files the notebook reads (images, data), from the bundle: a student's copy beside the
        submission is never used, so editing a data file changes nothing."""
        if not self.entry.files or self.bundle.path is None:
            return
        for name in self.entry.files:
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((self.bundle.path / FILES_DIR / name).read_bytes())

    def _copy_artifacts(self, submission_dir: Path | None, workdir: Path, result: GradeResult) -> None:
        if submission_dir is None or not self.entry.artifacts:
            return
        notes = copy_artifacts(submission_dir, list(self.entry.artifacts), workdir)
        # A missing file is no news: the notebook then trains again within its time limit.
        result.messages.extend(note.text for note in notes if not note.missing)

    def _run_in_kernel(self, plan: Plan, scratch: Scratch, data: KernelData, result: GradeResult) -> None:
        kernel = scratch.kernel(self.limits(), self.config.sandbox, list(data.readonly), data.env)
        try:
            with self._phase(result, "start"):
                kernel.start()
                result.sandbox = kernel.mode
                if kernel.mode == "subprocess":
                    result.messages.append(kernel.sandbox_note())
                self._start_agent(kernel)
            self._run_steps(plan, kernel, Channel(kernel, self.config.cell_timeout), result)
        finally:
            with self._phase(result, "teardown"):
                kernel.stop()
        if kernel.leftovers:
            result.messages.append(leftovers_note(kernel.leftovers))

    def _start_agent(self, kernel: SandboxKernel) -> None:
        run = kernel.run(agent_start_code(self.bundle.seed, self.entry.seed_torch), timeout=AGENT_START_TIMEOUT_S,
                         store_history=False)
        if not run.ok:
            raise SandboxError(f"the grader's helper did not start in the kernel: {run.error_name}: {run.error_value}")

    def _run_steps(self, plan: Plan, kernel: SandboxKernel, channel: Channel, result: GradeResult) -> None:
        deadline = time.monotonic() + self.entry.timeout
        stopped: str | None = None  # why the remaining steps cannot run
        for step in plan.steps:
            remaining = deadline - time.monotonic()
            if stopped is None and remaining <= 0:
                stopped = f"the notebook's time limit ({self.entry.timeout:.0f} s) was reached before this test"
                result.messages.append(f"time limit of {self.entry.timeout:.0f} s for the whole notebook reached")
            if stopped is not None:
                if step.kind == "test":
                    self.verdicts[step.grade_id] = TestOutcome("error", stopped)
                else:
                    result.cells.append(CellOutcome(step.label, "skipped"))
                continue
            timeout = min(step.timeout, max(remaining, 1.0))
            if step.kind == "test":
                with self._phase(result, "tests"):
                    self.verdicts[step.grade_id] = run_test(self.entry.tests[step.grade_id], step.grade_id,
                                                            channel, timeout, self.bundle.seed, kernel.workdir,
                                                            helpers_before(self.entry, step.grade_id))
                    return_freed_memory()  # what the test allocated, before the next one allocates more
                if kernel.dead:
                    stopped = "the notebook's kernel died (os._exit, a crash or the memory limit)"
                elif self.stop_at_failure and self.verdicts[step.grade_id].status != "passed":
                    stopped = NOT_RUN_IN_FOCUS
                continue
            with self._phase(result, "cells"):
                stopped = self._run_cell(step, kernel, timeout, min(step.timeout, remaining), result)

    @staticmethod
    def _run_cell(step: Step, kernel: SandboxKernel, timeout: float, limit: float, result: GradeResult) -> str | None:
        """Run one cell; why the notebook cannot go on after it (its kernel died), or None."""
        run = kernel.run(step.source, timeout=timeout)
        error = f"{run.error_name}: {run.error_value}" if run.error_name else None
        result.cells.append(CellOutcome(step.label, run.status, round(run.seconds, 3), error))
        hint = gpu_hint(run.traceback or error or "")
        if hint and hint not in result.messages:
            result.messages.append(hint)
        if run.status == "timeout":
            result.messages.append(f"{step.label} was stopped after {limit:.0f} s (time limit)")
        if run.truncated:
            result.messages.append(f"{step.label} printed too much; the rest of its output was dropped")
        if run.status != "died":
            return None
        stopped = f"the notebook's kernel died while running {step.label} ({death_cause(run)})"
        result.messages.append(stopped)
        return stopped

    def _record_tests(self, result: GradeResult) -> None:
        for spec in self.entry.cells:
            if spec.kind == "test":
                absent = NOT_RUN_IN_FOCUS if self.stop_at_failure else "this test did not run"
                outcome = self.verdicts.get(spec.grade_id, TestOutcome("error", absent))
                for name, values in outcome.curves.items():
                    result.curves.setdefault(name, values)
                score = spec.points if outcome.status == "passed" else 0.0
                result.tests.append(TestResult(spec.grade_id, score, spec.points, outcome.status,
                                               clip_text(outcome.output, self.config.feedback_chars)))
            elif spec.by_staff:
                result.tests.append(staff_verdict(spec, self.answers, self.foreign))
        result.score = sum(t.score for t in result.tests)
        pending = [t for t in result.tests if t.status == "pending"]
        if pending:
            result.messages.append(pending_note(pending))


def staff_verdict(spec: CellEntry, answers: dict[str, str], foreign: bool = False) -> TestResult:
    """A manually graded answer or task: pending until staff grade it, or 0 when there is no answer.

    As nbgrader's autograde does, an answer cell that is missing, or still holds the text it
    was handed out with, scores 0 at once (there is nothing for staff to grade). In a notebook
    of the previous tool (``foreign``) answer cells have no ids: every answer is pending.
    """
    if spec.kind == "manual" and not foreign:
        answer = answers.get(spec.grade_id)
        if answer is None:
            return TestResult(spec.grade_id, 0.0, spec.points, "failed", "no answer: this answer cell is missing")
        if spec.source is not None and answer.strip() == spec.source.strip():
            return TestResult(spec.grade_id, 0.0, spec.points, "failed",
                              "no answer: the cell is as it was handed out")
    return TestResult(spec.grade_id, 0.0, spec.points, "pending", PENDING_OUTPUT)


def helpers_before(entry: NotebookEntry, grade_id: str) -> str:
    """Grader-side definitions of the helper cells above a test (see :func:`helper_definitions`)."""
    parts = []
    for cell in entry.cells:
        if cell.grade_id == grade_id:
            break
        if cell.kind == "setup" and cell.helper and cell.source:
            parts.append(helper_definitions(cell.source))
    return "\n".join(p for p in parts if p)


def kernel_imports(entry: NotebookEntry) -> set[str]:
    """The top-level modules the notebook's read-only setup cells import (a warm kernel may preload them)."""
    modules = set()
    for cell in entry.cells:
        if cell.kind == "setup" and cell.source:
            modules.update(_top_level_imports(cell.source))
    return modules


@functools.lru_cache(maxsize=256)
def _top_level_imports(source: str) -> frozenset[str]:
    """The top-level modules one cell imports (cached: a worker sees the same setup cells in every notebook)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    return frozenset(modules)
