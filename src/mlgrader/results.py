"""Grading results and their formats (the JSON contract, Gradescope, GitHub Classroom, markdown, plain text)."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict, dataclass, field

# GitHub Classroom's result format (classroom-resources/autograding-grading-reporter reads
# base64 of this JSON from <RUNNER_ID>_RESULTS): a test is pass, fail or error.
CLASSROOM_FORMAT_VERSION = 1
CLASSROOM_STATUS = {"passed": "pass", "failed": "fail", "error": "error"}
CLASSROOM_MESSAGE_LIMIT = 4000  # characters of feedback per test in the reporter's log
MARKDOWN_FEEDBACK_LIMIT = 300  # characters of feedback per table row in a job summary
STATUS_MARK = {"passed": "✅ passed", "failed": "❌ failed", "error": "⚠️ error"}

@dataclass
class TestResult:
    """One graded test: ``status`` is passed, failed (a check said no), error (no verdict
    could be reached: time limit, dead kernel, broken bundle) or pending (a manually graded
    answer or task that staff grade later: 0 points until then)."""

    name: str
    score: float
    max_score: float
    status: str
    output: str = ""


@dataclass
class CellOutcome:
    """How one notebook cell ran in the sandbox (for feedback and reports)."""

    label: str
    status: str  # ok | error | timeout | died | skipped
    seconds: float = 0.0
    error: str | None = None


@dataclass
class GradeResult:
    """The grade of one submitted notebook."""

    assignment: str
    score: float
    max_score: float
    tests: list[TestResult] = field(default_factory=list)
    notebook: str = ""
    submission: str = ""
    sandbox: str = ""
    messages: list[str] = field(default_factory=list)
    cells: list[CellOutcome] = field(default_factory=list)
    seconds: float = 0.0
    # Names of the tests that hold hidden checks (from the bundle): platforms that can show a
    # test later (Gradescope's after_due_date) hold these back until the due date.
    hidden_tests: list[str] = field(default_factory=list)
    # Where the seconds went: start (kernel and helper), cells, tests, teardown, and grader
    # (reading the submission and planning, in grade_notebook).
    phases: dict[str, float] = field(default_factory=dict)
    # The notebook's own loss curves that tests checked (variable name -> values), for plots.
    curves: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The command-line contract's object, plus descriptive extras."""
        return {
            "assignment": self.assignment,
            "score": self.score,
            "max_score": self.max_score,
            "tests": [asdict(t) for t in self.tests],
            "notebook": self.notebook,
            "submission": self.submission,
            "sandbox": self.sandbox,
            "messages": list(self.messages),
            "cells": [asdict(c) for c in self.cells],
            "seconds": round(self.seconds, 3),
            "hidden_tests": list(self.hidden_tests),
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "curves": {name: list(values) for name, values in self.curves.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> "GradeResult":
        return cls(
            assignment=data["assignment"],
            score=float(data["score"]),
            max_score=float(data["max_score"]),
            tests=[TestResult(**t) for t in data.get("tests", [])],
            notebook=data.get("notebook", ""),
            submission=data.get("submission", ""),
            sandbox=data.get("sandbox", ""),
            messages=list(data.get("messages", [])),
            cells=[CellOutcome(**c) for c in data.get("cells", [])],
            seconds=float(data.get("seconds", 0.0)),
            hidden_tests=list(data.get("hidden_tests", [])),
            phases={str(k): float(v) for k, v in (data.get("phases") or {}).items()},
            curves={str(k): [float(x) for x in v] for k, v in (data.get("curves") or {}).items()},
        )

    def to_gradescope(self) -> dict:
        """Gradescope's results.json (see :func:`gradescope_results`)."""
        return gradescope_results(self)

    def to_classroom(self) -> dict:
        """GitHub Classroom's result JSON (what the autograding-grading-reporter action reads).

        Each test's ``status`` is its own verdict. The top-level ``status`` says whether the
        run produced a grade: ``error`` only when no test reached a verdict (a notebook that
        could not be read or run at all), else ``pass``, however low the score. The reporter
        fails the job on a top-level ``fail``, and a student must not see red for an
        exercise not done yet; the points say how far they are.
        """
        graded = any(t.status in ("passed", "failed") for t in self.tests) or not self.tests
        return {
            "version": CLASSROOM_FORMAT_VERSION,
            "status": "pass" if graded else "error",
            "max_score": self.max_score,
            "tests": [
                {"name": t.name, "status": CLASSROOM_STATUS.get(t.status, "error"), "score": t.score,
                 "max_score": t.max_score, "message": clip_text(t.output.strip(), CLASSROOM_MESSAGE_LIMIT)}
                for t in self.tests
            ],
        }

    def classroom_value(self) -> str:
        """The value of ``<RUNNER_ID>_RESULTS``: base64 of the compact result JSON, one line."""
        payload = json.dumps(self.to_classroom(), separators=(",", ":"), ensure_ascii=False)
        return base64.b64encode(payload.encode()).decode("ascii")

    def to_markdown(self) -> str:
        """A markdown table of the tests (for a GitHub job summary), the sandbox mode and the notes."""
        title = f"{self.assignment}/{self.notebook}" if self.notebook else self.assignment
        lines = [f"### {_md(title)}: {format_points(self.score)} / {format_points(self.max_score)} points", "",
                 "| test | result | points | feedback |", "|---|---|---|---|"]
        for t in self.tests:
            # The first line is the check's verdict; tracebacks stay in the reporter's log.
            first = t.output.strip().split("\n", 1)[0] if t.status != "passed" else ""
            feedback = clip_text(first, MARKDOWN_FEEDBACK_LIMIT)
            lines.append(f"| {_md(t.name)} | {STATUS_MARK.get(t.status, _md(t.status))} | "
                         f"{format_points(t.score)} / {format_points(t.max_score)} | {_md(feedback)} |")
        lines += ["", f"Sandbox mode: `{self.sandbox or 'none (the notebook did not run)'}`"]
        if self.messages:
            lines += ["", "Notes:", *(f"- {_md(m)}" for m in self.messages)]
        return "\n".join(lines) + "\n"

    def summary_text(self) -> str:
        lines = [f"{self.assignment}/{self.notebook}: {format_points(self.score)} / {format_points(self.max_score)}"]
        for t in self.tests:
            lines.append(f"  {t.status:<6} {format_points(t.score):>4} / {format_points(t.max_score):<4} {t.name}")
            if t.status != "passed" and t.output:
                lines.extend("         " + line for line in t.output.strip().splitlines()[:6])
        lines.extend(f"  note: {m}" for m in self.messages)
        return "\n".join(lines)


# --- Gradescope's results.json --------------------------------------------------------------
#
# Gradescope knows two test statuses, passed and failed; the output text keeps our third
# (error: no verdict could be reached) and a manual grade still to come visible.
GRADESCOPE_PREFIX = {"error": "error (no verdict): ", "pending": "pending (graded by staff later): "}
AFTER_DUE_DATE_NOTE = ("Some tests also run hidden checks: their results, and so your total score, "
                       "show after the due date.")


def gradescope_results(result: GradeResult) -> dict:
    """``result`` as Gradescope's results.json.

    A test that holds hidden checks (``result.hidden_tests``) is ``after_due_date``: its
    verdict would tell what the hidden checks found. Gradescope then also holds the total
    score back. Plain-text formats everywhere: outputs carry student-made text, which must
    never render as HTML. The grader's stdout stays with the staff (``stdout_visibility``).
    """
    hidden = set(result.hidden_tests)
    notes = [f"Graded in the {result.sandbox} sandbox."] if result.sandbox else []
    notes += result.messages
    if hidden & {t.name for t in result.tests}:
        notes.append(AFTER_DUE_DATE_NOTE)
    return {
        "score": result.score,
        "execution_time": int(round(result.seconds)),
        "output": "\n".join(notes),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_gradescope_test(t, t.name in hidden) for t in result.tests],
    }


def _gradescope_test(test: TestResult, hidden: bool) -> dict:
    return {
        "name": test.name,
        "score": test.score,
        "max_score": test.max_score,
        "status": "passed" if test.status == "passed" else "failed",
        "output": GRADESCOPE_PREFIX.get(test.status, "") + test.output,
        "visibility": "after_due_date" if hidden else "visible",
    }


# --- answers staff grade ----------------------------------------------------------------------

PENDING_OUTPUT = "to be graded by the course staff; until then it counts as 0 points"


def pending_note(pending: list[TestResult]) -> str:
    """The message that says what a score leaves out: the points staff give later."""
    points = sum(t.max_score for t in pending)
    names = ", ".join(t.name for t in pending)
    return (f"{format_points(points)} point{'s' if points != 1 else ''} ({names}) are graded by the course "
            f"staff later; the score counts them as 0 until then")


# How the one summary line of a notebook that is not this assignment's begins (feedback shows
# it first; the class report lists such notebooks among its problems).
WRONG_NOTEBOOK_START = "none of the "


def wrong_notebook_note(notebook: str, written: list[str]) -> str:
    """The summary line for a notebook holding none of the cells a student writes in."""
    shown = ", ".join(written[:4]) + (", ..." if len(written) > 4 else "")
    return (f"{WRONG_NOTEBOOK_START}{len(written)} cells you write in {notebook}.ipynb ({shown}) are in this "
            f"notebook: is it the notebook of another assignment, or a copy made outside the release? Submit "
            f"the released {notebook}.ipynb with your answers; the tests below ran, and failed, because their "
            "exercises are missing")


def is_wrong_notebook_note(message: str) -> bool:
    return message.startswith(WRONG_NOTEBOOK_START) and " cells you write in " in message


def apply_staff_scores(result: GradeResult, scores: dict[str, float]) -> float:
    """Put the scores graders gave (test name -> points, from the gradebook) into ``result``.

    A score a person gave replaces the automatic one, as in nbgrader's gradebook; the total
    and the note on pending points follow. Returns the points that came from graders.
    """
    before = pending_note([t for t in result.tests if t.status == "pending"])
    given = 0.0
    for test in result.tests:
        if test.name in scores:
            test.score = float(scores[test.name])
            test.status = "passed" if test.score >= test.max_score else "failed"
            test.output = f"graded by the course staff: {format_points(test.score)} / {format_points(test.max_score)}"
            given += test.score
    result.score = sum(t.score for t in result.tests)
    still = [t for t in result.tests if t.status == "pending"]
    result.messages = [m for m in result.messages if m != before] + ([pending_note(still)] if still else [])
    return given


def combine_results(results: list[GradeResult]) -> GradeResult:
    """One result for an assignment of several notebooks (one submission on Gradescope):
    the tests of each, named ``notebook/test``, and the notes of each, named by notebook."""
    if len(results) == 1:
        return results[0]
    combined = GradeResult(results[0].assignment, sum(r.score for r in results), sum(r.max_score for r in results),
                           notebook=", ".join(r.notebook for r in results),
                           submission=", ".join(r.submission for r in results),
                           sandbox=", ".join(sorted({r.sandbox for r in results if r.sandbox})),
                           seconds=sum(r.seconds for r in results))
    for r in results:
        combined.tests += [TestResult(f"{r.notebook}/{t.name}", t.score, t.max_score, t.status, t.output)
                           for t in r.tests]
        combined.messages += [f"{r.notebook}: {m}" for m in r.messages]
        combined.cells += [CellOutcome(f"{r.notebook}/{c.label}", c.status, c.seconds, c.error) for c in r.cells]
        combined.hidden_tests += [f"{r.notebook}/{name}" for name in r.hidden_tests]
        for phase, seconds in r.phases.items():
            combined.phases[phase] = combined.phases.get(phase, 0.0) + seconds
    return combined


def clip_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut (for feedback)."""
    return text if len(text) <= limit else text[: limit - 40] + f"... [{len(text) - limit + 40} characters cut]"


def _md(text: str) -> str:
    """``text`` safe inside one markdown table cell: no HTML, no column breaks, one line."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def format_points(x: float) -> str:
    """Points as people read them, everywhere: ``3``, ``2.5``, ``0.33`` (at most two decimals)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{round(x, 2):g}"


def feedback_text(result: GradeResult) -> str:
    """A grade as the student reads it, whole (``summary_text`` keeps 6 lines of a message):
    the score, each test with its whole message, the notes, the cells that did not run well."""
    lines = [f"{result.assignment}/{result.notebook}: {format_points(result.score)} / "
             f"{format_points(result.max_score)}"]
    for t in result.tests:
        lines.append(f"  {t.status:<7} {format_points(t.score):>4} / {format_points(t.max_score):<4} {t.name}")
        lines.extend("          " + line for line in t.output.strip().splitlines())
    lines.extend(f"  note: {m}" for m in result.messages)
    for c in result.cells:
        if c.status != "ok":
            lines.append(f"  cell {c.status}: {c.label}" + (f": {c.error.strip()}" if c.error else ""))
    return "\n".join(lines)
