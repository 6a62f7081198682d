"""otter-grader's code conventions, translated: solution markers, test cases, points.

Solutions. otter (after jAssign) replaces, in the student's copy:

- ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` with ``...`` at the block's indentation;
- a line ending in ``# SOLUTION`` with ``...``, or, for an assignment, its right-hand side;
- ``# BEGIN SOLUTION NO PROMPT`` blocks and ``# SOLUTION NO PROMPT`` lines with nothing.

mlgrader's regions are nbgrader's, and the release's stub is ``...`` (the header's
``stubs``), so a block becomes one region, a line a region of its own, an assignment's
right-hand side a region inside parentheses (``x = (`` region ``)``, which students get as
``x = (...)``), and neighbouring lines one region. A removed block shows as ``...``.

Tests. Each test cell of a question is one *test case*, public or hidden, with points.
otter's default (OK) format compares what the case prints with the output the master
notebook recorded, like a doctest; its exception format calls a test function with the
notebook's values. Each case becomes one mlgrader test, whose score is the case's points.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..solution import HIDDEN_BEGIN, HIDDEN_END, SOLUTION_BEGIN, SOLUTION_END

_BEGIN_BLOCK = re.compile(r"^(\s*)# BEGIN SOLUTION( NO PROMPT)?\s*$")
_END_BLOCK = re.compile(r"^\s*# END SOLUTION\s*$")
_NO_PROMPT_LINE = re.compile(r"^(.*?)\s*# ?SOLUTION NO PROMPT\s*$")
_SOLUTION_LINE = re.compile(r"^(.*?)\s*# ?SOLUTION\s*$")
_PROMPT = re.compile(r"#\s*(BEGIN|END)\s+PROMPT", re.IGNORECASE)
_IGNORE_LINE = re.compile(r"#\s*IGNORE\s*$")
_IGNORE_BLOCK = re.compile(r"^\s*#\s*(BEGIN|END)\s*IGNORE", re.IGNORECASE)
BEGIN_TEST_CONFIG = re.compile(r'(?:.\s*=\s*)?""?"?\s*#\s*BEGIN\s*TEST\s*CONFIG', re.IGNORECASE)
END_TEST_CONFIG = re.compile(r'""?"?\s*#\s*END\s*TEST\s*CONFIG', re.IGNORECASE)


class NotCarried(ValueError):
    """A piece of otter code that mlgrader cannot carry; the message says why and what to do."""


# --- solutions ---------------------------------------------------------------------------------


def has_solution_markers(source: str) -> bool:
    return any(_BEGIN_BLOCK.match(line) or _SOLUTION_LINE.match(line) for line in source.split("\n"))


def solution_regions(source: str) -> str:
    """A solution cell's code with otter's markers made mlgrader's regions (see the module docstring)."""
    if any(_PROMPT.search(line) for line in source.split("\n")):
        raise NotCarried("otter's in-code prompts (\"\"\" # BEGIN PROMPT) are not carried: the release would "
                         "show the prompt's quotes; replace the prompt by a plain # BEGIN SOLUTION block")
    out: list[str] = []
    region: list[str] | None = None  # lines of a line-level region being gathered
    in_block = False
    for line in source.split("\n"):
        if in_block:
            if _END_BLOCK.match(line):
                out.append(_indent_of(line) + SOLUTION_END)
                in_block = False
            else:
                out.append(line)
            continue
        block = _BEGIN_BLOCK.match(line)
        single = None if block else _NO_PROMPT_LINE.match(line) or _SOLUTION_LINE.match(line)
        if single and region is not None and _indent_of(line) == _indent_of(region[0]) \
                and not _assignment_split(single.group(1)):
            region.append(single.group(1))
            continue
        if region is not None:
            out.extend(_close_line_region(region))
            region = None
        if block:
            out.append(block.group(1) + SOLUTION_BEGIN)
            in_block = True
        elif single:
            split = _assignment_split(single.group(1))
            if split and not _NO_PROMPT_LINE.match(line):
                out.extend(_rhs_region(*split))
            else:
                region = [single.group(1)]
        elif _END_BLOCK.match(line):
            raise NotCarried("# END SOLUTION without # BEGIN SOLUTION")
        else:
            out.append(line)
    if in_block:
        raise NotCarried("# BEGIN SOLUTION without # END SOLUTION")
    if region is not None:
        out.extend(_close_line_region(region))
    return "\n".join(out)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _close_line_region(lines: list[str]) -> list[str]:
    indent = _indent_of(lines[0])
    return [indent + SOLUTION_BEGIN, *lines, indent + SOLUTION_END]


