"""Reading otter-grader master notebooks (format v1, and the older v0) into mlgrader's kinds.

Format v1 (otter 4 and later) marks its structure with raw cells whose first line is a
comment: ``# ASSIGNMENT CONFIG`` (YAML after it), ``# BEGIN QUESTION`` (the question's
YAML: ``name``, ``points``, ``manual``, ``all_or_nothing``), ``# BEGIN SOLUTION``,
``# BEGIN PROMPT``, ``# BEGIN TESTS`` and their ``# END ...`` cells (also as Markdown cells
fenced with ```` ```otter ````). Format v0 puts ``BEGIN ASSIGNMENT`` and ``BEGIN QUESTION``
in a fenced code block of a Markdown cell; the cell after a question is its solution (a
manual question may have a prompt cell first); the code cells after it that start with
``## Test ##`` or ``## Hidden Test ##`` are its tests.

What maps to what (docs/migrating.md):

- question text: read-only markdown; a question's code outside its blocks: read-only code;
- a solution with otter's markers: an exercise (regions, see :mod:`.otter_code`); one
  without markers: a cell students may edit, as otter hands it out;
- each test case: one test worth the case's points (hidden cases in a hidden region);
  ``all_or_nothing``: one test with every case;
- a manual question with one answer: a manually graded answer worth its points (otter's
  prompt, or its default *Type your answer here* text, is what students get); with
  several answer cells: a task worth the points, the written solution as its mark scheme;
- cells outside questions: cells students may edit (otter does not lock them).

otter's own cells (``otter.Notebook`` init, ``grader.check``, export) are not in the master
and are not added; ``# IGNORE`` cells and lines, in-code prompts, plugins, autograder-only
files and R notebooks are refused, with the cell named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from ..solution import HIDDEN_BEGIN, HIDDEN_END, MARK_SCHEME_BEGIN, MARK_SCHEME_END, SOLUTION_BEGIN, SOLUTION_END
from .helpers import mark_helpers
from .model import ImportedCell, ImportedNotebook, Problem, cell_label
from .nbgrader import DEFAULT_KERNELSPEC
from .otter_code import (NotCarried, OtterCase, case_code, has_solution_markers, ignored_lines, read_case,
                         resolve_points, solution_regions, test_cell_source)

# What students get in place of a solution: otter's "..." and its answer prompt.
OTTER_STUBS = {"code": "...", "text": ""}
RESPONSE_PROMPT = "_Type your answer here, replacing this text._"
DROPPED = "dropped"  # a prompt merged into its answer cell
DEFAULT_MANUAL_POINTS = 1.0  # a manual question without points (otter leaves them to Gradescope)

_V1_BOUNDARY = re.compile(r"#\s+(begin|end)\s+(question|prompt|solution|tests)\s*$", re.IGNORECASE)
_V1_CONFIG = re.compile(r"#\s+assignment\s+config\s*$", re.IGNORECASE)
_IGNORE_CELL = re.compile(r"(##\s*ignore\s*##\s*|#\s*ignore\s*)", re.IGNORECASE)
_V0_TEST = re.compile(r'(##\s*(hidden\s*)?test\s*##\s*|#\s*(hidden\s*)?test\s*|"""\s*#\s*BEGIN\s*TEST\s*CONFIG)',
                      re.IGNORECASE)
_MD_SOLUTION = re.compile(r"(<strong>|\*{2})solution:?(</strong>|\*{2})", re.IGNORECASE)
_QUESTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")

# Assignment settings that concern only otter's own outputs (PDFs, zips, the export cell...).
_OTTER_ONLY = {"generate", "export_cell", "init_cell", "check_all_cell", "solutions_pdf", "template_pdf",
               "save_environment", "variables", "ignore_modules", "run_tests", "student_files", "python_version",
               "channel_priority_strict", "exclude_conda_defaults", "overwrite_requirements", "requirements",
               "environment", "name", "tests", "files", "runs_on", "show_question_points", "seed",
               "strip_solutions_from_all_cells", "plugins", "autograder_files", "config_file", "lang"}


