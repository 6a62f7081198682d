"""The shared pieces of mlgrader's HTML pages: one stylesheet, escaping, badges, the page frame.

Every string shown comes from student code or student-controlled files, so everything
goes through :func:`escape`.
"""

from __future__ import annotations

import html
from pathlib import Path

from .. import __version__
from ..config import FEEDBACK_CHARS
from ..results import format_points  # noqa: F401  (the pages' one number format)

STATUS_COLOURS = {
    "passed": "#1a7f37", "ok": "#1a7f37", "graded": "#1a7f37",
    "failed": "#b35900", "error": "#cf222e", "timeout": "#cf222e", "died": "#cf222e",
    "skipped": "#6e7781", "pending": "#0969da",
}
MAX_OUTPUT_CHARS = FEEDBACK_CHARS  # a test message is feedback, not a log dump

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


def escape(text: object) -> str:
    """Escape anything for HTML text and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def percent_of(score: float, max_score: float) -> float | None:
    return 100.0 * score / max_score if max_score else None


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, STATUS_COLOURS["skipped"])  # an unknown status is shown muted


def badge(status: str) -> str:
    return f'<span class="badge" style="background:{status_colour(status)}">{escape(status)}</span>'


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
            f'<p class="muted">Written by mlgrader {escape(__version__)}.</p>\n</body>\n</html>\n')


def pre(text: str) -> str:
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + f"\n... ({len(text) - MAX_OUTPUT_CHARS} more characters not shown)"
    return f"<pre>{escape(text)}</pre>"


def img(uri: str | None, alt: str) -> str:
    return f'<img class="plot" alt="{escape(alt)}" src="{uri}">' if uri else ""


def write_text(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


