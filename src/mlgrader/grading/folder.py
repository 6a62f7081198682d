"""A submission folder -> the notebook that grades it, for each notebook of the assignment.

Platforms such as Gradescope hand the grader a folder of whatever the student uploaded:
the notebook under another name, a stray ``Untitled.ipynb``, Jupyter's checkpoints, a zip's
``__MACOSX`` debris. For each notebook of the bundle the choice is, first that applies:

1. the file named as in the bundle's manifest (``<notebook>.ipynb``, in a subfolder too;
   the shallowest wins);
2. the only other notebook whose metadata names this assignment (and this notebook, or none);
3. nothing: that notebook gets zero, with a reason that names what the folder holds.

Only file names and notebook metadata (JSON, never run) are read here; grading is
:func:`~mlgrader.grading.notebook.grade_notebook`'s.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..bundle import Bundle, NotebookEntry, choose_bundle, zero_result
from ..config import GradingConfig
from ..results import GradeResult, combine_results
from .notebook import grade_notebook
from .submission import MAX_NOTEBOOK_BYTES, identity

# Folders that never hold the submission: Jupyter's autosaves, macOS zip debris.
IGNORED_DIRS = frozenset({".ipynb_checkpoints", "__MACOSX"})
FOUND_LISTED = 8  # files named in a message, at most


@dataclass(frozen=True)
class FoundFile:
    """A file of the submission folder, as far as choosing needs to know it."""

    rel: str  # path inside the folder, with '/'
    path: Path
    assignment: str | None = None  # what its notebook metadata names (None: none, or not a notebook)
    notebook: str | None = None
    problem: str | None = None  # why a .ipynb could not be read

    @property
    def is_notebook(self) -> bool:
        return self.rel.endswith(".ipynb")

    @property
    def depth(self) -> int:
        return self.rel.count("/")


@dataclass(frozen=True)
class NotebookPick:
    """The file that grades one notebook of the bundle (``path``), or why there is none (``reason``)."""

    entry: NotebookEntry
    path: Path | None
    note: str | None = None  # said to the student alongside the grade
    reason: str | None = None


def scan_folder(folder: Path) -> list[FoundFile]:
    """Every plain file under ``folder`` (symlinks and ignored or hidden folders left out), sorted."""
    found = []
    for parent, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.startswith("."))
        for name in sorted(files):
            path = Path(parent) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(folder).as_posix()
            found.append(_describe(rel, path))
    return sorted(found, key=lambda f: (f.depth, f.rel))


def _describe(rel: str, path: Path) -> FoundFile:
    if not rel.endswith(".ipynb"):
        return FoundFile(rel, path)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return FoundFile(rel, path, problem=f"over {MAX_NOTEBOOK_BYTES // 2**20} MB")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return FoundFile(rel, path, problem="not readable as notebook JSON")
    assignment, notebook = identity(data.get("metadata") if isinstance(data, dict) else None)
    return FoundFile(rel, path, assignment, notebook)


def pick_notebooks(found: list[FoundFile], bundle: Bundle) -> list[NotebookPick]:
    """For each notebook of ``bundle``, the file of ``found`` that grades it (see the module's rules)."""
    named = {f"{entry.name}.ipynb" for entry in bundle.notebooks}
    taken = {f.rel for f in found if f.is_notebook and Path(f.rel).name in named}
    return [_pick(entry, found, bundle, taken) for entry in bundle.notebooks]


def _pick(entry: NotebookEntry, found: list[FoundFile], bundle: Bundle, taken: set[str]) -> NotebookPick:
    expected = f"{entry.name}.ipynb"
    by_name = [f for f in found if f.is_notebook and Path(f.rel).name == expected]
    if by_name:
        return _pick_by_name(entry, by_name, found, taken)
    by_metadata = [f for f in found if f.is_notebook and f.rel not in taken and f.assignment == bundle.assignment
                   and (f.notebook == entry.name or (f.notebook is None and len(bundle.notebooks) == 1))]
    if len(by_metadata) == 1:
        chosen = by_metadata[0]
        return NotebookPick(entry, chosen.path, note=f"graded {chosen.rel}: no file is named {expected}, and it is "
                                                     f"the only notebook of assignment {bundle.assignment}")
    if by_metadata:
        listed = ", ".join(f.rel for f in by_metadata)
        return NotebookPick(entry, None, reason=(
            f"no notebook to grade: no file is named {expected}, and several notebooks carry assignment "
            f"{bundle.assignment}'s metadata ({listed}); rename the one to grade to {expected}"))
    return NotebookPick(entry, None, reason=_nothing_found(expected, bundle.assignment, found))


def _pick_by_name(entry: NotebookEntry, by_name: list[FoundFile], found: list[FoundFile],
                  taken: set[str]) -> NotebookPick:
    shallowest = [f for f in by_name if f.depth == by_name[0].depth]
    if len(shallowest) > 1:
        listed = ", ".join(f.rel for f in shallowest)
        return NotebookPick(entry, None, reason=(f"no notebook to grade: several files are named "
                                                 f"{entry.name}.ipynb ({listed}); submit one"))
    chosen = shallowest[0]
    # Other notebooks nobody grades: say so, so that a student who worked in Untitled.ipynb learns why.
    ignored = [f.rel for f in found if f.is_notebook and f.rel != chosen.rel and f.rel not in taken]
    note = f"graded {chosen.rel}; not graded: {_listing(ignored)}" if ignored else None
    return NotebookPick(entry, chosen.path, note=note)


def _nothing_found(expected: str, assignment: str, found: list[FoundFile]) -> str:
    if not found:
        return f"no notebook to grade: the submission is empty (upload {expected})"
    described = [f"{f.rel} ({_why_not(f, assignment)})" if f.is_notebook else f.rel for f in found]
    return (f"no notebook to grade: no file is named {expected}, and no notebook carries assignment {assignment}'s "
            f"metadata; found {_listing(described)}")


def _why_not(f: FoundFile, assignment: str) -> str:
    if f.problem:
        return f.problem
    if f.assignment is None:
        return "no mlgrader metadata"
    if f.assignment != assignment:
        return f"a notebook of assignment {f.assignment}"
    return "already graded under its own name"


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:FOUND_LISTED])
    return shown + (f" and {len(items) - FOUND_LISTED} more" if len(items) > FOUND_LISTED else "")


def grade_folder(folder: Path, assignment: str | None = None, autograder_dir: Path = Path("autograder"),
                 config: GradingConfig | None = None) -> GradeResult:
    """Grade the submission in ``folder``: one result for the assignment, every notebook of it graded
    or zero with the reason. The assignment is ``assignment`` or the only bundle in ``autograder_dir``.

    Raises :class:`~mlgrader.bundle.BundleError` when no bundle can be told (as for one notebook).
    """
    started = time.monotonic()
    folder = Path(folder)
    bundle = choose_bundle(autograder_dir, folder.name, requested=assignment).bundle
    results = []
    for pick in pick_notebooks(scan_folder(folder), bundle):
        if pick.path is None:
            results.append(zero_result(bundle, pick.entry, str(folder), pick.reason or "no notebook to grade"))
            continue
        result = grade_notebook(pick.path, bundle.assignment, autograder_dir, config)
        if pick.note:
            result.messages.insert(0, pick.note)
        results.append(result)
    combined = combine_results(results)
    combined.seconds = time.monotonic() - started
    return combined
