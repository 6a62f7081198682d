"""Grading results and their formats (the JSON contract, Gradescope, plain text)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

@dataclass
class TestResult:
    """One graded test: ``status`` is passed, failed (a check said no) or error (no verdict
    could be reached: time limit, dead kernel, broken bundle)."""

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
        )

    def to_gradescope(self) -> dict:
        """Gradescope's results.json (see :func:`gradescope_results`)."""
        return gradescope_results(self)

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


def format_points(x: float) -> str:
    """Points as people read them, everywhere: ``3``, ``2.5``, ``0.33`` (at most two decimals)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{round(x, 2):g}"
