"""``mlgrader grade-batch``: grade many submissions, in parallel or on a Dask cluster.

A batch reads the course config and the roster (:mod:`~mlgrader.batch.course`,
:mod:`~mlgrader.batch.roster`), finds the submissions and whose they are
(:mod:`~mlgrader.batch.layouts`) and when they were handed in
(:mod:`~mlgrader.batch.timestamps`), reuses grades it already has
(:mod:`~mlgrader.batch.cache`), grades the rest (:func:`~mlgrader.batch.tasks.grade_task`,
each notebook in a fresh process or as a task on a Dask cluster:
:mod:`~mlgrader.batch.executors`), records a row per submission with its lateness
(:mod:`~mlgrader.batch.rows`, :mod:`~mlgrader.batch.lateness`), appends new and changed
grades to the history (:mod:`~mlgrader.batch.history`) and writes the files of
:mod:`~mlgrader.batch.outputs` (grades.csv, results/, feedback/, report.html, batch.json,
history.jsonl) and ``<out>/cache/``, the resume cache.

``--student ID`` grades that student's submissions again (never from the cache) and keeps
every other row of the last batch in ``<out>`` as it was; a submission the last batch did
not have is graded as usual. After a bundle changed, a plain rerun regrades everything
(the cache knows the bundle), and the report and history show what changed.

A grade is never silently missing: a submission that cannot be graded still gets a row,
with score 0, status ``error`` and the reason (see :mod:`~mlgrader.batch.rows`).

Workers
-------
Local workers live for the whole batch and keep warm kernels (:mod:`mlgrader.sandbox.warm`).
``--scheduler ADDRESS`` runs :func:`~mlgrader.batch.tasks.grade_task`, the same function the
local workers run, on a Dask cluster: each task carries its notebook's bytes (and the saved
files beside it), the autograder folder is sent once per worker and named by its digest,
and results come back as data, so the workers need no copy of the course and no shared
file system; only the same mlgrader installed.

Nothing here prints: the command line shows progress through a :class:`Progress` it
passes in, and turns the rows into a summary and an exit status.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from ..bundle import Bundle, NotebookEntry, list_bundles
from ..config import GradingConfig
from ..grading.trusted_tests import test_imports
from ..results import GradeResult
from ..sandbox.warm import WarmKernels
from .cache import ResultCache, content_digest
from .course import CourseConfig, default_config_path, read_course_config
from .tamper import Template, read_templates, tamper_flags
from .executors import (NoProgress, ProcessFailure, Progress, SchedulerUnreachable, default_workers, run_in_workers,
                        run_on_dask, threads_per_worker)
from .history import HISTORY_NAME, record as record_history
from .lateness import display_zone, late_record, latest, student_deadline
from .layouts import BatchUsageError, Submission, collect_submissions
from .outputs import (BatchReport, class_notes, read_index, read_row_records, record_in_gradebook, summary_lines,
                      write_grades_csv, write_index, write_report, write_row_files)
from .roster import Roster, read_roster
from .rows import BatchRow, cached_row, row_from_outcome
from .timestamps import ClassroomTimes, SubmissionTime, read_classroom_times, submission_time
from .tasks import (AutograderRef, GradeTask, TaskOutcome, autograder_files, files_digest, grade_task,
                    grade_task_on_dask)

# What the local process server imports once, so that each grading process starts warm;
# mlgrader.imports first, before nbformat: it keeps jsonschema's slow format checkers out.
GRADER_MODULES = ("mlgrader.imports", grade_task.__module__)
# Imported last where the tests use torch: it runs torch's one-time start-up in the server.
TORCH_WARMUP = "mlgrader.grading.warmup"


def worker_preload(assignments: set[str | None], bundles: dict[str, Bundle]) -> tuple[str, ...]:
    """The grader, and what the tests of the assignments being graded import (torch, sklearn).

    Imported once in the process server, these are shared by every worker forked from it
    (copy-on-write) instead of being imported again, privately, in each: with a CUDA build
    of torch that is about 250 MB of each worker's own memory. A submission whose assignment
    neither the notebook's metadata nor the layout tells (None) may be any bundle's.
    """
    chosen = bundles.values() if None in assignments else [bundles[a] for a in assignments if a in bundles]
    modules = {name for bundle in chosen for entry in bundle.notebooks for name in test_imports(entry)}
    warm = (TORCH_WARMUP,) if any(name.split(".")[0] == "torch" for name in modules) else ()
    return GRADER_MODULES + tuple(sorted(modules)) + warm


@dataclass(frozen=True)
class BatchOptions:
    paths: tuple[str, ...]
    out: Path = Path("grades")
    autograder: Path = Path("autograder")
    assignment: str | None = None
    workers: int | None = None  # None: the CPUs this process may use
    scheduler: str | None = None
    config: GradingConfig = field(default_factory=GradingConfig)
    use_cache: bool = True  # False (--no-cache): neither read nor write the cache
    force: bool = False  # True (--force): regrade everything, then refresh the cache
    # The function each worker runs; replaceable so tests can make a worker die.
    grade_fn: Callable[[GradeTask], TaskOutcome] | None = field(default=None, repr=False)
    # Asked while grading: True once the user pressed Ctrl-C (the command line's handler).
    should_stop: Callable[[], bool] | None = field(default=None, repr=False, compare=False)
    roster: Path | None = None  # None: the course config's roster, if it names one
    course_config: Path | None = None  # None: mlgrader.toml beside the autograder folder, if there is one
    classroom_grades: tuple[Path, ...] = ()  # CSVs of `gh classroom assignment-grades` (submission times)
    templates: Path | None = None  # the course's classroom/ folder (tamper flags); None: beside the autograder
    gradebook: str | None = None  # an nbgrader gradebook URL: record the grades there, read graders' points back
    student: str | None = None  # --student: regrade this student only

    @property
    def pool_size(self) -> int:
        return self.workers or default_workers()


__all__ = ["BatchOptions", "BatchReport", "record_in_gradebook", "run_batch", "summary_lines", "write_row_files"]


# --- the batch -------------------------------------------------------------------------------


def process_time_limit(bundles: dict[str, Bundle], config: GradingConfig) -> float:
    """Longest notebook time limit among the bundles, plus the grader's margin."""
    longest = max((nb.timeout for b in bundles.values() for nb in b.notebooks), default=0.0)
    return longest + config.process_margin


