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
            phases={str(k): float(v) for k, v in (data.get("phases") or {}).items()},
        )

    def to_gradescope(self) -> dict:
        """Gradescope's results.json."""
        return {
            "score": self.score,
            "output": "\n".join(self.messages),
            "tests": [
                {"name": t.name, "score": t.score, "max_score": t.max_score,
                 "status": "passed" if t.status == "passed" else "failed", "output": t.output}
                for t in self.tests
            ],
        }

    def summary_text(self) -> str:
        lines = [f"{self.assignment}/{self.notebook}: {format_points(self.score)} / {format_points(self.max_score)}"]
        for t in self.tests:
            lines.append(f"  {t.status:<6} {format_points(t.score):>4} / {format_points(t.max_score):<4} {t.name}")
            if t.status != "passed" and t.output:
                lines.extend("         " + line for line in t.output.strip().splitlines()[:6])
        lines.extend(f"  note: {m}" for m in self.messages)
        return "\n".join(lines)


def clip_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut (for feedback)."""
    return text if len(text) <= limit else text[: limit - 40] + f"... [{len(text) - limit + 40} characters cut]"


def format_points(x: float) -> str:
    """Points as people read them, everywhere: ``3``, ``2.5``, ``0.33`` (at most two decimals)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{round(x, 2):g}"
