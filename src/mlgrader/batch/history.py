"""The grade history of an output folder, ``<out>/history.jsonl``: previous scores are never lost.

Each batch appends one JSON line per graded notebook whose grade is new or differs from
the last line for the same (student, assignment, notebook): raw score, penalty, final score
or status. Lines are only ever appended. A change says why, as far as the record tells:

- ``the autograder bundle changed`` (a rebuilt bundle regraded the class),
- ``a new submission`` (the notebook's bytes changed),
- ``the deadline, late policy or submission time changed`` (same raw score, another penalty),
- ``regraded on request`` (``grade-batch --student``),
- ``graded again: same notebook and bundle`` (worth a look: grading should be deterministic).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .rows import BatchRow

HISTORY_NAME = "history.jsonl"


@dataclass(frozen=True)
class HistoryEntry:
    at: str  # when this batch recorded it (UTC, ISO 8601)
    student: str
    assignment: str
    notebook: str
    score: float
    max_score: float
    penalty: float
    final_score: float
    status: str
    bundle: str
    sha256: str
    why: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.student, self.assignment, self.notebook


@dataclass(frozen=True)
class Change:
    """A grade that differs from the one recorded before it."""

    before: HistoryEntry
    after: HistoryEntry

    @property
    def why(self) -> str:
        return self.after.why


def read_latest(path: Path) -> dict[tuple[str, str, str], HistoryEntry]:
    """The last entry for each (student, assignment, notebook); lines that cannot be read are skipped."""
    latest: dict[tuple[str, str, str], HistoryEntry] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return latest
    for line in lines:
        try:
            entry = HistoryEntry(**{k: v for k, v in json.loads(line).items() if k in HistoryEntry.__dataclass_fields__})
        except (ValueError, TypeError):
            continue  # a line torn by a crash costs that line only
        latest[entry.key] = entry
    return latest


def record(rows: Sequence[BatchRow], path: Path, requested: Iterable[str] = (),
           now: dt.datetime | None = None) -> list[Change]:
    """Append the rows' new and changed grades to the history at ``path``; return the changes.

    Only graded rows count (an error is no grade), and rows kept from the previous batch
    are not graded again. ``requested`` are the keys of rows regraded by ``--student``.
    """
    latest = read_latest(path)
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    requested = set(requested)
    entries, changes = [], []
    for row in rows:
        if row.status != "graded" or row.reused:
            continue
        entry = _entry(row, stamp)
        before = latest.get(entry.key)
        if before is not None and _same(before, entry):
            continue
        entry = HistoryEntry(**{**asdict(entry), "why": _why(before, entry, row.submission.key in requested)})
        entries.append(entry)
        latest[entry.key] = entry
        if before is not None:
            changes.append(Change(before, entry))
    if entries:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(asdict(e)) + "\n" for e in entries)
    return changes


def _entry(row: BatchRow, stamp: str) -> HistoryEntry:
    result = row.result
    return HistoryEntry(stamp, row.submission.student, result.assignment, result.notebook, result.score,
                        result.max_score, row.penalty, row.final_score, row.status, row.bundle, row.sha256)


def _same(a: HistoryEntry, b: HistoryEntry) -> bool:
    return (a.score, a.max_score, a.penalty, a.final_score, a.status) == \
        (b.score, b.max_score, b.penalty, b.final_score, b.status)


def _why(before: HistoryEntry | None, after: HistoryEntry, requested: bool) -> str:
    if before is None:
        return "first grade"
    if before.bundle != after.bundle:
        return "the autograder bundle changed"
    if before.sha256 != after.sha256:
        return "a new submission"
    if (before.score, before.max_score) == (after.score, after.max_score):
        return "the deadline, late policy or submission time changed"
    if requested:
        return "regraded on request"
    return "graded again: same notebook and bundle"
