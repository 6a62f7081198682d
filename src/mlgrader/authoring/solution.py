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

# nbgrader's own region markers: the release step (nbgrader) removes a rubric from task cells.
MARK_SCHEME_BEGIN = "### BEGIN MARK SCHEME"
MARK_SCHEME_END = "### END MARK SCHEME"

_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
# Cell options that are ours; jupytext keeps any other metadata and so do we.
_OUR_OPTIONS = {"grade_id", "points", "timeout", "manual", "task", "locked", "helper", "rubric", "match"}
# Kinds whose points a person gives (the autograder reports them as pending).
MANUAL_KINDS = ("manual", "task")


@dataclass(frozen=True)
class CellSpec:
    """One cell of a solution source, classified.

    kind is one of ``markdown`` (read-only text), ``setup`` (code students may read but not
    change; ``helper``: its definitions also serve the tests, in the grader), ``editable``
    (a cell students may change, graded by nothing: code runs as they left it),
    ``exercise`` (holds a solution region), ``test`` (graded, worth ``points``),
    ``manual`` (an answer, code or markdown, that staff grade) or ``task`` (a markdown
    task, graded by staff over the whole notebook).
    """

    kind: str
    grade_id: str
    source: str
    points: float = 0.0
    timeout: float | None = None
    cell_type: str = "code"  # code | markdown
    helper: bool = False
    rubric: str | None = None  # manual and task cells: for staff only, never in the release
    explicit_id: bool = True  # False: the id was made up here (md-3, setup-2, free-1)
    # tests: the cell that stands for this test in notebooks another tool wrote (no grade ids),
    # e.g. otter's grader.check("q1"): the test runs there
    match: str | None = None

    @property
    def is_code(self) -> bool:
        return self.cell_type == "code"

    @property
    def is_graded(self) -> bool:
        return self.kind == "test" or self.kind in MANUAL_KINDS


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
    files: tuple[str, ...] = ()  # files in files/ beside the solution source that travel with the notebook
    stubs: dict = field(default_factory=dict)  # what replaces solutions in the release: {"code": ..., "text": ...}

    @property
    def tests(self) -> tuple[CellSpec, ...]:
        return tuple(c for c in self.cells if c.kind == "test")

    @property
    def manual(self) -> tuple[CellSpec, ...]:
        """Cells whose points staff give (manual answers and tasks)."""
        return tuple(c for c in self.cells if c.kind in MANUAL_KINDS)

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.cells if c.is_graded)

    def cell(self, grade_id: str) -> CellSpec:
        for c in self.cells:
            if c.grade_id == grade_id:
                return c
        raise KeyError(grade_id)


def read_solution(path: Path) -> NotebookSpec:
    """Parse ``solutions/<assignment>/<notebook>.py`` into a :class:`NotebookSpec`.

    Raises :class:`AuthoringError` with one line that starts ``file:line:`` where the
    line can be told (the cell's ``# %%`` marker, the header's key).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        nb = jupytext.reads(text, fmt="py:percent")
    except Exception as exc:  # jupytext raises many kinds; the user needs the file name
        raise AuthoringError(f"{path}: cannot be read as a jupytext percent file: {_one_line(exc)}") from exc
    try:
        return _notebook_spec(path, nb, cell_lines(text, len(nb.cells)))
    except AuthoringError as exc:
        raise _with_header_line(path, text, exc) from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _notebook_spec(path: Path, nb, lines: list[int | None]) -> NotebookSpec:
    options = nb.metadata.get("mlgrader") or {}
    assignment = options.get("assignment") or path.parent.name
    if assignment != path.parent.name:
        raise AuthoringError(
            f"{path}: header says assignment {assignment!r} but the file lives in "
            f"solutions/{path.parent.name}/"
        )
    cells = tuple(_classify_cells(path, nb.cells, lines))
    _check_unique_ids(path, cells, lines)
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
        files=declared_files(path, options.get("files", ())),
        stubs=_declared_stubs(path, options.get("stubs")),
    )


_CELL_MARKER = re.compile(r"^# %%")


def cell_lines(text: str, count: int) -> list[int | None]:
    """The 1-based line where each of ``count`` cells starts: its ``# %%`` marker (or, for
    text before the first marker, the first line after the header). None where jupytext
    made cells that the markers do not account for."""
    lines = text.splitlines()
    markers = [number for number, line in enumerate(lines, start=1) if _CELL_MARKER.match(line)]
    if len(markers) == count:
        return list(markers)
    first = _after_header(lines)
    if len(markers) == count - 1 and first is not None:
        return [first, *markers]
    return [None] * count


def _after_header(lines: list[str]) -> int | None:
    """The first non-blank line after the ``# ---`` header (1-based), if any."""
    start = 0
    if lines and lines[0].strip() == "# ---":
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "# ---"), None)
        start = 0 if closing is None else closing + 1
    return next((i + 1 for i in range(start, len(lines)) if lines[i].strip()), None)


