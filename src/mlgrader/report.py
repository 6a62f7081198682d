"""Reports for people: one student's feedback page and the class report, as plain HTML.

Both are single self-contained files (inline CSS, plots as inline base64 PNG, no
JavaScript, no CDN), so they open from a zip, an LMS upload or an email attachment
without Jupyter or a network.

Everything shown comes from a :class:`~mlgrader.results.GradeResult`: test verdicts and
their messages, notebook-level notes, and how each cell ran. Hidden test *source* is
never read here (this module does not open the autograder bundle). Test messages,
cell errors, labels and paths all come from student code or student-controlled files,
so every string goes through :func:`html.escape`.

Plots need matplotlib (the ``course`` extra); without it the pages are written without
plots and say so.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import quote

from . import __version__
from .results import GradeResult

STATUS_COLOURS = {
    "passed": "#1a7f37", "ok": "#1a7f37", "graded": "#1a7f37",
    "failed": "#b35900", "error": "#cf222e", "timeout": "#cf222e", "died": "#cf222e",
    "skipped": "#6e7781",
}
MAX_OUTPUT_CHARS = 20_000  # a test message is feedback, not a log dump
TROUBLE_CELL_STATUSES = ("timeout", "died")


@dataclass
class ReportRow:
    """One submission as the class report lists it."""

    student: str
    result: GradeResult
    status: str = "graded"  # graded | error (the grader could not produce a grade)
    reason: str = ""
    feedback: str | None = None  # link to the feedback page, relative to the report


# --- shared HTML pieces --------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:60rem;
     padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
h3{font-size:1.05rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem} th,td{border:1px solid #d0d7de;padding:.3rem .5rem;
     text-align:left;vertical-align:top} th{background:#f6f8fa} td.num{text-align:right;white-space:nowrap}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:0;font-size:.85rem}
.badge{display:inline-block;padding:0 .45rem;border-radius:.8rem;color:#fff;font-size:.8rem;font-weight:600}
.score{font-size:2.2rem;font-weight:700;margin:.3rem 0}
.muted{color:#6e7781;font-size:.9rem}
.notes li{margin:.2rem 0}
img.plot{max-width:100%;height:auto;display:block;margin:.5rem 0}
"""


def _e(text: object) -> str:
    """Escape anything for HTML text and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _percent(score: float, max_score: float) -> float | None:
    return 100.0 * score / max_score if max_score else None


def _status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, STATUS_COLOURS["skipped"])  # an unknown status is shown muted


def _badge(status: str) -> str:
    return f'<span class="badge" style="background:{_status_colour(status)}">{_e(status)}</span>'


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
            f'<p class="muted">Written by mlgrader {_e(__version__)}.</p>\n</body>\n</html>\n')


def _pre(text: str) -> str:
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + f"\n... ({len(text) - MAX_OUTPUT_CHARS} more characters not shown)"
    return f"<pre>{_e(text)}</pre>"


def _img(uri: str | None, alt: str) -> str:
    return f'<img class="plot" alt="{_e(alt)}" src="{uri}">' if uri else ""


def _write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- plots ---------------------------------------------------------------------------------


def _new_axes(width: float, height: float):
    """Axes on a new matplotlib Figure (Agg canvas), or None without matplotlib.

    Figure objects (not pyplot) keep no global state and need no display.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _png_data_uri(ax) -> str:
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _plain_label(text: str) -> str:
    # Matplotlib reads "$...$" as mathtext; labels are names, not formulas.
    return text.replace("$", r"\$")


def _bar_per_row_axes(rows: int, row_height: float):
    """Axes tall enough for ``rows`` horizontal bars, or None without matplotlib."""
    return _new_axes(7, row_height * rows + 1.0)


def _top_down(values: Sequence) -> list:
    # barh draws its first bar at the bottom; tables list the first row at the top.
    return list(values)[::-1]


def _bar_per_row_plot(labels: Sequence[str], values: Sequence[float], colours: Sequence[str], xlabel: str,
                      row_height: float, xlim: tuple[float, float] | None = None) -> str | None:
    """One horizontal bar per label, the first at the top, as a PNG data URI (None without
    labels or without matplotlib)."""
    if not labels:
        return None
    ax = _bar_per_row_axes(len(labels), row_height)
    if ax is None:
        return None
    ax.barh(_top_down(_plain_label(label) for label in labels), _top_down(values), color=_top_down(colours))
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    return _png_data_uri(ax)


def points_plot(result: GradeResult) -> str | None:
    """Horizontal bars: points earned and lost per test."""
    if not result.tests:
        return None
    ax = _bar_per_row_axes(len(result.tests), 0.45)
    if ax is None:
        return None
    names = _top_down(_plain_label(t.name) for t in result.tests)
    earned = _top_down(t.score for t in result.tests)
    lost = _top_down(max(t.max_score - t.score, 0.0) for t in result.tests)
    ax.barh(names, earned, color=STATUS_COLOURS["passed"], label="earned")
    ax.barh(names, lost, left=earned, color="#d0d7de", label="not earned")
    ax.set_xlabel("points")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize="small")
    return _png_data_uri(ax)


