"""``mlgrader preview ASSIGNMENT``: what a student gets, in one folder.

For each notebook of the assignment: the release notebook (``<nb>.ipynb`` and, with
nbconvert, ``<nb>.html``), the feedback page an untouched release notebook (the stub) gets
from the real bundle (``<nb>.feedback.html``), and ``index.html`` with the two side by side.
It refuses a stale build, as validate does: a preview of old notebooks would mislead.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..authoring.build import stale_graded_files
from ..authoring.errors import AuthoringError
from ..config import GradingConfig
from ..grading import grade_notebook
from ..report import write_feedback
from ..report.preview import PreviewPair, side_by_side_html, write_notebook_html
from ..report.page import write_text
from ..results import format_points
from .run import StaleBuildError

PREVIEW_DIR = ".mlgrader-cache/preview"  # ignored by git, like the build's cache


@dataclass
class Preview:
    assignment: str
    folder: Path
    index: Path
    pairs: list[PreviewPair] = field(default_factory=list)


def default_folder(root: Path, assignment: str) -> Path:
    return Path(root) / PREVIEW_DIR / assignment


def preview(root: Path, assignment: str, out: Path | None = None, config: GradingConfig | None = None) -> Preview:
    """Write the preview folder of ``assignment`` (default ``.mlgrader-cache/preview/<a>``)."""
    root = Path(root)
    releases = sorted((root / "release" / assignment).glob("*.ipynb"))
    if not (root / "solutions" / assignment).is_dir():
        raise AuthoringError(f"no such assignment: {assignment} (no {root / 'solutions' / assignment})")
    stale = stale_graded_files(root, [assignment])
    if stale or not releases:
        raise StaleBuildError(stale or [f"release/{assignment}/"])
    folder = Path(out) if out else default_folder(root, assignment)
    # The whole release folder: the files beside the notebooks (data, images) are what the
    # student gets with them, and what grading reads beside the notebook.
    shutil.copytree(root / "release" / assignment, folder, dirs_exist_ok=True)
    pairs = [_pair(folder / release.name, assignment, root / "autograder", folder, config) for release in releases]
    index = write_text(folder / "index.html", side_by_side_html(assignment, pairs))
    return Preview(assignment, folder, index, pairs)


def _pair(copy: Path, assignment: str, autograder: Path, folder: Path, config: GradingConfig | None) -> PreviewPair:
    name = copy.stem
    result = grade_notebook(copy, assignment, autograder, config)
    write_feedback(result, folder / f"{name}.feedback.html", student="an untouched release notebook (the stub)")
    page = write_notebook_html(copy, folder / f"{name}.html")
    return PreviewPair(name, page.name if page else copy.name, f"{name}.feedback.html",
                       f"{format_points(result.score)} / {format_points(result.max_score)}")
