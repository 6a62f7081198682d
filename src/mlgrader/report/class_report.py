"""The class report: score distributions, pass rates per test, problems, links to feedback."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote

from ..results import GradeResult, is_wrong_notebook_note
from .gradebook_sections import ClassNotes, notes_html
from .page import badge, escape, format_points, img, page, percent_of, pre, write_text
from .plots import histogram_plot, pass_rate_plot

TROUBLE_CELL_STATUSES = ("timeout", "died")


@dataclass
class ReportRow:
    """One submission as the class report lists it."""

    student: str
    result: GradeResult
    status: str = "graded"  # graded | error (the grader could not produce a grade)
    reason: str = ""
    feedback: str | None = None  # link to the feedback page, relative to the report
    penalty: float = 0.0  # points a late policy took (the score shown stays the raw one)
    late_note: str = ""  # how late, and what it cost ("" when on time)

    @property
    def final_score(self) -> float:
        return max(self.result.score - self.penalty, 0.0)


@dataclass
class PerTestTally:
    """How one test went across the class."""

    name: str
    max_score: float
    statuses: Counter = field(default_factory=Counter)
    points: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    @property
    def pass_rate(self) -> float:
        return 100.0 * self.statuses["passed"] / self.count if self.count else 0.0


def as_rows(results: Iterable[GradeResult | ReportRow]) -> list[ReportRow]:
    """Accept plain results too: the student is then the submission's file name."""
    rows = []
    for item in results:
        if isinstance(item, ReportRow):
            rows.append(item)
        else:
            student = Path(item.submission).stem if item.submission else item.notebook or "?"
            rows.append(ReportRow(student, item))
    return rows


def per_test_tallies(rows: Sequence[ReportRow]) -> list[PerTestTally]:
    """Per-test outcomes over the rows that were graded, in the order tests first appear."""
    stats: dict[tuple[str, str], PerTestTally] = {}
    several_notebooks = len({r.result.notebook for r in rows}) > 1
    for row in rows:
        if row.status != "graded":
            continue  # a grader failure says nothing about the test
        for t in row.result.tests:
            name = f"{row.result.notebook}: {t.name}" if several_notebooks else t.name
            s = stats.setdefault((row.result.notebook, t.name), PerTestTally(name, t.max_score))
            s.statuses[t.status] += 1
            s.points += t.score
    return list(stats.values())


def class_report_html(results: Iterable[GradeResult | ReportRow], title: str = "Class report",
                      notes: ClassNotes | None = None,
                      rubrics: Mapping[tuple[str, str, str], str] | None = None) -> str:
    """``rubrics``: (assignment, notebook, grade id) -> the rubric of an answer staff grade (for staff
    eyes: the class report is not for students)."""
    rows = as_rows(results)
    graded = [r for r in rows if r.status == "graded"]
    parts = [f"<h1>{escape(title)}</h1>",
             f"<p>{len(rows)} submission{'s' if len(rows) != 1 else ''}: {len(graded)} graded, "
             f"{len(rows) - len(graded)} could not be graded.</p>"]
    if not rows:
        parts.append("<p>No submissions.</p>")
        return page(title, "\n".join(parts))
    for assignment in sorted({r.result.assignment for r in rows if r.result.assignment}):
        parts.append(_assignment_section(assignment, [r for r in rows if r.result.assignment == assignment]))
    parts.append(notes_html(notes))
    parts.append(_staff_section(rows, rubrics or {}))
    parts.append(_problems_section(rows))
    parts.append(_students_section(rows))
    return page(title, "\n".join(p for p in parts if p))


def _assignment_section(assignment: str, rows: list[ReportRow]) -> str:
    graded = [r for r in rows if r.status == "graded"]
    percents = [p for r in graded if (p := percent_of(r.result.score, r.result.max_score)) is not None]
    parts = [f"<h2>{escape(assignment)}</h2>"]
    if percents:
        parts.append(f"<p>{len(graded)} graded; mean {statistics.mean(percents):.1f}%, "
                     f"median {statistics.median(percents):.1f}%, min {min(percents):.0f}%, "
                     f"max {max(percents):.0f}%.</p>")
        parts.append(img(histogram_plot(percents), f"score distribution of {assignment}"))
    stats = per_test_tallies(rows)
    if stats:
        parts.append("<h3>Tests</h3>" + img(pass_rate_plot([t.name for t in stats], [t.pass_rate for t in stats]), f"pass rate per test of {assignment}"))
        table = ["<table><tr><th>test</th><th>points</th><th>passed</th><th>failed</th><th>error</th>"
                 "<th>pending</th><th>mean points</th></tr>"]
        for s in stats:
            table.append(f'<tr><td>{escape(s.name)}</td><td class="num">{format_points(s.max_score)}</td>'
                         f'<td class="num">{s.pass_rate:.0f}%</td><td class="num">{s.statuses["failed"]}</td>'
                         f'<td class="num">{s.statuses["error"]}</td><td class="num">{s.statuses["pending"]}</td>'
                         f'<td class="num">{s.points / s.count:.2f}</td></tr>')
        parts.append("".join(table) + "</table>")
    return "\n".join(parts)