def _with_header_line(path: Path, text: str, exc: AuthoringError) -> AuthoringError:
    """Errors the header caused say ``file: ...``; give them the line of the key they name
    (``files:``, ``stubs:``, ``assignment``), else the header's ``mlgrader:`` line."""
    message, prefix = str(exc), f"{path}: "
    if not message.startswith(prefix):
        return exc
    rest = message[len(prefix):]
    keys = ["mlgrader"] + [k for k in ("assignment", "files", "stubs", "data", "due", "timezone", "late")
                           if re.search(rf"\b{k}\b", rest)]
    line = next((_header_key_line(text, key) for key in reversed(keys) if _header_key_line(text, key)), 1)
    return AuthoringError(f"{path}:{line}: {rest}")


def _header_key_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            return None  # past the header
        if re.match(rf"^#\s+{key}\s*:", line):
            return number
    return None


def _declared_stubs(path: Path, value) -> dict:
    """The header's ``stubs``: the text nbgrader puts in place of code and written solutions."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {"code", "text"} or not all(isinstance(v, str) for v in value.values()):
        raise AuthoringError(f"{path}: stubs: takes code: and text: strings (what replaces a solution region)")
    return dict(value)


# Files that travel with a notebook live in solutions/<assignment>/files/ (so that a helper
# module there is never taken for a solution source) and sit beside the notebook everywhere else.
FILES_FOLDER = "files"


def files_folder(solution: Path) -> Path:
    return Path(solution).parent / FILES_FOLDER


def declared_files(path: Path, value) -> tuple[str, ...]:
    """The header's ``files``: paths relative to ``files/`` beside the solution, each an existing file."""
    names = [value] if isinstance(value, str) else list(value or ())
    out = []
    for name in names:
        relative = Path(str(name))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise AuthoringError(f"{path}: files: {name!r} must be a path inside {files_folder(path)}")
        if relative.suffix == ".ipynb":
            raise AuthoringError(f"{path}: files: {name!r} is a notebook; each notebook has a solution source")
        if not (files_folder(path) / relative).is_file():
            raise AuthoringError(f"{path}: files: {name!r} does not exist in {files_folder(path)}")
        out.append(relative.as_posix())
    if len(set(out)) != len(out):
        raise AuthoringError(f"{path}: files: a file is listed twice")
    return tuple(sorted(out))


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


# Cells that may go without a grade_id get one made up, numbered per kind.
_AUTO_ID_PREFIX = {"markdown": "md", "setup": "setup", "editable": "free"}


def _where(path: Path, number: int, line: int | None) -> str:
    return f"{path}:{line}: cell {number}" if line else f"{path}: cell {number}"


def _classify_cells(path: Path, cells, lines: list[int | None]) -> list[CellSpec]:
    counters = dict.fromkeys(_AUTO_ID_PREFIX, 0)
    out = []
    for number, (cell, line) in enumerate(zip(cells, lines), start=1):
        where = _where(path, number, line)
        meta = dict(cell.metadata)
        unknown = set(meta) - _OUR_OPTIONS - {"tags", "lines_to_next_cell", "title"}
        if unknown:
            raise AuthoringError(f"{where}: unknown cell option(s) {sorted(unknown)}")
        if cell.cell_type not in ("markdown", "code"):
            raise AuthoringError(f"{where}: only markdown and code cells are supported")
        _check_regions(where, cell.source)
        kind = _markdown_kind(where, cell.source, meta) if cell.cell_type == "markdown" \
            else _code_kind(where, cell.source, meta)
        out.append(_cell_spec(where, kind, cell, meta, counters))
    return out


def _flag(where: str, meta: dict, name: str) -> bool:
    value = meta.get(name, None)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise AuthoringError(f"{where}: {name}= takes true or false, not {value!r}")
    return value


def _markdown_kind(where: str, source: str, meta: dict) -> str:
    manual, task, locked = _flag(where, meta, "manual"), _flag(where, meta, "task"), meta.get("locked", True)
    if HIDDEN_BEGIN in source:
        raise AuthoringError(f"{where}: hidden tests belong in code cells")
    if manual and task:
        raise AuthoringError(f"{where}: a cell is either manual=true (an answer) or task=true, not both")
    if "points" in meta and not (manual or task):
        raise AuthoringError(f"{where}: a markdown cell with points is manual=true (an answer students "
                             "write) or task=true (a task staff grade)")
    if MARK_SCHEME_BEGIN in source and not task:
        raise AuthoringError(f"{where}: a mark scheme region belongs in a task=true cell (use rubric= elsewhere)")
    if SOLUTION_BEGIN in source and not manual:
        raise AuthoringError(f"{where}: a solution region in markdown needs manual=true and points=N")
    if manual:
        return "manual"
    if task:
        return "task"
    return "markdown" if locked is not False else "editable"


