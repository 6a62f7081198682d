"""``mlgrader grade-batch``: grade many submissions, in parallel or on a Dask cluster.

A batch finds the submissions (:mod:`~mlgrader.batch.layouts`), reuses grades it already
has (:mod:`~mlgrader.batch.cache`), grades the rest (:func:`~mlgrader.batch.tasks.grade_task`,
each notebook in a fresh process or as a task on a Dask cluster:
:mod:`~mlgrader.batch.executors`), records a row per submission (:mod:`~mlgrader.batch.rows`)
and writes::

    <out>/grades.csv              one row per submission: student, assignment, notebook,
                                  score, max_score, status, reason, path
    <out>/results/<student>.json  the full result (the ``grade --json`` object, plus
                                  student, status, reason, path)
    <out>/feedback/<student>.html the student's feedback page (mlgrader.report)
    <out>/report.html             the class report, linking to every feedback page
    <out>/cache/                  the resume cache

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

import csv
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..bundle import Bundle, list_bundles
from ..config import GradingConfig
from ..report import ReportRow, write_class_report, write_feedback
from .cache import ResultCache
from ..sandbox.warm import WarmKernels
from .executors import (NoProgress, ProcessFailure, Progress, SchedulerUnreachable, default_workers, run_in_workers,
                        run_on_dask, threads_per_worker)
from .layouts import BatchUsageError, Submission, collect_submissions
from .rows import CSV_COLUMNS, BatchRow, cached_row, row_from_outcome
from .tasks import (AutograderRef, GradeTask, TaskOutcome, autograder_files, files_digest, grade_task,
                    grade_task_on_dask)

# What the local process server imports once, so that each grading process starts warm.
GRADER_MODULES = (grade_task.__module__,)


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

    @property
    def pool_size(self) -> int:
        return self.workers or default_workers()


# --- outputs ---------------------------------------------------------------------------------


def write_row_files(row: BatchRow, out: Path) -> None:
    key = row.submission.key
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{key}.json").write_text(json.dumps(row.results_file_record(), indent=1) + "\n")
    write_feedback(row.result, out / "feedback" / f"{key}.html", student=row.submission.student)


def write_grades_csv(rows: Sequence[BatchRow], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.csv_record())
    return path


def write_report(rows: Sequence[BatchRow], out: Path) -> Path:
    report_rows = [ReportRow(r.submission.student, r.result, r.status, r.reason, f"feedback/{r.submission.key}.html")
                   for r in rows]
    assignments = sorted({r.result.assignment for r in rows if r.result.assignment})
    title = "Class report" + (f": {', '.join(assignments)}" if assignments else "")
    return write_class_report(report_rows, out / "report.html", title=title)


def record_in_gradebook(rows: Sequence[BatchRow], db_url: str):
    """Record the graded rows in an nbgrader gradebook. Error rows are left out: a
    grader failure is not a score of 0 that formgrader should show."""
    from .gradebook import record_grades

    graded = [r for r in rows if r.status == "graded"]
    return record_grades([r.result for r in graded], db_url, [r.submission.student for r in graded])


def summary_lines(rows: Sequence[BatchRow], out: Path) -> list[str]:
    """What the command prints after a batch: counts, each error with its reason, where the files are."""
    errors = [r for r in rows if r.status != "graded"]
    cached = sum(r.cached for r in rows)
    lines = [f"{len(rows)} submission{'s' if len(rows) != 1 else ''}: {len(rows) - len(errors)} graded"
             + (f" ({cached} from the cache)" if cached else "") + f", {len(errors)} could not be graded"]
    lines.extend(f"  error  {r.submission.student}: {r.reason}" for r in errors)
    lines.append(f"wrote {out / 'grades.csv'}, {out / 'report.html'}, {out / 'feedback'}/")
    return lines


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


def _outcomes(options: BatchOptions, tasks: list[GradeTask], names: list[str],
              bundles: dict[str, Bundle]) -> Iterator[tuple[int, object]]:
    if options.scheduler:
        return _dask_outcomes(options, tasks, names, bundles)
    workers = min(options.pool_size, len(tasks)) or 1
    limit = process_time_limit(bundles, options.config)
    if options.grade_fn is not None:  # a stand-in grader (tests): one argument, no kernels
        return run_in_workers(options.grade_fn, tasks, workers, limit, GRADER_MODULES, should_stop=options.should_stop)
    # Each worker keeps warm kernels for the whole batch (cold ones where they cannot be).
    kernels = functools.partial(WarmKernels, options.config.sandbox, tasks[0].config.threads)
    return run_in_workers(grade_task, tasks, workers, limit, GRADER_MODULES, make_context=kernels,
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


def run_batch(options: BatchOptions, emit: Callable[[BatchRow], None] = lambda row: None,
              progress: Progress | None = None) -> list[BatchRow]:
    """Grade every submission the options name; write all outputs; return the rows, sorted.

    ``emit`` sees each row as it is recorded. Raises :class:`BatchUsageError` when there is
    nothing to grade or nothing to grade with.
    """
    progress = progress or NoProgress()
    bundles = list_bundles(options.autograder)
    _check_options(options, bundles)
    subs = collect_submissions(options.paths, {name: b.notebook_names for name, b in bundles.items()},
                               options.assignment)
    cache = ResultCache(options.out / "cache", options.autograder)
    rows: list[BatchRow] = []
    todo: list[Submission] = []
    # Cache keys are taken once, from the bytes as the batch found them.
    entries = {sub.key: cache.entry_path(sub, task_for(sub, options)) for sub in subs}
    progress.start(len(subs))
    for sub in subs:
        cached = cache.lookup(entries[sub.key], sub) if options.use_cache and not options.force else None
        if cached is None:
            todo.append(sub)
            continue
        rows.append(_finish(cached_row(sub, cached), options, emit))
        progress.advance(sub.student)
    tasks = [task_for(sub, options) for sub in todo]
    done: set[int] = set()
    try:
        if tasks:
            for index, outcome in _outcomes(options, tasks, [sub.key for sub in todo], bundles):
                row = row_from_outcome(todo[index], outcome, bundles)
                if row.status == "graded" and options.use_cache:
                    cache.store(entries[todo[index].key], row.result)  # atomic: a Ctrl-C leaves no half entry
                rows.append(_finish(row, options, emit))
                done.add(index)
                progress.advance(todo[index].student)
    except KeyboardInterrupt:
        # Interrupted: every submission still gets a row (those not graded say so), the files
        # agree with the cache, and the next run grades only what is missing.
        for index, sub in enumerate(todo):
            if index not in done:
                rows.append(row_from_outcome(sub, ProcessFailure(INTERRUPTED), bundles))
        _write_summary_files(rows, options)
        raise
    return _write_summary_files(rows, options)


INTERRUPTED = "not graded: the batch was interrupted (run it again to grade what is missing)"


def _write_summary_files(rows: list[BatchRow], options: BatchOptions) -> list[BatchRow]:
    rows.sort(key=lambda r: (r.submission.student, r.result.assignment, r.result.notebook, str(r.submission.path)))
    write_grades_csv(rows, options.out / "grades.csv")
    write_report(rows, options.out)
    return rows


def _finish(row: BatchRow, options: BatchOptions, emit: Callable[[BatchRow], None]) -> BatchRow:
    # Files are written as each grade arrives, so an interrupted batch keeps its work.
    write_row_files(row, options.out)
    emit(row)
    return row