def cell_time_plot(result: GradeResult) -> str | None:
    """Run time of each cell, coloured by how it ended."""
    timed = [c for c in result.cells if c.status != "skipped"]
    if not any(c.seconds > 0 for c in timed):
        return None
    return _bar_per_row_plot([c.label for c in timed], [c.seconds for c in timed],
                             [_status_colour(c.status) for c in timed], "seconds", row_height=0.35)


def histogram_plot(percents: Sequence[float]) -> str | None:
    """Distribution of scores, in percent of the maximum."""
    if not percents:
        return None
    ax = _new_axes(7, 3)
    if ax is None:
        return None
    ax.hist(percents, bins=[i * 10 for i in range(11)], color="#0969da", edgecolor="white")
    ax.set_xlabel("score (% of maximum)")
    ax.set_ylabel("submissions")
    ax.set_xlim(0, 100)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png_data_uri(ax)


def pass_rate_plot(rates: Sequence["PerTestTally"]) -> str | None:
    """Per test, the share of graded submissions that passed it."""
    return _bar_per_row_plot([r.name for r in rates], [r.pass_rate for r in rates],
                             [STATUS_COLOURS["passed"]] * len(rates), "passed (% of submissions)",
                             row_height=0.45, xlim=(0, 100))


def _plots_note() -> str:
    if importlib.util.find_spec("matplotlib") is None:
        return '<p class="muted">Plots are not shown: matplotlib is not installed.</p>'
    return ""


# --- one student's feedback ----------------------------------------------------------------


def feedback_html(result: GradeResult, student: str | None = None) -> str:
    """The feedback page of one graded notebook."""
    title = f"{result.assignment or 'submission'}" + (f" / {result.notebook}" if result.notebook else "")
    counts = Counter(t.status for t in result.tests)
    percent = _percent(result.score, result.max_score)
    parts = [f"<h1>Feedback: {_e(title)}</h1>"]
    if student:
        parts.append(f'<p class="muted">Student: {_e(student)}</p>')
    parts.append(f'<p class="score">{_num(result.score)} / {_num(result.max_score)}'
                 + (f' <span class="muted">({percent:.0f}%)</span>' if percent is not None else "") + "</p>")
    if counts:
        parts.append("<p>" + ", ".join(f"{counts[s]} {s}" for s in ("passed", "failed", "error") if counts[s]) + "</p>")
    else:
        parts.append("<p>No tests were graded.</p>")
    if result.messages:
        parts.append("<h2>Notes</h2>")
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(m)}</li>" for m in result.messages) + "</ul>")
    parts.append(_tests_section(result))
    parts.append(_cells_section(result))
    meta = [f"submission: {_e(result.submission)}" if result.submission else "",
            f"sandbox: {_e(result.sandbox)}" if result.sandbox else "",
            f"graded in {result.seconds:.1f} s" if result.seconds else ""]
    parts.append(f'<p class="muted">{" &middot; ".join(m for m in meta if m)}</p>')
    parts.append(_plots_note())
    return _page(f"Feedback: {title}", "\n".join(p for p in parts if p))


def _tests_section(result: GradeResult) -> str:
    if not result.tests:
        return ""
    rows = []
    for t in result.tests:
        detail = _pre(t.output) if t.output else ("" if t.status == "passed" else '<span class="muted">no message</span>')
        rows.append(f"<tr><td>{_e(t.name)}</td><td>{_badge(t.status)}</td>"
                    f'<td class="num">{_num(t.score)} / {_num(t.max_score)}</td><td>{detail}</td></tr>')
    return ("<h2>Tests</h2>" + _img(points_plot(result), "points per test")
            + "<table><tr><th>test</th><th>status</th><th>points</th><th>message</th></tr>"
            + "".join(rows) + "</table>")


def _cells_section(result: GradeResult) -> str:
    if not result.cells:
        return ""
    rows = [f"<tr><td>{_e(c.label)}</td><td>{_badge(c.status)}</td><td class=\"num\">{c.seconds:.2f} s</td>"
            f"<td>{_pre(c.error) if c.error else ''}</td></tr>" for c in result.cells]
    return ("<h2>How your cells ran</h2>" + _img(cell_time_plot(result), "run time per cell")
            + "<table><tr><th>cell</th><th>status</th><th>time</th><th>error</th></tr>"
            + "".join(rows) + "</table>")


def write_feedback(result: GradeResult, path: Path, student: str | None = None) -> Path:
    """Write the self-contained HTML feedback page of one result; return its path."""
    return _write(path, feedback_html(result, student))


# --- the class report ----------------------------------------------------------------------


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


