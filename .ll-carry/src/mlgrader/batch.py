"""``mlgrader grade-batch``: grade many submissions, in parallel or on a Dask cluster.

A batch finds the submissions, reuses grades it already has, grades the rest (each
notebook in a fresh process, or as a task on a Dask cluster), and writes::

    <out>/grades.csv              one row per submission: student, assignment, notebook,
                                  score, max_score, status, reason, path
    <out>/results/<student>.json  the full result (the ``grade --json`` object, plus
                                  student, status, reason, path)
    <out>/feedback/<student>.html the student's feedback page (mlgrader.report)
    <out>/report.html             the class report, linking to every feedback page
    <out>/cache/                  the resume cache

A grade is never silently missing: a submission that cannot be graded (no assignment can
be attached to it, the grading process was killed, the cluster lost the task) still gets
a row, with score 0, status ``error`` and the reason. Status ``graded`` means the grader
produced a grade, however low (a damaged notebook of a known assignment scores 0 with the
reason, like ``mlgrader grade``).

Finding submissions
-------------------
Each argument is a folder (searched recursively for ``*.ipynb``), a notebook file, or a
glob (``submitted/*/01-*/*.ipynb``; ``**`` recurses). Hidden folders, which include
Jupyter's ``.ipynb_checkpoints`` autosave copies, are skipped. An argument that names no
notebook is a usage error (exit 2): a mistyped folder must not look like an empty class.

Student ids (the first rule that applies, on the absolute path)
---------------------------------------------------------------
1. nbgrader: ``.../submitted/<student>/<assignment>/<notebook>.ipynb`` -> ``<student>``.
2. GitHub Classroom: a folder ``<assignment>-<student>`` above the notebook, where
   ``<assignment>`` is the name of a bundle in the autograder folder (name the
   Classroom assignment after the bundle) -> ``<student>``.
3. A notebook named after one of the bundles' notebooks (``alice/gradient_descent.ipynb``)
   -> the name of its folder (``alice``).
4. Otherwise the file name: ``alice.ipynb`` -> ``alice``.

Rules 1 and 2 also give the assignment from the path; it is used only when the notebook
itself names none (e.g. it is damaged), never to override it. File names under results/
and feedback/ are the student id reduced to letters, digits and ``._@-``; when a student
has several submissions in one batch, ``<student>--<assignment>--<notebook>`` (and a
``-2``, ``-3`` suffix for exact clashes).

Resume cache
------------
A result is reused when the submission's bytes (sha256), the grading inputs taken from its
path (file name, layout assignment, ``--assignment``), the assignment bundle (a hash of
its manifest and test files) and the mlgrader version all match. Only grades are cached,
never errors, so a crashed grade is retried on the next run.

Dask
----
``--scheduler ADDRESS`` runs :func:`grade_task`, the same pure function the local pool
runs, with ``Client(ADDRESS).map``. Tasks carry absolute paths: workers need the
submissions and the autograder folder at the same paths (a shared file system) and the
same mlgrader installed.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from . import __version__
from .bundle import MANIFEST, BundleError, find_bundle
from .grade import SubmissionError, grade_notebook
from .report import ReportRow, write_class_report, write_feedback
from .results import GradeResult, TestResult
from .sandbox import SandboxError

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
CSV_COLUMNS = ("student", "assignment", "notebook", "score", "max_score", "status", "reason", "path")
DEFAULT_NOTEBOOK_TIMEOUT = 900.0
# A grading process gets its notebook's time limit plus this much for kernel start,
# imports and the tests themselves; past that it is stuck in the grader and is stopped.
PROCESS_MARGIN_S = 300.0
MAX_REASON_CHARS = 300


class BatchUsageError(ValueError):
    """The command line cannot be acted on (exit status 2)."""


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
    grade_fn: Callable[["GradeTask"], "TaskOutcome"] | None = field(default=None, repr=False)

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


# --- finding submissions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    path: Path  # as found (relative when the argument was)
    student: str
    layout_assignment: str | None = None  # from the path (rules 1 and 2), a fallback only
    named_assignment: str | None = None  # what the notebook's metadata says, if readable
    key: str = ""  # file name (no suffix) under results/ and feedback/

    @property
    def assignment_guess(self) -> str | None:
        return self.named_assignment or self.layout_assignment


def known_notebooks(autograder: Path) -> dict[str, tuple[str, ...]]:
    """Bundle name -> its notebook names, read from each manifest (broken ones skipped)."""
    known = {}
    for manifest in sorted(Path(autograder).glob(f"*/{MANIFEST}")):
        try:
            data = json.loads(manifest.read_text())
            known[manifest.parent.name] = tuple(nb["name"] for nb in data["notebooks"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return known


def notebook_paths(arguments: Iterable[str]) -> list[Path]:
    """Every notebook the arguments name, once each, in a stable order."""
    seen: dict[Path, Path] = {}
    for argument in arguments:
        matches = _expand(argument)
        if not matches:
            raise BatchUsageError(f"{argument}: no notebooks found")
        for path in matches:
            seen.setdefault(path.resolve(), path)
    return sorted(seen.values())


def _expand(argument: str) -> list[Path]:
    path = Path(argument)
    if path.is_file():
        return [path]
    roots = [path] if path.is_dir() else [Path(p) for p in sorted(glob.glob(argument, recursive=True))]
    found = []
    for root in roots:
        if root.is_dir():
            found.extend(p for p in sorted(root.rglob("*.ipynb"))
                         if p.is_file() and not _hidden(p.relative_to(root)))
        elif root.is_file() and root.suffix == ".ipynb" and not _hidden(root):
            found.append(root)
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in relative.parts)


def student_from_path(path: Path, known: dict[str, tuple[str, ...]]) -> tuple[str, str | None]:
    """(student id, assignment named by the layout or None), by the module's rules."""
    parts = Path(os.path.abspath(path)).parts
    folders = parts[:-1]
    for i in range(len(folders) - 3, -1, -1):  # rule 1: .../submitted/<student>/<assignment>/...
        if folders[i] == "submitted":
            return folders[i + 1], folders[i + 2]
    for folder in reversed(folders):  # rule 2: <assignment>-<student>
        for assignment in sorted(known, key=len, reverse=True):
            if folder.startswith(assignment + "-") and len(folder) > len(assignment) + 1:
                return folder[len(assignment) + 1:], assignment
    notebook_names = {name for names in known.values() for name in names}
    if Path(path).stem in notebook_names and folders:  # rule 3
        return folders[-1], None
    return Path(path).stem, None  # rule 4


