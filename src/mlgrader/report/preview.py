"""The student's view of an assignment (``mlgrader preview``): the release notebook as a page,
and one page that puts it beside the feedback a stub gets.

The notebook page is nbconvert's, where nbconvert is installed (it comes with nbgrader, in
the ``course`` extra); without it the side-by-side page links the ``.ipynb`` instead.
The pages hold only what students get: the release notebook and a feedback page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from .page import escape, page, write_text

SIDE_BY_SIDE_CSS = """
<style>
body{max-width:none}
.pair{display:flex;gap:1rem;height:85vh}
.pair iframe{flex:1;border:1px solid #d0d7de;border-radius:.3rem;height:100%}
</style>
"""


@dataclass(frozen=True)
class PreviewPair:
    """One notebook's two pages, as file names in the preview folder."""

    notebook: str  # its name, without .ipynb
    release: str  # the release notebook's page (.html), or the .ipynb itself without nbconvert
    feedback: str  # the stub's feedback page
    score: str  # "0 / 8": what the stub scored


def notebook_html(nb_path: Path) -> str | None:
    """The release notebook as a standalone page, or None without nbconvert."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        return None
    body, _resources = HTMLExporter(template_name="classic").from_notebook_node(nbformat.read(nb_path, as_version=4))
    return body


def write_notebook_html(nb_path: Path, out: Path) -> Path | None:
    html = notebook_html(nb_path)
    return None if html is None else write_text(out, html)


def side_by_side_html(assignment: str, pairs: list[PreviewPair]) -> str:
    """One page: for each notebook, the release on the left and the stub's feedback on the right."""
    parts = [SIDE_BY_SIDE_CSS, f"<h1>{escape(assignment)}: what students get</h1>",
             '<p class="muted">Left: the release notebook, as students open it. Right: the feedback '
             "an untouched notebook gets when graded (public and hidden tests).</p>"]
    for pair in pairs:
        parts.append(f"<h2>{escape(pair.notebook)} <span class=\"muted\">(the stub scores {escape(pair.score)})</span></h2>")
        if pair.release.endswith(".ipynb"):  # no nbconvert: a link instead of the rendered notebook
            left = f'<p>Release notebook: <a href="{escape(pair.release)}">{escape(pair.release)}</a></p>'
        else:
            left = f'<iframe title="release notebook" src="{escape(pair.release)}"></iframe>'
        parts.append(f'<div class="pair">{left}<iframe title="feedback" src="{escape(pair.feedback)}"></iframe></div>')
    return page(f"{assignment}: preview", "\n".join(parts))