def task_for(sub: Submission, options: BatchOptions) -> GradeTask:
    # Local workers share this machine's cores; Dask workers size themselves.
    config = options.config
    if not options.scheduler and config.threads is None:
        config = config.with_options(threads=threads_per_worker(options.pool_size))
    return GradeTask(sub.path.name, AutograderRef(path=str(options.autograder.absolute())),
                     path=str(sub.path.absolute()), assignment=options.assignment,
                     fallback_assignment=sub.layout_assignment, config=config)


def _outcomes(options: BatchOptions, tasks: list[GradeTask], names: list[str], bundles: dict[str, Bundle],
              assignments: set[str | None]) -> Iterator[tuple[int, object]]:
    if options.scheduler:
        return _dask_outcomes(options, tasks, names, bundles)
    workers = min(options.pool_size, len(tasks)) or 1
    limit = process_time_limit(bundles, options.config)
    if options.grade_fn is not None:  # a stand-in grader (tests): one argument, no kernels
        return run_in_workers(options.grade_fn, tasks, workers, limit, GRADER_MODULES, should_stop=options.should_stop)
    # Each worker keeps warm kernels for the whole batch (cold ones where they cannot be).
    kernels = functools.partial(WarmKernels, options.config.sandbox, tasks[0].config.threads)
    return run_in_workers(grade_task, tasks, workers, limit, worker_preload(assignments, bundles),
                          make_context=kernels,
                          should_stop=options.should_stop)


def _dask_outcomes(options: BatchOptions, tasks: list[GradeTask], names: list[str],
                   bundles: dict[str, Bundle]) -> Iterator[tuple[int, object]]:
    """The tasks on a Dask cluster whose workers have no copy of the course: bytes travel, not paths."""
    from .dask_plugin import WarmKernelsPlugin

    files = autograder_files(options.autograder)
    reference = AutograderRef(digest=files_digest(files))
    artifacts = {name for b in bundles.values() for nb in b.notebooks for name in nb.artifacts}
    carried = [task.with_contents(artifacts, reference) for task in tasks]
    plugin = WarmKernelsPlugin(options.config.sandbox, options.config.threads)
    try:
        yield from run_on_dask(options.scheduler, options.grade_fn or grade_task_on_dask, carried, names,
                               shared={"autograder_files": files} if options.grade_fn is None else None,
                               plugin=plugin if options.grade_fn is None else None)
    except SchedulerUnreachable as exc:  # a wrong --scheduler is a usage error, like a wrong path
        raise BatchUsageError(str(exc)) from None


def _check_options(options: BatchOptions, bundles: dict[str, Bundle]) -> None:
    if options.workers is not None and options.workers < 1:
        raise BatchUsageError(f"--workers must be at least 1 (got {options.workers})")
    if not bundles:
        raise BatchUsageError(f"no autograder bundles in {options.autograder} (run `mlgrader build`)")
    if options.assignment and options.assignment not in bundles:
        raise BatchUsageError(f"no autograder bundle for assignment {options.assignment!r} in {options.autograder}")


