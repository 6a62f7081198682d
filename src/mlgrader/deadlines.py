"""Due dates and late policies: how they are written, and what lateness costs.

A deadline is written in the same form in three places: a solution source's header
(``mlgrader: {due: "2026-10-01T23:59", timezone: "Europe/Berlin", late: {...}}``), the
bundle manifest that carries it to grading (``"deadline": {...}``), and the course
configuration ``mlgrader.toml``. This module reads and checks that form and does the
arithmetic of a penalty. It reads no files and knows nothing of submissions, so that the
build (which checks a header), the bundle (which carries it) and the batch (which applies
it) share one definition.

Late policies (``late = {policy = ..., percent = ..., grace = ..., cutoff = ...}``):

- ``none``: lateness is recorded and shown, nothing is taken;
- ``per-day`` / ``per-hour``: ``percent`` of the notebook's points for each started day
  (hour) late, never more than the notebook scored;
- ``cutoff``: nothing is taken until ``cutoff``, after it the score is 0.

``grace`` (``"15m"``) forgives lateness up to that long; past it, lateness counts from the
due date itself (the grace period forgives, it does not move the deadline). ``cutoff``
(``"3d"`` after the due date, or a date-time) also ends a per-day or per-hour policy: after
it the score is 0.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

POLICIES = ("none", "per-day", "per-hour", "cutoff")
PERIOD_SECONDS = {"per-day": 86400, "per-hour": 3600}
PERIOD_NAMES = {"per-day": "day", "per-hour": "hour"}
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m)?"
                       r"\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")
_UNITS = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))


class DeadlineError(ValueError):
    """A due date, time zone or late policy that cannot be understood (the message says where)."""


@dataclass(frozen=True)
class LatePolicy:
    """What lateness costs (see the module docstring)."""

    policy: str = "none"
    percent: float = 0.0  # per started day or hour, of the notebook's points
    grace: dt.timedelta = dt.timedelta(0)
    cutoff: str | None = None  # a duration after the due date ("3d") or a date-time

    def to_json(self) -> dict:
        """The form written in manifests and read back by :func:`parse_policy`."""
        out: dict = {"policy": self.policy}
        if self.percent:
            out["percent"] = int(self.percent) if float(self.percent).is_integer() else self.percent
        if self.grace:
            out["grace"] = format_duration_spec(self.grace)
        if self.cutoff:
            out["cutoff"] = self.cutoff
        return out

    def describe(self) -> str:
        parts = {"none": ["no late penalty"], "cutoff": ["no late penalty before the cutoff"]}.get(self.policy) or [
            f"{self.percent:g}% of the points per started {PERIOD_NAMES[self.policy]} late"]
        if self.grace:
            parts.append(f"{format_duration(self.grace.total_seconds())} grace")
        if self.cutoff:
            parts.append(f"0 after the cutoff ({self.cutoff})")
        return ", ".join(parts)


NO_PENALTY = LatePolicy()


@dataclass(frozen=True)
class Deadline:
    """When an assignment is due, and (when it says so) what lateness costs."""

    due: dt.datetime  # aware
    timezone: str  # IANA name: the zone due dates and submission times are shown in
    late: LatePolicy | None = None  # None: the course's default policy applies

    def to_json(self) -> dict:
        """The manifest form: the due date as local wall time in its zone."""
        out = {"due": self.local(self.due).replace(tzinfo=None).isoformat(timespec="seconds"),
               "timezone": self.timezone}
        if self.late is not None:
            out["late"] = self.late.to_json()
        return out

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(zone(self.timezone))

    def extended(self, value: object, where: str) -> "Deadline":
        """This deadline for a student with an extension: a new due date-time, or extra time ("2d")."""
        if is_duration(value):
            due = self.due + parse_duration(value, where)
        else:
            due = parse_time(value, self.timezone, where)
        return Deadline(max(due, self.due), self.timezone, self.late)

    def cutoff_at(self, policy: LatePolicy, where: str = "cutoff") -> dt.datetime | None:
        """When the score becomes 0 under ``policy``, or None. Never before this due date, so that
        an extension past an absolute cutoff still counts."""
        if not policy.cutoff:
            return None
        if is_duration(policy.cutoff):
            return self.due + parse_duration(policy.cutoff, where)
        return max(parse_time(policy.cutoff, self.timezone, where), self.due)


@dataclass(frozen=True)
class Lateness:
    """How late one notebook was and what that cost."""

    seconds_late: float  # 0 when on time
    penalty: float  # points taken (never more than the notebook scored)
    forgiven: bool = False  # late, but within the grace period
    zeroed: bool = False  # after the cutoff
    note: str = ""  # one line for people ("" when on time)

    @property
    def late(self) -> bool:
        return self.seconds_late > 0


def assess(deadline: Deadline, policy: LatePolicy, submitted: dt.datetime, score: float,
           max_score: float) -> Lateness:
    """The lateness and penalty of a notebook scoring ``score`` of ``max_score``, submitted at ``submitted``."""
    seconds = (submitted - deadline.due).total_seconds()
    if seconds <= 0:
        return Lateness(0.0, 0.0)
    late = f"{format_duration(seconds)} late"
    if seconds <= policy.grace.total_seconds():
        return Lateness(seconds, 0.0, forgiven=True,
                        note=f"{late}, within the {format_duration(policy.grace.total_seconds())} grace period: no penalty")
    cutoff = deadline.cutoff_at(policy)
    if cutoff is not None and submitted > cutoff:
        return Lateness(seconds, float(max(score, 0.0)), zeroed=True,
                        note=f"{late}, after the cutoff ({deadline.local(cutoff):%Y-%m-%d %H:%M %Z}): score 0")
    if policy.policy not in PERIOD_SECONDS:
        return Lateness(seconds, 0.0, note=f"{late}: no penalty")
    periods = math.ceil(seconds / PERIOD_SECONDS[policy.policy])
    due_penalty = round(max_score * policy.percent / 100 * periods, 6)
    penalty = min(max(score, 0.0), due_penalty)
    unit = PERIOD_NAMES[policy.policy] + ("s" if periods != 1 else "")
    capped = f", capped at the {score:g} points scored" if penalty < due_penalty else ""
    return Lateness(seconds, float(penalty), note=f"{late}: {periods} started {unit} x {policy.percent:g}% of "
                                                  f"{max_score:g} points = -{due_penalty:g}{capped}")


# --- reading the written form ----------------------------------------------------------------


def zone(name: str) -> dt.tzinfo:
    if name.upper() in ("UTC", "Z"):
        return dt.timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise DeadlineError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)") from None


def parse_time(value: object, timezone: str | None, where: str) -> dt.datetime:
    """An aware date-time from ``2026-10-01T23:59`` (local time in ``timezone``), one with an offset,
    or the date-time objects YAML and TOML make. A date alone is refused: which minute would it be?"""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date) or (isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d\d-\d\d\s*", value)):
        raise DeadlineError(f"{where}: {value} is a date without a time; write the minute too "
                            f"(e.g. {value}T23:59)")
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise DeadlineError(f"{where}: {value!r} is not a date-time (write e.g. 2026-10-01T23:59)") from None
    else:
        raise DeadlineError(f"{where}: expected a date-time such as \"2026-10-01T23:59\", got {value!r}")
    if moment.tzinfo is not None:
        return moment
    if not timezone:
        raise DeadlineError(f"{where}: {value} has no time zone; add timezone (e.g. Europe/Berlin) "
                            "or an offset (2026-10-01T23:59+02:00)")
    return moment.replace(tzinfo=zone(timezone))


def is_duration(value: object) -> bool:
    match = _DURATION.match(value) if isinstance(value, str) else None
    return bool(match and any(match.groups()))


def parse_duration(value: object, where: str) -> dt.timedelta:
    """``"15m"``, ``"2h"``, ``"1d12h"``, ``"90s"``; a bare number is minutes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return dt.timedelta(minutes=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise DeadlineError(f"{where}: {value!r} is not a duration (write e.g. 15m, 2h, 3d, 1d12h)")
    days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_policy(value: object, where: str) -> LatePolicy:
    """A :class:`LatePolicy` from its written form (a mapping)."""
    if not isinstance(value, Mapping):
        raise DeadlineError(f"{where}: late must be a table such as {{policy = \"per-day\", percent = 10}}")
    unknown = set(value) - {"policy", "percent", "grace", "cutoff"}
    if unknown:
        raise DeadlineError(f"{where}: unknown late option(s) {', '.join(sorted(map(str, unknown)))} "
                            "(known: policy, percent, grace, cutoff)")
    policy = value.get("policy", "none")
    if policy not in POLICIES:
        raise DeadlineError(f"{where}: late policy {policy!r} is not one of {', '.join(POLICIES)}")
    percent = value.get("percent", 0)
    if isinstance(percent, bool) or not isinstance(percent, (int, float)):
        raise DeadlineError(f"{where}: percent must be a number, got {percent!r}")
    if policy in PERIOD_SECONDS and not 0 < percent <= 100:
        raise DeadlineError(f"{where}: policy {policy} needs percent between 0 and 100 (got {percent:g})")
    if policy not in PERIOD_SECONDS and percent:
        raise DeadlineError(f"{where}: percent applies to per-day and per-hour only, not to {policy}")
    cutoff = value.get("cutoff")
    if policy == "cutoff" and cutoff is None:
        raise DeadlineError(f"{where}: policy cutoff needs cutoff (a duration after the due date, e.g. \"3d\", "
                            "or a date-time)")
    if policy == "none" and cutoff is not None:
        raise DeadlineError(f"{where}: policy none takes no cutoff (use policy = \"cutoff\")")
    if cutoff is not None:
        cutoff = cutoff.isoformat() if isinstance(cutoff, dt.datetime) else str(cutoff)
        if not is_duration(cutoff):
            parse_time(cutoff, "UTC", f"{where}: cutoff")  # checked now; its zone is the deadline's
    grace = parse_duration(value.get("grace", 0), f"{where}: grace")
    return LatePolicy(policy, float(percent), grace, cutoff)


def parse_deadline(options: Mapping, where: str, default_timezone: str | None = None) -> Deadline | None:
    """The deadline that ``options`` (a header's ``mlgrader:`` table, a manifest's ``deadline``, a course
    config's assignment table) declares with ``due``, ``timezone`` and ``late``; None without ``due``."""
    if options.get("due") is None:
        if options.get("late") is not None:
            raise DeadlineError(f"{where}: late needs a due date (due = \"2026-10-01T23:59\")")
        return None
    timezone = options.get("timezone") or default_timezone
    if timezone is not None:
        try:
            zone(str(timezone))  # an unknown zone is named even when the due date has an offset
        except DeadlineError as exc:
            raise DeadlineError(f"{where}: timezone: {exc}") from None
    due = parse_time(options["due"], timezone, f"{where}: due")
    late = parse_policy(options["late"], f"{where}: late") if options.get("late") is not None else None
    return Deadline(due, str(timezone or "UTC"), late)


# --- durations for people ----------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """``1 d 2 h``, ``5 h 3 min``, ``42 s``: the two largest units, rounded up (a second late is late)."""
    seconds = math.ceil(max(seconds, 0))
    if seconds < 60:
        return f"{seconds} s"
    parts, rest = [], seconds
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if rest >= size:
            parts.append(f"{rest // size} {unit}")
            rest %= size
    return " ".join(parts[:2])


def format_duration_spec(delta: dt.timedelta) -> str:
    """A timedelta in the written form :func:`parse_duration` reads (``1d12h``, ``15m``)."""
    seconds, out = round(delta.total_seconds()), ""
    for size, unit in _UNITS:
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"
