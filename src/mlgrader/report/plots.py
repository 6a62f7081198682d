"""Plots for the pages, as inline SVG data URIs written directly (no plotting library).

A batch writes one feedback page per submission, in the process that collects the grades:
drawn with matplotlib, its two plots cost 0.15-0.28 s of CPU per page (constrained layout,
Agg rendering, PNG encoding), a quarter of what grading a notebook of 01 costs. Bars and
a histogram are a few rectangles: as SVG text they cost a millisecond, stay sharp at any
zoom, and need no optional dependency.
"""

from __future__ import annotations

import base64
import math
from typing import Sequence

from ..results import GradeResult
from .page import STATUS_COLOURS, escape, status_colour

FONT_PX = 12
CHAR_PX = 7.0  # the average width of a character at FONT_PX: labels are laid out without font metrics
ROW_PX = 22
BAR_PX = 14
PLOT_PX = 420  # the width of the bars' area
MAX_LABEL_CHARS = 40
LOST_COLOUR = "#d0d7de"
HISTOGRAM_COLOUR = "#0969da"


def _svg_data_uri(width: float, height: float, body: str) -> str:
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{FONT_PX}">{body}</svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten apart)."""
    if not top > 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def _tick_text(value: float) -> str:
    return f"{value:g}"


def _x_axis(left: float, top: float, bottom: float, ticks: list[float], scale: float, xlabel: str) -> str:
    """The axis under the bars (at ``bottom``): a line, tick values, grid lines from ``top``, and its label."""
    parts = []
    for tick in ticks:
        x = left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">{_tick_text(tick)}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{left + ticks[-1] * scale:.1f}" y2="{bottom:.1f}" '
                 'stroke="#57606a"/>')
    parts.append(f'<text x="{left + ticks[-1] * scale / 2:.1f}" y="{bottom + 30:.1f}" text-anchor="middle">'
                 f'{escape(xlabel)}</text>')
    return "".join(parts)


def _stacked_bars(labels: Sequence[str], segments: Sequence[Sequence[tuple[float, str]]], xlabel: str,
                  xlim: tuple[float, float] | None = None, legend: Sequence[tuple[str, str]] = ()) -> str:
    """One horizontal bar per label, top to bottom, each made of (value, colour) segments."""
    shown = [_short(str(label)) for label in labels]
    left = 8 + CHAR_PX * max(len(label) for label in shown)
    top = ROW_PX if legend else 4
    totals = [sum(max(value, 0.0) for value, _ in row) for row in segments]
    ticks = nice_ticks(xlim[1] if xlim else max(totals, default=0.0))
    scale = PLOT_PX / ticks[-1]
    parts = []
    x = left
    for name, colour in legend:
        parts.append(f'<rect x="{x:.1f}" y="4" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14:.1f}" y="13">{escape(name)}</text>')
        x += 28 + CHAR_PX * len(name)
    for row, (label, bar) in enumerate(zip(shown, segments)):
        y = top + row * ROW_PX
        parts.append(f'<text x="{left - 6:.1f}" y="{y + BAR_PX - 3:.1f}" text-anchor="end">{escape(label)}</text>')
        start = 0.0
        for value, colour in bar:
            width = max(value, 0.0) * scale
            if width > 0:
                parts.append(f'<rect x="{left + start * scale:.1f}" y="{y:.1f}" width="{width:.1f}" '
                             f'height="{BAR_PX}" fill="{colour}"/>')
            start += max(value, 0.0)
    bottom = top + len(shown) * ROW_PX
    axis = _x_axis(left, top, bottom, ticks, scale, xlabel)
    return _svg_data_uri(left + PLOT_PX + 24, bottom + 38, axis + "".join(parts))


CURVE_COLOURS = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#57606a")
CURVE_PX = (420, 180)  # the width and height of the curves' area


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def _curve_scale(curves: dict[str, Sequence[float]]) -> tuple[float, float, bool]:
    """The y range of the curves (finite values only) and whether to draw it on a log scale:
    when every loss is positive and they span more than a factor 100 (a blow-up, or a
    loss that fell by orders of magnitude), a linear axis would flatten all but one step."""
    finite = _finite([v for values in curves.values() for v in values])
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    log = bool(finite) and low > 0 and high > 100 * low
    if log:
        low, high = math.log10(low), math.log10(high)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    return low, high, log


def _curve_path(values: Sequence[float], x_of, y_of) -> str:
    """An SVG path through the finite values; NaN and inf break the line (they cannot be drawn)."""
    parts, pen_down = [], False
    for i, v in enumerate(values):
        if not (isinstance(v, (int, float)) and math.isfinite(v)):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x_of(i):.1f},{y_of(v):.1f}")
        pen_down = True
    return " ".join(parts)