@dataclass
class _Batch:
    """What one batch works with besides its options: read once, before anything is graded."""

    options: BatchOptions
    bundles: dict[str, Bundle]
    course: CourseConfig
    roster: Roster | None
    classroom: ClassroomTimes | None
    cache: ResultCache
    templates: dict[str, Template] = field(default_factory=dict)  # by assignment: the repositories' templates
    times: dict[str, SubmissionTime] = field(default_factory=dict)  # by submission key
    handed_in: dict[tuple[str, str], SubmissionTime] = field(default_factory=dict)  # (student, assignment)
    digests: dict[str, str] = field(default_factory=dict)  # by submission key

    @classmethod
    def prepare(cls, options: BatchOptions, bundles: dict[str, Bundle]) -> "_Batch":
        course = read_course_config(options.course_config or default_config_path(options.autograder))
        roster_path = options.roster or course.roster
        classroom = read_classroom_times(options.classroom_grades) if options.classroom_grades else None
        templates = read_templates(options.templates or options.autograder.parent / "classroom")
        return cls(options, bundles, course, read_roster(roster_path) if roster_path else None, classroom,
                   ResultCache(options.out / "cache", options.autograder), templates)

    def note_times(self, subs: list[Submission]) -> None:
        """Each submission's time, and each assignment's (the latest of its notebooks')."""
        for sub in subs:
            assignment = sub.assignment_guess or ""
            bundle = self.bundles.get(assignment)
            artifacts = {name for nb in bundle.notebooks for name in nb.artifacts} if bundle else set()
            self.times[sub.key] = submission_time(sub, sorted(artifacts), self.classroom,
                                                  display_zone(assignment, bundle, self.course))
            self.digests[sub.key] = content_digest(sub.path)
        groups: dict[tuple[str, str], list[SubmissionTime]] = {}
        for sub in subs:
            groups.setdefault((sub.student, sub.assignment_guess or ""), []).append(self.times[sub.key])
        self.handed_in = {key: t for key, group in groups.items() if (t := latest(group)) is not None}

    def finish(self, row: BatchRow) -> BatchRow:
        """The row with its lateness and what the history needs."""
        sub = row.submission
        assignment = row.result.assignment or sub.assignment_guess or ""
        bundle = self.bundles.get(assignment)
        deadline = student_deadline(assignment, bundle, self.course, sub) if assignment else None
        submitted = self.handed_in.get((sub.student, assignment)) or self.times.get(sub.key)
        row.late = late_record(submitted, deadline, display_zone(assignment, bundle, self.course),
                               row.result.score, row.result.max_score)
        row.sha256 = row.sha256 or self.digests.get(sub.key, "")
        layout, template = sub.layout, self.templates.get(assignment)
        if layout is not None and layout.rule == "classroom" and layout.root is not None and template is not None:
            row.tamper = tamper_flags(layout.root, sub.path, template)
        if not row.bundle and row.status == "graded" and assignment:
            row.bundle = self.cache.current_bundle_hash(assignment) or ""
        return row


def _chosen(subs: list[Submission], student: str | None, roster: Roster | None) -> set[str]:
    """Keys of the submissions of ``--student`` (its roster id, login, email or layout name)."""
    if not student:
        return set()
    wanted = {student.lower()}
    person = roster.find(student) if roster else None
    if person is not None:
        wanted |= set(person.keys)
    keys = {s.key for s in subs if s.student.lower() in wanted or s.layout_student.lower() in wanted}
    if not keys:
        raise BatchUsageError(f"--student {student}: none of the {len(subs)} submissions found is that student's")
    return keys


@dataclass(frozen=True)
class _Previous:
    result: GradeResult
    status: str
    reason: str
    bundle: str


def _previous_rows(out: Path) -> dict[tuple[str, str], _Previous]:
    """The last batch's rows in ``out``, by (submission key, notebook file name): a key names the same
    student's submission again, wherever the class folder has moved since."""
    index = read_index(out)
    previous = {}
    for record in read_row_records(out, index) if index else []:
        try:
            result = GradeResult.from_dict(record)
        except (KeyError, TypeError, ValueError):
            continue
        key = (record.get("key", ""), Path(record.get("path", "")).name)
        previous[key] = _Previous(result, record.get("status", "graded"), record.get("reason", ""),
                                  record.get("bundle", ""))
    return previous


