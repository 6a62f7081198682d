"""``mlgrader grade-batch``: grade many submissions, in parallel or on a Dask cluster.

A batch finds the submissions (:mod:`mlgrader.submissions`), reuses grades it already has
(:mod:`mlgrader.result_cache`), grades the rest (:func:`mlgrader.grade_task.grade_task`,
each notebook in a fresh process or as a task on a Dask cluster: :mod:`mlgrader.runners`),
records a row per submission (:mod:`mlgrader.batch_rows`) and writes::

    <out>/grades.csv              one row per submission: student, assignment, notebook,
                                  score, max_score, status, reason, path
    <out>/results/<student>.json  the full result (the ``grade --json`` object, plus
                                  student, status, reason, path)
    <out>/feedback/<student>.html the student's feedback page (mlgrader.report)
    <out>/report.html             the class report, linking to every feedback page
    <out>/cache/                  the resume cache

A grade is never silently missing: a submission that cannot be graded still gets a row,
with score 0, status ``error`` and the reason (see :mod:`mlgrader.batch_rows`).

Dask
----
``--scheduler ADDRESS`` runs :func:`~mlgrader.grade_task.grade_task`, the same pure
function the local pool runs, with ``Client(ADDRESS).map``. Tasks carry absolute paths:
workers need the submissions and the autograder folder at the same paths (a shared file
system) and the same mlgrader installed.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .batch_rows import CSV_COLUMNS, BatchRow, cached_row, row_from_outcome
from .bundle import MANIFEST
from .grade_task import GradeTask, TaskOutcome, grade_task
from .report import ReportRow, write_class_report, write_feedback
from .result_cache import ResultCache
from .results import GradeResult
from .runners import ProcessFailure, SchedulerUnreachable, run_in_fresh_processes, run_on_dask
from .submissions import BatchUsageError, Submission, collect_submissions, known_notebooks, student_from_path

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
DEFAULT_NOTEBOOK_TIMEOUT = 900.0
# A grading process gets its notebook's time limit plus this much for kernel start,
# imports and the tests themselves; past that it is stuck in the grader and is stopped.
PROCESS_MARGIN_S = 300.0
# What the local process server imports once, so that each grading process starts warm.
GRADER_MODULES = (grade_task.__module__,)


# --- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOptions:
    paths: tuple[str, ...]
    out: Path = Path("grades")
    autograder: Path = Path("autograder")
    assignment: str | None = None
    workers: int | None = None  # None: the CPUs this process may use
    scheduler: str | None = None
    sandbox: str | None = None
    json: bool = False
    use_cache: bool = True  # False (--no-cache): neither read nor write the cache
    force: bool = False  # True (--force): regrade everything, then refresh the cache
    gradebook: str | None = None  # nbgrader db URL (--gradebook): also record the grades there
    # The function each worker runs; replaceable so tests can make a worker die.
    grade_fn: Callable[[GradeTask], TaskOutcome] | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args) -> "BatchOptions":
        # --no-cache, --force and --gradebook are read with getattr: cli.py may not have them yet.
        return cls(paths=tuple(args.paths), out=Path(args.out), autograder=Path(args.autograder),
                   assignment=args.assignment, workers=args.workers, scheduler=args.scheduler,
                   sandbox=args.sandbox, json=bool(args.json),
                   use_cache=not getattr(args, "no_cache", False), force=bool(getattr(args, "force", False)),
                   gradebook=getattr(args, "gradebook", None))


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset/cgroup CPU pinning
    except AttributeError:
        return os.cpu_count() or 1


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


def saved_results(out: Path) -> tuple[list[GradeResult], list[str]]:
    """The graded results of an earlier batch and their students, from ``<out>/results/``
    (for recording them in a gradebook later)."""
    results, students = [], []
    for path in sorted((Path(out) / "results").glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("status") == "graded":
            results.append(GradeResult.from_dict(data))
            students.append(data["student"])
    return results, students


def record_in_gradebook(rows: Sequence[BatchRow], db_url: str):
    """Record the graded rows in an nbgrader gradebook. Error rows are left out: a
    grader failure is not a score of 0 that formgrader should show."""
    from .gradebook import record_grades

    graded = [r for r in rows if r.status == "graded"]
    return record_grades([r.result for r in graded], db_url, [r.submission.student for r in graded])


# --- the batch -------------------------------------------------------------------------------


def process_time_limit(autograder: Path) -> float:
    """Longest notebook time limit among the bundles, plus the grader's margin."""
    longest = DEFAULT_NOTEBOOK_TIMEOUT
    for manifest in Path(autograder).glob(f"*/{MANIFEST}"):
        try:
            longest = max([longest] + [float(nb["timeout"]) for nb in json.loads(manifest.read_text())["notebooks"]])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return longest + PROCESS_MARGIN_S


