"""Grades into nbgrader's gradebook, where formgrader and ``nbgrader export`` read them.

Instructors who use nbgrader's formgrader, manual grading or ``nbgrader export`` keep
doing so: :func:`record_grades` writes mlgrader's results where ``nbgrader autograde``
would have written its own. In nbgrader's model an assignment has notebooks, a notebook
has *grade cells* (name = the cell's ``grade_id``, ``max_score`` = its points), and a
student's submission holds one ``Grade`` row per grade cell; the autograder's verdict is
the row's ``auto_score``. mlgrader's test cells are exactly those grade cells (same
``grade_id`` and points, since ``mlgrader build`` makes the source notebook that
``nbgrader generate_assignment`` reads), so a test's score is the ``auto_score`` of the
grade cell named after it.

Whatever is missing is created, so this works on a fresh database as well as on one that
``nbgrader generate_assignment`` / ``nbgrader autograde`` already filled. Manual scores a
grader entered are never overwritten; as in nbgrader, a grade that has one is flagged for
review again.

The batch's lateness goes where nbgrader keeps its own (:func:`record_entries`): the
assignment's ``duedate``, the submission's ``timestamp`` and ``extension``, and each
notebook's ``late_submission_penalty``; roster students get their names, email and Canvas
id (``lms_user_id``), and those who submitted nothing are added too, as nbgrader lists
them. So formgrader and ``nbgrader export`` show the numbers grades.csv shows (nbgrader
keeps times as UTC without a zone, as here).

Answers that staff grade (manually graded answers and tasks, status ``pending``) are
written as nbgrader's autograde writes them: no automatic score, flagged as needing a
manual grade, so that formgrader lists them for a TA. With the bundle's layout of a
notebook (``layouts``), the gradebook also gets the solution and task cells formgrader
needs to show the notebook, with the cell types right. :func:`manual_scores` reads the
scores the TAs gave back, for grades.csv, the reports and the LMS exports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from ..results import GradeResult
from ..bundle import NotebookEntry
from .roster import Student


@dataclass(frozen=True)
class GradebookEntry:
    """One graded notebook for the gradebook, with the student and the lateness the batch found."""

    result: GradeResult
    student: str
    person: Student | None = None
    submitted: dt.datetime | None = None  # the assignment's submission time
    due: dt.datetime | None = None  # the assignment's due date, before any extension
    extension: dt.timedelta | None = None  # how far the student's due date was moved
    penalty: float = 0.0  # points the late policy took from this notebook

@dataclass
class GradebookWrite:
    """What :func:`record_grades` did."""

    recorded: int = 0  # results written
    grades: int = 0  # Grade rows given an auto_score
    skipped: list[str] = field(default_factory=list)  # results that name no assignment or notebook
    created_cells: list[str] = field(default_factory=list)  # assignment/notebook/grade_id added
    formgrader_copies: list[str] = field(default_factory=list)  # notebooks put where formgrader reads them
    manual_rows: int = 0  # rows that got points graders gave (read back after recording)


def _api():
    # nbgrader is an optional (course) dependency; import it only when a gradebook is used.
    try:
        from nbgrader import api
    except ImportError as exc:
        raise RuntimeError("writing an nbgrader gradebook needs nbgrader (pip install nbgrader)") from exc
    return api


@contextlib.contextmanager
def _alembic_on_path() -> Iterator[None]:
    """Put this Python's bin/ on PATH while nbgrader may need it.

    nbgrader runs the ``alembic`` command to stamp a new gradebook; installed in a
    virtual environment that is not activated, it is not on PATH and nbgrader fails with
    FileNotFoundError. PATH is restored afterwards.
    """
    bindir = str(Path(sys.executable).parent)
    if shutil.which("alembic") or not (Path(bindir) / "alembic").exists():
        yield
        return
    saved = os.environ.get("PATH")
    os.environ["PATH"] = bindir + os.pathsep + (saved or "")
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


Layouts = Mapping[tuple[str, str], NotebookEntry]  # (assignment, notebook) -> the bundle's entry


def record_grades(results: Sequence[GradeResult], db_url: str, student_ids: Sequence[str],
                  course_id: str = "default_course", layouts: Layouts | None = None) -> GradebookWrite:
    """Store each result as ``student_ids[i]``'s autograded scores in the gradebook at ``db_url``.

    ``db_url`` is a SQLAlchemy URL such as ``sqlite:///gradebook.db`` (what nbgrader's
    ``CourseDirectory.db_url`` holds). ``layouts`` tells the kind of each graded cell (a test,
    an answer staff grade, a task) and which cells are solutions; without it every result's
    test is taken for a code grade cell.
    """
    if len(results) != len(student_ids):
        raise ValueError(f"{len(results)} results but {len(student_ids)} student ids")
    return record_entries([GradebookEntry(r, s) for r, s in zip(results, student_ids)], db_url,
                          course_id=course_id, layouts=layouts)


def record_entries(entries: Sequence[GradebookEntry], db_url: str, students: Iterable[Student] = (),
                   course_id: str = "default_course", layouts: Layouts | None = None) -> GradebookWrite:
    """Store each entry's scores, submission time, due date and penalty; add ``students`` (the roster)."""
    api = _api()
    report = GradebookWrite()
    with _alembic_on_path(), api.Gradebook(db_url, course_id=course_id) as gb:
        for person in students:
            _update_student(gb, person.id, person)
        for entry in entries:
            result, student = entry.result, entry.student
            if not result.assignment or not result.notebook:
                report.skipped.append(f"{student}: no assignment/notebook ({result.submission or 'unknown file'})")
                continue
            layout = (layouts or {}).get((result.assignment, result.notebook))
            report.created_cells.extend(_ensure_structure(api, gb, result, layout))
            _set_due_date(gb, result.assignment, entry.due)
            _update_student(gb, student, entry.person)
            grades = _grade_rows(api, gb, result, student, layout)
            for test in result.tests:
                _set_auto_score(grades[test.name], None if test.status == "pending" else test.score)
            _set_lateness(gb, entry)
            gb.db.commit()
            report.recorded += 1
            report.grades += len(result.tests)
    return report


