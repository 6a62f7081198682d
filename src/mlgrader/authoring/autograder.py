"""Build step 3: the autograder bundle of each assignment (hidden tests, grading manifest).

What a bundle holds is :mod:`mlgrader.bundle`'s business; this step fills it from the
solution specs, and finds what the code tells: whether a notebook uses torch (the grader
seeds it before the first cell) and which data sets it loads from :mod:`mlgrader.data`.
"""

from __future__ import annotations

import ast
import json
from typing import Mapping

from ..bundle import FILES_DIR, INSTALL_CELL_ID, INSTALL_KIND, Bundle, CellEntry, NotebookEntry, bundle_files
from ..data import datasets_used_by
from ..deadlines import Deadline
from .errors import AuthoringError
from .notebooks import beside_files
from .solution import CellSpec, NotebookSpec


def notebook_entry(spec: NotebookSpec, released: Mapping[str, str] | None = None) -> NotebookEntry:
    """The bundle's entry for one notebook; ``released`` is grade id -> the release's text of each
    manually graded answer (what an unanswered cell still holds)."""
    # The notebook's first cell is the build's install line (authoring.notebooks): listed by
    # kind only, so that grading skips it and never reports it edited or missing.
    install = CellEntry(grade_id=INSTALL_CELL_ID, kind=INSTALL_KIND)
    # Cells students may edit freely are graded by nothing, so grading needs no place for them.
    cells = (install,) + tuple(_cell_entry(c, released or {}) for c in spec.cells if c.kind != "editable")
    tests = {c.grade_id: c.source for c in spec.tests}
    imports = imports_of(spec)
    data = tuple(sorted(set(spec.data) | set(datasets_used_by(imports.get("mlgrader.data", set())))))
    return NotebookEntry(spec.name, cells, tests, spec.timeout, spec.memory_mb, "torch" in imports,
                         spec.artifacts, data, spec.files)


def _cell_entry(cell: CellSpec, released: Mapping[str, str]) -> CellEntry:
    source = cell.source if cell.kind == "setup" else released.get(cell.grade_id) if cell.kind == "manual" else None
    return CellEntry(
        grade_id=cell.grade_id,
        kind=cell.kind,
        points=cell.points,
        timeout=cell.timeout,
        source=source,
        cell_type=cell.cell_type if cell.kind == "manual" else None,
        helper=True if cell.helper else None,
        rubric=cell.rubric,
        match=cell.match,
    )


def released_answers(release: bytes) -> dict[str, str]:
    """Grade id -> source of each manually graded answer in a release notebook (nbgrader's stub)."""
    out = {}
    for cell in json.loads(release).get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if meta.get("solution") and meta.get("grade") and isinstance(meta.get("grade_id"), str):
            source = cell.get("source", "")
            out[meta["grade_id"]] = "".join(source) if isinstance(source, list) else source
    return out


def imports_of(spec: NotebookSpec) -> dict[str, set[str]]:
    """Top-level module -> names imported from it (``import x.y`` counts as module ``x``), over code cells."""
    found: dict[str, set[str]] = {}
    for c in spec.cells:
        if not c.is_code:
            continue
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name.split(".")[0], set())
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.setdefault(node.module.split(".")[0], set())
                found.setdefault(node.module, set()).update(a.name for a in node.names)
    return found


def assignment_deadline(specs: list[NotebookSpec]) -> Deadline | None:
    """The deadline the assignment's headers declare: one may say it, or all the same (one assignment,
    one due date)."""
    declared = {json.dumps(s.deadline.to_json(), sort_keys=True): s for s in specs if s.deadline is not None}
    if len(declared) > 1:
        names = ", ".join(str(s.path) for s in declared.values())
        raise AuthoringError(f"the notebooks of {specs[0].assignment} declare different deadlines ({names}); "
                             "write the deadline in one header, or the same in each")
    return next(iter(declared.values())).deadline if declared else None


def autograder_bundles(specs: list[NotebookSpec], releases: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """``autograder/<assignment>/...`` of each assignment; ``releases`` are the release notebooks
    by path (``release/<assignment>/<notebook>.ipynb``), for the text of unanswered manual answers."""
    releases = releases or {}
    out: dict[str, bytes] = {}
    for assignment in sorted({s.assignment for s in specs}):
        own = [s for s in specs if s.assignment == assignment]
        entries = tuple(notebook_entry(s, _released(releases, s)) for s in own)
        bundle = Bundle(assignment, entries, deadline=assignment_deadline(own))
        for rel, text in bundle_files(bundle).items():
            out[f"autograder/{assignment}/{rel}"] = text.encode()
        for spec in own:
            for name, data in beside_files(spec).items():
                out[f"autograder/{assignment}/{FILES_DIR}/{name}"] = data
    return out


def _released(releases: Mapping[str, bytes], spec: NotebookSpec) -> dict[str, str]:
    release = releases.get(f"release/{spec.assignment}/{spec.name}.ipynb")
    return released_answers(release) if release is not None and spec.manual else {}

