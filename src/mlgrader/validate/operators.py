"""Mutation operators: one typical student mistake, made at one place of a solution region.

Each operator rewrites one line: it flips the sign of a descent step, drops a
``zero_grad()``/``step()``/``backward()``, turns a mean into a sum, swaps an axis, drops a
``keepdims``, a softmax's max shift or a transpose, swaps cross-entropy for NLLLoss, or makes
a learning rate 100 times larger. The operators know nothing of any one assignment: they
read Python text, so every solution region of the course gets its mutants from the same list.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# What the names of step sizes look like in course code.
_RATE = r"(?:self\.)?(?:lr|alpha|learning_rate|eta|step_size|rate)\b"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Operator:
    """Rewrites one site of a line: ``pattern`` finds the sites, ``rewrite`` gives the new text of
    the match (or, with ``drops_line``, the whole line becomes ``pass``)."""

    name: str
    what: str  # the mistake it stands for, for people
    pattern: re.Pattern
    rewrite: Callable[[re.Match], str] | None = None
    drops_line: bool = False


def _swap_axis(match: re.Match) -> str:
    swapped = {"0": "1", "1": "0", "-1": "0", "-2": "-1", "2": "1"}[match["axis"]]
    return f"{match['kw']}={swapped}"


OPERATORS: tuple[Operator, ...] = (
    Operator("descent-sign", "steps uphill: + instead of - before the step size",
             re.compile(r"(?<=[\w\])])\s*-\s*(?=" + _RATE + r")"), lambda m: " + "),
    Operator("descent-sign", "steps uphill: += instead of -= with the step size",
             re.compile(r"-=(?=\s*" + _RATE + r")"), lambda m: "+="),
    Operator("drop-zero-grad", "forgets to zero the gradients",
             re.compile(r"\.zero_grad\(|\.grad\s*=\s*None|\.grad\.zero_\("), drops_line=True),
    Operator("drop-step", "forgets the optimizer (or scheduler) step", re.compile(r"\.step\(\s*\)"), drops_line=True),
    Operator("drop-backward", "forgets backward()", re.compile(r"\.backward\("), drops_line=True),
    Operator("mean-to-sum", "sums where the mean belongs", re.compile(r"\bmean\("), lambda m: "sum("),
    Operator("swap-axis", "reduces or normalises over the other axis",
             re.compile(r"\b(?P<kw>axis|dim)\s*=\s*(?P<axis>-?[0-2])\b"), _swap_axis),
    Operator("drop-keepdims", "drops keepdims, so a reduced axis broadcasts the wrong way",
             re.compile(r",\s*keepdims?\s*=\s*True"), lambda m: ""),
    Operator("drop-max-shift", "drops the max shift of a softmax (exp overflows)",
             re.compile(r"(?P<x>\b\w+)\s*-\s*(?:(?:np|torch)\.(?:max|amax)\(\s*(?P=x)\b[^()]*\)|(?P=x)\.(?:max|amax)\([^()]*\))"
                        r"(?:\.values|\[0\])?"), lambda m: m["x"]),
    Operator("ce-to-nll", "uses NLLLoss on raw logits instead of cross-entropy",
             re.compile(r"\bcross_entropy\(|\bCrossEntropyLoss\("),
             lambda m: "nll_loss(" if m.group(0).startswith("cross") else "NLLLoss("),
    Operator("lr-x100", "a learning rate 100 times too large",
             re.compile(r"(?<![\w.])(?P<rate>" + _RATE + r")\s*\*"), lambda m: f"100 * {m['rate']} *"),
    Operator("drop-transpose", "drops a transpose", re.compile(r"(?<=[\w\])])\.(?:T\b|t\(\))"), lambda m: ""),
    Operator("drop-mode", "forgets model.train() / model.eval()", re.compile(r"\.(?:train|eval)\(\s*\)\s*$"),
             drops_line=True),
)


@dataclass(frozen=True)
class Change:
    """One mutation of one cell: which operator, on which line of the cell, from what to what."""

    operator: str
    what: str
    line: int  # 1-based, in the cell
    before: str
    after: str
    source: str  # the whole mutated cell

    @property
    def label(self) -> str:
        return f"{self.operator} at line {self.line}: `{self.before.strip()}` -> `{self.after.strip()}`"


def solution_lines(source: str) -> list[int]:
    """Indices of the lines inside the solution regions of a cell."""
    inside, found = False, []
    for index, line in enumerate(source.splitlines()):
        if line.strip().startswith(BEGIN):
            inside = True
        elif line.strip().startswith(END):
            inside = False
        elif inside:
            found.append(index)
    return found


def _same_program(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except SyntaxError:
        return False


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def _rewrites(line: str, operator: Operator) -> Iterator[str]:
    """Each way ``operator`` can change ``line``, one site at a time."""
    for match in operator.pattern.finditer(line):
        if line.lstrip().startswith("#"):
            return
        if operator.drops_line:
            indent = line[: len(line) - len(line.lstrip())]
            yield f"{indent}pass"
            return
        yield line[: match.start()] + operator.rewrite(match) + line[match.end():]


def cell_changes(source: str) -> list[Change]:
    """Every mutation of the solution regions of one cell, each a valid program that differs
    from the original (a rewrite that changes nothing Python sees is no mutant)."""
    lines = source.splitlines()
    changes, seen = [], {source}
    for index in solution_lines(source):
        for operator in OPERATORS:
            for new_line in _rewrites(lines[index], operator):
                mutated = "\n".join(lines[:index] + [new_line] + lines[index + 1:])
                if mutated in seen or not _parses(mutated) or _same_program(mutated, source):
                    continue
                seen.add(mutated)
                changes.append(Change(operator.name, operator.what, index + 1, lines[index], new_line, mutated))
    return changes