def task_for(sub: Submission, options: BatchOptions) -> GradeTask:
    # Local workers share this machine's cores; Dask workers size themselves.
    threads = None if options.scheduler else max(1, default_workers() // (options.workers or default_workers()))
    return GradeTask(str(sub.path.absolute()), str(options.autograder.absolute()), options.assignment,
                     sub.layout_assignment, options.sandbox, threads)


def _outcomes(options: BatchOptions, tasks: list[GradeTask], names: list[str]) -> Iterator[tuple[int, object]]:
    fn = options.grade_fn or grade_task
    if options.scheduler:
        return _dask_outcomes(options.scheduler, fn, tasks, names)
    workers = min(options.workers or default_workers(), len(tasks)) or 1
    return run_in_fresh_processes(fn, tasks, workers, process_time_limit(options.autograder), GRADER_MODULES)


def _dask_outcomes(address: str, fn: Callable, tasks: list[GradeTask], names: list[str]) -> Iterator[tuple[int, object]]:
    try:
        yield from run_on_dask(address, fn, tasks, names)
    except SchedulerUnreachable as exc:  # a wrong --scheduler is a usage error, like a wrong path
        raise BatchUsageError(str(exc)) from None


def _check_options(options: BatchOptions, known: dict[str, tuple[str, ...]]) -> None:
    if options.workers is not None and options.workers < 1:
        raise BatchUsageError(f"--workers must be at least 1 (got {options.workers})")
    if not known:
        raise BatchUsageError(f"no autograder bundles in {options.autograder} (run `mlgrader build`)")
    if options.assignment and options.assignment not in known:
        raise BatchUsageError(f"no autograder bundle for assignment {options.assignment!r} in {options.autograder}")


def run_batch(options: BatchOptions, emit: Callable[[BatchRow], None] = lambda row: None) -> list[BatchRow]:
    """Grade every submission the options name; write all outputs; return the rows, sorted.

    Raises :class:`BatchUsageError` when there is nothing to grade or nothing to grade with.
    """
    known = known_notebooks(options.autograder)
    _check_options(options, known)
    subs = collect_submissions(options.paths, known, options.assignment)
    cache = ResultCache(options.out / "cache", options.autograder)
    rows: list[BatchRow] = []
    todo: list[Submission] = []
    # Cache keys are taken once, from the bytes as the batch found them.
    entries = {sub.key: cache.entry_path(sub, task_for(sub, options)) for sub in subs}
    with _ProgressBar(len(subs)) as advance:
        for sub in subs:
            cached = cache.lookup(entries[sub.key], sub) if options.use_cache and not options.force else None
            if cached is None:
                todo.append(sub)
                continue
            rows.append(_finish(cached_row(sub, cached), options, emit))
            advance(sub.student)
        tasks = [task_for(sub, options) for sub in todo]
        if tasks:
            for index, outcome in _outcomes(options, tasks, [sub.key for sub in todo]):
                row = row_from_outcome(todo[index], outcome, options.autograder)
                if row.status == "graded" and options.use_cache:
                    cache.store(entries[todo[index].key], row.result)
                rows.append(_finish(row, options, emit))
                advance(todo[index].student)
    rows.sort(key=lambda r: (r.submission.student, r.result.assignment, r.result.notebook, str(r.submission.path)))
    write_grades_csv(rows, options.out / "grades.csv")
    write_report(rows, options.out)
    return rows


def _finish(row: BatchRow, options: BatchOptions, emit: Callable[[BatchRow], None]) -> BatchRow:
    # Files are written as each grade arrives, so an interrupted batch keeps its work.
    write_row_files(row, options.out)
    emit(row)
    return row


class _ProgressBar:
    """A rich progress bar on stderr, silent when stderr is not a terminal."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 # student ids come from folder names: never rich markup
                                 TextColumn("{task.description}", markup=False), console=console,
                                 disable=not console.is_terminal)
        self.task = self.progress.add_task("", total=total)

    def __enter__(self) -> Callable[[str], None]:
        self.progress.__enter__()
        return lambda student: self.progress.update(self.task, advance=1, description=student)

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)


# --- the command -----------------------------------------------------------------------------


def exit_status(rows: Sequence[BatchRow]) -> int:
    return EXIT_PROBLEM if any(r.status != "graded" for r in rows) else EXIT_OK


def summary_lines(rows: Sequence[BatchRow], out: Path) -> list[str]:
    errors = [r for r in rows if r.status != "graded"]
    cached = sum(r.cached for r in rows)
    lines = [f"{len(rows)} submission{'s' if len(rows) != 1 else ''}: {len(rows) - len(errors)} graded"
             + (f" ({cached} from the cache)" if cached else "") + f", {len(errors)} could not be graded"]
    lines.extend(f"  error  {r.submission.student}: {r.reason}" for r in errors)
    lines.append(f"wrote {out / 'grades.csv'}, {out / 'report.html'}, {out / 'feedback'}/")
    return lines


def grade_batch(args) -> int:
    """The ``grade-batch`` command: exit 0 when every submission got a grade (even 0),
    1 when some could only be recorded as errors, 2 on bad arguments."""
    options = BatchOptions.from_args(args)

    def emit(row: BatchRow) -> None:
        if options.json:
            print(json.dumps(row.json_record()), flush=True)

    try:
        rows = run_batch(options, emit)
    except BatchUsageError as exc:
        print(f"mlgrader grade-batch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # With --json, stdout carries only the JSON lines.
    stream = sys.stderr if options.json else sys.stdout
    for line in summary_lines(rows, options.out):
        print(line, file=stream)
    if options.gradebook:
        try:
            written = record_in_gradebook(rows, options.gradebook)
        except Exception as exc:  # grades.csv is written already; say why the extra step failed
            print(f"mlgrader grade-batch: could not record grades in {options.gradebook}: {exc}", file=sys.stderr)
            return EXIT_PROBLEM
        print(f"recorded {written.recorded} grades in {options.gradebook}", file=stream)
    return exit_status(rows)


# The batch's public names, some defined in the modules it is made of (imported from here
# by earlier callers).
__all__ = ["grade_batch", "run_batch", "record_in_gradebook", "saved_results", "BatchOptions", "BatchRow",
           "BatchUsageError", "collect_submissions", "student_from_path", "grade_task", "GradeTask", "TaskOutcome",
           "ProcessFailure", "run_in_fresh_processes", "run_on_dask"]
