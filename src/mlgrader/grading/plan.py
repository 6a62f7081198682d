"""Lining the student's cells up with the bundle's layout, by grade id.

Read-only cells are restored, deleted or moved tests are put back after the cell they test,
and every deviation becomes a note for the feedback. The plan is a list of :class:`Step`:
run a cell's code in the kernel, or run a test in the grader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat

from ..bundle import INSTALL_KIND, NotebookEntry
from ..config import DEFAULT_CELL_TIMEOUT_S
from ..results import wrong_notebook_note
from .submission import grade_id_of


# Cells of these kinds never run when grading: lesson text, and the student's install line
# (the grader's kernel has its own mlgrader; nothing may be installed in the sandbox).
_NOT_RUN = ("markdown", "task", INSTALL_KIND)  # cells the plan never runs nor restores


@dataclass
class Step:
    """One thing to do, in order: run a cell's code, or run a test."""

    kind: str  # "cell" | "test"
    label: str
    source: str = ""
    timeout: float = DEFAULT_CELL_TIMEOUT_S
    grade_id: str | None = None


@dataclass
class Plan:
    steps: list[Step]
    notes: list[str] = field(default_factory=list)
    # Grade id -> the submitted text of each manually graded answer (staff grade it later).
    answers: dict[str, str] = field(default_factory=dict)
    # The notebook was written by another tool (no grade ids; an otter notebook): its answer
    # cells cannot be told apart, so staff find them in the notebook itself.
    foreign: bool = False
    # One line that comes before every other note: the notebook is not this assignment's at all.
    summary: str | None = None


# The output of a test that a focused grading (see Focus) did not run.
NOT_RUN_IN_FOCUS = "not run: this grading looked only at what one edited cell changes"


@dataclass(frozen=True)
class Focus:
    """Grade only what an edit of one cell can change, as fast as that can be told (validating
    mutants): tests above the cell are not run (they ran before the edit, so they cannot see
    it), and grading stops at the first test that does not pass."""

    cell: str  # grade id of the edited cell


def focus_plan(plan: Plan, focus: Focus) -> Plan:
    """``plan`` without the tests that come before the focused cell's step."""
    index = next((i for i, s in enumerate(plan.steps) if s.kind == "cell" and s.grade_id == focus.cell), None)
    if index is None:
        return plan
    steps = [s for i, s in enumerate(plan.steps) if i > index or s.kind != "test"]
    return Plan(steps, plan.notes, plan.answers, plan.foreign, plan.summary)


def _runs_code(entry: NotebookEntry, grade_id: str) -> bool:
    """Whether a layout cell becomes a step of its own (a code cell the kernel runs)."""
    cell = entry.cell(grade_id)
    return cell.kind in ("setup", "exercise") or (cell.kind == "manual" and cell.cell_type != "markdown")


def plan_steps(nb: nbformat.NotebookNode, entry: NotebookEntry, default_timeout: float = DEFAULT_CELL_TIMEOUT_S) -> Plan:
    """Line the student's cells up with the bundle's layout, by grade id.

    Cells and tests without a ``timeout`` of their own get ``default_timeout`` seconds.
    """
    if is_foreign(nb, entry):
        return plan_foreign(nb, entry, default_timeout)
    layout = {c.grade_id: c for c in entry.cells}
    steps: list[Step] = []
    notes: list[str] = []
    answers: dict[str, str] = {}
    seen: set[str] = set()
    for number, cell in enumerate(nb.cells, start=1):
        gid = grade_id_of(cell)
        spec = layout.get(gid) if gid else None
        label = f"cell {number}" + (f" ({gid})" if gid else "")
        if spec is not None and spec.kind == INSTALL_KIND:
            continue  # edited, moved or duplicated: it never runs, so there is nothing to repair
        if spec is None or spec.kind in ("markdown", "task"):
            if cell.cell_type == "code":
                steps.append(Step("cell", label, cell.source))
            continue
        duplicate = gid in seen
        seen.add(gid)
        if spec.kind == "manual":
            # The answer is for staff; a code answer also runs, as later cells may use what it defines.
            if duplicate:
                notes.append(f"answer cell {gid} appears more than once; staff see the first")
            else:
                answers[gid] = cell.source
            if cell.cell_type == "code":
                steps.append(Step("cell", label, cell.source, spec.timeout or default_timeout, gid))
        elif spec.kind == "test":
            if duplicate:
                notes.append(f"test cell {gid} appears more than once; it was graded once")
            else:
                steps.append(Step("test", gid, timeout=spec.timeout or default_timeout, grade_id=gid))
        elif spec.kind == "setup":
            if duplicate:
                notes.append(f"read-only cell {gid} appears more than once; it ran once")
                continue
            if cell.cell_type != "code" or cell.source != spec.source:
                notes.append(f"read-only cell {gid} was changed; the original was run instead")
            steps.append(Step("cell", label, spec.source or "", spec.timeout or default_timeout, gid))
        elif spec.kind == "exercise":
            if cell.cell_type != "code":
                notes.append(f"exercise cell {gid} was turned into a {cell.cell_type} cell, so it did not run")
                continue
            if duplicate:
                notes.append(f"exercise cell {gid} appears more than once; each copy ran")
            steps.append(Step("cell", label, cell.source, spec.timeout or default_timeout, gid))
    _restore_missing(entry, steps, seen, notes, default_timeout)
    _move_early_tests(entry, steps, notes)
    return Plan(steps, notes, answers, summary=wrong_notebook_summary(entry, seen))