def class_report_html(results: Iterable[GradeResult | ReportRow], title: str = "Class report") -> str:
    rows = as_rows(results)
    graded = [r for r in rows if r.status == "graded"]
    parts = [f"<h1>{_e(title)}</h1>",
             f"<p>{len(rows)} submission{'s' if len(rows) != 1 else ''}: {len(graded)} graded, "
             f"{len(rows) - len(graded)} could not be graded.</p>"]
    if not rows:
        parts.append("<p>No submissions.</p>")
        return _page(title, "\n".join(parts))
    for assignment in sorted({r.result.assignment for r in rows if r.result.assignment}):
        parts.append(_assignment_section(assignment, [r for r in rows if r.result.assignment == assignment]))
    parts.append(_problems_section(rows))
    parts.append(_students_section(rows))
    parts.append(_plots_note())
    return _page(title, "\n".join(p for p in parts if p))


def _assignment_section(assignment: str, rows: list[ReportRow]) -> str:
    graded = [r for r in rows if r.status == "graded"]
    percents = [p for r in graded if (p := _percent(r.result.score, r.result.max_score)) is not None]
    parts = [f"<h2>{_e(assignment)}</h2>"]
    if percents:
        parts.append(f"<p>{len(graded)} graded; mean {statistics.mean(percents):.1f}%, "
                     f"median {statistics.median(percents):.1f}%, min {min(percents):.0f}%, "
                     f"max {max(percents):.0f}%.</p>")
        parts.append(_img(histogram_plot(percents), f"score distribution of {assignment}"))
    stats = per_test_tallies(rows)
    if stats:
        parts.append("<h3>Tests</h3>" + _img(pass_rate_plot(stats), f"pass rate per test of {assignment}"))
        table = ["<table><tr><th>test</th><th>points</th><th>passed</th><th>failed</th><th>error</th>"
                 "<th>mean points</th></tr>"]
        for s in stats:
            table.append(f'<tr><td>{_e(s.name)}</td><td class="num">{_num(s.max_score)}</td>'
                         f'<td class="num">{s.pass_rate:.0f}%</td><td class="num">{s.statuses["failed"]}</td>'
                         f'<td class="num">{s.statuses["error"]}</td>'
                         f'<td class="num">{s.points / s.count:.2f}</td></tr>')
        parts.append("".join(table) + "</table>")
    return "\n".join(parts)


def _problems_section(rows: list[ReportRow]) -> str:
    """Submissions that need a look: grader errors, time limits, dead kernels, test errors."""
    items = []
    for r in rows:
        if r.status != "graded":
            items.append((r, "could not be graded", r.reason))
            continue
        trouble = [c for c in r.result.cells if c.status in TROUBLE_CELL_STATUSES]
        if trouble:
            items.append((r, ", ".join(sorted({c.status for c in trouble})),
                          "; ".join(f"{c.label}: {c.status}" for c in trouble)))
        errors = [t.name for t in r.result.tests if t.status == "error"]
        if errors:
            items.append((r, "tests not run", "; ".join(errors)
                          + (f" ({r.result.messages[0]})" if r.result.messages else "")))
    if not items:
        return "<h2>Errors and timeouts</h2><p>None.</p>"
    counts = Counter(kind for _, kind, _ in items)
    body = ["<h2>Errors and timeouts</h2><p>" + ", ".join(f"{n} {_e(k)}" for k, n in sorted(counts.items())) + "</p>",
            "<table><tr><th>student</th><th>assignment</th><th>problem</th><th>detail</th></tr>"]
    for r, kind, detail in items:
        body.append(f"<tr><td>{_student_cell(r)}</td><td>{_e(r.result.assignment)}</td><td>{_e(kind)}</td>"
                    f"<td>{_pre(detail) if detail else ''}</td></tr>")
    return "".join(body) + "</table>"


def _student_cell(row: ReportRow) -> str:
    if row.feedback:
        return f'<a href="{_e(quote(row.feedback))}">{_e(row.student)}</a>'
    return _e(row.student)


def _students_section(rows: list[ReportRow]) -> str:
    body = ["<h2>Students</h2><table><tr><th>student</th><th>assignment</th><th>notebook</th>"
            "<th>score</th><th>%</th><th>status</th><th>reason</th></tr>"]
    for r in sorted(rows, key=lambda r: (r.student, r.result.assignment, r.result.notebook)):
        percent = _percent(r.result.score, r.result.max_score) if r.status == "graded" else None
        body.append(f"<tr><td>{_student_cell(r)}</td><td>{_e(r.result.assignment)}</td><td>{_e(r.result.notebook)}</td>"
                    f'<td class="num">{_num(r.result.score)} / {_num(r.result.max_score)}</td>'
                    f'<td class="num">{"" if percent is None else f"{percent:.0f}%"}</td>'
                    f"<td>{_badge(r.status)}</td><td>{_e(r.reason)}</td></tr>")
    return "".join(body) + "</table>"


def write_class_report(results: Iterable[GradeResult | ReportRow], path: Path, title: str = "Class report") -> Path:
    """Write the class report (distribution, pass rates, problems, links); return its path."""
    return _write(path, class_report_html(results, title))


__all__ = ["ReportRow", "write_feedback", "feedback_html", "write_class_report", "class_report_html"]