def _first_line(cell) -> str:
    return cell.source.split("\n", 1)[0] if cell.source else ""


def _fenced_lines(cell, word: str) -> list[str] | None:
    """v0: the YAML of a ```` ``` ```` block in a Markdown (or raw) cell that starts with ``BEGIN <word>``."""
    lines = cell.source.split("\n")
    fences = [i for i, line in enumerate(lines) if line[:3] == "```"]
    for start, end in zip(fences[::2], fences[1::2]):
        if start + 1 < len(lines) and lines[start + 1].strip() == f"BEGIN {word}":
            return lines[start + 2: end]
    return None


def is_otter_master(data: dict) -> str | None:
    """"v1" or "v0" when a notebook (parsed JSON) is an otter master notebook, else None."""
    for cell in data.get("cells", []):
        if not isinstance(cell, dict):
            continue
        node = nbformat.from_dict({"cell_type": cell.get("cell_type"), "metadata": {},
                                   "source": _text(cell.get("source", ""))})
        for unfenced in _unfence(node):
            if unfenced.cell_type == "raw" and (_V1_CONFIG.match(_first_line(unfenced))
                                               or _V1_BOUNDARY.match(_first_line(unfenced))):
                return "v1"
    for cell in data.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") in ("markdown", "raw"):
            node = nbformat.from_dict({"cell_type": "markdown", "metadata": {}, "source": _text(cell.get("source", ""))})
            if _fenced_lines(node, "QUESTION") is not None or _fenced_lines(node, "ASSIGNMENT") is not None:
                return "v0"
    return None


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _unfence(cell) -> list:
    """A Markdown cell with ```` ```otter ```` blocks as otter reads it: raw cells for the blocks."""
    if cell.cell_type != "markdown" or "```otter" not in cell.source:
        return [cell]
    out, text, block = [], [], None
    for line in cell.source.split("\n"):
        if block is None and line.strip() == "```otter":
            if any(t.strip() for t in text):
                out.append(nbformat.v4.new_markdown_cell("\n".join(text)))
            text, block = [], []
        elif block is not None and line.strip() == "```":
            out.append(nbformat.v4.new_raw_cell("\n".join(block)))
            block = None
        elif block is not None:
            block.append(line)
        else:
            text.append(line)
    if block is not None:
        return [cell]  # an unclosed block: otter refuses it; leave it be, it will not match
    if any(t.strip() for t in text):
        out.append(nbformat.v4.new_markdown_cell("\n".join(text)))
    return out


@dataclass
class _Question:
    name: str
    grade_id: str
    manual: bool
    points: object
    all_or_nothing: bool
    start: int  # where its cells begin in the output
    number: int  # the cell that began it
    solutions: list[int] = field(default_factory=list)  # indexes of its answer cells in the output
    prompts: list[int] = field(default_factory=list)  # manual: the cells students are given to answer in
    cases: list[OtterCase] = field(default_factory=list)
    last_text: int | None = None  # its last read-only markdown cell in the output