def named_assignment(path: Path) -> str | None:
    """The assignment the notebook's metadata names, or None (unreadable, no metadata).

    Only plain JSON is read here; this never runs anything from the submission.
    """
    try:
        data = json.loads(Path(path).read_bytes())
        value = data["metadata"]["mlgrader"]["assignment"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def collect_submissions(arguments: Iterable[str], known: dict[str, tuple[str, ...]],
                        assignment: str | None = None) -> list[Submission]:
    subs = []
    for path in notebook_paths(arguments):
        student, layout = student_from_path(path, known)
        layout = layout if layout in known else None  # a folder name that is no bundle is no hint
        subs.append(Submission(path, student, layout, assignment or named_assignment(path)))
    return with_keys(subs)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "submission"


def with_keys(subs: Sequence[Submission]) -> list[Submission]:
    """Give each submission a unique, file-safe key (see the module docstring)."""
    per_student: dict[str, int] = {}
    for sub in subs:
        per_student[safe_name(sub.student)] = per_student.get(safe_name(sub.student), 0) + 1
    used: set[str] = set()
    keyed = []
    for sub in subs:
        base = safe_name(sub.student)
        if per_student[base] > 1:
            base = "--".join([base, safe_name(sub.assignment_guess or "unknown"), safe_name(sub.path.stem)])
        key, n = base, 1
        while key in used:
            n += 1
            key = f"{base}-{n}"
        used.add(key)
        keyed.append(Submission(sub.path, sub.student, sub.layout_assignment, sub.named_assignment, key))
    return keyed


# --- grading one submission (runs in a worker process or on a Dask worker) --------------------


@dataclass(frozen=True)
class GradeTask:
    """What a worker needs: plain, picklable, absolute paths."""

    path: str
    autograder: str
    assignment: str | None = None  # --assignment
    fallback_assignment: str | None = None  # from the layout, when the notebook names none
    sandbox: str | None = None
    threads: int | None = None  # numpy/torch threads per kernel: cores // workers


@dataclass(frozen=True)
class TaskOutcome:
    status: str  # graded | error
    reason: str = ""
    result: dict | None = None  # GradeResult.to_dict()


def grade_task(task: GradeTask) -> TaskOutcome:
    """Grade one submission; never raises for anything the submission or bundle does."""
    path = Path(task.path)
    if not path.is_file():
        return TaskOutcome("error", f"{path} cannot be read on grader {socket.gethostname()} "
                                    "(Dask workers need the submissions on a shared file system)")
    try:
        try:
            result = grade_notebook(path, task.assignment, Path(task.autograder), mode=task.sandbox,
                                    threads=task.threads)
        except SubmissionError:
            if task.assignment or not task.fallback_assignment:
                raise
            # The notebook names no assignment (or cannot be read): the layout's one
            # still lets it get a grade, with the reason, instead of an error row.
            result = grade_notebook(path, task.fallback_assignment, Path(task.autograder), mode=task.sandbox,
                                    threads=task.threads)
    except (SubmissionError, BundleError, SandboxError) as exc:
        return TaskOutcome("error", str(exc))
    except Exception as exc:  # a grader bug must cost this submission, not the batch
        return TaskOutcome("error", f"the grader failed: {type(exc).__name__}: {exc}")
    return TaskOutcome("graded", "", result.to_dict())


# --- running tasks: fresh local processes, or Dask -------------------------------------------


@dataclass(frozen=True)
class ProcessFailure:
    """A task that returned nothing: its process died, ran too long, or the cluster failed."""

    reason: str


@dataclass
class _Job:
    process: Any
    reader: Any
    started: float


def _process_context():
    # forkserver: every grade gets a fresh, single-threaded process forked from a server
    # that imported the grader once (nbformat's import alone takes ~2 s). The preload is
    # the standard library's process-wide forkserver setting; it only takes effect when
    # that server first starts. spawn where forkserver does not exist (Windows).
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["mlgrader.batch"])
        return ctx
    return multiprocessing.get_context("spawn")


