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
from .solution import CellSpec, NotebookSpec, files_folder
from .install_cell import install_cell_source


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
    if spec.stubs:  # the release step hands them to nbgrader (absent: nbgrader's defaults)
        metadata["mlgrader"]["stubs"] = dict(sorted(spec.stubs.items()))
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def _source_cell(cell) -> nbformat.NotebookNode:
    metadata = {"nbgrader": _nbgrader_metadata(cell)} if _has_nbgrader_metadata(cell) else {}
    if cell.cell_type == "markdown":
        node = nbformat.v4.new_markdown_cell(cell.source, metadata=metadata)
    else:
        node = nbformat.v4.new_code_cell(cell.source, metadata=metadata)
    node.id = cell.grade_id  # deterministic ids: a rebuild changes no byte
    return node


def _has_nbgrader_metadata(cell) -> bool:
    # A cell students may edit carries no nbgrader metadata (as in nbgrader itself), unless it
    # had a grade id of its own that submissions still name.
    return cell.kind != "editable" or cell.explicit_id


def _nbgrader_metadata(cell) -> dict:
    """nbgrader's cell metadata: what generate_assignment, autograde and formgrader read."""
    nbgrader = {
        "grade": cell.kind in ("test", "manual"),
        "grade_id": cell.grade_id,
        "locked": cell.kind in ("markdown", INSTALL_KIND, "setup", "test", "task"),
        "schema_version": 3,
        "solution": cell.kind in ("exercise", "manual"),
        "task": cell.kind == "task",
    }
    if cell.is_graded:
        nbgrader["points"] = _number(cell.points)
    return nbgrader


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb, version=4) + "\n").encode()


def source_notebooks(specs: list[NotebookSpec]) -> dict[str, bytes]:
    """``source/<assignment>/<notebook>.ipynb`` of each solution, and the files beside it."""
    out = {f"source/{s.assignment}/{s.name}.ipynb": notebook_bytes(source_notebook(s)) for s in specs}
    out.update({f"source/{s.assignment}/{name}": data for s in specs for name, data in beside_files(s).items()})
    return out


def beside_files(spec: NotebookSpec) -> dict[str, bytes]:
    """The header's ``files`` (images, data) by path relative to the notebook: they sit beside it
    in source/ and release/, and the bundle holds a copy that grading puts beside it too."""
    return {name: (files_folder(spec.path) / name).read_bytes() for name in spec.files}

