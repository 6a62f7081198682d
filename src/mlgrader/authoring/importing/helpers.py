"""Finding the cells whose definitions an imported test uses (a "helper defined in an earlier cell").

In nbgrader and otter a test runs in the student's kernel, so it may call a function an
earlier cell defined (``def check_close(a, b): ...``). In mlgrader a test runs in the
grader; calling the kernel's function would let the student replace it. Such a cell
becomes a read-only ``helper=true`` cell: the kernel runs it as before, and the grader
runs its definitions (imports, functions, classes, constants) in the test's namespace
too, so the test calls the grader's own copy.
"""

from __future__ import annotations

import ast

from ...grading.trusted_tests import free_names
from .model import ImportedNotebook, Problem, cell_label


def mark_helpers(imported: ImportedNotebook, where: str, problems: list[Problem]) -> None:
    """Mark the code cells (read-only or not) that define what a later test uses as ``helper=true``."""
    defined_by: dict[int, set[str]] = {}
    for index, cell in enumerate(imported.cells):
        if cell.kind in ("setup", "editable") and cell.cell_type == "code":
            defined_by[index] = definitions_in(cell.source)
        elif cell.kind == "test":
            try:
                needed = set(free_names(cell.source))
            except SyntaxError as exc:
                problems.append(Problem(where, cell_label(index + 1, cell.grade_id),
                                        f"is not valid Python ({exc.msg}, line {exc.lineno})"))
                continue
            for earlier, names in defined_by.items():
                used = sorted(names & needed)
                if used and not imported.cells[earlier].helper:
                    _make_helper(imported, earlier, used)


def _make_helper(imported: ImportedNotebook, index: int, used: list[str]) -> None:
    cell = imported.cells[index]
    was_editable = cell.kind == "editable"
    cell.kind, cell.helper = "setup", True
    note = (f"{imported.origin.name}: {cell_label(index + 1, cell.grade_id)} defines {', '.join(used)} for the "
            "tests: helper=true, its definitions run in the grader as well")
    if was_editable:
        note += " (and the cell is read-only now, so that a test's helper cannot be changed)"
    imported.notes.append(note)


def definitions_in(source: str) -> set[str]:
    """The names a cell's top-level functions, classes and constants define (what a helper offers)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return set()
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                ast.literal_eval(node.value)
            except ValueError:
                continue
            names.update(t.id for t in node.targets)
    return names
