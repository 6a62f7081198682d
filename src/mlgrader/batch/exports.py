"""Files an LMS imports, made from a graded batch: ``mlgrader export --format canvas|moodle|csv``.

The export reads the last batch in a grades folder (``batch.json`` and ``results/``), never
the notebooks, and makes one total per student and assignment: the sum of the assignment's
notebooks, after their late penalties, with any manual points the graders entered in
nbgrader's formgrader (``--gradebook``) in place of the autograder's. A test still waiting
for a grader (status ``pending``) counts 0 and is flagged; a notebook the grader could not
grade counts for nothing and is flagged; a student who handed in nothing gets an empty
cell, which both LMSs leave as it was.

Layouts (each checked by tests/test_exports.py):

``canvas``
    Canvas's gradebook CSV (Grades > Import): ``Student, ID, SIS User ID, SIS Login ID,
    Section``, then one column per assignment, then a ``Points Possible`` row as in Canvas's
    own export. ``Student`` is "Last, First"; ``ID`` is Canvas's user id (roster column
    ``canvas_id``), ``SIS User ID`` the roster id, ``SIS Login ID`` the roster's
    ``sis_login_id``, ``Section`` its ``section``. An assignment column is named
    ``<title> (<canvas_id>)`` when mlgrader.toml gives the assignment's Canvas id, so that the
    import updates that assignment; without one Canvas makes a new assignment of that title.
``moodle``
    Moodle's grade import CSV (Grades > Import > CSV file): one identifier column,
    ``Email address`` (or ``ID number``, the roster id, with ``--moodle-id idnumber``), which
    the import maps to the user field of that name, and one column per assignment, which it
    maps to a grade item.
``csv``
    One row per student for spreadsheets and scripts: ``student, name, email, login,
    roster``, then per assignment ``<a>`` (the final total), ``<a> max``, ``<a> raw``,
    ``<a> penalty``, ``<a> late_seconds``, ``<a> submitted_at``, ``<a> status`` (``graded``,
    ``partly graded``, ``error``, ``missing``), ``<a> pending``, then one column per test,
    ``<a>/<notebook>/<test>``.

Students come from the roster the batch used (or ``--roster``); for Canvas and Moodle a
submission that matched no roster student is left out (the LMS could not place it) and
named in the warnings. Without a roster every student the batch found is exported.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..deadlines import zone
from ..results import format_points
from .course import CourseConfig
from .errors import BatchUsageError
from .outputs import read_index, read_row_records
from .roster import Roster, Student

FORMATS = ("canvas", "moodle", "csv")
CANVAS_LEADING = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_IDS = {"email": "Email address", "idnumber": "ID number"}
WIDE_LEADING = ("student", "name", "email", "login", "roster")
WIDE_SUFFIXES = ("max", "raw", "penalty", "late_seconds", "submitted_at", "status", "pending")


@dataclass
class AssignmentTotal:
    """One student's total for one assignment, over its notebooks."""

    raw: float = 0.0
    penalty: float = 0.0
    pending: int = 0
    late_seconds: float = 0.0
    submitted: str = ""
    graded: list[str] = field(default_factory=list)  # notebooks graded
    errors: list[str] = field(default_factory=list)  # notebooks that could not be graded
    tests: dict[str, float] = field(default_factory=dict)  # "notebook/test" -> points

    @property
    def final(self) -> float:
        return max(self.raw - self.penalty, 0.0)

    @property
    def status(self) -> str:
        if self.graded and self.errors:
            return "partly graded"
        return "graded" if self.graded else "error"


@dataclass
class ExportBook:
    """The class as the exports see it."""

    students: list[Student]
    on_roster: dict[str, bool | None]  # student id -> matched, not on roster, or None without a roster
    assignments: list[str]
    max_scores: dict[str, float]
    test_names: dict[str, list[str]]  # assignment -> "notebook/test", in order
    totals: dict[tuple[str, str], AssignmentTotal]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportWrite:
    path: Path
    format: str
    students: int
    assignments: tuple[str, ...]
    warnings: tuple[str, ...] = ()


# --- reading the batch -----------------------------------------------------------------------


