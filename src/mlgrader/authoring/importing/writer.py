"""Writing imported notebooks as solution sources, all or nothing.

Every notebook of the import is rendered as ``solutions/<assignment>/<notebook>.py``
(jupytext percent format, docs/authoring.md), with its files in
``solutions/<assignment>/files/``, into a staging folder next to ``solutions/``. Each
rendered source is read back with :func:`mlgrader.authoring.solution.read_solution` and
compared with what was meant, cell by cell: a source that would not come back the same
(a code line that the format reads as a new cell, say) is a problem like any other. Only
when every notebook came back right are the staged assignment folders moved into place,
so a failed import leaves no half-written course behind.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import jupytext
import nbformat
import yaml

from ...bundle import valid_assignment_id
from ..errors import AuthoringError
from ..solution import FILES_FOLDER, read_solution
from .model import ImportedCell, ImportedNotebook, ImportReport, Problem, cell_label


def render(notebook: ImportedNotebook) -> str:
    """The solution source of one imported notebook."""
    header = {"jupyter": {"kernelspec": notebook.kernelspec, "mlgrader": notebook.header()}}
    text = yaml.safe_dump(header, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)
    lines = ["# ---"] + [f"# {line}".rstrip() for line in text.rstrip("\n").split("\n")] + ["# ---", "", ""]
    nb = nbformat.v4.new_notebook()
    # No header from jupytext (ours is above); every cell option written as it is.
    nb.metadata = {"jupytext": {"notebook_metadata_filter": "-all", "cell_metadata_filter": "all"}}
    for cell in notebook.cells:
        make = nbformat.v4.new_markdown_cell if cell.cell_type == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(cell.source, metadata=cell.options()))
    return "\n".join(lines) + jupytext.writes(nb, fmt="py:percent")


def write_course(notebooks: list[ImportedNotebook], root: Path, report: ImportReport) -> None:
    """Write the notebooks under ``root/solutions``, or (any problem) nothing; fills ``report``."""
    solutions = Path(root) / "solutions"
    by_assignment: dict[str, list[ImportedNotebook]] = {}
    for nb in notebooks:
        by_assignment.setdefault(nb.assignment, []).append(nb)
    for assignment, own in sorted(by_assignment.items()):
        _check_target(assignment, own, solutions, report)
    if report.problems:
        return
    solutions.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mlgrader-import-", dir=solutions))
    try:
        for assignment, own in sorted(by_assignment.items()):
            _stage(staging / assignment, own, report)
        if not report.problems:
            _move_in(staging, sorted(by_assignment), solutions, root, report)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_target(assignment: str, notebooks: list[ImportedNotebook], solutions: Path, report: ImportReport) -> None:
    where = str(notebooks[0].origin)
    if not valid_assignment_id(assignment):
        report.problems.append(Problem(where, "", f"{assignment!r} is not an assignment id (letters, digits, "
                                                  "'.', '-', '_'); pass --assignment"))
    elif (solutions / assignment).exists():
        report.problems.append(Problem(where, "", f"{solutions / assignment} exists already; remove it or "
                                                  "import under another --assignment"))
    names = [nb.name for nb in notebooks]
    for name in sorted({n for n in names if names.count(n) > 1}):
        report.problems.append(Problem(where, "", f"two notebooks named {name} in assignment {assignment}"))


def _stage(folder: Path, notebooks: list[ImportedNotebook], report: ImportReport) -> None:
    folder.mkdir(parents=True)
    copied: dict[str, Path] = {}
    for nb in notebooks:
        for relative, origin in sorted(nb.files.items()):
            if relative in copied and copied[relative].read_bytes() != origin.read_bytes():
                report.problems.append(Problem(str(origin), "", f"two different files would be {relative} "
                                                                "beside the notebooks of one assignment"))
                continue
            target = folder / FILES_FOLDER / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, target)
            copied[relative] = origin
    for nb in notebooks:
        path = folder / f"{nb.name}.py"
        path.write_text(render(nb), encoding="utf-8")
        _check_round_trip(nb, path, report)


def _check_round_trip(nb: ImportedNotebook, path: Path, report: ImportReport) -> None:
    """The written source must read back as the cells meant (the build reads nothing else)."""
    try:
        spec = read_solution(path)
    except AuthoringError as exc:
        report.problems.append(Problem(str(nb.origin), "", f"the solution source would not be valid: "
                                                           f"{str(exc).replace(str(path), nb.name + '.py')}"))
        return
    if len(spec.cells) != len(nb.cells):
        report.problems.append(Problem(str(nb.origin), "", "a cell holds a line that mlgrader's format reads as a "
                                                           "new cell ('# %%'); change that line and import again"))
        return
    for number, (meant, read) in enumerate(zip(nb.cells, spec.cells), start=1):
        if not _same(meant, read):
            report.problems.append(Problem(str(nb.origin), cell_label(number, meant.grade_id),
                                           "does not read back the same from the solution source "
                                           "(a line the format treats specially?)"))


def _same(meant: ImportedCell, read) -> bool:
    return (meant.kind == read.kind and meant.source == read.source and meant.cell_type == read.cell_type
            and (meant.grade_id is None or meant.grade_id == read.grade_id)
            and float(meant.points) == float(read.points))


def _move_in(staging: Path, assignments: list[str], solutions: Path, root: Path, report: ImportReport) -> None:
    moved: list[Path] = []
    try:
        for assignment in assignments:
            target = solutions / assignment
            (staging / assignment).rename(target)  # same file system: one step each
            moved.append(target)
    except OSError as exc:
        for target in moved:  # all or nothing
            shutil.rmtree(target, ignore_errors=True)
        report.problems.append(Problem(str(solutions), "", f"could not move the import into place: {exc}"))
        return
    for target in moved:
        report.written.extend(str(p.relative_to(root)) for p in sorted(target.rglob("*")) if p.is_file())