@dataclass(frozen=True)
class ManualScore:
    """A score a grader gave in the gradebook (formgrader) to one cell of one submission."""

    score: float
    max_score: float


def manual_scores(db_url: str, course_id: str = "default_course") -> dict[tuple[str, str, str, str], ManualScore]:
    """Points graders entered in formgrader: (student, assignment, notebook, grade cell) -> the manual
    score plus extra credit (as nbgrader counts it). Cells nobody graded yet are left out."""
    api = _api()
    with _alembic_on_path(), api.Gradebook(db_url, course_id=course_id) as gb:
        grades = gb.db.query(api.Grade).filter(api.Grade.manual_score.isnot(None)).all()
        return {(g.student.id, g.assignment.name, g.notebook.name, g.name):
                ManualScore(float(g.manual_score) + float(g.extra_credit or 0), float(g.max_score)) for g in grades}


def _utc_naive(moment: dt.datetime | None) -> dt.datetime | None:
    """nbgrader's form of a time: UTC without a zone."""
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment is not None else None


def _update_student(gb, student: str, person: Student | None) -> None:
    details = {}
    if person is not None:
        first, last = person.split_name()
        details = {k: v for k, v in {"first_name": first, "last_name": last, "email": person.email,
                                     "lms_user_id": person.canvas_id}.items() if v}
    gb.update_or_create_student(student, **details)


def _set_due_date(gb, assignment: str, due: dt.datetime | None) -> None:
    if due is not None:
        gb.find_assignment(assignment).duedate = _utc_naive(due)


def _set_lateness(gb, entry: GradebookEntry) -> None:
    result = entry.result
    submission = gb.find_submission(result.assignment, entry.student)
    if entry.submitted is not None:
        submission.timestamp = _utc_naive(entry.submitted)
    submission.extension = entry.extension
    notebook = gb.find_submission_notebook(result.notebook, result.assignment, entry.student)
    notebook.late_submission_penalty = float(entry.penalty)


def _ensure_structure(api, gb, result: GradeResult, entry: NotebookEntry | None) -> list[str]:
    """Create the assignment, notebook and cells the result needs; name what was made."""
    made = []
    try:
        gb.find_assignment(result.assignment)
    except api.MissingEntry:
        gb.add_assignment(result.assignment)
    try:
        gb.find_notebook(result.notebook, result.assignment)
    except api.MissingEntry:
        gb.add_notebook(result.notebook, result.assignment)
    for test in result.tests:
        cell = _find_graded_cell(api, gb, result, test.name)
        if cell is None:
            _add_graded_cell(gb, result, test.name, test.max_score, entry)
            made.append(f"{result.assignment}/{result.notebook}/{test.name}")
            continue
        if cell.max_score != test.max_score:
            # The bundle is what grades; a gradebook made from an older source follows it.
            cell.max_score = test.max_score
            gb.db.commit()
    for name in _solution_cells(entry):
        try:
            gb.find_solution_cell(name, result.notebook, result.assignment)
        except api.MissingEntry:
            gb.add_solution_cell(name, result.notebook, result.assignment)
    return made