def _assignment_split(code: str) -> tuple[str, str] | None:
    """(``x = ``, ``expression``) when ``code`` is one whole assignment statement, else None."""
    stripped = code.strip()
    try:
        tree = ast.parse(stripped)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return None
    value = tree.body[0].value
    if value is None or value.lineno != 1:
        return None
    offset = len(code) - len(code.lstrip())
    return code[: offset + value.col_offset], code[offset + value.col_offset:]


def _rhs_region(prefix: str, expression: str) -> list[str]:
    indent = _indent_of(prefix) + "    "
    return [prefix.rstrip() + " (", indent + SOLUTION_BEGIN, indent + expression.strip(), indent + SOLUTION_END,
            _indent_of(prefix) + ")"]


def ignored_lines(source: str) -> bool:
    """Whether code holds otter's ``# IGNORE`` lines or blocks (run in the master only)."""
    return any(_IGNORE_LINE.search(line) or _IGNORE_BLOCK.match(line) for line in source.split("\n"))


# --- tests -----------------------------------------------------------------------------------


@dataclass
class OtterCase:
    """One otter test case, as read from a test cell of the master notebook."""

    code: str  # the case's code, without otter's config and hidden marker lines
    output: str  # what the master notebook printed for it (OK format: what it must print)
    hidden: bool
    points: float | None
    cell: int  # 1-based position of the test cell in the master notebook


def read_case(source: str, output: str, cell: int, first_line_marker: bool) -> OtterCase:
    """A test case from a test cell's source. ``first_line_marker``: the first line is the case's
    marker (v0's ``## Test ##``, v1's ``# HIDDEN``) and not part of the code."""
    lines = source.split("\n")
    hidden = bool(lines) and lines[0].lstrip().startswith("#") and bool(re.search(r"\bhidden\b", lines[0], re.I))
    config, start = {}, (1 if first_line_marker or hidden else 0)
    if lines and BEGIN_TEST_CONFIG.match(lines[0]):
        end = next((i for i, line in enumerate(lines) if i and END_TEST_CONFIG.match(line)), None)
        if end is None:
            raise NotCarried("a test config block (BEGIN TEST CONFIG) is not closed")
        import yaml

        config = yaml.safe_load("\n".join(lines[1:end])) or {}
        if not isinstance(config, dict):
            raise NotCarried("the test config block is not a YAML mapping")
        start = end + 1
    unknown = set(config) - {"hidden", "points", "success_message", "failure_message"}
    if unknown:
        raise NotCarried(f"unknown test config keys {sorted(unknown)}")
    points = config.get("points")
    return OtterCase("\n".join(lines[start:]).strip("\n"), output, bool(config.get("hidden", hidden)),
                    None if points is None else float(points), cell)


def resolve_points(question_points, cases: list[OtterCase], question: str) -> list[float]:
    """Each case's points, by otter's rules for a question's ``points`` and the cases' own."""
    n = len(cases)
    if isinstance(question_points, dict):
        question_points = float(question_points.get("each", 1)) * n
    if isinstance(question_points, list):
        if len(question_points) != n:
            raise NotCarried(f"question {question} lists {len(question_points)} points for {n} test cases")
        return [float(p) for p in question_points]
    given = [c.points for c in cases]
    if question_points is None:
        if any(p is not None for p in given):
            return [p if p is not None else 0.0 for p in given]
        return [1.0 / n] * n
    total = float(question_points)
    if all(p is None for p in given):
        return [total / n] * n
    rest = [i for i, p in enumerate(given) if p is None]
    left = total - sum(p for p in given if p is not None)
    if rest and left < 0:
        raise NotCarried(f"question {question}: the test cases' points add up to more than {question_points}")
    return [p if p is not None else left / len(rest) for p in given]


