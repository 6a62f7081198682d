"""Submission + autograder bundle -> :class:`~mlgrader.results.GradeResult`: the entry point.

Grading happens in three steps, each in its module:

1. :mod:`~mlgrader.grading.submission` reads the notebook and says clearly what is wrong
   with it (invalid JSON, wrong nbformat); :func:`mlgrader.bundle.choose_bundle` says which
   bundle and notebook grade it;
2. :mod:`~mlgrader.grading.plan` lines the student's cells up with the bundle's layout;
3. :mod:`~mlgrader.grading.session` executes the plan: code cells run in a sandboxed
   kernel; at each test the *trusted* grader process runs the test's code (public and
   hidden checks, :mod:`~mlgrader.grading.trusted_tests`), reading notebook values through
   the channel as data. No assertion ever runs in the kernel, so nothing the student
   patches there can change a verdict.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..bundle import INSTALL_KIND, BundleChoice, choose_bundle, zero_result
from ..config import GradingConfig
from ..results import GradeResult
from ..sandbox.warm import KernelSource
from .environment import environment_notes, shell_note, without_shell_escapes
from .plan import Focus, Plan, focus_plan, plan_steps
from .session import NotebookRun
from .submission import SubmissionError, grade_id_of, identity, read_submission


def grade_notebook(path: Path, assignment: str | None = None, autograder_dir: Path = Path("autograder"),
                   config: GradingConfig | None = None, fallback_assignment: str | None = None,
                   kernels: KernelSource | None = None, focus: Focus | None = None) -> GradeResult:
    """Grade one submitted notebook. Always returns a result unless no assignment can be told.

    ``assignment`` is the one asked for (``--assignment``); ``fallback_assignment`` is used
    only when the notebook names none (a batch takes it from the folder layout). ``kernels``
    is where kernels come from (default: each started cold; a batch worker passes its
    :class:`~mlgrader.sandbox.warm.WarmKernels`). ``focus`` (validation only) grades just what
    an edit of one cell can change (:class:`~mlgrader.grading.plan.Focus`). Raises
    :class:`~mlgrader.bundle.BundleError` only when no grade can be attached to any
    assignment (the command line turns that into exit status 2).
    """
    started = time.monotonic()
    config = config or GradingConfig()
    path = Path(path)
    try:
        nb = read_submission(path)
    except SubmissionError as exc:
        choice = choose_bundle(autograder_dir, path.name, requested=assignment, fallback=fallback_assignment,
                               unreadable=str(exc))
        return zero_result(choice.bundle, choice.entry, str(path), str(exc), time.monotonic() - started)
    named, named_notebook = identity(nb.metadata)
    choice = choose_bundle(autograder_dir, path.name, requested=assignment, named=named,
                           named_notebook=named_notebook, fallback=fallback_assignment)
    if choice.zero_reason:
        return zero_result(choice.bundle, choice.entry, str(path), choice.zero_reason, time.monotonic() - started)
    result = _run(nb, choice, path, config, started, kernels, focus)
    result.seconds = time.monotonic() - started
    return result


def _run(nb, choice: BundleChoice, path: Path, config: GradingConfig, started: float,
         kernels: KernelSource | None, focus: Focus | None = None) -> GradeResult:
    entry = choice.entry
    result = GradeResult(choice.bundle.assignment, 0.0, entry.max_score, notebook=entry.name, submission=str(path),
                         hidden_tests=list(entry.hidden_tests))
    plan = plan_steps(nb, entry, config.cell_timeout)
    if focus is not None:
        plan = focus_plan(plan, focus)
    if plan.summary:
        result.messages.append(plan.summary)
    result.messages.extend(environment_notes(_student_code(nb, entry)))
    commands = _strip_shell_escapes(plan)
    if commands:
        result.messages.append(shell_note(commands))
    result.messages.extend(choice.notes)
    result.messages.extend(plan.notes)
    if not nb.metadata.get("kernelspec"):
        result.messages.append("the notebook names no kernel; it was run with Python 3")
    result.phases["prepare"] = time.monotonic() - started  # reading the notebook, choosing the bundle, planning
    NotebookRun(choice.bundle, entry, config, kernels, stop_at_failure=focus is not None).execute(plan, result, submission_dir=path.parent)
    return result


def _strip_shell_escapes(plan: Plan) -> list[str]:
    """Replace the shell escapes of every cell step (they are not run at grading time); the commands."""
    commands: list[str] = []
    for step in plan.steps:
        if step.kind != "cell":
            continue
        cleaned = without_shell_escapes(step.source)
        step.source = cleaned.source
        commands.extend(cleaned.commands)
    return commands


def _student_code(nb, entry) -> list[str]:
    """The sources of the code cells the student wrote: not the course's install and read-only cells."""
    course = {c.grade_id for c in entry.cells if c.kind in (INSTALL_KIND, "setup", "test")}
    return [c.source for c in nb.cells if c.cell_type == "code" and grade_id_of(c) not in course]