class _Reader:
    """Walks one master notebook; collects cells, questions, settings and problems."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path, self.where, self.problems = path, str(path), problems
        self.cells: list[ImportedCell] = []
        self.config: dict = {}
        self.notes: list[str] = []
        self.question: _Question | None = None
        self.used_ids: set[str] = set()

    # -- shared pieces ------------------------------------------------------------------

    def problem(self, number: int, message: str) -> None:
        self.problems.append(Problem(self.where, cell_label(number) if number else "", message))

    def read_config(self, lines: list[str], number: int) -> None:
        try:
            config = yaml.safe_load("\n".join(lines)) or {}
        except yaml.YAMLError as exc:
            self.problem(number, f"the assignment config is not valid YAML ({exc})")
            return
        if not isinstance(config, dict):
            self.problem(number, "the assignment config is not a YAML mapping")
            return
        if config.get("config_file"):
            extra = (self.path.parent / str(config["config_file"]))
            try:
                loaded = yaml.safe_load(extra.read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                self.problem(number, f"config_file {config['config_file']} cannot be read ({exc})")
                return
            config = {**loaded, **{k: v for k, v in config.items() if k != "config_file"}}
        self.config.update(config)

    def begin_question(self, lines: list[str], number: int) -> None:
        try:
            meta = yaml.safe_load("\n".join(lines)) or {}
        except yaml.YAMLError as exc:
            self.problem(number, f"the question config is not valid YAML ({exc})")
            meta = {}
        name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
        if not _QUESTION_NAME.match(name):
            self.problem(number, f"the question needs a name (letters, digits, _ . -), not {name!r}")
            name = f"question-{number}"
        grade_id = re.sub(r"[^A-Za-z0-9_-]", "-", name)
        self.question = _Question(name, grade_id, bool(meta.get("manual", False)), meta.get("points"),
                                  bool(meta.get("all_or_nothing", False)), len(self.cells), number)

    def new_id(self, base: str) -> str:
        grade_id, n = base, 1
        while grade_id in self.used_ids:
            n += 1
            grade_id = f"{base}-{n}"
        self.used_ids.add(grade_id)
        return grade_id

    def add_plain(self, cell, number: int, locked: bool) -> None:
        """A cell that is neither solution nor test: text, or code students run."""
        if cell.cell_type == "code" and ignored_lines(cell.source):
            self.problem(number, "holds otter # IGNORE lines, which run in the master notebook only: mlgrader's "
                                 "solution source runs every line; remove them (or the cell) and import again")
            return
        if cell.cell_type == "code" and has_solution_markers(cell.source) and self.config.get("strip_solutions_from_all_cells"):
            self.add_solution_code(cell, number, f"solution-{number}")
            return
        kind = ("setup" if cell.cell_type == "code" else "markdown") if locked else "editable"
        self.cells.append(ImportedCell(kind, cell.source, cell.cell_type))
        if locked and cell.cell_type == "markdown" and self.question is not None:
            self.question.last_text = len(self.cells) - 1

    def add_solution_code(self, cell, number: int, base: str) -> int | None:
        """A code answer: an exercise where otter marks the solution, otherwise a cell students edit."""
        if ignored_lines(cell.source):
            self.problem(number, "holds otter # IGNORE lines in a solution: remove them and import again")
            return None
        if not has_solution_markers(cell.source):
            self.cells.append(ImportedCell("editable", cell.source, "code"))
            return len(self.cells) - 1
        try:
            source = solution_regions(cell.source)
        except NotCarried as exc:
            self.problem(number, str(exc))
            return None
        self.cells.append(ImportedCell("exercise", source, "code", self.new_id(base)))
        return len(self.cells) - 1

    def add_case(self, cell, number: int, marker_line: bool) -> None:
        if cell.cell_type != "code":
            self.problem(number, "a test must be a code cell")
            return
        output = "".join(_output_text(o) for o in cell.get("outputs", []))
        try:
            self.question.cases.append(read_case(cell.source, output, number, marker_line))
        except NotCarried as exc:
            self.problem(number, str(exc))

    def add_prompt(self, cell) -> None:
        """A manual question's prompt: what students write their answer in (merged into a written answer)."""
        self.question.prompts.append(len(self.cells))
        self.cells.append(ImportedCell("editable", cell.source, cell.cell_type))

    def add_solution(self, cell, number: int) -> None:
        q = self.question
        if q.manual:
            q.solutions.append(len(self.cells))
            self.cells.append(ImportedCell("pending-solution", cell.source, cell.cell_type))
        elif cell.cell_type == "code":
            index = self.add_solution_code(cell, number, f"{q.grade_id}-answer")
            if index is not None:
                q.solutions.append(index)
        else:
            self.problem(number, f"a written solution in autograded question {q.name} is not carried (otter drops "
                                 "it for students); make the question manual: true, or remove the cell")

    # -- the end of a question -----------------------------------------------------------

    def end_question(self) -> None:
        q, self.question = self.question, None
        if q is None:
            return
        if q.manual and q.cases:
            self.problem(q.number, f"manual question {q.name} has test cases: a question is graded by staff or by "
                                   "tests; split it in two and import again")
        elif q.manual:
            self._finish_manual(q)
        elif q.cases:
            self._add_tests(q)
        if self.config.get("show_question_points") and q.last_text is not None:
            points = q.points if q.manual else sum(self._points(q))
            self.cells[q.last_text].source += f"\n\n_Points:_ {_number(points)}"

    def _points(self, q: _Question) -> list[float]:
        try:
            return resolve_points(q.points, q.cases, q.name)
        except NotCarried as exc:
            self.problem(q.number, str(exc))
            return [0.0] * len(q.cases)

    def _add_tests(self, q: _Question) -> None:
        ok_format = bool((self.config.get("tests") or {}).get("ok_format", True)) \
            if isinstance(self.config.get("tests"), dict) else True
        points = self._points(q)
        codes = []
        for case in q.cases:
            try:
                codes.append(case_code(case, ok_format, q.name))
            except NotCarried as exc:
                self.problem(case.cell, str(exc))
                return
        if q.all_or_nothing:
            public = [c for c, case in zip(codes, q.cases) if not case.hidden]
            hidden = [c for c, case in zip(codes, q.cases) if case.hidden]
            source = "\n".join(public) or "# the tests of this question are hidden: they run when it is graded"
            if hidden:
                source += f"\n{HIDDEN_BEGIN}\n" + "\n".join(hidden) + f"\n{HIDDEN_END}"
            self._add_test(q.grade_id, source, sum(points), q)
            return
        for index, (code, case, value) in enumerate(zip(codes, q.cases, points), start=1):
            grade_id = q.grade_id if len(q.cases) == 1 else f"{q.grade_id}-{index}"
            if value <= 0:
                if not case.hidden:  # a check worth nothing runs for the student, as in otter
                    self.cells.append(ImportedCell("setup", code, "code"))
                self.notes.append(f"{self.path.name}: test case {index} of {q.name} is worth 0 points"
                                  + ("; it is dropped" if case.hidden else "; it is a read-only check now"))
                continue
            self._add_test(grade_id, test_cell_source(code, case.hidden), value, q)

    def _add_test(self, grade_id: str, source: str, points: float, q: _Question) -> None:
        # In students' otter notebooks the question's check cell stands for its tests.
        self.cells.append(ImportedCell("test", source, "code", self.new_id(grade_id), points,
                                       match=f'grader.check("{q.name}")'))

    def _finish_manual(self, q: _Question) -> None:
        if q.points is None:
            # otter leaves a manual question's points to Gradescope's rubric; a grade cell needs some.
            points = DEFAULT_MANUAL_POINTS
            self.notes.append(f"{self.path.name}: manual question {q.name} has no points in the master; it is worth "
                              f"{_number(points)} now (set points: in its question config to change that)")
        else:
            try:
                points = float(q.points)
            except (TypeError, ValueError):
                points = 0.0
        if points <= 0:
            self.problem(q.number, f"manual question {q.name} needs points above 0, not {q.points!r}")
            return
        answers = [self.cells[i] for i in q.solutions]
        prompts = [self.cells[i] for i in q.prompts if self.cells[i].cell_type == "markdown"]
        if len(answers) == 1:
            answer = answers[0]
            answer.kind, answer.grade_id, answer.points = "manual", self.new_id(q.grade_id), points
            if answer.cell_type == "markdown":
                # Students get the prompt (otter's default one without a prompt) and answer in it.
                prompt = "\n\n".join(p.source for p in prompts) if prompts else RESPONSE_PROMPT
                answer.source = f"{prompt}\n{SOLUTION_BEGIN}\n{answer.source}\n{SOLUTION_END}"
                for cell in prompts:
                    cell.kind = DROPPED
            else:
                answer.source = self._manual_code(answer.source, q)
            return
        # Several answer cells: a task worth the points, the written solution its mark scheme.
        if q.last_text is None:
            self.problem(q.number, f"manual question {q.name} has several answer cells but no question text to "
                                   "carry its points (a task cell)")
            return
        task = self.cells[q.last_text]
        written = [a.source for a in answers if a.cell_type == "markdown"]
        scheme = f"\n{MARK_SCHEME_BEGIN}\n" + "\n\n".join(written) + f"\n{MARK_SCHEME_END}" if written else ""
        task.kind, task.grade_id, task.points = "task", self.new_id(q.grade_id), points
        task.source += scheme
        for answer in answers:
            answer.kind = "editable"
            if answer.cell_type == "markdown":
                # otter drops written solutions for students, and offers its response cell without a prompt
                answer.kind, answer.source = (DROPPED, "") if prompts else ("editable", RESPONSE_PROMPT)
            elif has_solution_markers(answer.source):
                answer.kind, answer.grade_id = "exercise", self.new_id(f"{q.grade_id}-answer")
                answer.source = self._manual_code(answer.source, q)
        self.notes.append(f"{self.path.name}: manual question {q.name} has several answer cells: its points are "
                          "on a task cell (the question's text), its written solution is the mark scheme")

    def _manual_code(self, source: str, q: _Question) -> str:
        if not has_solution_markers(source):
            # otter hands such a cell out as it is; an empty region keeps it so and marks the answer.
            return f"{source}\n{SOLUTION_BEGIN}\n{SOLUTION_END}"
        try:
            return solution_regions(source)
        except NotCarried as exc:
            self.problem(q.number, str(exc))
            return source