def load_book(grades: Path, roster: Roster | None = None, assignments: Sequence[str] = (),
              manual: dict[tuple[str, str, str, str], float] | None = None) -> ExportBook:
    """The last batch in ``grades`` as students x assignments (``roster`` replaces the batch's own).
    ``manual``: (student, assignment, notebook, test) -> points a grader gave (from the gradebook)."""
    index = read_index(grades)
    if index is None:
        raise BatchUsageError(f"{grades}: no graded batch here (no batch.json; run `mlgrader grade-batch --out {grades}`)")
    records = [r for r in read_row_records(grades, index) if not assignments or r.get("assignment") in assignments]
    if roster is not None:
        ids = {s.id for s in roster.students}
        records = [r if r.get("student") in ids else _matched(r, roster) for r in records]
    roster_students = _roster_students(index, roster)
    book = ExportBook([], {}, [], {}, {}, {})
    book.assignments = sorted(set(assignments) | {r["assignment"] for r in records if r.get("assignment")})
    for name in book.assignments:
        book.max_scores[name] = float(index.get("assignments", {}).get(name, {}).get("max_score") or _max_of(records, name))
    _add_students(book, records, roster_students)
    for record in _one_per_notebook(records, book.warnings):
        _add_record(book, record, manual or {})
    return book


def _matched(record: dict, roster: Roster) -> dict:
    """A record of a batch graded without this roster, under the id of the roster student it names."""
    name = record.get("login") or record.get("student", "")
    match = roster.match(name)
    if match.student is None:
        match = roster.match(name, loose=True)
    if match.student is None:
        return record
    return {**record, "student": match.student.id, "person": match.student.to_json()}


def _roster_students(index: dict, roster: Roster | None) -> list[Student] | None:
    if roster is not None:
        return list(roster.students)
    saved = index.get("roster")
    return [Student.from_json(s) for s in saved["students"]] if saved else None


def _max_of(records: list[dict], assignment: str) -> float:
    per_notebook: dict[str, float] = {}
    for r in records:
        if r.get("assignment") == assignment:
            per_notebook[r.get("notebook", "")] = max(per_notebook.get(r.get("notebook", ""), 0.0), r["max_score"])
    return sum(per_notebook.values())


def _add_students(book: ExportBook, records: list[dict], roster: list[Student] | None) -> None:
    known = {}
    for student in roster or []:
        known[student.id] = student
        book.on_roster[student.id] = True
    for record in records:
        sid = record.get("student", "")
        if sid in known:
            continue
        person = Student.from_json(record["person"]) if record.get("person") else Student(sid, login=record.get("login", ""))
        known[sid] = person
        book.on_roster[sid] = None if roster is None else False
    book.students = sorted(known.values(), key=lambda s: (s.split_name()[1].lower(), s.split_name()[0].lower(), s.id))


def _one_per_notebook(records: list[dict], warnings: list[str]) -> list[dict]:
    """One record per (student, assignment, notebook): the latest handed in, when a student has several."""
    chosen: dict[tuple, dict] = {}
    for record in records:
        key = (record.get("student"), record.get("assignment"), record.get("notebook"))
        other = chosen.get(key)
        if other is None or _submitted(record) > _submitted(other):
            chosen[key] = record
        if other is not None:
            warnings.append(f"{key[0]} has several {key[1]}/{key[2]} notebooks; the latest handed in counts "
                            f"({chosen[key].get('path')})")
    return list(chosen.values())


def _local(at: str | None, zone_name: str | None) -> str:
    """An ISO time shown in the course's zone, as grades.csv shows it."""
    if not at:
        return ""
    return dt.datetime.fromisoformat(at).astimezone(zone(zone_name or "UTC")).isoformat(timespec="seconds")


def _submitted(record: dict) -> str:
    late = record.get("late") or {}
    at = ((late.get("submitted") or {}).get("at")) or ""
    return dt.datetime.fromisoformat(at).astimezone(dt.timezone.utc).isoformat() if at else ""


