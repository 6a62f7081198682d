"""Automatic mutants: every solution region of a notebook, mutated one typical mistake at a time.

:func:`notebook_mutants` applies the :mod:`~mlgrader.validate.operators` to each exercise
cell of the solution notebook; identical mutants (the same cell text reached by two
operators) are graded once. A mutant marked equivalent in ``variants.toml`` (a change that
cannot be seen, with the instructor's reason) is listed but not graded. :func:`judge_mutant`
says whether the tests killed a mutant, and whether the message that killed it explains the
mistake rather than only reporting different values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..grading.plan import NOT_RUN_IN_FOCUS
from ..grading.submission import grade_id_of
from ..results import GradeResult
from .operators import Change, cell_changes
from .variants import VariantError

# The first line of a check's message when it only reports values (no likely mistake, no hint).
_BARE_MISMATCH = re.compile(r"^.+: (?:found .+, expected .+;|\d+ of \d+ (?:elements|losses) differ)|"
                            r"^.+ (?:is .+, expected .+\.|differs from the expected values)")


@dataclass(frozen=True)
class Equivalent:
    """A mutant the instructor declared equivalent (variants.toml ``[[equivalent]]``)."""

    cell: str
    operator: str
    reason: str
    line: str | None = None  # text the changed line holds, when one operator has several sites


@dataclass(frozen=True)
class Mutant:
    cell: str
    change: Change
    equivalent: Equivalent | None = None

    @property
    def case(self) -> str:
        return f"mutant {self.cell}: {self.change.label}"


def load_equivalents(path: Path) -> list[Equivalent]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise VariantError(f"{path}: {exc}") from None
    found = []
    for number, item in enumerate(data.get("equivalent", []), start=1):
        try:
            found.append(Equivalent(item["cell"], item["operator"], item["reason"], item.get("line")))
        except KeyError as exc:
            raise VariantError(f"{path}: equivalent {number} lacks {exc}") from None
    return found


def _equivalent_for(cell: str, change: Change, equivalents: list[Equivalent]) -> Equivalent | None:
    for eq in equivalents:
        if eq.cell == cell and eq.operator == change.operator and (eq.line is None or eq.line in change.before):
            return eq
    return None


def notebook_mutants(solution: nbformat.NotebookNode, exercise_ids: set[str],
                     equivalents: list[Equivalent]) -> list[Mutant]:
    """The mutants of the exercise cells of one solution notebook, in cell order."""
    mutants = []
    for cell in solution.cells:
        gid = grade_id_of(cell)
        if cell.cell_type != "code" or gid not in exercise_ids:
            continue
        for change in cell_changes(cell.source):
            mutants.append(Mutant(gid, change, _equivalent_for(gid, change, equivalents)))
    return mutants


def unused_equivalents(mutants: list[Mutant], equivalents: list[Equivalent]) -> list[Equivalent]:
    """Equivalences that match no mutant: stale after an edit of the solution."""
    used = {m.equivalent for m in mutants if m.equivalent is not None}
    return [eq for eq in equivalents if eq not in used]


def mutated_notebook(solution: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    edited = nbformat.from_dict(solution)
    for cell in edited.cells:
        if grade_id_of(cell) == mutant.cell:
            cell.source = mutant.change.source
    return edited


def explains(output: str) -> bool:
    """Whether a failing test's output says more than that values differ: a likely mistake, a
    hint, an error from the student's code, a shape or type problem."""
    first = output.strip().splitlines()[0] if output.strip() else ""
    if not first:
        return False
    return "Hint:" in output or "This looks like" in output or not _BARE_MISMATCH.match(first)


def judge_mutant(result: GradeResult) -> tuple[bool, bool, str]:
    """(killed, explained, the first line of the message that killed it)."""
    lost = [t for t in result.tests if t.status not in ("passed", "pending") and t.output != NOT_RUN_IN_FOCUS]
    if not lost:
        return False, False, "survived: every test it reached passed"
    output = lost[0].output or ""
    first = output.strip().splitlines()[0] if output.strip() else lost[0].status
    return True, explains(output), f"{lost[0].name}: {first[:160]}"