def _number(x) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def _output_text(output) -> str:
    """What otter takes as a test cell's expected output: its stream text and its result's text/plain."""
    text = _text(output.get("text", ""))
    plain = output.get("data", {}).get("text/plain")
    if isinstance(plain, list):
        text += plain[0] if plain else ""
    elif plain:
        text += plain
    return text


# --- format v1 ---------------------------------------------------------------------------


def _walk_v1(reader: _Reader, cells: list) -> None:
    stack: list[str] = []
    for number, cell in enumerate(cells, start=1):
        first = _first_line(cell)
        if _IGNORE_CELL.match(first):
            reader.problem(number, "an otter # IGNORE cell is not carried: it runs in the master notebook only, and "
                                   "mlgrader's solution source runs every cell; delete it (or make it a plain cell)")
            continue
        if cell.cell_type == "raw" and _V1_CONFIG.match(first):
            reader.read_config(cell.source.split("\n")[1:], number)
            continue
        boundary = _V1_BOUNDARY.match(first) if cell.cell_type == "raw" else None
        if boundary:
            _boundary(reader, stack, boundary.group(1).lower(), boundary.group(2).lower(), cell, number)
            continue
        block = stack[-1] if stack else None
        if block == "tests":
            reader.add_case(cell, number, marker_line=False)
        elif block == "solution":
            reader.add_solution(cell, number)
        elif block == "prompt":
            if reader.question.manual:
                reader.add_prompt(cell)
            else:
                reader.add_plain(cell, number, locked=False)
        else:
            reader.add_plain(cell, number, locked=block == "question")
    if stack:
        reader.problem(0, f"the notebook ends inside a {stack[-1]} block (no # END {stack[-1].upper()})")


