"""Read an instructor's solution source (jupytext percent format) into cells.

The solution source is the single place an exercise is written. This module knows its
format (docs/authoring.md) and nothing else: it turns a ``.py`` file into a
:class:`NotebookSpec` that the build step renders into notebooks and the bundle.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

from ..bundle import HIDDEN_BEGIN, HIDDEN_END, INSTALL_CELL_ID
from ..config import DEFAULT_MEMORY_MB, DEFAULT_NOTEBOOK_TIMEOUT_S
from ..data import DATASETS
from ..deadlines import Deadline, DeadlineError, parse_deadline
from .errors import AuthoringError

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"

_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
# Cell options that are ours; jupytext keeps any other metadata and so do we.
_OUR_OPTIONS = {"grade_id", "points", "timeout"}


@dataclass(frozen=True)
class CellSpec:
    """One cell of a solution source, classified.

    kind is one of ``markdown``, ``setup`` (code students may read but not change),
    ``exercise`` (holds a solution region) or ``test`` (graded, worth ``points``).
    """

    kind: str
    grade_id: str
    source: str
    points: float = 0.0
    timeout: float | None = None

    @property
    def is_code(self) -> bool:
        return self.kind != "markdown"


@dataclass(frozen=True)
class NotebookSpec:
    """A whole solution notebook: where it came from, its options and its cells."""

    path: Path
    assignment: str
    name: str
    title: str
    cells: tuple[CellSpec, ...]
    kernelspec: dict = field(default_factory=dict)
    timeout: float = DEFAULT_NOTEBOOK_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    artifacts: tuple[str, ...] = ()  # files next to a submission copied in (saved weights)
    data: tuple[str, ...] = ()  # data sets the header declares (the build adds those the code loads)
    deadline: Deadline | None = None  # due, timezone, late in the header (the whole assignment's)

    @property
    def tests(self) -> tuple[CellSpec, ...]:
        return tuple(c for c in self.cells if c.kind == "test")

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.tests)

    def cell(self, grade_id: str) -> CellSpec:
        for c in self.cells:
            if c.grade_id == grade_id:
                return c
        raise KeyError(grade_id)


def read_solution(path: Path) -> NotebookSpec:
    """Parse ``solutions/<assignment>/<notebook>.py`` into a :class:`NotebookSpec`."""
    path = Path(path)
    try:
        nb = jupytext.read(path, fmt="py:percent")
    except Exception as exc:  # jupytext raises many kinds; the user needs the file name
        raise AuthoringError(f"{path}: cannot be read as a jupytext percent file: {exc}") from exc
    options = nb.metadata.get("mlgrader") or {}
    assignment = options.get("assignment") or path.parent.name
    if assignment != path.parent.name:
        raise AuthoringError(
            f"{path}: header says assignment {assignment!r} but the file lives in "
            f"solutions/{path.parent.name}/"
        )
    cells = tuple(_classify_cells(path, nb.cells))
    _check_unique_ids(path, cells)
    return NotebookSpec(
        path=path,
        assignment=assignment,
        name=path.stem,
        title=str(options.get("title") or path.stem.replace("_", " ").capitalize()),
        cells=cells,
        kernelspec=dict(nb.metadata.get("kernelspec") or _DEFAULT_KERNELSPEC),
        timeout=float(options.get("timeout", DEFAULT_NOTEBOOK_TIMEOUT_S)),
        memory_mb=int(options.get("memory_mb", DEFAULT_MEMORY_MB)),
        artifacts=tuple(str(a) for a in options.get("artifacts", ())),
        data=_declared_data(path, options.get("data", ())),
        deadline=_declared_deadline(path, options),
    )


def _declared_deadline(path: Path, options: dict) -> Deadline | None:
    try:
        return parse_deadline(options, f"{path}: header")
    except DeadlineError as exc:
        raise AuthoringError(str(exc)) from None


def _declared_data(path: Path, value) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else list(value or ())
    unknown = [str(n) for n in names if n not in DATASETS]
    if unknown:
        raise AuthoringError(f"{path}: header names unknown data set(s) {', '.join(unknown)} "
                             f"(known: {', '.join(DATASETS)})")
    return tuple(sorted(set(names)))


_DEFAULT_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _classify_cells(path: Path, cells) -> list[CellSpec]:
    counters = {"markdown": 0, "setup": 0}
    out = []
    for number, cell in enumerate(cells, start=1):
        where = f"{path}: cell {number}"
        meta = dict(cell.metadata)
        unknown = set(meta) - _OUR_OPTIONS - {"tags", "lines_to_next_cell", "title"}
        if unknown:
            raise AuthoringError(f"{where}: unknown cell option(s) {sorted(unknown)}")
        source = cell.source
        if cell.cell_type == "markdown":
            counters["markdown"] += 1
            out.append(CellSpec("markdown", f"md-{counters['markdown']}", source))
            continue
        if cell.cell_type != "code":
            raise AuthoringError(f"{where}: only markdown and code cells are supported")
        has_solution = SOLUTION_BEGIN in source
        has_hidden = HIDDEN_BEGIN in source
        _check_regions(where, source)
        timeout = float(meta["timeout"]) if "timeout" in meta else None
        if "points" in meta:
            kind = "test"
            if has_solution:
                raise AuthoringError(f"{where}: a test cell cannot hold a solution region")
        elif has_solution:
            kind = "exercise"
        else:
            kind = "setup"
            if has_hidden:
                raise AuthoringError(f"{where}: hidden tests need points=N on the cell")
        grade_id = meta.get("grade_id")
        if kind == "setup" and grade_id is None:
            counters["setup"] += 1
            grade_id = f"setup-{counters['setup']}"
        if grade_id is None:
            raise AuthoringError(f'{where}: {kind} cells need grade_id="..."')
        if not _GRADE_ID.match(str(grade_id)):
            raise AuthoringError(f"{where}: grade_id {grade_id!r} may hold only letters, digits, - and _")
        if grade_id == INSTALL_CELL_ID:
            raise AuthoringError(f"{where}: grade_id {INSTALL_CELL_ID!r} is the build's own first cell; choose another")
        points = float(meta.get("points", 0))
        if kind == "test" and points <= 0:
            raise AuthoringError(f"{where}: points must be positive")
        if kind == "test" and _ends_with_value(source):
            raise AuthoringError(f"{where}: a test cell must not end with a bare value: nbgrader "
                                 "would read it as partial credit (assign it, or end with a check)")
        out.append(CellSpec(kind, str(grade_id), source, points, timeout))
    return out


def _ends_with_value(source: str) -> bool:
    """Whether the cell's last statement is an expression other than a call (``acc``)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Expr) and not isinstance(body[-1].value, ast.Call)


