"""Running a batch's tasks: each in a fresh local process, or on a Dask cluster.

Both runners take any picklable function and tasks and yield ``(index, value)`` as each
task finishes, in whatever order they finish. A task that returns nothing (its process
died, ran too long, or the cluster lost it) yields a :class:`ProcessFailure` for that task
only; the others go on.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, Sequence


@dataclass(frozen=True)
class ProcessFailure:
    """A task that returned nothing: its process died, ran too long, or the cluster failed."""

    reason: str


class SchedulerUnreachable(ConnectionError):
    """No Dask scheduler answered at the address given."""


class Progress(Protocol):
    """Where a long job reports how far it is (the command line draws a bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, label: str) -> None: ...


class NoProgress:
    """A :class:`Progress` that shows nothing."""

    def start(self, total: int) -> None:
        pass

    def advance(self, label: str) -> None:
        pass


def default_workers() -> int:
    """The CPUs this process may use (honours taskset and cgroup CPU pinning): the default pool size."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """numpy/torch threads for each of ``workers`` kernels sharing this machine's cores."""
    return max(1, default_workers() // max(1, workers))


# --- fresh local processes -------------------------------------------------------------------


@dataclass
class _Job:
    process: Any
    reader: Any
    started: float


def _process_context(preload: Sequence[str]):
    # forkserver: every grade gets a fresh, single-threaded process forked from a server
    # that imported the grader once (nbformat's import alone takes ~2 s). The preload is
    # the standard library's process-wide forkserver setting; it only takes effect when
    # that server first starts. spawn where forkserver does not exist (Windows).
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))
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


def run_in_fresh_processes(fn: Callable, tasks: Sequence, workers: int, time_limit: float | None = None,
                           preload: Sequence[str] = ()) -> Iterator[tuple[int, object]]:
    """Yield ``(index, fn(task))`` as tasks finish, each call in its own new process.

    A process that dies, is killed or overruns ``time_limit`` yields a
    :class:`ProcessFailure` for its task only; the others go on (unlike a
    ``ProcessPoolExecutor``, which breaks the whole pool when one worker dies).
    ``preload`` names modules the process server imports once for all the processes.
    """
    ctx = _process_context(preload)
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


# --- Dask ------------------------------------------------------------------------------------


def run_on_dask(address: str, fn: Callable, tasks: Sequence, names: Sequence[str]) -> Iterator[tuple[int, object]]:
    """Yield ``(index, fn(task))`` as a Dask cluster finishes each task.

    Raises :class:`SchedulerUnreachable` when no scheduler answers at ``address``.
    """
    from dask.distributed import Client, as_completed

    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {exc}") from None
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
