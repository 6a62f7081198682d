"""The files a batch writes into ``<out>/``, the gradebook it may fill, and the summary it prints.

    grades.csv            one row per submission (columns: mlgrader.batch.rows)
    results/<key>.json    the full result of each, with who, when, lateness
    feedback/<key>.html   each student's page
    report.html           the class report: grades, lateness, roster, changes, problems
    batch.json            the index of this batch: its rows, the roster, each assignment's points
                          (what ``mlgrader export`` reads, and ``grade-batch --student`` merges into)
    history.jsonl         every grade that was new or changed, appended (mlgrader.batch.history)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..bundle import Bundle, NotebookEntry
from ..results import apply_staff_scores
from ..report import (ChangeLine, ClassNotes, LateLine, MissingLine, ReportRow, TamperLine, UnmatchedLine,
                      write_class_report, write_feedback)
from .history import Change
from .roster import Roster
from .rows import CSV_COLUMNS, BatchRow, reason_for

INDEX_NAME = "batch.json"
INDEX_FORMAT = 1


@dataclass
class BatchReport:
    """A finished batch: its rows (iterating a report iterates them) and what it found beyond grades."""

    rows: list[BatchRow]
    notes: ClassNotes = field(default_factory=ClassNotes)
    roster: Roster | None = None
    gradebook: object | None = None  # what recording in nbgrader's gradebook did (gradebook.GradebookWrite)
    gradebook_error: str = ""  # why it could not be done

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]  # a report reads like the list of rows run_batch returned before


# --- per row ---------------------------------------------------------------------------------


def write_row_files(row: BatchRow, out: Path) -> None:
    key = row.submission.key
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{key}.json").write_text(json.dumps(row.results_file_record(), indent=1) + "\n")
    late = row.late.lateness.note if row.late and row.late.lateness.late else None
    write_feedback(row.result, out / "feedback" / f"{key}.html", student=row.submission.student,
                   late=late, penalty=row.penalty)


# --- the class -------------------------------------------------------------------------------


def write_grades_csv(rows: Sequence[BatchRow], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.csv_record())
    return path


def class_notes(rows: Sequence[BatchRow], roster: Roster | None, changes: Sequence[Change] = (),
                regraded: Sequence[str] = (), assignments: Sequence[str] = ()) -> ClassNotes:
    """What the report and the summary say beyond grades. ``assignments``: those graded (for the missing)."""
    # Where submission times came from matters once a deadline makes them count.
    sources = Counter(r.late.submitted.source or "no record" for r in rows
                      if r.late and r.late.submitted and r.late.due) if any(r.late and r.late.due for r in rows) else {}
    notes = ClassNotes(late=[_late_line(r) for r in rows if r.late and r.late.lateness.late],
                       time_sources=dict(sorted(sources.items())),
                       roster=roster.path if roster else "",
                       changes=[_change_line(c) for c in changes], regraded=list(regraded),
                       tampered=[TamperLine(r.submission.student, r.result.assignment, str(r.submission.path),
                                            r.tamper) for r in rows if r.tamper])
    if roster is not None:
        notes.unmatched = [UnmatchedLine(r.submission.layout_student, str(r.submission.path), r.submission.roster_note)
                           for r in rows if r.submission.on_roster is False]
        notes.missing = missing_students(rows, roster, assignments)
    return notes


def missing_students(rows: Sequence[BatchRow], roster: Roster, assignments: Sequence[str]) -> list[MissingLine]:
    """Roster students with no submission of an assignment this batch graded (or was asked to)."""
    graded = sorted(set(assignments) | {r.result.assignment for r in rows if r.result.assignment})
    present = {(r.submission.student, r.result.assignment) for r in rows}
    return [MissingLine(a, s.id, s.name) for a in graded for s in roster.students if (s.id, a) not in present]


def _late_line(row: BatchRow) -> LateLine:
    late, submitted = row.late, row.late.submitted
    return LateLine(row.submission.student, row.result.assignment, row.result.notebook,
                    late.local(submitted.at) if submitted else "", submitted.source if submitted else "",
                    late.local(late.due), late.lateness.note, row.result.score, row.penalty, row.final_score)


def _change_line(change: Change) -> ChangeLine:
    before, after = change.before, change.after
    return ChangeLine(after.student, after.assignment, after.notebook, before.final_score, after.final_score,
                      after.max_score, change.why, before.penalty, after.penalty)


def write_report(rows: Sequence[BatchRow], out: Path, notes: ClassNotes | None = None,
                 bundles: dict[str, Bundle] | None = None) -> Path:
    report_rows = [ReportRow(r.submission.student, r.result, r.status, r.reason, f"feedback/{r.submission.key}.html",
                             r.penalty, r.late.lateness.note if r.late else "")
                   for r in rows]
    assignments = sorted({r.result.assignment for r in rows if r.result.assignment})
    title = "Class report" + (f": {', '.join(assignments)}" if assignments else "")
    return write_class_report(report_rows, out / "report.html", title=title, notes=notes,
                              rubrics=rubrics_of(bundles or {}))


def rubrics_of(bundles: dict[str, Bundle]) -> dict[tuple[str, str, str], str]:
    """(assignment, notebook, grade id) -> rubric of each answer staff grade (for the class report)."""
    return {(name, nb.name, c.grade_id): c.rubric for name, b in bundles.items() for nb in b.notebooks
            for c in nb.cells if c.rubric}


def layouts_of(bundles: dict[str, Bundle]) -> dict[tuple[str, str], NotebookEntry]:
    """(assignment, notebook) -> the bundle's entry: what kind each graded cell is, for the gradebook."""
    return {(name, nb.name): nb for name, b in bundles.items() for nb in b.notebooks}