def _child_main(fn, task, conn) -> None:
    try:
        message = ("ok", fn(task))
    except BaseException as exc:  # reported as this task's failure
        message = ("raised", f"the grading process raised {type(exc).__name__}: {exc}")
    conn.send(message)
    conn.close()


def _death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the grading process was killed by {name}{hint} before it returned a grade"
    return f"the grading process exited with status {exitcode} before it returned a grade"


def _collect(job: _Job, time_limit: float | None) -> tuple[bool, object]:
    """(True, the job's value or failure) once it has ended; (False, None) while it runs."""
    if not job.reader.poll() and job.process.is_alive():
        if time_limit is not None and time.monotonic() - job.started > time_limit:
            job.process.kill()
            job.process.join()
            return True, ProcessFailure(f"the grading process ran past {time_limit:.0f} s and was stopped")
        return False, None
    # The child sent its message, or it ended and the pipe reads EOF. (Checking for data
    # before checking for life would race with a child that sends and exits in between.)
    try:
        kind, value = job.reader.recv()
    except (EOFError, OSError):  # it ended without a word: it died
        job.process.join()
        return True, ProcessFailure(_death_reason(job.process.exitcode))
    job.process.join(timeout=10)
    if job.process.is_alive():
        job.process.kill()
        job.process.join()
    return True, (value if kind == "ok" else ProcessFailure(value))


