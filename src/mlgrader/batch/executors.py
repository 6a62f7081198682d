"""Running a batch's tasks: on persistent local worker processes, or on a Dask cluster.

Both runners take a picklable function and tasks and yield ``(index, value)`` as each task
finishes, in whatever order they finish.

:func:`run_in_workers` keeps ``workers`` processes for the whole batch. Each makes its
*context* once (for grading: its warm kernels, :class:`mlgrader.sandbox.warm.WarmKernels`)
and then calls ``fn(task, context)`` for task after task, so that what is expensive to start
is paid once per worker, not once per task. A worker that dies (killed by the OOM killer, a
crash) costs only the task it held: that task is tried once more on a new worker, and if
it dies again it yields a :class:`ProcessFailure` with the reason. A task that runs past
``time_limit`` is stopped (its worker killed and replaced) and is not tried again.

:func:`run_on_dask` maps the same function over a Dask cluster; see there.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

from ..grading.memory import return_freed_memory


@dataclass(frozen=True)
class ProcessFailure:
    """A task that returned nothing: its worker died, it ran too long, or the cluster failed."""

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


def usable_cpus() -> int:
    """The CPUs this process may use (honours taskset and cgroup CPU pinning)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_workers() -> int:
    """The default pool size: one worker more than there are CPUs.

    A worker does not keep a core busy: it waits on its kernel (another process) for every
    cell and every call a test makes into it, and the kernel waits on the worker in turn.
    With one worker per CPU the cores idled: on 2 CPUs, 50 submissions of 01 took 10.4-12.6 s
    with 2 workers, 8.4-9.1 s with 3 and 8.7 s with 4; 05, whose kernels compute, took the
    same with 2 or 3 (13-16 s for 6 submissions). One more worker costs its private memory
    (25-226 MB, see benchmarks/grading_speed.md) and one more kernel.
    """
    return usable_cpus() + 1