def _add_record(book: ExportBook, record: dict, manual: dict) -> None:
    student, assignment, notebook = record.get("student", ""), record.get("assignment", ""), record.get("notebook", "")
    if not assignment:
        book.warnings.append(f"{student}: {record.get('path')} belongs to no assignment ({record.get('reason', '')})")
        return
    total = book.totals.setdefault((student, assignment), AssignmentTotal())
    names = book.test_names.setdefault(assignment, [])
    for test in record.get("tests", []):
        if f"{notebook}/{test['name']}" not in names:
            names.append(f"{notebook}/{test['name']}")
    if record.get("status") != "graded":
        total.errors.append(notebook)
        book.warnings.append(f"{student} {assignment}/{notebook} could not be graded ({record.get('reason', '')}): "
                             "it counts for nothing")
        return
    total.graded.append(notebook)
    pending_before = total.pending
    for test in record.get("tests", []):
        points = manual.get((student, assignment, notebook, test["name"]))
        if points is None and test.get("status") == "pending":
            total.pending += 1
            points = 0.0  # awaiting a grader: counts 0 until one gives points
        total.tests[f"{notebook}/{test['name']}"] = float(test["score"] if points is None else points)
    tests = [v for k, v in total.tests.items() if k.startswith(f"{notebook}/")]
    total.raw += sum(tests) if record.get("tests") else float(record.get("score") or 0.0)
    late = record.get("late") or {}
    total.penalty += float(late.get("penalty") or 0.0)
    total.late_seconds = max(total.late_seconds, float(late.get("seconds_late") or 0.0))
    total.submitted = _local(((late.get("submitted") or {}).get("at")), late.get("timezone")) or total.submitted
    if total.pending > pending_before:
        book.warnings.append(f"{student} {assignment}/{notebook}: {total.pending - pending_before} test(s) await "
                             "a grader (pending): counted 0")


# --- writing ---------------------------------------------------------------------------------


def write_export(book: ExportBook, fmt: str, path: Path, course: CourseConfig, moodle_id: str = "email") -> ExportWrite:
    """Write ``book`` in ``fmt`` (one of FORMATS) to ``path``."""
    writers: dict[str, Callable[[ExportBook, CourseConfig, str], tuple[list[list[str]], list[str]]]] = {
        "canvas": _canvas_rows, "moodle": _moodle_rows, "csv": _wide_rows}
    if fmt not in writers:
        raise BatchUsageError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    table, warnings = writers[fmt](book, course, moodle_id)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(table)
    return ExportWrite(path, fmt, len(table) - 1 - (fmt == "canvas"), tuple(book.assignments),
                       tuple(dict.fromkeys(book.warnings + warnings)))


def _cell(total: AssignmentTotal | None) -> str:
    return format_points(total.final) if total is not None and total.graded else ""


def _lms_students(book: ExportBook) -> tuple[list[Student], list[str]]:
    """The students an LMS can place: all of them without a roster, the roster's with one."""
    off = [s for s in book.students if book.on_roster.get(s.id) is False]
    warnings = [f"{s.id} is on no roster line: left out (the LMS could not tell who it is)" for s in off]
    return [s for s in book.students if book.on_roster.get(s.id) is not False], warnings


def _canvas_rows(book: ExportBook, course: CourseConfig, _moodle_id: str) -> tuple[list[list[str]], list[str]]:
    columns = []
    for a in book.assignments:
        canvas_id = course.settings(a).canvas_id
        columns.append(f"{course.title(a)} ({canvas_id})" if canvas_id else course.title(a))
    table = [[*CANVAS_LEADING, *columns],
             [CANVAS_POINTS_ROW, "", "", "", "", *(format_points(book.max_scores[a]) for a in book.assignments)]]
    students, warnings = _lms_students(book)
    for s in students:
        first, last = s.split_name()
        name = f"{last}, {first}" if first and last else (s.name or s.id)
        table.append([name, s.canvas_id, s.id, s.sis_login_id, s.section,
                      *(_cell(book.totals.get((s.id, a))) for a in book.assignments)])
    return table, warnings