def run_in_fresh_processes(fn: Callable, tasks: Sequence, workers: int,
                           time_limit: float | None = None) -> Iterator[tuple[int, object]]:
    """Yield ``(index, fn(task))`` as tasks finish, each call in its own new process.

    A process that dies, is killed or overruns ``time_limit`` yields a
    :class:`ProcessFailure` for its task only; the others go on (unlike a
    ``ProcessPoolExecutor``, which breaks the whole pool when one worker dies).
    """
    ctx = _process_context()
    pending = list(enumerate(tasks))[::-1]
    running: dict[int, _Job] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                index, task = pending.pop()
                reader, writer = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child_main, args=(fn, task, writer), daemon=True)
                process.start()
                writer.close()  # so the reader sees EOF when the child dies
                running[index] = _Job(process, reader, time.monotonic())
            waitables = [j.reader for j in running.values()] + [j.process.sentinel for j in running.values()]
            multiprocessing.connection.wait(waitables, timeout=1.0)
            for index, job in list(running.items()):
                done, outcome = _collect(job, time_limit)
                if done:
                    del running[index]
                    job.reader.close()
                    yield index, outcome
    finally:  # interrupted: leave no grading process behind
        for job in running.values():
            job.process.kill()
            job.process.join()


def run_on_dask(address: str, fn: Callable, tasks: Sequence, names: Sequence[str]) -> Iterator[tuple[int, object]]:
    """Yield ``(index, fn(task))`` as a Dask cluster finishes each task."""
    from dask.distributed import Client, as_completed

    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise BatchUsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        # Explicit unique keys: the same path may hold new content next run, so results
        # must never be shared by key (pure=True would), and the dashboard shows students.
        run = uuid.uuid4().hex[:8]
        futures = client.map(fn, list(tasks), key=[f"mlgrader-grade-{name}-{run}" for name in names])
        index_of = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            try:
                value = future.result()
            except Exception as exc:  # KilledWorker, lost worker, ...: this task only
                value = ProcessFailure(f"the Dask task failed: {type(exc).__name__}: {exc}")
            yield index_of[future.key], value


# --- the resume cache ------------------------------------------------------------------------


def bundle_hash(bundle_dir: Path) -> str | None:
    """sha256 of what grading reads from a bundle: the manifest and every test file."""
    bundle_dir = Path(bundle_dir)
    files = [bundle_dir / MANIFEST] + sorted((bundle_dir / "tests").rglob("*.py"))
    digest = hashlib.sha256()
    try:
        for file in files:
            digest.update(file.relative_to(bundle_dir).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()


@dataclass
class ResultCache:
    folder: Path
    autograder: Path
    bundle_hashes: dict[str, str | None] = field(default_factory=dict)  # per batch, not global

    def current_bundle_hash(self, assignment: str) -> str | None:
        if assignment not in self.bundle_hashes:
            self.bundle_hashes[assignment] = bundle_hash(self.autograder / assignment)
        return self.bundle_hashes[assignment]

    def entry_path(self, sub: Submission, task: GradeTask) -> Path | None:
        """Where this submission's grade is kept; None when the file cannot be read now."""
        try:
            content = hashlib.sha256(sub.path.read_bytes()).hexdigest()
        except OSError:
            return None
        inputs = json.dumps([content, sub.path.name, task.assignment, task.fallback_assignment, __version__])
        return self.folder / f"{hashlib.sha256(inputs.encode()).hexdigest()}.json"

    def lookup(self, entry_path: Path | None, sub: Submission) -> GradeResult | None:
        if entry_path is None:
            return None
        try:
            entry = json.loads(entry_path.read_text())
            result = GradeResult.from_dict(entry["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if entry.get("version") != __version__ or entry.get("bundle") != self.current_bundle_hash(result.assignment):
            return None
        result.submission = str(sub.path)  # the same bytes may have been found elsewhere before
        return result

    def store(self, path: Path | None, result: GradeResult) -> None:
        bundle = self.current_bundle_hash(result.assignment)
        if path is None or bundle is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"version": __version__, "bundle": bundle, "result": result.to_dict()}))
        temporary.replace(path)  # atomic: a reader never sees half an entry


# --- rows and outputs ------------------------------------------------------------------------


