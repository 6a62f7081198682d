"""Build step 3: the autograder bundle of each assignment (hidden tests, grading manifest).

What a bundle holds is :mod:`mlgrader.bundle`'s business; this step fills it from the
solution specs, and finds what the code tells: whether a notebook uses torch (the grader
seeds it before the first cell) and which data sets it loads from :mod:`mlgrader.data`.
"""

from __future__ import annotations

import ast
import json

from ..bundle import INSTALL_CELL_ID, INSTALL_KIND, Bundle, CellEntry, NotebookEntry, bundle_files
from ..data import datasets_used_by
from ..deadlines import Deadline
from .errors import AuthoringError
from .solution import NotebookSpec


def notebook_entry(spec: NotebookSpec) -> NotebookEntry:
    # The notebook's first cell is the build's install line (authoring.notebooks): listed by
    # kind only, so that grading skips it and never reports it edited or missing.
    install = CellEntry(grade_id=INSTALL_CELL_ID, kind=INSTALL_KIND)
    cells = (install,) + tuple(
        CellEntry(
            grade_id=c.grade_id,
            kind=c.kind,
            points=c.points,
            timeout=c.timeout,
            source=c.source if c.kind == "setup" else None,
        )
        for c in spec.cells
    )
    tests = {c.grade_id: c.source for c in spec.tests}
    imports = imports_of(spec)
    data = tuple(sorted(set(spec.data) | set(datasets_used_by(imports.get("mlgrader.data", set())))))
    return NotebookEntry(spec.name, cells, tests, spec.timeout, spec.memory_mb, "torch" in imports,
                         spec.artifacts, data)


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


def autograder_bundles(specs: list[NotebookSpec]) -> dict[str, bytes]:
    """``autograder/<assignment>/...`` of each assignment."""
    out: dict[str, bytes] = {}
    for assignment in sorted({s.assignment for s in specs}):
        ours = [s for s in specs if s.assignment == assignment]
        bundle = Bundle(assignment, tuple(notebook_entry(s) for s in ours), deadline=assignment_deadline(ours))
        for rel, text in bundle_files(bundle).items():
            out[f"autograder/{assignment}/{rel}"] = text.encode()
    return out