def threads_per_worker(workers: int) -> int:
    """numpy/torch threads for each of ``workers`` kernels sharing this machine's cores."""
    return max(1, usable_cpus() // max(1, workers))


# --- persistent local workers ----------------------------------------------------------------


# Imported last by the process server: freezes what it imported for the garbage collector.
SERVER_FROZEN = "mlgrader.batch.server_frozen"


def _process_context(preload: Sequence[str]):
    # forkserver: workers are forked from a server that imported the grader once (nbformat's
    # import alone takes seconds), single-threaded. The preload is the standard library's
    # process-wide forkserver setting; it only takes effect when that server first starts.
    # spawn where forkserver does not exist (Windows).
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([*preload, SERVER_FROZEN])
        return ctx
    return multiprocessing.get_context("spawn")


def _worker_main(fn, make_context, conn) -> None:
    """A worker's life: make the context, run tasks until told to stop, close the context."""
    # Ctrl-C in a terminal reaches the whole process group: the batch (the parent) handles it
    # and stops the workers; a worker must not turn it into a failed grade of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The server froze what it imported (see server_frozen); this freezes what unpickling
    # this worker's function imported, before the collector can walk it.
    gc.freeze()
    context = make_context() if make_context is not None else None
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the batch is gone
                return
            if message is None:
                return
            index, task = message
            try:
                reply = ("ok", fn(task, context) if make_context is not None else fn(task))
            except BaseException as exc:  # reported as this task's failure; the worker goes on
                reply = ("raised", f"the grading process raised {type(exc).__name__}: {exc}")
            conn.send((index, reply))
            return_freed_memory()  # the task's garbage, so the worker does not grow task after task
    finally:
        if context is not None and hasattr(context, "close"):
            context.close()


def _death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the grading process was killed by {name}{hint} before it returned a grade"
    return f"the grading process exited with status {exitcode} before it returned a grade"


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: tuple[int, Any] | None = None  # (index, task) it holds
    started: float = 0.0  # when it got that task


@dataclass
class _Pool:
    """The parent's side of the workers: who holds what, what is left, how often each task died."""

    ctx: Any
    fn: Callable
    make_context: Callable | None
    pending: deque = field(default_factory=deque)  # (index, task)
    workers: list[_Worker] = field(default_factory=list)
    deaths: dict[int, int] = field(default_factory=dict)

    def start_worker(self) -> _Worker:
        parent, child = self.ctx.Pipe(duplex=True)
        process = self.ctx.Process(target=_worker_main, args=(self.fn, self.make_context, child), daemon=True)
        process.start()
        child.close()  # so that the parent reads EOF when the worker dies
        worker = _Worker(process, parent)
        self.workers.append(worker)
        return worker

    def dispatch(self) -> None:
        for worker in self.workers:
            if worker.task is None and self.pending:
                worker.task = self.pending.popleft()
                worker.started = time.monotonic()
                try:
                    worker.conn.send(worker.task)
                except (BrokenPipeError, OSError):
                    pass  # found dead at the next collect

    def replace(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        if self.pending or any(w.task is not None for w in self.workers):
            self.start_worker()

    def stop(self) -> None:
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + 30
        for worker in self.workers:
            worker.process.join(timeout=max(0.1, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.workers.clear()


def _collect(pool: _Pool, worker: _Worker, time_limit: float | None, retries: int) -> list[tuple[int, object]]:
    """What ``worker`` has finished (or how it failed), handling deaths and overruns; [] while it works."""
    if worker.conn.poll():
        try:
            index, (kind, value) = worker.conn.recv()
        except (EOFError, OSError):
            return _died(pool, worker, retries)
        worker.task = None
        return [(index, value if kind == "ok" else ProcessFailure(value))]
    if not worker.process.is_alive():
        return _died(pool, worker, retries)
    if worker.task is not None and time_limit is not None and time.monotonic() - worker.started > time_limit:
        index = worker.task[0]
        worker.task = None
        pool.replace(worker)
        return [(index, ProcessFailure(f"the grading process ran past {time_limit:.0f} s and was stopped"))]
    return []


def _died(pool: _Pool, worker: _Worker, retries: int) -> list[tuple[int, object]]:
    worker.process.join(timeout=5)  # its pipe may close a moment before its exit status is known
    held, reason = worker.task, _death_reason(worker.process.exitcode)
    worker.task = None
    if held is not None:
        pool.deaths[held[0]] = pool.deaths.get(held[0], 0) + 1
        if pool.deaths[held[0]] <= retries:
            pool.pending.appendleft(held)  # once more, on the worker that replaces this one
    pool.replace(worker)
    if held is None or pool.deaths[held[0]] <= retries:
        return []
    return [(held[0], ProcessFailure(f"{reason} (it was tried {pool.deaths[held[0]]} times)"))]


def run_in_workers(fn: Callable, tasks: Sequence, workers: int, time_limit: float | None = None,
                   preload: Sequence[str] = (), make_context: Callable | None = None,
                   retries: int = 1, should_stop: Callable[[], bool] | None = None) -> Iterator[tuple[int, object]]:
    """Yield ``(index, fn(task[, context]))`` as tasks finish, on ``workers`` persistent processes.

    ``make_context`` (picklable, called once in each worker) makes what the worker keeps
    between tasks; ``fn`` then gets it as its second argument. ``preload`` names modules the
    process server imports once for all workers. A task whose worker dies is tried
    ``retries`` more times; a task past ``time_limit`` seconds is stopped. When
    ``should_stop()`` turns true (the user pressed Ctrl-C) the workers are stopped and
    KeyboardInterrupt is raised here, at a point where the caller can keep what it has.
    """
    pool = _Pool(_process_context(preload), fn, make_context, deque(enumerate(tasks)))
    for _ in range(min(max(1, workers), len(pool.pending))):
        pool.start_worker()
    try:
        while pool.pending or any(w.task is not None for w in pool.workers):
            pool.dispatch()
            waitables = [w.conn for w in pool.workers] + [w.process.sentinel for w in pool.workers]
            multiprocessing.connection.wait(waitables, timeout=0.5)
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt
            for worker in list(pool.workers):
                yield from _collect(pool, worker, time_limit, retries)
    finally:  # finished or interrupted: leave no grading process behind
        pool.stop()


# --- Dask ------------------------------------------------------------------------------------


def run_on_dask(address: str, fn: Callable, tasks: Sequence, names: Sequence[str],
                shared: dict[str, object] | None = None, plugin: object | None = None) -> Iterator[tuple[int, object]]:
    """Yield ``(index, fn(task, **shared))`` as a Dask cluster finishes each task.

    ``shared`` values are sent to every worker once (``scatter(broadcast=True)``), not
    with every task; ``plugin`` is registered as a worker plugin (for grading: the worker's
    warm kernels). Raises :class:`SchedulerUnreachable` when no scheduler answers at
    ``address``.
    """
    from dask.distributed import Client, as_completed

    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        if plugin is not None:
            client.register_plugin(plugin)
        extra = {name: client.scatter(value, broadcast=True, hash=False) for name, value in (shared or {}).items()}
        # Explicit unique keys: the same path may hold new content next run, so results
        # must never be shared by key (pure=True would), and the dashboard shows students.
        run = uuid.uuid4().hex[:8]
        futures = client.map(fn, list(tasks), key=[f"mlgrader-grade-{name}-{run}" for name in names], **extra)
        index_of = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            try:
                value = future.result()
            except Exception as exc:  # KilledWorker, lost worker, ...: this task only
                value = ProcessFailure(f"the Dask task failed: {type(exc).__name__}: {exc}")
            yield index_of[future.key], value