def _boundary(reader: _Reader, stack: list[str], edge: str, block: str, cell, number: int) -> None:
    if edge == "end":
        if not stack or stack[-1] != block:
            reader.problem(number, f"# END {block.upper()} without a matching # BEGIN {block.upper()}")
            return
        stack.pop()
        if block == "question":
            reader.end_question()
        return
    if block == "question":
        if stack:
            reader.problem(number, "a question begins inside another question")
            return
        reader.begin_question(cell.source.split("\n")[1:], number)
    elif not stack or stack != ["question"]:
        reader.problem(number, f"# BEGIN {block.upper()} outside a question")
        return
    stack.append(block)


# --- format v0 ---------------------------------------------------------------------------


def _walk_v0(reader: _Reader, cells: list) -> None:
    answered = False  # the question's solution (or its first test) was seen
    for number, cell in enumerate(cells, start=1):
        q = reader.question
        first = _first_line(cell)
        if _IGNORE_CELL.match(first):
            reader.problem(number, "an otter ## Ignore ## cell is not carried: it runs in the master notebook only; "
                                   "delete it (or make it a plain cell)")
            continue
        is_test = cell.cell_type == "code" and bool(_V0_TEST.match(first))
        md_solution = cell.cell_type == "markdown" and any(_MD_SOLUTION.match(l) for l in cell.source.split("\n"))
        if q is not None and not answered:
            if q.manual and cell.cell_type == "markdown" and not md_solution:
                reader.add_prompt(cell)
                continue
            if is_test:
                reader.add_case(cell, number, marker_line=True)
            else:
                reader.add_solution(cell, number)
            answered = True
            continue
        if q is not None and is_test:
            reader.add_case(cell, number, marker_line=True)
            continue
        if q is not None:
            reader.end_question()
            answered = False
        assignment = _fenced_lines(cell, "ASSIGNMENT") if cell.cell_type in ("markdown", "raw") else None
        question = _fenced_lines(cell, "QUESTION") if cell.cell_type == "markdown" else None
        if assignment is not None:
            reader.read_config(assignment, number)
        elif question is not None:
            reader.begin_question(question, number)
            text = _without_fenced_block(cell.source, "QUESTION")
            if text.strip():
                reader.cells.append(ImportedCell("markdown", text, "markdown"))
                reader.question.last_text = len(reader.cells) - 1
        elif is_test:
            reader.problem(number, "a test cell outside a question")
        else:
            reader.add_plain(cell, number, locked=False)
    reader.end_question()