def _solution_cells(entry: NotebookEntry | None) -> list[str]:
    """The cells students answer in (formgrader keeps a comment for each)."""
    return [c.grade_id for c in entry.cells if c.kind in ("exercise", "manual")] if entry else []


def _find_graded_cell(api, gb, result: GradeResult, name: str):
    for find in (gb.find_grade_cell, gb.find_task_cell):
        try:
            return find(name, result.notebook, result.assignment)
        except api.MissingEntry:
            continue
    return None


def _add_graded_cell(gb, result: GradeResult, name: str, max_score: float, entry: NotebookEntry | None) -> None:
    spec = entry.cell(name) if entry else None
    if spec is not None and spec.kind == "task":
        gb.add_task_cell(name, result.notebook, result.assignment, max_score=max_score, cell_type="markdown")
        return
    cell_type = spec.cell_type if spec is not None and spec.kind == "manual" and spec.cell_type else "code"
    gb.add_grade_cell(name, result.notebook, result.assignment, max_score=max_score, cell_type=cell_type)


def _grade_rows(api, gb, result: GradeResult, student: str, entry: NotebookEntry | None = None) -> dict:
    """Grade cell name -> the student's Grade row, creating the submission and rows as needed.

    ``add_submission`` copies the assignment's structure at the time it is called; a
    submission made before a notebook or grade cell existed lacks their rows, so those
    are added here (and the comment rows formgrader shows next to each answer).
    """
    # nbgrader builds the new submission's rows while loading the assignment's notebooks;
    # autoflush would try to flush the half-built submission first (SQLAlchemy warns).
    with gb.db.no_autoflush:
        submission = gb.update_or_create_submission(result.assignment, student)
    notebook = gb.find_notebook(result.notebook, result.assignment)
    try:
        submitted = gb.find_submission_notebook(result.notebook, result.assignment, student)
    except api.MissingEntry:
        submitted = api.SubmittedNotebook(notebook=notebook, assignment=submission)
        gb.db.add(submitted)
        gb.db.commit()
    rows = {}
    for test in result.tests:
        try:
            rows[test.name] = gb.find_grade(test.name, result.notebook, result.assignment, student)
        except api.MissingEntry:
            cell = _find_graded_cell(api, gb, result, test.name)
            grade = api.Grade(cell_id=cell.id, notebook=submitted)
            gb.db.add(grade)
            gb.db.commit()
            rows[test.name] = grade
    commented = _solution_cells(entry) + [t.name for t in result.tests if entry and entry.cell(t.name)
                                          and entry.cell(t.name).kind == "task"]
    for name in commented:
        try:
            gb.find_comment(name, result.notebook, result.assignment, student)
        except api.MissingEntry:
            cell = _find_comment_cell(api, gb, result, name)
            gb.db.add(api.Comment(cell_id=cell.id, notebook=submitted))
            gb.db.commit()
    return rows


def _find_comment_cell(api, gb, result: GradeResult, name: str):
    try:
        return gb.find_solution_cell(name, result.notebook, result.assignment)
    except api.MissingEntry:
        return gb.find_task_cell(name, result.notebook, result.assignment)


def _set_auto_score(grade, score: float | None) -> None:
    # nbgrader's own rule (SaveAutoGrades): a grade with a manual score needs review again, and
    # one without an automatic score (an answer staff grade) needs a manual grade.
    grade.auto_score = None if score is None else float(score)
    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None


def copy_for_formgrader(submission: Path, assignment: str) -> Path | None:
    """Put a submission of an nbgrader course (``<course>/submitted/<student>/<assignment>/<nb>.ipynb``)
    where formgrader shows it to a TA: ``<course>/autograded/<student>/<assignment>/``, as
    ``nbgrader autograde`` would, with the files beside it. Elsewhere (no such layout) nothing is
    copied and None is returned.
    """
    path = Path(os.path.abspath(submission))
    parts = path.parts
    if len(parts) < 5 or parts[-4] != "submitted" or parts[-2] != assignment:
        return None
    source_dir = path.parent
    target_dir = Path(*parts[:-4]) / "autograded" / parts[-3] / assignment
    target_dir.mkdir(parents=True, exist_ok=True)
    for item in source_dir.iterdir():
        # beside files too (images the notebook shows); never a link a student planted
        if item.is_file() and not item.is_symlink() and not item.name.startswith("."):
            shutil.copyfile(item, target_dir / item.name)
    return target_dir / path.name


__all__ = ["GradebookEntry", "GradebookWrite", "ManualScore", "copy_for_formgrader", "manual_scores",
           "record_entries", "record_grades"]
