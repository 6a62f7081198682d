"""Reading nbgrader source notebooks (``source/<assignment>/*.ipynb``) into mlgrader's kinds.

nbgrader keeps what a cell is in its metadata (``metadata.nbgrader``: ``grade``,
``solution``, ``locked``, ``task``, ``points``, ``grade_id``). The kinds map one to one:

==========================================  ==================================
nbgrader                                    mlgrader (docs/authoring.md)
==========================================  ==================================
no metadata, or none of the flags           ``locked=false`` (students may edit)
read-only (``locked``)                      setup code / markdown (read-only)
autograded answer (``solution``)            exercise
autograder tests (``grade``, code)          test, ``points=N``
manually graded answer (``grade+solution``) ``manual=true``, code or markdown
manually graded task (``task``)             ``task=true`` (mark scheme kept)
==========================================  ==================================

Grade ids are kept, so students' existing submissions line up cell by cell. Region
markers (nbgrader matches ``BEGIN SOLUTION`` anywhere in a line, or the course's own
delimiters) become mlgrader's ``### BEGIN SOLUTION`` lines; a solution cell without a
region becomes one whole region, which nbgrader's release turns into the same stub. A
read-only cell that defines what a test calls (``def check(x): ...``) becomes a
``helper=true`` cell: its definitions run in the grader too, so the test calls the
grader's copy (:func:`mlgrader.grading.trusted_tests.helper_definitions`).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat

from ..solution import HIDDEN_BEGIN, HIDDEN_END, MARK_SCHEME_BEGIN, MARK_SCHEME_END, SOLUTION_BEGIN, SOLUTION_END
from .helpers import mark_helpers
from .model import ImportedCell, ImportedNotebook, Problem, cell_label
from .nbgrader_settings import Settings, read_settings

DEFAULT_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
AUTOTEST = "AUTOTEST"  # nbgrader's generated tests (InstantiateTests): its own templates and hashes
# Folders and files beside a notebook that are never the course's (editors, caches).
_SKIPPED_FILES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def is_nbgrader_notebook(data: dict) -> bool:
    """Whether a notebook (parsed JSON) is an nbgrader source notebook: a cell carries nbgrader metadata."""
    return any(isinstance(c, dict) and isinstance(c.get("metadata", {}).get("nbgrader"), dict)
               for c in data.get("cells", []))


def read_course(notebooks: list[Path], assignment: str | None) -> tuple[list[ImportedNotebook], list[Problem], list[str]]:
    """Each nbgrader notebook as an :class:`ImportedNotebook`, the problems found, and notes."""
    out, problems, notes = [], [], []
    settings_by_folder: dict[Path, Settings] = {}
    for path in notebooks:
        folder = path.parent.resolve()
        if folder not in settings_by_folder:
            settings_by_folder[folder] = read_settings(folder)
            problems.extend(settings_by_folder[folder].problems)
            notes.extend(settings_by_folder[folder].notes)
        settings = settings_by_folder[folder]
        imported = read_notebook(path, settings, assignment or path.parent.resolve().name, problems)
        if imported is not None:
            out.append(imported)
    return out, problems, sorted(set(notes))


def read_notebook(path: Path, settings: Settings, assignment: str, problems: list[Problem]) -> ImportedNotebook | None:
    nb = _load(path, problems)
    if nb is None:
        return None
    where = str(path)
    kernelspec = dict(nb.metadata.get("kernelspec") or DEFAULT_KERNELSPEC)
    language = kernelspec.get("language") or nb.metadata.get("language_info", {}).get("name") or "python"
    if str(language).lower() != "python":
        problems.append(Problem(where, "", f"the notebook's kernel is {language} ({kernelspec.get('name', '?')}): "
                                           "mlgrader grades Python notebooks only"))
        return None
    imported = ImportedNotebook(path.stem, path, assignment, [], kernelspec, files=beside_files(path),
                                stubs=dict(settings.stubs))
    cells = list(nb.cells)
    header, footer = _extra_cells(settings.header, problems), _extra_cells(settings.footer, problems)
    if header or footer:
        imported.notes.append(f"{path.name}: the course's header/footer notebook (IncludeHeaderFooter) is "
                              "part of the notebook now, as students got it")
    for number, cell in enumerate(header + cells + footer, start=1):
        converted = convert_cell(cell, number, settings, where, problems)
        if converted is not None:
            imported.cells.append(converted)
    _check_ids(imported, where, problems)
    mark_helpers(imported, where, problems)
    return imported


def _load(path: Path, problems: list[Problem]) -> nbformat.NotebookNode | None:
    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as exc:  # nbformat and json raise many kinds
        problems.append(Problem(str(path), "", f"is not a readable notebook ({type(exc).__name__}: {exc})"))
        return None


def _extra_cells(path: Path | None, problems: list[Problem]) -> list:
    if path is None:
        return []
    nb = _load(path, problems)
    return list(nb.cells) if nb is not None else []


def beside_files(notebook: Path) -> dict[str, Path]:
    """The files in a notebook's folder that travel with it (images, data, helper modules), by relative path.

    As nbgrader's generate_assignment copies every file of the assignment's folder, each of
    them is kept; other notebooks, hidden files and editor leftovers are not.
    """
    folder = notebook.parent
    out = {}
    for item in sorted(folder.rglob("*")):
        relative = item.relative_to(folder)
        if any(part.startswith(".") or part in _SKIPPED_FILES for part in relative.parts):
            continue
        if item.is_file() and not item.is_symlink() and item.suffix != ".ipynb" and item.name != "timestamp.txt":
            out[relative.as_posix()] = item
    return out


def convert_cell(cell, number: int, settings: Settings, where: str, problems: list[Problem]) -> ImportedCell | None:
    """One nbgrader cell in mlgrader's kinds, or None (and a problem) where it cannot be carried."""
    meta = cell.metadata.get("nbgrader") or {}
    grade_id = meta.get("grade_id") if isinstance(meta.get("grade_id"), str) else None
    label = cell_label(number, grade_id)
    if cell.cell_type not in ("markdown", "code"):
        problems.append(Problem(where, label, f"a {cell.cell_type} cell is not carried: mlgrader's solution "
                                              "sources hold markdown and code cells"))
        return None
    source = normalise_regions(cell.source, settings)
    grade, solution, task = bool(meta.get("grade")), bool(meta.get("solution")), bool(meta.get("task"))
    locked = bool(meta.get("locked"))
    points = _points(meta.get("points"), where, label, problems)
    kind = _kind(cell.cell_type, grade, solution, task, locked)
    message = _refusal(kind, cell.cell_type, source, points)
    if message:
        problems.append(Problem(where, label, message))
        return None
    if kind == "test" and points == 0:
        # A check worth nothing: it runs in the student's kernel, as in nbgrader, and scores nothing.
        kind = "setup"
    if kind == "exercise" and SOLUTION_BEGIN not in source:
        # nbgrader turns a whole solution cell into the stub; one whole region does the same.
        source = f"{SOLUTION_BEGIN}\n{source}\n{SOLUTION_END}"
    if kind in ("test", "manual", "task", "exercise") and grade_id is None:
        problems.append(Problem(where, label, "has no grade_id in its nbgrader metadata"))
        return None
    return ImportedCell(kind, source, cell.cell_type, grade_id, points if kind in ("test", "manual", "task") else 0.0)