def _without_fenced_block(source: str, word: str) -> str:
    lines = source.split("\n")
    fences = [i for i, line in enumerate(lines) if line[:3] == "```"]
    for start, end in zip(fences[::2], fences[1::2]):
        if start + 1 < len(lines) and lines[start + 1].strip() == f"BEGIN {word}":
            return "\n".join(lines[:start] + lines[end + 1:]).strip("\n")
    return source


# --- the notebook ----------------------------------------------------------------------------


def read_master(path: Path, assignment: str | None, problems: list[Problem]) -> ImportedNotebook | None:
    """One otter master notebook as an :class:`ImportedNotebook` (None, with problems, where it cannot be)."""
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as exc:  # nbformat and json raise many kinds
        problems.append(Problem(str(path), "", f"is not a readable notebook ({type(exc).__name__}: {exc})"))
        return None
    version = is_otter_master(nb)
    kernelspec = dict(nb.metadata.get("kernelspec") or DEFAULT_KERNELSPEC)
    language = kernelspec.get("language") or nb.metadata.get("language_info", {}).get("name") or "python"
    if str(language).lower() != "python":
        problems.append(Problem(str(path), "", f"the notebook's kernel is {language}: otter's R notebooks are not "
                                               "carried, mlgrader grades Python notebooks only"))
        return None
    reader = _Reader(path, problems)
    cells = [piece for cell in nb.cells for piece in _unfence(cell)]
    (_walk_v1 if version == "v1" else _walk_v0)(reader, cells)
    _check_config(reader)
    name = str(reader.config.get("name") or "")
    cells = [c for c in reader.cells if c.kind != DROPPED]
    imported = ImportedNotebook(path.stem, path, assignment or name or path.parent.resolve().name, cells,
                                kernelspec, files=_files(reader), stubs=dict(OTTER_STUBS), notes=reader.notes)
    mark_helpers(imported, str(path), problems)
    return imported