def _moodle_rows(book: ExportBook, course: CourseConfig, moodle_id: str) -> tuple[list[list[str]], list[str]]:
    if moodle_id not in MOODLE_IDS:
        raise BatchUsageError(f"--moodle-id {moodle_id!r}: one of {', '.join(MOODLE_IDS)}")
    students, warnings = _lms_students(book)
    value: Callable[[Student], str] = (lambda s: s.email) if moodle_id == "email" else (lambda s: s.id)
    lacking = [s.id for s in students if not value(s)]
    if lacking:
        raise BatchUsageError(f"Moodle's import needs an email for every student; none for {', '.join(lacking[:10])}"
                              + (" ..." if len(lacking) > 10 else "") + " (add an email column to the roster, or "
                              "use --moodle-id idnumber)")
    table = [[MOODLE_IDS[moodle_id], *(course.title(a) for a in book.assignments)]]
    table += [[value(s), *(_cell(book.totals.get((s.id, a))) for a in book.assignments)] for s in students]
    return table, warnings


def _wide_rows(book: ExportBook, course: CourseConfig, _moodle_id: str) -> tuple[list[list[str]], list[str]]:
    header = list(WIDE_LEADING)
    for a in book.assignments:
        header += [a, *(f"{a} {suffix}" for suffix in WIDE_SUFFIXES), *(f"{a}/{t}" for t in book.test_names.get(a, []))]
    table = [header]
    for s in book.students:
        roster = {True: "matched", False: "not on roster", None: ""}[book.on_roster.get(s.id)]
        row = [s.id, s.name, s.email, s.login, roster]
        for a in book.assignments:
            row += _wide_cells(book.totals.get((s.id, a)), book.max_scores[a], book.test_names.get(a, []))
        table.append(row)
    return table, []


def _wide_cells(total: AssignmentTotal | None, max_score: float, tests: Iterable[str]) -> list[str]:
    tests = list(tests)
    if total is None:
        return ["", format_points(max_score), "", "", "", "", "missing", "", *([""] * len(tests))]
    graded = bool(total.graded)
    return [_cell(total), format_points(max_score), format_points(total.raw) if graded else "",
            format_points(total.penalty) if graded else "", str(round(total.late_seconds)) if graded else "",
            total.submitted, total.status, str(total.pending),
            *(format_points(total.tests[t]) if t in total.tests else "" for t in tests)]


# --- the command -----------------------------------------------------------------------------

DEFAULT_NAMES = {"canvas": "canvas.csv", "moodle": "moodle.csv", "csv": "wide.csv"}


@dataclass(frozen=True)
class ExportOptions:
    format: str
    grades: Path = Path("grades")  # the grade-batch --out folder
    out: Path | None = None  # default: <grades>/<DEFAULT_NAMES[format]>
    roster: Path | None = None  # default: the roster the batch used
    course_config: Path | None = None  # default: mlgrader.toml beside the autograder folder
    autograder: Path = Path("autograder")
    assignments: tuple[str, ...] = ()  # default: every assignment of the batch
    moodle_id: str = "email"
    gradebook: str | None = None  # nbgrader gradebook URL whose manual scores count


def export(options: ExportOptions) -> ExportWrite:
    """Write the LMS file ``options`` ask for; raise :class:`BatchUsageError` on bad input."""
    from .course import default_config_path, read_course_config
    from .roster import read_roster

    if options.format not in FORMATS:
        raise BatchUsageError(f"unknown export format {options.format!r} (known: {', '.join(FORMATS)})")
    course = read_course_config(options.course_config or default_config_path(options.autograder))
    roster = read_roster(options.roster) if options.roster else None
    manual = _manual_scores(options.gradebook) if options.gradebook else None
    book = load_book(Path(options.grades), roster, options.assignments, manual)
    out = options.out or Path(options.grades) / DEFAULT_NAMES[options.format]
    return write_export(book, options.format, out, course, options.moodle_id)


def _manual_scores(db_url: str) -> dict[tuple[str, str, str, str], float]:
    from .gradebook import manual_scores

    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).is_file():
        # nbgrader would make a new, empty gradebook there, and every manual score would be lost silently
        raise BatchUsageError(f"--gradebook {db_url}: no such gradebook file")
    try:
        return {key: given.score for key, given in manual_scores(db_url).items()}
    except Exception as exc:  # nbgrader missing, SQLAlchemy's many errors: one line that says which
        raise BatchUsageError(f"--gradebook {db_url}: cannot be read ({type(exc).__name__}: {exc})") from None
