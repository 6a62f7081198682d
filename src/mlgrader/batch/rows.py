"""What a batch records for each submission: a :class:`BatchRow`, graded or error.

A grade is never silently missing: a submission that cannot be graded (no assignment can
be attached to it, the grading process was killed, the cluster lost the task) still gets
a row, with score 0, status ``error`` and the reason. Status ``graded`` means the grader
produced a grade, however low (a damaged notebook of a known assignment scores 0 with the
reason, like ``mlgrader grade``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..bundle import Bundle, zero_result
from ..results import GradeResult, format_points
from .executors import ProcessFailure
from .layouts import Submission
from .tasks import TaskOutcome

CSV_COLUMNS = ("student", "assignment", "notebook", "score", "max_score", "status", "reason", "path")
MAX_REASON_CHARS = 300


@dataclass
class BatchRow:
    submission: Submission
    result: GradeResult
    status: str  # graded | error
    reason: str
    cached: bool = False

    def csv_record(self) -> dict:
        """The row of grades.csv (keys: CSV_COLUMNS)."""
        return {"student": self.submission.student, "assignment": self.result.assignment,
                "notebook": self.result.notebook, "score": format_points(self.result.score),
                "max_score": format_points(self.result.max_score), "status": self.status,
                "reason": self.reason, "path": str(self.submission.path)}

    def json_record(self) -> dict:
        """The line ``--json`` prints."""
        return {"student": self.submission.student, "path": str(self.submission.path),
                "status": self.status, "reason": self.reason, "cached": self.cached,
                **self.result.to_dict()}

    def results_file_record(self) -> dict:
        """What ``results/<key>.json`` holds."""
        return {"student": self.submission.student, "status": self.status, "reason": self.reason,
                "path": str(self.submission.path), **self.result.to_dict()}


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def reason_for(result: GradeResult) -> str:
    """Why a graded submission did not get full marks, in one line ("" when it did)."""
    parts = list(result.messages)
    lost = [t for t in result.tests if t.status != "passed"]
    if lost and not (result.messages and all(t.output == result.messages[0] for t in lost)):
        parts.append(f"{len(lost)} of {len(result.tests)} tests not passed: " + ", ".join(t.name for t in lost))
    return _one_line("; ".join(parts))


def error_result(sub: Submission, bundles: dict[str, Bundle], reason: str) -> GradeResult:
    """A zero result for a submission the grader could not grade, shaped like its bundle when known."""
    assignment = sub.assignment_guess or ""
    bundle, stem = bundles.get(assignment), sub.path.stem
    if bundle is None or not (bundle.has_notebook(stem) or len(bundle.notebooks) == 1):
        return GradeResult(assignment, 0.0, 0.0, submission=str(sub.path), messages=[reason])
    entry = bundle.notebook(stem if bundle.has_notebook(stem) else None)
    return zero_result(bundle, entry, str(sub.path), reason)


def cached_row(sub: Submission, result: GradeResult) -> BatchRow:
    return BatchRow(sub, result, "graded", reason_for(result), cached=True)


def row_from_outcome(sub: Submission, outcome: object, bundles: dict[str, Bundle]) -> BatchRow:
    """The row for what a runner returned for ``sub``: a grade, or an error with the reason."""
    if isinstance(outcome, TaskOutcome) and outcome.status == "graded" and outcome.result is not None:
        result = GradeResult.from_dict(outcome.result)
        result.submission = str(sub.path)
        return BatchRow(sub, result, "graded", reason_for(result))
    if isinstance(outcome, (TaskOutcome, ProcessFailure)):
        reason = outcome.reason or "the grader returned no result"
    else:
        reason = f"the grader returned an unexpected {type(outcome).__name__}"
    reason = _one_line(reason)
    return BatchRow(sub, error_result(sub, bundles, reason), "error", reason)
