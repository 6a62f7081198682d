"""One student's feedback page: score, notes, each test's verdict and message, how cells ran.

Hidden test *source* is never read here (nothing in this package opens the autograder
bundle); a page shows only what a :class:`~mlgrader.results.GradeResult` holds.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..results import GradeResult
from .page import badge, escape, format_points, img, page, percent_of, pre, write_text
from .plots import cell_time_plot, loss_curves_plot, points_plot




def feedback_html(result: GradeResult, student: str | None = None, late: str | None = None,
                  penalty: float = 0.0) -> str:
    """The feedback page of one graded notebook."""
    title = f"{result.assignment or 'submission'}" + (f" / {result.notebook}" if result.notebook else "")
    counts = Counter(t.status for t in result.tests)
    percent = percent_of(result.score, result.max_score)
    parts = [f"<h1>Feedback: {escape(title)}</h1>"]
    if student:
        parts.append(f'<p class="muted">Student: {escape(student)}</p>')
    parts.append(f'<p class="score">{format_points(result.score)} / {format_points(result.max_score)}'
                 + (f' <span class="muted">({percent:.0f}%)</span>' if percent is not None else "") + "</p>")
    if late:  # the raw score stays above; what lateness took is said beside it
        final = max(result.score - penalty, 0.0)
        parts.append(f"<p>Late: {escape(late)}." + (f" Score after the late penalty: <b>{format_points(final)} / "
                                                     f"{format_points(result.max_score)}</b>." if penalty else "") + "</p>")
    if counts:
        parts.append("<p>" + ", ".join(f"{counts[s]} {s}" for s in ("passed", "failed", "error", "pending")
                                       if counts[s]) + "</p>")
    else:
        parts.append("<p>No tests were graded.</p>")
    parts.append(_staff_section(result))
    if result.messages:
        parts.append("<h2>Notes</h2>")
        parts.append('<ul class="notes">' + "".join(f"<li>{escape(m)}</li>" for m in result.messages) + "</ul>")
    parts.append(_tests_section(result))
    parts.append(_curves_section(result))
    parts.append(_cells_section(result))
    meta = [f"submission: {escape(result.submission)}" if result.submission else "",
            f"sandbox: {escape(result.sandbox)}" if result.sandbox else "",
            f"graded in {result.seconds:.1f} s" if result.seconds else ""]
    parts.append(f'<p class="muted">{" &middot; ".join(m for m in meta if m)}</p>')
    return page(f"Feedback: {title}", "\n".join(p for p in parts if p))


def _staff_section(result: GradeResult) -> str:
    """What the course staff still grade by hand: those points are not in the score yet."""
    pending = [t for t in result.tests if t.status == "pending"]
    if not pending:
        return ""
    points = sum(t.max_score for t in pending)
    items = "".join(f"<li>{escape(t.name)} ({format_points(t.max_score)} points)</li>" for t in pending)
    return (f"<h2>Still to be graded by the course staff</h2><p>{format_points(points)} points are for answers "
            f"a person grades; the score above counts them as 0 until then.</p><ul>{items}</ul>")


def _tests_section(result: GradeResult) -> str:
    if not result.tests:
        return ""
    rows = []
    for t in result.tests:
        detail = pre(t.output) if t.output else ("" if t.status == "passed" else '<span class="muted">no message</span>')
        rows.append(f"<tr><td>{escape(t.name)}</td><td>{badge(t.status)}</td>"
                    f'<td class="num">{format_points(t.score)} / {format_points(t.max_score)}</td><td>{detail}</td></tr>')
    return ("<h2>Tests</h2>" + img(points_plot(result), "points per test")
            + "<table><tr><th>test</th><th>status</th><th>points</th><th>message</th></tr>"
            + "".join(rows) + "</table>")


def _curves_section(result: GradeResult) -> str:
    """Your loss curves, as the tests saw them: a picture says at once whether training went down."""
    plot = loss_curves_plot(result)
    if plot is None:
        return ""
    names = ", ".join(escape(name) for name in result.curves)
    return f"<h2>Your training</h2><p>The loss curves the tests checked: {names}.</p>" + img(plot, "loss curves")


def _cells_section(result: GradeResult) -> str:
    if not result.cells:
        return ""
    rows = [f"<tr><td>{escape(c.label)}</td><td>{badge(c.status)}</td><td class=\"num\">{c.seconds:.2f} s</td>"
            f"<td>{pre(c.error) if c.error else ''}</td></tr>" for c in result.cells]
    return ("<h2>How your cells ran</h2>" + img(cell_time_plot(result), "run time per cell")
            + "<table><tr><th>cell</th><th>status</th><th>time</th><th>error</th></tr>"
            + "".join(rows) + "</table>")


def write_feedback(result: GradeResult, path: Path, student: str | None = None, late: str | None = None,
                   penalty: float = 0.0) -> Path:
    """Write the self-contained HTML feedback page of one result (``late``: how late, and ``penalty``
    what it cost); return its path."""
    return write_text(path, feedback_html(result, student, late, penalty))


