"""Each row's lateness: the student's deadline, the assignment's submission time, and the penalty.

An assignment is handed in as a whole: its submission time is the latest of its notebooks'
(:mod:`~mlgrader.batch.timestamps`), and each notebook loses what the late policy takes of
its own points (:func:`mlgrader.deadlines.assess`), so that the assignment's penalty is the
sum of its notebooks', as in nbgrader's gradebook. The deadline is the bundle's or the
course config's, moved by the student's extension (:mod:`~mlgrader.batch.course`). The raw
score is never changed: the penalty is recorded beside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from ..bundle import Bundle
from ..deadlines import NO_PENALTY, Deadline, Lateness, LatePolicy, assess, parse_policy
from .course import CourseConfig
from .layouts import Submission
from .timestamps import SubmissionTime


@dataclass(frozen=True)
class StudentDeadline:
    """The deadline that applies to one student's assignment, and where it was written."""

    deadline: Deadline
    policy: LatePolicy
    source: str  # "solution header" | "mlgrader.toml", and ", extended for <student>"
    original_due: dt.datetime | None = None  # set when an extension moved the due date


@dataclass(frozen=True)
class LateRecord:
    """What grades.csv, the report, the gradebook and the exports show about lateness."""

    submitted: SubmissionTime | None  # the assignment's (the latest of its notebooks')
    due: dt.datetime | None = None  # the student's, with any extension; None: no deadline
    timezone: str = "UTC"  # shown in
    deadline_source: str = ""
    policy: LatePolicy = NO_PENALTY
    lateness: Lateness = Lateness(0.0, 0.0)
    original_due: dt.datetime | None = None  # before the student's extension

    @property
    def penalty(self) -> float:
        return self.lateness.penalty

    def local(self, moment: dt.datetime | None) -> str:
        if moment is None:
            return ""
        return Deadline(moment, self.timezone).local(moment).isoformat(timespec="seconds")

    def to_json(self) -> dict:
        return {"submitted": self.submitted.to_json() if self.submitted else None, "due": self.local(self.due) or None,
                "original_due": self.local(self.original_due) or None, "timezone": self.timezone,
                "deadline_source": self.deadline_source, "policy": self.policy.to_json(),
                "seconds_late": self.lateness.seconds_late, "penalty": self.penalty,
                "forgiven": self.lateness.forgiven, "zeroed": self.lateness.zeroed, "note": self.lateness.note}

    @classmethod
    def from_json(cls, data: dict | None) -> "LateRecord | None":
        if not data:
            return None
        moment = (lambda text: dt.datetime.fromisoformat(text) if text else None)
        return cls(SubmissionTime.from_json(data.get("submitted")), moment(data.get("due")), data.get("timezone", "UTC"),
                   data.get("deadline_source", ""), parse_policy(data.get("policy") or {}, "results"),
                   Lateness(float(data.get("seconds_late", 0)), float(data.get("penalty", 0)),
                            bool(data.get("forgiven")), bool(data.get("zeroed")), data.get("note", "")),
                   moment(data.get("original_due")))


def student_deadline(assignment: str, bundle: Bundle | None, course: CourseConfig,
                     sub: Submission) -> StudentDeadline | None:
    """The deadline of ``sub``'s student for ``assignment`` (rules in :mod:`~mlgrader.batch.course`)."""
    settings = course.settings(assignment)
    base = settings.deadline or (bundle.deadline if bundle else None)
    if base is None:
        return None
    source = course.where if settings.deadline else "solution header"
    policy = settings.late or (settings.deadline.late if settings.deadline else None) \
        or (bundle.deadline.late if bundle and bundle.deadline else None) or course.late or NO_PENALTY
    for key in _student_keys(sub):
        if key in settings.extensions:
            where = f"{course.where}: extensions.{key}"
            return StudentDeadline(base.extended(settings.extensions[key], where), policy,
                                   f"{source}, extended for {key} in {course.where}", base.due)
    return StudentDeadline(base, policy, source)


def _student_keys(sub: Submission) -> list[str]:
    keys = [sub.student, sub.layout_student] + (list(sub.person.keys) if sub.person else [])
    return list(dict.fromkeys(k.lower() for k in keys if k))


def display_zone(assignment: str, bundle: Bundle | None, course: CourseConfig) -> str:
    """The zone an assignment's times are shown (and a zip's zone-less times read) in."""
    settings = course.settings(assignment)
    deadline = settings.deadline or (bundle.deadline if bundle else None)
    return deadline.timezone if deadline else (course.timezone or "UTC")


def latest(times: Iterable[SubmissionTime | None]) -> SubmissionTime | None:
    """The latest of an assignment's notebook times (an unknown time counts for nothing)."""
    known = [t for t in times if t is not None and t.at is not None]
    return max(known, key=lambda t: t.at) if known else None


def late_record(submitted: SubmissionTime | None, deadline: StudentDeadline | None, zone_name: str,
                score: float, max_score: float) -> LateRecord:
    """The lateness of one notebook scoring ``score`` of ``max_score`` in an assignment handed in at ``submitted``."""
    if deadline is None:
        return LateRecord(submitted, timezone=zone_name)
    original = deadline.original_due
    if submitted is None or submitted.at is None:
        return LateRecord(submitted, deadline.deadline.due, deadline.deadline.timezone, deadline.source,
                          deadline.policy, Lateness(0.0, 0.0, note="no submission time: no penalty"), original)
    lateness = assess(deadline.deadline, deadline.policy, submitted.at, score, max_score)
    return LateRecord(submitted, deadline.deadline.due, deadline.deadline.timezone, deadline.source,
                      deadline.policy, lateness, original)
