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
from .submission import grade_id_of


# Cells of these kinds never run when grading: lesson text, and the student's install line
# (the grader's kernel has its own mlgrader; nothing may be installed in the sandbox).
_NOT_RUN = ("markdown", INSTALL_KIND)


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


def plan_steps(nb: nbformat.NotebookNode, entry: NotebookEntry, default_timeout: float = DEFAULT_CELL_TIMEOUT_S) -> Plan:
    """Line the student's cells up with the bundle's layout, by grade id.

    Cells and tests without a ``timeout`` of their own get ``default_timeout`` seconds.
    """
    layout = {c.grade_id: c for c in entry.cells}
    steps: list[Step] = []
    notes: list[str] = []
    seen: set[str] = set()
    for number, cell in enumerate(nb.cells, start=1):
        gid = grade_id_of(cell)
        spec = layout.get(gid) if gid else None
        label = f"cell {number}" + (f" ({gid})" if gid else "")
        if spec is not None and spec.kind == INSTALL_KIND:
            continue  # edited, moved or duplicated: it never runs, so there is nothing to repair
        if spec is None or spec.kind == "markdown":
            if cell.cell_type == "code":
                steps.append(Step("cell", label, cell.source))
            continue
        duplicate = gid in seen
        seen.add(gid)
        if spec.kind == "test":
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
    return Plan(steps, notes)


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


def _move_early_tests(entry: NotebookEntry, steps: list[Step], notes: list[str]) -> None:
    """A test moved above the exercise it checks would see nothing: move it back."""
    order = [c.grade_id for c in entry.cells if c.kind not in _NOT_RUN]
    for spec in entry.cells:
        if spec.kind != "test":
            continue
        index = next(i for i, s in enumerate(steps) if s.kind == "test" and s.grade_id == spec.grade_id)
        earlier_code = [g for g in order[: order.index(spec.grade_id)] if entry.cell(g).kind != "test"]
        anchor = earlier_code[-1] if earlier_code else None
        anchor_positions = [i for i, s in enumerate(steps) if anchor and s.grade_id == anchor]
        if anchor_positions and anchor_positions[-1] > index:
            step = steps.pop(index)
            steps.insert(_position_after(entry, steps, spec.grade_id, skip_added=True), step)
            notes.append(f"test cell {spec.grade_id} was above the cell it tests; it ran after it")

