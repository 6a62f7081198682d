"""What a batch records for each submission: a :class:`BatchRow`, graded or error.

A grade is never silently missing: a submission that cannot be graded (no assignment can
be attached to it, the grading process was killed, the cluster lost the task) still gets
a row, with score 0, status ``error`` and the reason. Status ``graded`` means the grader
produced a grade, however low (a damaged notebook of a known assignment scores 0 with the
reason, like ``mlgrader grade``).

grades.csv
----------
Its columns come in groups (:data:`COLUMN_GROUPS`), each a tuple of names and the function
that fills them from a row; a new group is added at the end, so that the columns other
tools read keep their names and places:

- ``student, assignment, notebook, score, max_score, status, reason, path``: the grade;
  ``score`` is the raw score, before any late penalty;
- ``name, email, login, roster``: who (from the roster; ``login`` is the layout's name when
  the roster has none; ``roster`` is ``matched``, ``not on roster`` or empty without one);
- ``submitted_at, time_source, due, late_seconds, penalty, final_score, late_note``: when it
  was handed in and by which record, the student's due date (with any extension), how late,
  the points the late policy took, and the score after them;
- ``tamper``: for a student repository made from the course's template, what the student
  changed of the files they must not change (``; ``-separated; see :mod:`~mlgrader.batch.tamper`);
- ``manual_points``: the part of ``score`` that graders gave in nbgrader's gradebook (read
  back by ``grade-batch --gradebook``; empty until they do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..bundle import Bundle, zero_result
from ..results import GradeResult, format_points
from .executors import ProcessFailure
from .lateness import LateRecord
from .layouts import Submission
from .tasks import TaskOutcome

MAX_REASON_CHARS = 300


@dataclass
class BatchRow:
    submission: Submission
    result: GradeResult
    status: str  # graded | error
    reason: str
    cached: bool = False
    late: LateRecord | None = None  # set once the row is recorded (lateness.late_record)
    reused: bool = False  # kept from the previous batch (grade-batch --student grades someone else)
    bundle: str = ""  # hash of the bundle that graded it (bundle_hash), for the history
    sha256: str = ""  # of the notebook's bytes as graded
    tamper: tuple[str, ...] = ()  # what the student changed of their repository's template (batch.tamper)
    manual_points: float | None = None  # points graders gave (read back from a gradebook), in score

    @property
    def penalty(self) -> float:
        return self.late.penalty if self.late else 0.0

    @property
    def final_score(self) -> float:
        """The score after the late penalty (the raw score stays in ``result.score``)."""
        return max(self.result.score - self.penalty, 0.0)

    def csv_record(self) -> dict:
        """The row of grades.csv (keys: CSV_COLUMNS)."""
        record: dict = {}
        for _columns, values in COLUMN_GROUPS:
            record.update(values(self))
        return record

    def json_record(self) -> dict:
        """The line ``--json`` prints."""
        return {"student": self.submission.student, "path": str(self.submission.path),
                "status": self.status, "reason": self.reason, "cached": self.cached,
                **self.result.to_dict(), **self._gradebook_fields()}

    def results_file_record(self) -> dict:
        """What ``results/<key>.json`` holds."""
        return {"student": self.submission.student, "status": self.status, "reason": self.reason,
                "path": str(self.submission.path), **self.result.to_dict(), **self._gradebook_fields()}

    def _gradebook_fields(self) -> dict:
        sub = self.submission
        return {"key": sub.key, "login": sub.layout_student, "person": sub.person.to_json() if sub.person else None,
                "roster": roster_status(sub), "roster_note": sub.roster_note,
                "late": self.late.to_json() if self.late else None, "final_score": self.final_score,
                "bundle": self.bundle, "sha256": self.sha256, "tamper": list(self.tamper)}


def roster_status(sub: Submission) -> str:
    return {None: "", True: "matched", False: "not on roster"}[sub.on_roster]


def _grade_columns(row: BatchRow) -> dict:
    return {"student": row.submission.student, "assignment": row.result.assignment,
            "notebook": row.result.notebook, "score": format_points(row.result.score),
            "max_score": format_points(row.result.max_score), "status": row.status,
            "reason": row.reason, "path": str(row.submission.path)}


def _person_columns(row: BatchRow) -> dict:
    sub, person = row.submission, row.submission.person
    return {"name": person.name if person else "", "email": person.email if person else "",
            "login": (person.login if person and person.login else sub.layout_student), "roster": roster_status(sub)}


def _late_columns(row: BatchRow) -> dict:
    late = row.late
    submitted = late.submitted if late else None
    return {"submitted_at": late.local(submitted.at) if late and submitted else "",
            "time_source": submitted.source if submitted else "",
            "due": late.local(late.due) if late else "",
            "late_seconds": str(round(late.lateness.seconds_late)) if late and late.due else "",
            "penalty": format_points(row.penalty), "final_score": format_points(row.final_score),
            "late_note": late.lateness.note if late else ""}


def _tamper_columns(row: BatchRow) -> dict:
    return {"tamper": "; ".join(row.tamper)}


def _manual_columns(row: BatchRow) -> dict:
    return {"manual_points": "" if row.manual_points is None else format_points(row.manual_points)}


ColumnGroup = tuple[tuple[str, ...], Callable[[BatchRow], dict]]
COLUMN_GROUPS: tuple[ColumnGroup, ...] = (
    (("student", "assignment", "notebook", "score", "max_score", "status", "reason", "path"), _grade_columns),
    (("name", "email", "login", "roster"), _person_columns),
    (("submitted_at", "time_source", "due", "late_seconds", "penalty", "final_score", "late_note"), _late_columns),
    (("tamper",), _tamper_columns),
    (("manual_points",), _manual_columns),
)
CSV_COLUMNS = tuple(name for columns, _ in COLUMN_GROUPS for name in columns)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def reason_for(result: GradeResult) -> str:
    """Why a graded submission did not get full marks, in one line ("" when it did)."""
    parts = list(result.messages)
    # Answers staff grade later are not lost points: the messages already say they are pending.
    lost = [t for t in result.tests if t.status not in ("passed", "pending")]
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
