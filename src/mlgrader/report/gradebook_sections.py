"""What the instructor's gradebook adds to the class report: lateness, the roster, grade changes.

The batch says what it found as plain data (:class:`ClassNotes`, and the lateness fields of
each :class:`~mlgrader.report.class_report.ReportRow`); this module renders it. Every string
goes through :func:`~mlgrader.report.page.escape`: names and paths come from students.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .page import escape, format_points


@dataclass(frozen=True)
class LateLine:
    student: str
    assignment: str
    notebook: str
    submitted: str  # ISO 8601 in the course's zone
    source: str  # which record gave the time
    due: str
    note: str  # how late, and what it cost
    score: float
    penalty: float
    final_score: float


@dataclass(frozen=True)
class UnmatchedLine:
    """A submission whose layout name is on no roster line."""

    name: str
    path: str
    note: str = ""


@dataclass(frozen=True)
class MissingLine:
    """A roster student with no submission of an assignment the batch graded."""

    assignment: str
    student: str
    name: str = ""


@dataclass(frozen=True)
class ChangeLine:
    """A grade that differs from the last one recorded (the history)."""

    student: str
    assignment: str
    notebook: str
    before: float
    after: float
    max_score: float
    why: str
    before_penalty: float = 0.0
    after_penalty: float = 0.0


@dataclass(frozen=True)
class TamperLine:
    """A student repository whose protected files or read-only cells differ from the template."""

    student: str
    assignment: str
    path: str
    flags: tuple[str, ...]


@dataclass
class ClassNotes:
    """The class-level findings of a batch beyond the grades."""

    late: list[LateLine] = field(default_factory=list)
    time_sources: dict[str, int] = field(default_factory=dict)  # which record gave how many submission times
    roster: str = ""  # the roster file, "" without one
    unmatched: list[UnmatchedLine] = field(default_factory=list)
    missing: list[MissingLine] = field(default_factory=list)
    changes: list[ChangeLine] = field(default_factory=list)
    regraded: list[str] = field(default_factory=list)  # students regraded on request
    tampered: list[TamperLine] = field(default_factory=list)


def notes_html(notes: ClassNotes | None) -> str:
    if notes is None:
        return ""
    return "\n".join(p for p in (_late_section(notes.late, notes.time_sources), _roster_section(notes),
                                 _changes_section(notes.changes, notes.regraded), _tamper_section(notes.tampered))
                     if p)


def _tamper_section(lines: Sequence[TamperLine]) -> str:
    if not lines:
        return ""
    rows = "".join(f"<tr><td>{escape(t.student)}</td><td>{escape(t.assignment)}</td><td>{escape(t.path)}</td>"
                   f"<td><ul>{''.join(f'<li>{escape(flag)}</li>' for flag in t.flags)}</ul></td></tr>" for t in lines)
    return (f"<h2>Repositories changed where they must not be ({len(lines)})</h2>"
            "<p>Grading used the course's own bundle and restored read-only cells, so these changes did not "
            "change a grade; they say that someone tried.</p>"
            "<table><tr><th>student</th><th>assignment</th><th>notebook</th><th>what changed</th></tr>"
            + rows + "</table>")


def _late_section(lines: Sequence[LateLine], sources: dict[str, int]) -> str:
    times = ("<p>Submission times from: " + ", ".join(f"{escape(s)} ({n})" for s, n in sources.items()) + ".</p>"
             if sources else "")
    if not lines:
        return f"<h2>Late submissions</h2>{times}<p>None.</p>" if sources else ""
    body = [f"<h2>Late submissions</h2>{times}<p>{len(lines)} late notebook{'s' if len(lines) != 1 else ''}; "
            "the raw score is kept, the penalty is beside it.</p>",
            "<table><tr><th>student</th><th>assignment</th><th>submitted</th><th>time from</th><th>due</th>"
            "<th>lateness</th><th>raw</th><th>penalty</th><th>final</th></tr>"]
    for line in lines:
        body.append(f"<tr><td>{escape(line.student)}</td><td>{escape(line.assignment)}/{escape(line.notebook)}</td>"
                    f"<td>{escape(line.submitted)}</td><td>{escape(line.source)}</td><td>{escape(line.due)}</td>"
                    f"<td>{escape(line.note)}</td><td class=\"num\">{format_points(line.score)}</td>"
                    f"<td class=\"num\">-{format_points(line.penalty)}</td>"
                    f"<td class=\"num\">{format_points(line.final_score)}</td></tr>")
    return "".join(body) + "</table>"


def _roster_section(notes: ClassNotes) -> str:
    if not notes.roster:
        return ""
    parts = [f"<h2>Roster</h2><p>Roster: {escape(notes.roster)}.</p>"]
    if notes.unmatched:
        rows = "".join(f"<tr><td>{escape(u.name)}</td><td>{escape(u.path)}</td><td>{escape(u.note)}</td></tr>"
                       for u in notes.unmatched)
        parts.append(f"<h3>Submissions that match no one on the roster ({len(notes.unmatched)})</h3>"
                     "<table><tr><th>name from the layout</th><th>path</th><th>note</th></tr>" + rows + "</table>")
    else:
        parts.append("<p>Every submission matched a roster student.</p>")
    if notes.missing:
        rows = "".join(f"<tr><td>{escape(m.assignment)}</td><td>{escape(m.student)}</td><td>{escape(m.name)}</td></tr>"
                       for m in notes.missing)
        parts.append(f"<h3>Roster students with no submission ({len(notes.missing)})</h3>"
                     "<table><tr><th>assignment</th><th>student</th><th>name</th></tr>" + rows + "</table>")
    else:
        parts.append("<p>Every roster student submitted every assignment graded here.</p>")
    return "".join(parts)


def _changes_section(changes: Sequence[ChangeLine], regraded: Sequence[str]) -> str:
    if not changes and not regraded:
        return ""
    parts = ["<h2>Changes since the last grading</h2>"]
    if regraded:
        parts.append(f"<p>Regraded on request: {escape(', '.join(regraded))}.</p>")
    if not changes:
        parts.append("<p>No grade changed.</p>")
        return "".join(parts)
    parts.append("<table><tr><th>student</th><th>assignment</th><th>before</th><th>now</th><th>why</th></tr>")
    for c in changes:
        parts.append(f"<tr><td>{escape(c.student)}</td><td>{escape(c.assignment)}/{escape(c.notebook)}</td>"
                     f"<td class=\"num\">{_points(c.before, c.before_penalty, c.max_score)}</td>"
                     f"<td class=\"num\">{_points(c.after, c.after_penalty, c.max_score)}</td>"
                     f"<td>{escape(c.why)}</td></tr>")
    parts.append("</table><p class=\"muted\">Every earlier grade is kept in history.jsonl.</p>")
    return "".join(parts)


def _points(final: float, penalty: float, max_score: float) -> str:
    late = f" (-{format_points(penalty)} late)" if penalty else ""
    return f"{format_points(final)} / {format_points(max_score)}{late}"
