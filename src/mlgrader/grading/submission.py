"""Reading a submitted notebook, and saying clearly what is wrong with it.

Invalid JSON, the wrong nbformat, a file that is no notebook at all: each gets a
:class:`SubmissionError` whose message tells the student what happened and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


class SubmissionError(ValueError):
    """The submission cannot be graded as it is; the message tells the student why."""


def read_submission(path: Path) -> nbformat.NotebookNode:
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SubmissionError(f"{path} does not exist") from None
    if path.is_dir():
        raise SubmissionError(f"{path} is a folder, not a notebook")
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path.name} is {size // 2**20} MB; notebooks over {MAX_NOTEBOOK_BYTES // 2**20} MB are not graded (clear large outputs)")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a text file (is it really a .ipynb notebook?)") from None
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file was probably damaged while editing it outside Jupyter") from None
    if not isinstance(data, dict):
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook")
    major = data.get("nbformat")
    if major is not None and major != 4:
        raise SubmissionError(
            f"{path.name} uses nbformat {major!r}; save it as a current Jupyter notebook (nbformat 4)")
    if "cells" not in data or major is None:
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (no 'cells' or 'nbformat')")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for malformed structure
        raise SubmissionError(f"{path.name} is not a well-formed notebook: {exc}") from None
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell.get("source", ""), str) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise SubmissionError(f"{path.name}: cell {index + 1} is malformed")
    return nb



def identity(metadata: object) -> tuple[str | None, str | None]:
    """(assignment, notebook) named by a notebook's metadata (``metadata.mlgrader``); None where absent.

    Works on nbformat's metadata and on plain parsed JSON alike.
    """
    meta = metadata.get("mlgrader") if isinstance(metadata, dict) else None
    if not isinstance(meta, dict):
        return None, None
    assignment, notebook = meta.get("assignment"), meta.get("notebook")
    return (assignment if isinstance(assignment, str) else None, notebook if isinstance(notebook, str) else None)


def peek_identity(path: Path) -> tuple[str | None, str | None]:
    """:func:`identity` of a notebook file, reading only its JSON (never running anything); None, None if unreadable."""
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None, None
    return identity(data.get("metadata") if isinstance(data, dict) else None)


def grade_id_of(cell) -> str | None:
    """The nbgrader grade id of a notebook cell, which ties it to the bundle's layout."""
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None