def _code_kind(where: str, source: str, meta: dict) -> str:
    has_solution, has_hidden = SOLUTION_BEGIN in source, HIDDEN_BEGIN in source
    if _flag(where, meta, "task"):
        raise AuthoringError(f"{where}: task=true is for markdown cells (instructions staff grade)")
    if MARK_SCHEME_BEGIN in source:
        raise AuthoringError(f"{where}: a mark scheme region belongs in a markdown task=true cell")
    if _flag(where, meta, "manual"):
        if has_hidden:
            raise AuthoringError(f"{where}: a manually graded answer cannot hold hidden tests")
        return "manual"
    if "points" in meta:
        if has_solution:
            raise AuthoringError(f"{where}: a test cell cannot hold a solution region")
        return "test"
    if has_solution:
        return "exercise"
    if has_hidden:
        raise AuthoringError(f"{where}: hidden tests need points=N on the cell")
    if meta.get("locked", True) is False:
        return "editable"
    return "setup"


def _cell_spec(where: str, kind: str, cell, meta: dict, counters: dict) -> CellSpec:
    source = cell.source
    if _flag(where, meta, "helper") and kind != "setup":
        raise AuthoringError(f"{where}: helper=true is for read-only code cells (no solution, no points)")
    if "locked" in meta and (meta["locked"] is not False or kind not in ("markdown", "editable")):
        raise AuthoringError(f"{where}: locked=false is for cells that are neither exercises nor tests")
    rubric = meta.get("rubric")
    if rubric is not None and (kind not in MANUAL_KINDS or not isinstance(rubric, str)):
        raise AuthoringError(f"{where}: rubric=\"...\" is text, for manual=true and task=true cells")
    match = meta.get("match")
    if match is not None and (kind != "test" or not isinstance(match, str) or not match.strip()):
        raise AuthoringError(f"{where}: match=\"...\" is the source of a cell (e.g. grader.check(\"q1\")), for tests")
    grade_id = meta.get("grade_id")
    explicit = grade_id is not None
    if grade_id is None and kind in counters:
        counters[kind] += 1
        grade_id = f"{_AUTO_ID_PREFIX[kind]}-{counters[kind]}"
    if grade_id is None:
        raise AuthoringError(f'{where}: {kind} cells need grade_id="..."')
    if not _GRADE_ID.match(str(grade_id)):
        raise AuthoringError(f"{where}: grade_id {grade_id!r} may hold only letters, digits, - and _")
    if grade_id == INSTALL_CELL_ID:
        raise AuthoringError(f"{where}: grade_id {INSTALL_CELL_ID!r} is the build's own first cell; choose another")
    points = float(meta.get("points", 0))
    if kind in ("test", *MANUAL_KINDS) and points <= 0:
        raise AuthoringError(f"{where}: points must be positive")
    if kind == "test" and _ends_with_value(source):
        raise AuthoringError(f"{where}: a test cell must not end with a bare value: nbgrader "
                             "would read it as partial credit (assign it, or end with a check)")
    timeout = float(meta["timeout"]) if "timeout" in meta else None
    return CellSpec(kind, str(grade_id), source, points, timeout, cell.cell_type,
                    helper=_flag(where, meta, "helper"), rubric=rubric, explicit_id=explicit, match=match)


def _ends_with_value(source: str) -> bool:
    """Whether the cell's last statement is an expression other than a call (``acc``)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Expr) and not isinstance(body[-1].value, ast.Call)


def _check_regions(where: str, source: str) -> None:
    for begin, end in ((SOLUTION_BEGIN, SOLUTION_END), (HIDDEN_BEGIN, HIDDEN_END),
                       (MARK_SCHEME_BEGIN, MARK_SCHEME_END)):
        opened = source.count(begin)
        closed = source.count(end)
        if opened != closed:
            raise AuthoringError(f"{where}: {opened} '{begin}' but {closed} '{end}'")
        if opened and source.index(begin) > source.index(end):
            raise AuthoringError(f"{where}: '{end}' comes before '{begin}'")


def _check_unique_ids(path: Path, cells: tuple[CellSpec, ...], lines: list[int | None]) -> None:
    seen: set[str] = set()
    for number, (c, line) in enumerate(zip(cells, lines), start=1):
        if c.grade_id in seen:
            raise AuthoringError(f"{_where(path, number, line)}: grade_id {c.grade_id!r} is used twice")
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
