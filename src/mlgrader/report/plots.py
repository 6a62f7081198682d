"""Plots for the pages, as inline PNG data URIs (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

import base64
import importlib.util
import io
from typing import Sequence

from ..results import GradeResult
from .page import STATUS_COLOURS, status_colour




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


def loss_curves_plot(result: GradeResult) -> str | None:
    """The notebook's loss curves that tests checked, one line each (log scale when all are
    positive and span more than a factor 100), as a PNG data URI; None without curves."""
    curves = {name: values for name, values in result.curves.items() if values}
    if not curves:
        return None
    ax = _new_axes(7, 3.2)
    if ax is None:
        return None
    finite = [v for values in curves.values() for v in values if v == v and abs(v) != float("inf")]
    for name, values in curves.items():
        ax.plot(range(len(values)), values, label=_plain_label(name), linewidth=1.4)
    if finite and min(finite) > 0 and max(finite) > 100 * min(finite):
        ax.set_yscale("log")
    ax.set_xlabel("step (as recorded)")
    ax.set_ylabel("loss")
    ax.legend(loc="best", fontsize="small")
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
                             [status_colour(c.status) for c in timed], "seconds", row_height=0.35)


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


def pass_rate_plot(names: Sequence[str], pass_rates: Sequence[float]) -> str | None:
    """Per test, the share of graded submissions that passed it (in percent)."""
    return _bar_per_row_plot(list(names), list(pass_rates), [STATUS_COLOURS["passed"]] * len(names),
                             "passed (% of submissions)", row_height=0.45, xlim=(0, 100))


def plots_note() -> str:
    """A line saying plots are missing, where matplotlib is."""
    if importlib.util.find_spec("matplotlib") is None:
        return '<p class="muted">Plots are not shown: matplotlib is not installed.</p>'
    return ""