@dataclass
class BatchRow:
    submission: Submission
    result: GradeResult
    status: str  # graded | error
    reason: str
    cached: bool = False

    def csv_record(self) -> dict:
        return {"student": self.submission.student, "assignment": self.result.assignment,
                "notebook": self.result.notebook, "score": _num(self.result.score),
                "max_score": _num(self.result.max_score), "status": self.status,
                "reason": self.reason, "path": str(self.submission.path)}

    def json_record(self) -> dict:
        return {"student": self.submission.student, "path": str(self.submission.path),
                "status": self.status, "reason": self.reason, "cached": self.cached,
                **self.result.to_dict()}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def reason_for(result: GradeResult) -> str:
    """Why a graded submission did not get full marks, in one line ("" when it did)."""
    parts = list(result.messages)
    lost = [t for t in result.tests if t.status != "passed"]
    if lost and not (result.messages and all(t.output == result.messages[0] for t in lost)):
        parts.append(f"{len(lost)} of {len(result.tests)} tests not passed: " + ", ".join(t.name for t in lost))
    return _one_line("; ".join(parts))


def error_result(sub: Submission, autograder: Path, reason: str) -> GradeResult:
    """A zero result for a submission the grader could not grade, shaped like its bundle when known."""
    assignment = sub.assignment_guess or ""
    result = GradeResult(assignment, 0.0, 0.0, submission=str(sub.path), messages=[reason])
    if not assignment:
        return result
    try:
        bundle = find_bundle(assignment, autograder)
        names = [nb.name for nb in bundle.notebooks]
        entry = bundle.notebook(sub.path.stem if sub.path.stem in names else None)
    except BundleError:
        return result
    result.notebook = entry.name
    result.max_score = entry.max_score
    result.tests = [TestResult(c.grade_id, 0.0, c.points, "error", reason) for c in entry.cells if c.kind == "test"]
    return result


def row_from_outcome(sub: Submission, outcome: object, autograder: Path) -> BatchRow:
    if isinstance(outcome, TaskOutcome) and outcome.status == "graded" and outcome.result is not None:
        result = GradeResult.from_dict(outcome.result)
        result.submission = str(sub.path)
        return BatchRow(sub, result, "graded", reason_for(result))
    if isinstance(outcome, (TaskOutcome, ProcessFailure)):
        reason = outcome.reason or "the grader returned no result"
    else:
        reason = f"the grader returned an unexpected {type(outcome).__name__}"
    reason = _one_line(reason)
    return BatchRow(sub, error_result(sub, autograder, reason), "error", reason)


def write_row_files(row: BatchRow, out: Path) -> None:
    key = row.submission.key
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    record = {"student": row.submission.student, "status": row.status, "reason": row.reason,
              "path": str(row.submission.path), **row.result.to_dict()}
    (results / f"{key}.json").write_text(json.dumps(record, indent=1) + "\n")
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
        return run_on_dask(options.scheduler, fn, tasks, names)
    workers = min(options.workers or default_workers(), len(tasks)) or 1
    return run_in_fresh_processes(fn, tasks, workers, process_time_limit(options.autograder))


def run_batch(options: BatchOptions, emit: Callable[[BatchRow], None] = lambda row: None) -> list[BatchRow]:
    """Grade every submission the options name; write all outputs; return the rows, sorted.

    Raises :class:`BatchUsageError` when there is nothing to grade or nothing to grade with.
    """
    if options.workers is not None and options.workers < 1:
        raise BatchUsageError(f"--workers must be at least 1 (got {options.workers})")
    known = known_notebooks(options.autograder)
    if not known:
        raise BatchUsageError(f"no autograder bundles in {options.autograder} (run `mlgrader build`)")
    if options.assignment and options.assignment not in known:
        raise BatchUsageError(f"no autograder bundle for assignment {options.assignment!r} in {options.autograder}")
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
            rows.append(_finish(BatchRow(sub, cached, "graded", reason_for(cached), cached=True), options, emit))
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


def record_in_gradebook(rows: Sequence[BatchRow], db_url: str):
    """Record the graded rows in an nbgrader gradebook. Error rows are left out: a
    grader failure is not a score of 0 that formgrader should show."""
    from .gradebook import record_grades

    graded = [r for r in rows if r.status == "graded"]
    return record_grades([r.result for r in graded], db_url, [r.submission.student for r in graded])


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


__all__ = ["grade_batch", "run_batch", "record_in_gradebook", "saved_results", "BatchOptions", "BatchRow", "BatchUsageError", "collect_submissions",
           "student_from_path", "grade_task", "GradeTask", "TaskOutcome", "run_in_fresh_processes", "run_on_dask"]