def wrong_notebook_summary(entry: NotebookEntry, seen: set[str]) -> str | None:
    """The summary line for a notebook holding none of the cells a student writes in (exercises,
    answers), or None. The per-cell repairs still follow it: they say what was put back."""
    written = [c.grade_id for c in entry.cells if c.kind in ("exercise", "manual")]
    if not written or any(gid in seen for gid in written):
        return None
    return wrong_notebook_note(entry.name, written)


def is_foreign(nb: nbformat.NotebookNode, entry: NotebookEntry) -> bool:
    """Whether a notebook comes from the tool a course was imported from: it has none of the
    bundle's grade ids, and the bundle knows the cells that stand for its tests there."""
    layout = {c.grade_id for c in entry.cells}
    return any(c.match for c in entry.cells) and not any(grade_id_of(cell) in layout for cell in nb.cells)


FOREIGN_NOTE = ("this notebook has no mlgrader cell ids (it was written for the course's previous grader): "
                "its cells ran as they are, each test where the notebook checks it, and answers staff grade "
                "are left to them")


def plan_foreign(nb: nbformat.NotebookNode, entry: NotebookEntry, default_timeout: float) -> Plan:
    """A notebook of the previous tool (otter): cells run as written; a cell whose source is a test's
    ``match`` (``grader.check("q1")``) runs that test in the grader instead; read-only cells
    that arrive unchanged count as present; tests never reached run at the end."""
    tests_at: dict[str, list[str]] = {}
    for cell in entry.cells:
        if cell.kind == "test" and cell.match:
            tests_at.setdefault(cell.match.strip(), []).append(cell.grade_id)
    setup = {c.source.strip(): c for c in entry.cells if c.kind == "setup" and c.source}
    steps: list[Step] = []
    seen: set[str] = set()
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        text = cell.source.strip()
        if text in tests_at:
            for gid in tests_at[text]:
                if gid not in seen:
                    seen.add(gid)
                    steps.append(Step("test", gid, timeout=entry.cell(gid).timeout or default_timeout, grade_id=gid))
            continue
        spec = setup.get(text)
        if spec is not None and spec.grade_id not in seen:
            seen.add(spec.grade_id)
            steps.append(Step("cell", f"cell {number} ({spec.grade_id})", spec.source, spec.timeout or default_timeout,
                              spec.grade_id))
            continue
        steps.append(Step("cell", f"cell {number}", cell.source))
    notes = [FOREIGN_NOTE]
    for spec in entry.cells:  # what the notebook never reached still runs, in order, at the end
        if spec.grade_id in seen:
            continue
        if spec.kind == "test":
            steps.append(Step("test", spec.grade_id, timeout=spec.timeout or default_timeout, grade_id=spec.grade_id))
            notes.append(f"test {spec.grade_id} has no check cell in this notebook; it ran at the end")
    return Plan(steps, notes, foreign=True)


def _position_after(entry: NotebookEntry, steps: list[Step], grade_id: str, skip_added: bool) -> int:
    """Index just after the nearest earlier layout cell present in ``steps``."""
    order = [c.grade_id for c in entry.cells if c.kind not in _NOT_RUN]
    for previous in reversed(order[: order.index(grade_id)]):
        found = [i for i, s in enumerate(steps) if s.grade_id == previous]
        if found:
            index = found[-1] + 1
            # Tests go after the student's own extra cells that follow the exercise:
            # that is where students often finish an exercise.
            while skip_added and index < len(steps) and steps[index].grade_id is None:
                index += 1
            return index
    return 0 if not skip_added else len(steps)


def _restore_missing(entry: NotebookEntry, steps: list[Step], seen: set[str], notes: list[str],
                     default_timeout: float) -> None:
    for spec in entry.cells:
        if spec.grade_id in seen or spec.kind in _NOT_RUN:
            continue
        if spec.kind == "setup":
            index = _position_after(entry, steps, spec.grade_id, skip_added=False)
            steps.insert(index, Step("cell", f"restored {spec.grade_id}", spec.source or "",
                                     spec.timeout or default_timeout, spec.grade_id))
            notes.append(f"read-only cell {spec.grade_id} was missing; it was restored")
        elif spec.kind == "test":
            index = _position_after(entry, steps, spec.grade_id, skip_added=True)
            steps.insert(index, Step("test", spec.grade_id, timeout=spec.timeout or default_timeout,
                                     grade_id=spec.grade_id))
            notes.append(f"test cell {spec.grade_id} was missing; it was put back after the cell it tests")
        elif spec.kind == "exercise":
            notes.append(f"exercise cell {spec.grade_id} is missing from the notebook")
        elif spec.kind == "manual":
            notes.append(f"answer cell {spec.grade_id} is missing from the notebook")


def _move_early_tests(entry: NotebookEntry, steps: list[Step], notes: list[str]) -> None:
    """A test moved above the exercise it checks would see nothing: move it back."""
    order = [c.grade_id for c in entry.cells if c.kind not in _NOT_RUN]
    for spec in entry.cells:
        if spec.kind != "test":
            continue
        index = next(i for i, s in enumerate(steps) if s.kind == "test" and s.grade_id == spec.grade_id)
        earlier_code = [g for g in order[: order.index(spec.grade_id)] if _runs_code(entry, g)]
        anchor = earlier_code[-1] if earlier_code else None
        anchor_positions = [i for i, s in enumerate(steps) if anchor and s.grade_id == anchor]
        if anchor_positions and anchor_positions[-1] > index:
            step = steps.pop(index)
            steps.insert(_position_after(entry, steps, spec.grade_id, skip_added=True), step)
            notes.append(f"test cell {spec.grade_id} was above the cell it tests; it ran after it")