def write_index(rows: Sequence[BatchRow], out: Path, bundles: dict[str, Bundle], roster: Roster | None) -> Path:
    """``batch.json``: which results files make up this batch, the roster, each assignment's points."""
    used = sorted({r.result.assignment for r in rows if r.result.assignment in bundles})
    index = {"format": INDEX_FORMAT,
             "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "rows": [r.submission.key for r in rows],
             "roster": {"path": roster.path, "students": [s.to_json() for s in roster.students]} if roster else None,
             "assignments": {a: {"max_score": sum(nb.max_score for nb in bundles[a].notebooks),
                                 "notebooks": {nb.name: nb.max_score for nb in bundles[a].notebooks}} for a in used}}
    path = out / INDEX_NAME
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(index, indent=1) + "\n")
    temporary.replace(path)
    return path


def read_index(out: Path) -> dict | None:
    """The last batch's ``batch.json`` in ``out``, or None when there is none (or it is unreadable)."""
    try:
        index = json.loads((Path(out) / INDEX_NAME).read_text())
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) and index.get("format") == INDEX_FORMAT else None


def read_row_records(out: Path, index: dict) -> list[dict]:
    """The results records the index names (a missing or torn file is left out)."""
    records = []
    for key in index.get("rows", []):
        try:
            records.append(json.loads((Path(out) / "results" / f"{key}.json").read_text()))
        except (OSError, ValueError):
            continue
    return records


# --- nbgrader's gradebook --------------------------------------------------------------------


def record_in_gradebook(rows: Sequence[BatchRow], db_url: str, roster: Roster | None = None,
                        bundles: dict[str, Bundle] | None = None):
    """Record the graded rows, with their lateness, in an nbgrader gradebook (and the roster's students),
    then read back the points graders gave so far into the rows (``manual_points``, the score).

    Error rows are left out: a grader failure is not a score of 0 that formgrader should show.
    Answers staff grade go in as nbgrader's own autograde puts them (pending, for formgrader),
    and a notebook of an nbgrader ``submitted/`` tree is copied where formgrader shows it.
    """
    from .gradebook import GradebookEntry, copy_for_formgrader, manual_scores, record_entries

    entries = []
    for row in rows:
        if row.status != "graded":
            continue
        late = row.late
        original = (late.original_due or late.due) if late else None
        extension = (late.due - late.original_due) if late and late.original_due and late.due else None
        entries.append(GradebookEntry(row.result, row.submission.student, row.submission.person,
                                      late.submitted.at if late and late.submitted else None, original, extension,
                                      row.penalty))
    written = record_entries(entries, db_url, roster.students if roster else (), layouts=layouts_of(bundles or {}))
    graded = [r for r in rows if r.status == "graded"]
    for row in graded:
        copied = copy_for_formgrader(row.submission.path, row.result.assignment)
        if copied is not None:
            written.formgrader_copies.append(str(copied))
    written.manual_rows = _apply_manual_scores(graded, manual_scores(db_url))
    return written