def _kind(cell_type: str, grade: bool, solution: bool, task: bool, locked: bool) -> str:
    if task:
        return "task"
    if grade and solution:
        return "manual"
    if grade:
        return "test" if cell_type == "code" else "markdown-grade"
    if solution:
        return "exercise" if cell_type == "code" else "markdown-solution"
    if locked:
        return "setup" if cell_type == "code" else "markdown"
    return "editable"


def _refusal(kind: str, cell_type: str, source: str, points: float) -> str | None:
    """Why a cell of this kind cannot be carried, or None."""
    if kind == "markdown-grade":
        return "a markdown grade cell that is not an answer is not valid nbgrader metadata"
    if kind == "markdown-solution":
        return ("an ungraded written answer (solution, not graded) is not carried: mlgrader's written answers "
                "are graded by staff; give it points (manually graded answer) and import again")
    if kind == "task" and cell_type != "markdown":
        return "a task cell must be markdown (nbgrader's own rule)"
    if kind in ("manual", "task") and points <= 0:
        return "an answer staff grade needs points above 0"
    if kind == "test" and any(AUTOTEST in line for line in source.splitlines()):
        return ("### AUTOTEST lines (nbgrader's generated tests) are not carried: replace them with the asserts "
                "they stand for and import again")
    if kind == "test" and points == 0 and HIDDEN_BEGIN in source:
        return "a test worth 0 points with hidden tests is not carried (it would run, hidden part and all, for students)"
    if kind == "test" and _ends_with_value(source):
        return ("ends with a bare value, which nbgrader reads as partial credit; mlgrader's tests pass or fail: "
                "end the cell with a check (an assert) and import again")
    if kind not in ("manual", "exercise") and SOLUTION_BEGIN in source:
        return "holds a solution region but is not a solution cell in nbgrader's metadata"
    if kind != "task" and MARK_SCHEME_BEGIN in source:
        return "holds a mark scheme region but is not a task cell"
    if kind != "test" and HIDDEN_BEGIN in source:
        return "holds a hidden tests region but is not an autograder test cell"
    return None


def _ends_with_value(source: str) -> bool:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Expr) and not isinstance(body[-1].value, (ast.Call, ast.Constant))


def _points(value, where: str, label: str, problems: list[Problem]) -> float:
    if value in (None, ""):
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        problems.append(Problem(where, label, f"points {value!r} is not a number"))
        return 0.0


def normalise_regions(source: str, settings: Settings) -> str:
    """Region markers as mlgrader writes them, whatever delimiters the course used.

    nbgrader takes any line holding a delimiter as the marker; mlgrader's marker lines are
    ``### BEGIN SOLUTION`` and the like, kept at the line's indentation (nbgrader puts the
    stub there).
    """
    pairs = ((settings.solution, (SOLUTION_BEGIN, SOLUTION_END)), (settings.hidden, (HIDDEN_BEGIN, HIDDEN_END)),
             (settings.mark_scheme, (MARK_SCHEME_BEGIN, MARK_SCHEME_END)))
    lines = source.split("\n")
    for index, line in enumerate(lines):
        for (begin, end), (ours_begin, ours_end) in pairs:
            marker = ours_begin if begin in line else ours_end if end in line else None
            if marker:
                lines[index] = line[: len(line) - len(line.lstrip())] + marker
                break
    return "\n".join(lines)


def _check_ids(imported: ImportedNotebook, where: str, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for number, cell in enumerate(imported.cells, start=1):
        if cell.grade_id is None:
            continue
        if cell.grade_id in seen:
            problems.append(Problem(where, cell_label(number, cell.grade_id), "uses a grade_id another cell has"))
        seen.add(cell.grade_id)


def peek(path: Path) -> dict | None:
    """A notebook's JSON, or None where it is not readable JSON (for format detection)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