def case_code(case: OtterCase, ok_format: bool, question: str) -> str:
    """mlgrader test code for one case: it passes exactly when otter's case does, on honest notebooks."""
    try:
        tree = ast.parse(case.code)
    except SyntaxError as exc:
        raise NotCarried(f"a test case of {question} is not valid Python ({exc.msg})") from None
    if not ok_format:
        return _exception_case(tree, case.code, question)
    return _doctest_case(tree, case, question)


def _exception_case(tree: ast.Module, code: str, question: str) -> str:
    """otter's exception format: a test function, called with the notebook's values of its parameters."""
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef) or len(tree.body) > 2:
        raise NotCarried(f"a test case of {question} is not one test function (otter's exception format)")
    function = tree.body[0]
    params = [a.arg for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs]
    if "env" in params:
        raise NotCarried(f"a test function of {question} takes env (the whole notebook): tests read named values")
    lines = code.split("\n")[: function.end_lineno]
    call = f"{function.name}({', '.join(f'{p}={p}' for p in params)})"
    return "\n".join(lines).rstrip() + "\n\n" + call


def _doctest_case(tree: ast.Module, case: OtterCase, question: str) -> str:
    """otter's OK format: the case passes when what it shows equals the master's recorded output."""
    code = case.code  # otter's OK format keeps a case's "# IGNORE" lines (the call they make is the test)
    want = case.output.rstrip("\n")
    last = tree.body[-1] if tree.body else None
    prints = any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print" for n in ast.walk(tree))
    if not want:
        shown = [s for s in tree.body if isinstance(s, ast.Expr) and not isinstance(s.value, (ast.Call, ast.Constant))]
        if shown:
            raise NotCarried(f"a test case of {question} shows a value, but the master notebook recorded no output "
                             "for it: run the master notebook (outputs saved) and import again")
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Constant):
            # shows nothing only when it is None (a bare value would end a test cell: not allowed)
            before = _source_lines(code, last.lineno - 1)
            return (before + "\n" if before.strip() else "") + f"assert ({ast.get_source_segment(code, last.value)}) is None"
        return code
    if isinstance(last, ast.Expr) and not prints:
        before = _source_lines(code, last.lineno - 1)
        expression = ast.get_source_segment(code, last.value)
        return (before + "\n" if before.strip() else "") + f"assert repr({expression}) == {want!r}"
    # What the case prints, in this process: its own print() calls and the value it ends with.
    statements, show = code, []
    if isinstance(last, ast.Expr):
        statements = _source_lines(code, last.lineno - 1)
        show = [f"_shown = {ast.get_source_segment(code, last.value)}", "if _shown is not None:", "    print(repr(_shown))"]
    body = (statements.strip("\n").split("\n") if statements.strip() else []) + show
    return ("import contextlib as _contextlib, io as _io\n"
            "with _contextlib.redirect_stdout(_io.StringIO()) as _printed:\n"
            + "\n".join("    " + line for line in body) + "\n"
            + f"assert _printed.getvalue().rstrip(\"\\n\") == {want!r}")


def _source_lines(code: str, count: int) -> str:
    return "\n".join(code.split("\n")[:count])


def test_cell_source(code: str, hidden: bool) -> str:
    """The source of the mlgrader test cell for a case: hidden cases inside the hidden region."""
    if not hidden:
        return code
    return f"# a hidden test: it runs when your notebook is graded\n{HIDDEN_BEGIN}\n{code}\n{HIDDEN_END}"