def loss_curves_plot(result: GradeResult) -> str | None:
    """The notebook's loss curves that tests checked, one line each (log scale when all are
    positive and span more than a factor 100), as an SVG data URI; None without curves."""
    curves = {name: list(values) for name, values in result.curves.items() if _finite(values)}
    if not curves:
        return None
    low, high, log = _curve_scale(curves)
    width, height = CURVE_PX
    left, top = 56.0, 8.0 + ROW_PX * len(curves)
    steps = max(len(values) for values in curves.values())

    def x_of(i: int) -> float:
        return left + (i / max(steps - 1, 1)) * width

    def y_of(v: float) -> float:
        value = math.log10(v) if log else v
        return top + (high - value) / (high - low) * height

    parts = []
    for row, (name, values) in enumerate(curves.items()):
        colour = CURVE_COLOURS[row % len(CURVE_COLOURS)]
        y = 8 + row * ROW_PX
        parts.append(f'<rect x="{left:.1f}" y="{y:.1f}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + 14:.1f}" y="{y + 9:.1f}">{escape(_short(name))}</text>')
        parts.append(f'<path d="{_curve_path(values, x_of, y_of)}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
    for value in (low, (low + high) / 2, high):
        label = f"{10 ** value:.3g}" if log else f"{value:.3g}"
        y = top + (high - value) / (high - low) * height
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + width:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
                     f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    bottom = top + height
    parts.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{left + width:.1f}" y2="{bottom:.1f}" stroke="#57606a"/>'
                 f'<text x="{left:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">0</text>'
                 f'<text x="{left + width:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">{steps - 1}</text>'
                 f'<text x="{left + width / 2:.1f}" y="{bottom + 30:.1f}" text-anchor="middle">'
                 f'step (as recorded){", log scale" if log else ""}</text>')
    return _svg_data_uri(left + width + 24, bottom + 38, "".join(parts))


def points_plot(result: GradeResult) -> str | None:
    """Horizontal bars: points earned and lost per test."""
    if not result.tests:
        return None
    segments = [[(t.score, STATUS_COLOURS["passed"]), (max(t.max_score - t.score, 0.0), LOST_COLOUR)]
                for t in result.tests]
    return _stacked_bars([t.name for t in result.tests], segments, "points",
                         legend=[("earned", STATUS_COLOURS["passed"]), ("not earned", LOST_COLOUR)])


def cell_time_plot(result: GradeResult) -> str | None:
    """Run time of each cell, coloured by how it ended."""
    timed = [c for c in result.cells if c.status != "skipped"]
    if not any(c.seconds > 0 for c in timed):
        return None
    return _stacked_bars([c.label for c in timed], [[(c.seconds, status_colour(c.status))] for c in timed], "seconds")


def pass_rate_plot(names: Sequence[str], pass_rates: Sequence[float]) -> str | None:
    """Per test, the share of graded submissions that passed it (in percent)."""
    if not names:
        return None
    return _stacked_bars(list(names), [[(rate, STATUS_COLOURS["passed"])] for rate in pass_rates],
                         "passed (% of submissions)", xlim=(0, 100))


def histogram_plot(percents: Sequence[float]) -> str | None:
    """Distribution of scores in ten bins of 10 % of the maximum (the last one includes 100 %)."""
    if not percents:
        return None
    counts = [0] * 10
    for percent in percents:
        counts[min(max(int(percent // 10), 0), 9)] += 1
    ticks = nice_ticks(max(counts))
    ticks = [t for t in ticks if t == int(t)] or [0, 1]  # whole submissions only
    height, left, width = 180.0, 40.0, 480.0
    scale, column = height / ticks[-1], width / 10
    parts = []
    for tick in ticks:
        y = height - tick * scale + 6
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + width:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
                     f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{int(tick)}</text>')
    for index, count in enumerate(counts):
        if count:
            bar = count * scale
            parts.append(f'<rect x="{left + index * column + 1:.1f}" y="{height - bar + 6:.1f}" '
                         f'width="{column - 2:.1f}" height="{bar:.1f}" fill="{HISTOGRAM_COLOUR}"/>')
    for index in range(11):
        parts.append(f'<text x="{left + index * column:.1f}" y="{height + 22:.1f}" text-anchor="middle">'
                     f'{index * 10}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{height + 6:.1f}" x2="{left + width:.1f}" y2="{height + 6:.1f}" '
                 'stroke="#57606a"/>')
    parts.append(f'<text x="{left + width / 2:.1f}" y="{height + 40:.1f}" text-anchor="middle">'
                 'score (% of maximum)</text>')
    parts.append(f'<text x="12" y="{height / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {height / 2:.1f})">submissions</text>')
    return _svg_data_uri(left + width + 16, height + 50, "".join(parts))