def run_batch(options: BatchOptions, emit: Callable[[BatchRow], None] = lambda row: None,
              progress: Progress | None = None) -> BatchReport:
    """Grade every submission the options name; write all outputs; return the rows (sorted) and notes.

    ``emit`` sees each row as it is recorded. Raises :class:`BatchUsageError` when there is
    nothing to grade or nothing to grade with, or a roster or course config is unusable.
    """
    progress = progress or NoProgress()
    bundles = list_bundles(options.autograder)
    _check_options(options, bundles)
    batch = _Batch.prepare(options, bundles)
    subs = collect_submissions(options.paths, {name: b.notebook_names for name, b in bundles.items()},
                               options.assignment, batch.roster, options.out / "unpacked")
    chosen = _chosen(subs, options.student, batch.roster)
    previous = _previous_rows(options.out) if options.student else {}
    batch.note_times(subs)
    rows: list[BatchRow] = []
    todo: list[Submission] = []
    # Cache keys are taken once, from the bytes as the batch found them.
    entries = {sub.key: batch.cache.entry_path(sub, task_for(sub, options), batch.digests[sub.key]) for sub in subs}
    finish = functools.partial(_finish, batch=batch, emit=emit)
    progress.start(len(subs))
    for sub in subs:
        kept = previous.get((sub.key, sub.path.name)) if options.student and sub.key not in chosen else None
        if kept is not None:
            rows.append(finish(BatchRow(sub, replace(kept.result, submission=str(sub.path)), kept.status,
                                        kept.reason, reused=True, bundle=kept.bundle)))
            progress.advance(sub.student)
            continue
        use_cache = options.use_cache and not options.force and sub.key not in chosen
        cached = batch.cache.lookup(entries[sub.key], sub) if use_cache else None
        if cached is None:
            todo.append(sub)
            continue
        rows.append(finish(cached_row(sub, cached)))
        progress.advance(sub.student)
    tasks = [task_for(sub, options) for sub in todo]
    done: set[int] = set()
    try:
        if tasks:
            guesses = {options.assignment or sub.assignment_guess for sub in todo}
            for index, outcome in _outcomes(options, tasks, [sub.key for sub in todo], bundles, guesses):
                row = row_from_outcome(todo[index], outcome, bundles)
                if row.status == "graded" and options.use_cache:
                    batch.cache.store(entries[todo[index].key], row.result)  # atomic: a Ctrl-C leaves no half entry
                rows.append(finish(row))
                done.add(index)
                progress.advance(todo[index].student)
    except KeyboardInterrupt:
        # Interrupted: every submission still gets a row (those not graded say so), the files
        # agree with the cache, and the next run grades only what is missing.
        for index, sub in enumerate(todo):
            if index not in done:
                rows.append(batch.finish(row_from_outcome(sub, ProcessFailure(INTERRUPTED), bundles)))
        _write_summary_files(rows, batch, chosen)
        raise
    report = _write_summary_files(rows, batch, chosen)
    if options.gradebook:
        _with_gradebook(report, batch, chosen)
    return report


def _with_gradebook(report: BatchReport, batch: _Batch, chosen: set[str]) -> None:
    """Record the grades in nbgrader's gradebook and read back what graders gave; files again if any."""
    options = batch.options
    try:
        report.gradebook = record_in_gradebook(report.rows, options.gradebook, batch.roster, batch.bundles)
    except Exception as exc:  # grades.csv is written already; the command says why this step failed
        report.gradebook_error = f"could not record grades in {options.gradebook}: {type(exc).__name__}: {exc}"
        return
    if report.gradebook.manual_rows:
        for row in report.rows:
            write_row_files(row, options.out)
        refreshed = _write_summary_files(report.rows, batch, set(), history=False)
        report.notes = refreshed.notes


INTERRUPTED = "not graded: the batch was interrupted (run it again to grade what is missing)"


def _write_summary_files(rows: list[BatchRow], batch: _Batch, chosen: set[str], history: bool = True) -> BatchReport:
    options = batch.options
    rows.sort(key=lambda r: (r.submission.student, r.result.assignment, r.result.notebook, str(r.submission.path)))
    write_grades_csv(rows, options.out / "grades.csv")
    changes = record_history(rows, options.out / HISTORY_NAME, chosen) if history else []
    regraded = sorted({r.submission.student for r in rows if r.submission.key in chosen})
    notes = class_notes(rows, batch.roster, changes, regraded, [options.assignment] if options.assignment else [])
    write_report(rows, options.out, notes, batch.bundles)
    write_index(rows, options.out, batch.bundles, batch.roster)
    return BatchReport(rows, notes, batch.roster)


def _finish(row: BatchRow, batch: _Batch, emit: Callable[[BatchRow], None]) -> BatchRow:
    # Files are written as each grade arrives, so an interrupted batch keeps its work.
    row = batch.finish(row)
    write_row_files(row, batch.options.out)
    emit(row)
    return row
