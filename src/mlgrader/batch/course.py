"""The course configuration, ``mlgrader.toml``: deadlines, late policies, extensions, the roster, LMS names.

It sits next to ``autograder/`` (``grade-batch`` and ``export`` read it from there, or from
``--course-config``). Everything in it is optional::

    timezone = "Europe/Berlin"      # for due dates written without an offset
    roster = "roster.csv"           # the default --roster (relative to this file)

    [late]                          # the course's default late policy (mlgrader.deadlines)
    policy = "per-day"              # none | per-day | per-hour | cutoff
    percent = 10
    grace = "15m"
    cutoff = "3d"

    [assignments."01-gradient-descent"]
    due = "2026-10-01T23:59"        # overrides the solution header's due date
    late = {policy = "cutoff", cutoff = "2026-10-03T23:59"}
    title = "HW1: gradient descent" # the column name in the LMS files
    canvas_id = 123456              # Canvas's assignment id: the import then updates that assignment
    extensions = {alice = "2026-10-03T23:59", "s1234" = "2d"}   # roster id or login -> new due date or extra time

What applies to a student's notebook: the due date of ``[assignments.<a>]``, else of the
bundle (the solution header); moved by the student's extension; the late policy of
``[assignments.<a>]``, else of the solution header, else ``[late]``, else none.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..deadlines import Deadline, DeadlineError, LatePolicy, parse_deadline, parse_policy, zone
from .errors import BatchUsageError

CONFIG_NAME = "mlgrader.toml"
TOP_KEYS = {"timezone", "roster", "late", "assignments"}
ASSIGNMENT_KEYS = {"due", "timezone", "late", "title", "canvas_id", "extensions"}


class CourseConfigError(BatchUsageError):
    """An mlgrader.toml that cannot be used (exit status 2)."""


@dataclass(frozen=True)
class AssignmentSettings:
    deadline: Deadline | None = None  # its own due date (and late policy, if it names one)
    late: LatePolicy | None = None  # a late policy without a due date of its own
    title: str = ""
    canvas_id: str = ""
    extensions: Mapping[str, object] = field(default_factory=dict)  # lower-case student key -> date-time or duration


@dataclass(frozen=True)
class CourseConfig:
    path: Path | None = None
    timezone: str | None = None
    roster: Path | None = None
    late: LatePolicy | None = None
    assignments: Mapping[str, AssignmentSettings] = field(default_factory=dict)

    def settings(self, assignment: str) -> AssignmentSettings:
        return self.assignments.get(assignment) or AssignmentSettings()

    def title(self, assignment: str) -> str:
        return self.settings(assignment).title or assignment

    @property
    def where(self) -> str:
        return str(self.path) if self.path else CONFIG_NAME


def default_config_path(autograder: Path) -> Path | None:
    """``mlgrader.toml`` beside the autograder folder, when there is one."""
    candidate = Path(autograder).absolute().parent / CONFIG_NAME
    return candidate if candidate.is_file() else None


def read_course_config(path: Path | None) -> CourseConfig:
    """The configuration in ``path`` (an empty one for None); raise :class:`CourseConfigError` with where."""
    if path is None:
        return CourseConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CourseConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CourseConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return _config(path, data)
    except DeadlineError as exc:
        raise CourseConfigError(str(exc)) from None


def _config(path: Path, data: dict) -> CourseConfig:
    _known(path, data, TOP_KEYS, "")
    timezone = data.get("timezone")
    if timezone is not None:
        try:
            zone(str(timezone))
        except DeadlineError as exc:
            raise CourseConfigError(f"{path}: timezone: {exc}") from None
    late = parse_policy(data["late"], f"{path}: [late]") if "late" in data else None
    roster = (path.parent / data["roster"]) if data.get("roster") else None
    tables = data.get("assignments", {})
    if not isinstance(tables, dict):
        raise CourseConfigError(f"{path}: assignments must be tables ([assignments.\"01-...\"])")
    assignments = {name: _assignment(path, name, table, timezone) for name, table in tables.items()}
    return CourseConfig(path, timezone, roster, late, assignments)


def _assignment(path: Path, name: str, table: object, timezone: str | None) -> AssignmentSettings:
    where = f'{path}: [assignments."{name}"]'
    if not isinstance(table, dict):
        raise CourseConfigError(f"{where} must be a table")
    _known(path, table, ASSIGNMENT_KEYS, f'assignments."{name}".')
    # A late policy alone is allowed here: it overrides the solution header's for the header's due date.
    deadline = parse_deadline(table, where, timezone) if table.get("due") is not None else None
    late = parse_policy(table["late"], f"{where}: late") if "late" in table else None
    extensions = table.get("extensions", {})
    if not isinstance(extensions, dict):
        raise CourseConfigError(f"{where}: extensions must be a table (student = date-time or duration)")
    for student, value in extensions.items():  # checked now, so that a typo fails before any grading
        base = deadline or Deadline(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), str(timezone or "UTC"))
        base.extended(value, f"{where}: extensions.{student}")
    return AssignmentSettings(deadline, late, str(table.get("title") or ""), str(table.get("canvas_id") or ""),
                              {str(k).lower(): v for k, v in extensions.items()})


def _known(path: Path, table: dict, allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CourseConfigError(f"{path}: unknown key(s) {', '.join(prefix + k for k in unknown)} "
                                f"(known: {', '.join(sorted(allowed))})")
