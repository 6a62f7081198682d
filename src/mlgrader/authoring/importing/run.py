"""Running an import: the notebooks the paths name, their format, the readers, the writer."""

from __future__ import annotations

from pathlib import Path

from . import FORMAT_HELP
from .model import ImportedNotebook, ImportReport, ImportUsageError, Problem
from .nbgrader import is_nbgrader_notebook, peek, read_course
from .otter import is_otter_master, read_master
from .writer import write_course


def detect_format(path: Path) -> str:
    """``nbgrader`` or ``otter`` for one notebook; raises :class:`ImportUsageError` when it is neither, or both."""
    data = peek(path)
    if data is None or "cells" not in data:
        raise ImportUsageError(f"{path} is not a Jupyter notebook (JSON with cells)")
    nbgrader, otter = is_nbgrader_notebook(data), is_otter_master(data)
    if nbgrader and otter:
        raise ImportUsageError(f"{path} has both nbgrader cell metadata and otter's question cells; "
                               "import it from one tool's copy")
    if nbgrader:
        return "nbgrader"
    if otter:
        return "otter"
    raise ImportUsageError(f"{path} is neither an nbgrader source notebook nor an otter master notebook ({FORMAT_HELP})")


def notebooks_named(paths: list[Path]) -> list[Path]:
    """The notebooks the command line names: files, and the notebooks at the top of each folder."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.ipynb") if p.is_file() and not p.name.startswith("."))
            if not inside:
                raise ImportUsageError(f"{path}: no notebooks in this folder")
            found.extend(inside)
        elif path.is_file():
            if path.suffix != ".ipynb":
                raise ImportUsageError(f"{path} is not a notebook (.ipynb)")
            found.append(path)
        else:
            raise ImportUsageError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [Path(p) for p in unique]


def import_course(paths: list[Path], assignment: str | None = None, root: Path = Path(".")) -> ImportReport:
    """Import the notebooks ``paths`` name into ``root/solutions``; the report says what was written,
    or (``report.problems``) why nothing was. Raises :class:`ImportUsageError` on bad usage."""
    notebooks = notebooks_named(paths)
    formats = {p: detect_format(p) for p in notebooks}
    kinds = sorted(set(formats.values()))
    if len(kinds) > 1:
        raise ImportUsageError("import the nbgrader and the otter notebooks separately (one format per import)")
    report = ImportReport(format=kinds[0])
    if report.format == "nbgrader":
        imported, problems, notes = read_course(notebooks, assignment)
    else:
        problems, notes = [], []
        imported = [nb for p in notebooks if (nb := read_master(p, assignment, problems)) is not None]
    report.problems.extend(problems)
    report.notes.extend(notes)
    for nb in imported:
        report.notes.extend(nb.notes)
        report.notebooks.append(_summary(nb))
    if not report.problems:
        write_course(imported, Path(root), report)
    return report


def _summary(nb: ImportedNotebook) -> dict:
    kinds: dict[str, int] = {}
    for cell in nb.cells:
        kinds[cell.kind] = kinds.get(cell.kind, 0) + 1
    automatic = sum(c.points for c in nb.cells if c.kind == "test")
    by_staff = sum(c.points for c in nb.cells if c.kind in ("manual", "task"))
    return {"notebook": nb.name, "assignment": nb.assignment, "from": str(nb.origin), "cells": kinds,
            "automatic_points": automatic, "staff_points": by_staff, "files": sorted(nb.files)}


__all__ = ["FORMAT_HELP", "ImportReport", "ImportUsageError", "Problem", "detect_format", "import_course"]