def _check_config(reader: _Reader) -> None:
    config, where = reader.config, reader.path.name
    if config.get("plugins"):
        reader.problem(0, "otter plugins are not carried: they run otter's own code while grading")
    if config.get("autograder_files"):
        reader.problem(0, "autograder_files (files only the autograder has) are not carried: files travel with the "
                          "notebook to students and grader alike in mlgrader")
    if str(config.get("lang", "python")).lower() not in ("python", "py"):
        reader.problem(0, f"lang {config.get('lang')} is not carried: mlgrader grades Python notebooks only")
    seed = config.get("seed")
    if isinstance(seed, dict):
        _carry_seed_variable(reader, seed)
    elif seed is not None:
        reader.notes.append(f"{where}: otter seeds before every cell (seed: {seed}); mlgrader seeds numpy, random "
                            "and torch once when the kernel starts")
    if config.get("runs_on") not in (None, "default"):
        reader.notes.append(f"{where}: runs_on {config['runs_on']} is otter's own; students' notebooks run anywhere")
    if config.get("requirements") or config.get("environment"):
        reader.notes.append(f"{where}: the requirements otter installs are not carried: grading runs in mlgrader's "
                            "environment (make sure it has the notebook's packages)")
    unknown = sorted(set(config) - _OTTER_ONLY)
    if unknown:
        reader.notes.append(f"{where}: assignment settings {', '.join(unknown)} are otter's own and are not carried")


def _carry_seed_variable(reader: _Reader, seed: dict) -> None:
    """otter's ``seed: {variable, autograder_value, student_value}``: the autograder runs the notebook
    with the variable set to ``autograder_value``, students see ``student_value``.

    mlgrader grades with what students were given, so the cells that set the variable get the
    autograder's value and become read-only (restored when grading, as otter's rewrite does);
    students see that value, and the import says so.
    """
    variable, value = seed.get("variable"), seed.get("autograder_value")
    if not isinstance(variable, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", variable) or value is None:
        reader.problem(0, "seed: needs variable (a name) and autograder_value")
        return
    assignment = re.compile(rf"^(\s*){re.escape(variable)}\s*=(?!=)")
    for cell in reader.cells:
        if cell.cell_type != "code" or not any(assignment.match(line) for line in cell.source.split("\n")):
            continue
        cell.source = "\n".join(f"{m.group(1)}{variable} = {value!r}" if (m := assignment.match(line)) else line
                                 for line in cell.source.split("\n"))
        if cell.kind == "editable":
            cell.kind = "setup"
    reader.notes.append(f"{reader.path.name}: otter's seed variable {variable} is set to the autograder's value "
                        f"{value!r} in read-only cells: students see that value (otter showed them "
                        f"{seed.get('student_value')!r}), and grading uses it as otter's autograder did")


def _files(reader: _Reader) -> dict[str, Path]:
    out: dict[str, Path] = {}
    folder = reader.path.parent
    for name in reader.config.get("files") or []:
        source = (folder / str(name))
        if source.is_dir():
            for item in sorted(source.rglob("*")):
                if item.is_file() and not item.name.startswith("."):
                    out[item.relative_to(folder).as_posix()] = item
        elif source.is_file():
            relative = Path(str(name))
            if relative.is_absolute() or ".." in relative.parts:
                reader.problem(0, f"files: {name} lies outside the master's folder; students would not find it "
                                  "beside the notebook")
                continue
            out[relative.as_posix()] = source
        else:
            reader.problem(0, f"files: {name} does not exist beside the master notebook")
    return out