def _check_regions(where: str, source: str) -> None:
    for begin, end in ((SOLUTION_BEGIN, SOLUTION_END), (HIDDEN_BEGIN, HIDDEN_END)):
        opened = source.count(begin)
        closed = source.count(end)
        if opened != closed:
            raise AuthoringError(f"{where}: {opened} '{begin}' but {closed} '{end}'")
        if opened and source.index(begin) > source.index(end):
            raise AuthoringError(f"{where}: '{end}' comes before '{begin}'")


def _check_unique_ids(path: Path, cells: tuple[CellSpec, ...]) -> None:
    seen: set[str] = set()
    for c in cells:
        if c.grade_id in seen:
            raise AuthoringError(f"{path}: grade_id {c.grade_id!r} is used twice")
        seen.add(c.grade_id)


def solution_files(root: Path, assignments: list[str] | None = None) -> list[Path]:
    """All solution sources under ``root/solutions``, optionally only some assignments."""
    base = Path(root) / "solutions"
    if assignments:
        missing = [a for a in assignments if not (base / a).is_dir()]
        if missing:
            known = ", ".join(sorted(p.name for p in base.iterdir() if p.is_dir()))
            raise AuthoringError(f"no such assignment: {', '.join(missing)} (known: {known})")
        dirs = [base / a for a in assignments]
    else:
        dirs = sorted(p for p in base.iterdir() if p.is_dir())
    return [p for d in dirs for p in sorted(d.glob("*.py"))]