def _staff_section(rows: list[ReportRow], rubrics: Mapping[tuple[str, str, str], str]) -> str:
    """Answers that a person grades: how many still wait, and the rubric to grade them by."""
    waiting: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        for t in row.result.tests:
            if t.status == "pending":
                waiting.setdefault((row.result.assignment, row.result.notebook, t.name), []).append(row.student)
    if not waiting:
        return ""
    body = ["<h2>Still to be graded by staff</h2><p>These answers count as 0 in the scores until a grader "
            "gives their points (nbgrader's formgrader, with <code>--gradebook</code>).</p>",
            "<table><tr><th>assignment</th><th>notebook</th><th>answer</th><th>waiting</th><th>rubric</th></tr>"]
    for key, students in sorted(waiting.items()):
        rubric = rubrics.get(key, "")
        body.append(f"<tr><td>{escape(key[0])}</td><td>{escape(key[1])}</td><td>{escape(key[2])}</td>"
                    f'<td class="num">{len(students)}</td><td>{pre(rubric) if rubric else ""}</td></tr>')
    return "".join(body) + "</table>"


def _problems_section(rows: list[ReportRow]) -> str:
    """Submissions that need a look: grader errors, time limits, dead kernels, test errors, notebooks
    of another assignment."""
    items = []
    for r in rows:
        if r.status != "graded":
            items.append((r, "could not be graded", r.reason))
            continue
        trouble = [c for c in r.result.cells if c.status in TROUBLE_CELL_STATUSES]
        if trouble:
            items.append((r, ", ".join(sorted({c.status for c in trouble})),
                          "; ".join(f"{c.label}: {c.status}" for c in trouble)))
        if r.result.messages and is_wrong_notebook_note(r.result.messages[0]):
            items.append((r, "not this assignment's notebook", r.result.messages[0]))
        errors = [t.name for t in r.result.tests if t.status == "error"]
        if errors:
            items.append((r, "tests not run", "; ".join(errors)
                          + (f" ({r.result.messages[0]})" if r.result.messages else "")))
    if not items:
        return "<h2>Errors and timeouts</h2><p>None.</p>"
    counts = Counter(kind for _, kind, _ in items)
    body = ["<h2>Errors and timeouts</h2><p>" + ", ".join(f"{n} {escape(k)}" for k, n in sorted(counts.items())) + "</p>",
            "<table><tr><th>student</th><th>assignment</th><th>problem</th><th>detail</th></tr>"]
    for r, kind, detail in items:
        body.append(f"<tr><td>{_student_cell(r)}</td><td>{escape(r.result.assignment)}</td><td>{escape(kind)}</td>"
                    f"<td>{pre(detail) if detail else ''}</td></tr>")
    return "".join(body) + "</table>"


def _student_cell(row: ReportRow) -> str:
    if row.feedback:
        return f'<a href="{escape(quote(row.feedback))}">{escape(row.student)}</a>'
    return escape(row.student)


def _students_section(rows: list[ReportRow]) -> str:
    late = any(r.penalty or r.late_note for r in rows)  # the late columns only when lateness was found
    late_heads = "<th>late penalty</th><th>final</th>" if late else ""
    body = ["<h2>Students</h2><table><tr><th>student</th><th>assignment</th><th>notebook</th>"
            f"<th>score</th><th>%</th>{late_heads}<th>status</th><th>reason</th></tr>"]
    for r in sorted(rows, key=lambda r: (r.student, r.result.assignment, r.result.notebook)):
        percent = percent_of(r.result.score, r.result.max_score) if r.status == "graded" else None
        late_cells = (f'<td class="num" title="{escape(r.late_note)}">{"-" + format_points(r.penalty) if r.penalty else ""}'
                      f'</td><td class="num">{format_points(r.final_score)}</td>') if late else ""
        body.append(f"<tr><td>{_student_cell(r)}</td><td>{escape(r.result.assignment)}</td><td>{escape(r.result.notebook)}</td>"
                    f'<td class="num">{format_points(r.result.score)} / {format_points(r.result.max_score)}</td>'
                    f'<td class="num">{"" if percent is None else f"{percent:.0f}%"}</td>{late_cells}'
                    f"<td>{badge(r.status)}</td><td>{escape(r.reason)}</td></tr>")
    return "".join(body) + "</table>"


def write_class_report(results: Iterable[GradeResult | ReportRow], path: Path, title: str = "Class report",
                       notes: ClassNotes | None = None,
                       rubrics: Mapping[tuple[str, str, str], str] | None = None) -> Path:
    """Write the class report (distribution, pass rates, lateness, roster, changes, staff grading, problems, links)."""
    return write_text(path, class_report_html(results, title, notes, rubrics))