def _apply_manual_scores(rows: Sequence[BatchRow], given: dict) -> int:
    """Put the graders' points into the rows they belong to; how many rows got some."""
    changed = 0
    for row in rows:
        own = {key[3]: value.score for key, value in given.items()
               if key[:3] == (row.submission.student, row.result.assignment, row.result.notebook)}
        if own:
            row.manual_points = apply_staff_scores(row.result, own)
            row.reason = reason_for(row.result)
            changed += 1
    return changed


# --- what the command prints -----------------------------------------------------------------


def summary_lines(report: BatchReport | Sequence[BatchRow], out: Path) -> list[str]:
    """Counts, each error with its reason, lateness, the roster's findings, changes, where the files are."""
    rows = list(report)
    notes = report.notes if isinstance(report, BatchReport) else ClassNotes()
    errors = [r for r in rows if r.status != "graded"]
    cached, reused = sum(r.cached for r in rows), sum(r.reused for r in rows)
    lines = [f"{len(rows)} submission{'s' if len(rows) != 1 else ''}: {len(rows) - len(errors)} graded"
             + (f" ({cached} from the cache)" if cached else "") + (f" ({reused} kept from the last batch)" if reused else "")
             + f", {len(errors)} could not be graded"]
    lines.extend(f"  error  {r.submission.student}: {r.reason}" for r in errors)
    lines.extend(_notes_lines(notes))
    lines.append(f"wrote {out / 'grades.csv'}, {out / 'report.html'}, {out / 'feedback'}/")
    return lines


def _notes_lines(notes: ClassNotes) -> list[str]:
    lines = []
    if notes.time_sources:
        lines.append("submission times from " + ", ".join(f"{n} {source}" for source, n in notes.time_sources.items()))
    if notes.late:
        taken = sum(line.penalty for line in notes.late)
        lines.append(f"{len(notes.late)} late: {taken:g} points taken by the late policy (raw scores kept)")
        lines.extend(f"  late   {line.student} {line.assignment}: {line.note}" for line in notes.late)
    if notes.roster:
        one = len(notes.unmatched) == 1
        lines.append(f"roster {notes.roster}: {len(notes.unmatched)} submission{'' if one else 's'} "
                     f"match{'es' if one else ''} no one, {len(notes.missing)} missing")
        lines.extend(f"  not on roster  {u.name}: {u.path}" + (f" ({u.note})" if u.note else "") for u in notes.unmatched)
        lines.extend(f"  missing  {m.assignment}: {m.student}" + (f" ({m.name})" if m.name else "") for m in notes.missing)
    for student in notes.regraded:
        changed = [c for c in notes.changes if c.student == student]
        lines.append(f"regraded {student}: " + ("no grade changed" if not changed else f"{len(changed)} changed"))
    lines.extend(f"  changed  {c.student} {c.assignment}/{c.notebook}: {c.before:g} -> {c.after:g} ({c.why})"
                 for c in notes.changes)
    if notes.tampered:
        lines.append(f"{len(notes.tampered)} repositor{'y' if len(notes.tampered) == 1 else 'ies'} changed where "
                     "the template says not to (grades unaffected; see grades.csv's tamper column)")
        lines.extend(f"  tamper  {t.student} {t.assignment}: {'; '.join(t.flags)}" for t in notes.tampered)
    return lines
