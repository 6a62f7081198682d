"""What ``mlgrader validate`` shows: a table that fits 100 columns, the details below it, and
one case's whole feedback (``--show``), as a student would read it.

The table holds only short columns; every case with something to say gets a number in
it, and the text, never clipped, comes below the table under that number. A terminal
wraps long lines; a CI log keeps them whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..results import feedback_text
from .run import CaseResult, ValidationReport

TABLE_WIDTH = 100
DETAIL_INDENT = "      "


@dataclass(frozen=True)
class TableRow:
    assignment: str
    notebook: str
    case: str  # solution, stub, or the variant's name
    score: str
    verdict: str  # yes | NO | skip; a mutant's: survived (killed ones are not in the table)
    note: str  # "[3]": the number of its detail below the table, or ""


@dataclass(frozen=True)
class Detail:
    number: int
    label: str
    verdict: str
    text: str


def verdict(case: CaseResult) -> str:
    if case.skipped:
        return "skip"
    if case.kind == "mutant":
        return "killed" if case.ok else "survived"
    return "yes" if case.ok else "NO"


def shown_in_table(case: CaseResult) -> bool:
    """Killed and equivalent mutants stay out of the table (they are in --json): it lists the survivors."""
    return not (case.kind == "mutant" and (case.ok or case.skipped))


def table_rows(report: ValidationReport) -> tuple[list[TableRow], list[Detail]]:
    """The table's rows and the numbered details (a case's whole detail text) below it."""
    rows, details = [], []
    for case in filter(shown_in_table, report.cases):
        note = ""
        if case.detail:
            details.append(Detail(len(details) + 1, case.label, verdict(case), case.detail))
            note = f"[{len(details)}]"
        # "variant " says nothing in a column whose other cases are "solution" and "stub"
        rows.append(TableRow(case.assignment, case.notebook, case.case.removeprefix("variant "),
                             f"{case.score:g}/{case.max_score:g}",
                             verdict(case), note))
    return rows, details


def detail_lines(details: list[Detail]) -> list[str]:
    """Each detail as ``[n] label: first line``, its other lines indented below."""
    lines = []
    for d in details:
        first, *rest = d.text.splitlines() or [""]
        lines.append(f"[{d.number}] {d.label} ({d.verdict}): {first}")
        lines.extend(DETAIL_INDENT + line for line in rest)
    return lines


def show_text(case: CaseResult) -> str:
    """The whole feedback of one case: every test's verdict and message, the notes, how the
    cells ran (what the student's feedback page says, as text; nothing clipped)."""
    head = f"{case.label}: {verdict(case)}"
    if case.grade is None:
        return "\n".join([head, case.detail or "(no grade)"])
    parts = [head, "", feedback_text(case.grade)]
    if not case.ok:  # what validate missed; when it passed, the detail is one of the messages above
        parts += ["", f"why {verdict(case)}: {case.detail}"]
    return "\n".join(parts)
