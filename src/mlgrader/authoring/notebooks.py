"""Build step 1: the nbgrader source notebook of each solution (solutions and hidden tests inside).

Cells carry nbgrader's metadata (grade ids, points, locked, solution), so that nbgrader's
own ``generate_assignment`` makes the release and formgrader knows the grade cells. Cell
ids are the grade ids: a rebuild changes no byte. The first cell, read-only, makes mlgrader
importable from the wheel the student's repository carries
(:func:`~mlgrader.authoring.targets.wheel.install_cell_source`).
"""

from __future__ import annotations

import nbformat

from ..bundle import INSTALL_CELL_ID, INSTALL_KIND
from .solution import CellSpec, NotebookSpec
from .targets.wheel import install_cell_source


def install_cell() -> CellSpec:
    """The build's own first cell of every notebook (never run when grading)."""
    return CellSpec(INSTALL_KIND, INSTALL_CELL_ID, install_cell_source())


def source_notebook(spec: NotebookSpec) -> nbformat.NotebookNode:
    """The nbgrader source notebook (solutions and hidden tests still inside)."""
    cells = [_source_cell(c) for c in (install_cell(), *spec.cells)]
    metadata = {
        "kernelspec": spec.kernelspec,
        "language_info": {"name": "python"},
        "mlgrader": {"assignment": spec.assignment, "notebook": spec.name},
    }
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def _source_cell(cell) -> nbformat.NotebookNode:
    nbgrader = {
        "grade": cell.kind == "test",
        "grade_id": cell.grade_id,
        "locked": cell.kind in ("markdown", INSTALL_KIND, "setup", "test"),
        "schema_version": 3,
        "solution": cell.kind == "exercise",
        "task": False,
    }
    if cell.kind == "test":
        nbgrader["points"] = _number(cell.points)
    if cell.kind == "markdown":
        node = nbformat.v4.new_markdown_cell(cell.source, metadata={"nbgrader": nbgrader})
    else:
        node = nbformat.v4.new_code_cell(cell.source, metadata={"nbgrader": nbgrader})
    node.id = cell.grade_id  # deterministic ids: a rebuild changes no byte
    return node


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb, version=4) + "\n").encode()


def source_notebooks(specs: list[NotebookSpec]) -> dict[str, bytes]:
    """``source/<assignment>/<notebook>.ipynb`` of each solution."""
    return {f"source/{s.assignment}/{s.name}.ipynb": notebook_bytes(source_notebook(s)) for s in specs}

