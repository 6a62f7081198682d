"""Run code in a sandboxed Jupyter kernel with limits.

:class:`SandboxKernel` starts a real IPython kernel (ipykernel, driven by nbclient) in a
private working directory and runs cells in it, one at a time, each with a time limit.
It knows nothing about notebooks, tests or grades: it executes code and reports what
happened as a :class:`CellRun`.

Two modes, chosen by :func:`choose_mode`:

``bubblewrap``
    The kernel runs under bubblewrap in new user, pid, network, ipc and uts namespaces:
    no network, a read-only system (only the Python installation is visible, never the
    course directory, the autograder bundle or a gradebook), a private /tmp and one
    writable scratch directory. The kernel talks to the grader over Unix sockets in that
    directory (ZeroMQ ``ipc`` transport), which works without a network.
``subprocess``
    Where namespaces are unavailable (some containers): a plain process in the scratch
    directory. The same resource limits apply, and as root it runs as an unprivileged
    user; but the file system and the network are not hidden. Results say which mode ran.

In both modes :mod:`mlgrader.sandbox_exec` applies the limits (memory, processes, file
size, CPU time) before the kernel starts, so they bind everything the student starts.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from .results import clip_text

MODES = ("bubblewrap", "subprocess")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Replies larger than this close the connection instead of filling the grader's memory.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
MAX_ERROR_CHARS = 20_000  # of an exception's text kept for feedback



class SandboxError(RuntimeError):
    """The sandbox could not be set up (not the student's fault)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel."""

    memory_mb: int = 6144
    max_processes: int = 256
    file_size_mb: int = 512
    cpu_seconds: int = 3600
    output_bytes: int = 200_000  # per cell, kept for feedback; the rest is dropped
    startup_timeout: float = 60.0
    # CPU threads for numpy/torch. Several kernels each spinning up one thread per core
    # on a small machine stall each other badly; batch graders set cores // workers.
    threads: int | None = None


@dataclass
class CellRun:
    """What happened when one piece of code ran in the kernel."""

    status: str  # ok | error | timeout | died
    outputs: list = field(default_factory=list)
    seconds: float = 0.0
    error_name: str | None = None
    error_value: str | None = None
    traceback: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def text(self) -> str:
        """Plain text of stream and text outputs, without ANSI colours."""
        return outputs_text(self.outputs)


def outputs_text(outputs: list) -> str:
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])))
    return _ANSI.sub("", "".join(p if p.endswith("\n") else p + "\n" for p in parts if p))


# --- choosing a mode -------------------------------------------------------------------


def bubblewrap_works() -> bool:
    """Whether bubblewrap can create the namespaces we need on this host."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    probe = [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose_mode(requested: str | None = None) -> str:
    """``requested`` (or $MLGRADER_SANDBOX) if given, else bubblewrap when it works."""
    requested = requested or os.environ.get("MLGRADER_SANDBOX") or "auto"
    if requested == "auto":
        return "bubblewrap" if bubblewrap_works() else "subprocess"
    if requested not in MODES:
        raise SandboxError(f"unknown sandbox mode {requested!r} (choose auto, {', '.join(MODES)})")
    if requested == "bubblewrap" and not bubblewrap_works():
        raise SandboxError("bubblewrap was requested but cannot create namespaces here (is `bwrap` installed?)")
    return requested


# --- the kernel command ------------------------------------------------------------------


def _python_roots() -> list[str]:
    """Folders the kernel needs to read: the interpreter, its packages, mlgrader itself."""
    import mlgrader

    roots = {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix),
             str(Path(mlgrader.__file__).resolve().parent.parent)}
    for entry in sys.path:
        if entry and "-packages" in entry and os.path.isdir(entry):
            roots.add(entry)
    return sorted(r for r in roots if os.path.isdir(r))


def _bubblewrap_argv(workdir: Path, readonly: list[str], inner: list[str]) -> list[str]:
    """bubblewrap around ``inner`` (the limiter, which drops to the sandbox user)."""
    # As root we let bubblewrap build the sandbox with real privileges and drop to an
    # unprivileged uid inside it (so RLIMIT_NPROC binds); otherwise a user namespace.
    unshare = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        unshare.append("--unshare-user")
    argv = ["bwrap", "--die-with-parent", "--new-session", *unshare]
    for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    # A private /tmp first: the binds below may lie under /tmp (a venv in a temporary
    # clone) and must land on top of it, not be hidden by it.
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    binds = [*_python_roots(), *readonly]
    # bubblewrap creates missing parent folders 0700; the sandbox user must traverse them.
    for parent in sorted({str(a) for b in binds + [str(workdir)] for a in Path(b).parents
                          if str(a) not in ("/", "/tmp")}):
        argv += ["--perms", "0755", "--dir", parent]
    for path in binds:
        argv += ["--ro-bind", path, path]
    for dev in sorted(Path("/dev").glob("nvidia*")):  # GPU grading, where there is one
        argv += ["--dev-bind", str(dev), str(dev)]
    argv += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    # The kernel's parent is bubblewrap's init inside the pid namespace; tell ipykernel
    # not to treat that as "parent died" (bubblewrap kills the kernel with its parent).
    argv += ["--setenv", "JPY_PARENT_PID", "1"]
    return argv + ["--", *inner]


def _sandbox_uid(mode: str) -> int | None:
    """An unprivileged uid of its own when we are root (so RLIMIT_NPROC binds).

    In the fallback mode that is only possible when the interpreter is readable by other
    users (a Python under /root is not); then the kernel keeps our uid.
    """
    if os.geteuid() != 0:
        return None
    if mode == "subprocess" and not all(_world_traversable(p) for p in _python_roots()):
        return None
    return 200_000 + random.SystemRandom().randrange(100_000)


def _world_traversable(path: str) -> bool:
    for folder in [Path(path), *Path(path).parents]:
        try:
            if not folder.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _process_budget(limits: Limits, uid: int | None) -> int:
    if uid is not None:
        return limits.max_processes
    # Without a uid of its own the limit counts all of this user's processes.
    mine = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _owned_by_me(p))
    return mine + limits.max_processes


def _owned_by_me(proc: Path) -> bool:
    try:
        return proc.stat().st_uid == os.getuid()
    except OSError:
        return False


def kernel_argv(mode: str, workdir: Path, limits: Limits, uid: int | None, readonly: list[str]) -> list[str]:
    limiter = [
        sys.executable, "-m", "mlgrader.sandbox_exec",
        "--memory-mb", str(limits.memory_mb),
        "--nproc", str(_process_budget(limits, uid)),
        "--fsize-mb", str(limits.file_size_mb),
        "--cpu-s", str(limits.cpu_seconds),
    ]
    if uid is not None:
        limiter += ["--uid", str(uid), "--chown", "{connection_file}"]
    limited_kernel = [*limiter, "--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if mode == "bubblewrap":
        return _bubblewrap_argv(workdir, readonly, limited_kernel)
    return limited_kernel


def kernel_env(workdir: Path, extra: dict[str, str] | None = None, threads: int | None = None) -> dict[str, str]:
    """A small, explicit environment: nothing of the grader's secrets leaks in."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(workdir),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(workdir / ".config" / "matplotlib"),
        "TORCH_HOME": str(workdir / ".cache" / "torch"),
        "MLGRADER_OFFLINE": "1",
        # The sandbox uid has no /etc/passwd entry; getpass.getuser() (torch's compile
        # cache, for one) reads these first instead of failing with "uid not found".
        "USER": "student",
        "LOGNAME": "student",
    }
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                 "MLGRADER_DATA", "CUDA_VISIBLE_DEVICES"):
        if name in os.environ:
            env[name] = os.environ[name]
    if threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(threads)
        # Sharing cores with other kernels: idle OpenMP threads must sleep, not spin
        # (measured: a CNN epoch loop 64.6 s spinning vs 33.3 s passive with one core busy).
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    env.update(extra or {})
    return env


# --- the kernel ------------------------------------------------------------------------


class _CappedClient(NotebookClient):
    """nbclient's executor, keeping at most ``output_bytes`` of output per cell."""

    def __init__(self, *args, output_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._output_bytes = output_bytes
        self._seen: dict[int, int] = {}
        self.truncated_cells: set[int] = set()
        self.reply_cells: dict[int, str] = {}  # request cells -> the MIME type of their reply

    def output(self, outs, msg, display_id, cell_index):
        # The first reply a request cell waits for passes uncapped (its size is bounded by
        # MAX_MESSAGE_BYTES); everything else counts against the cell's output budget.
        data = msg.get("content", {}).get("data")
        mime = self.reply_cells.get(cell_index)
        if (mime and isinstance(data, dict) and mime in data
                and not any(mime in o.get("data", {}) for o in outs)):
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._seen.get(cell_index, 0) + size
        self._seen[cell_index] = used
        if used > self._output_bytes:
            if cell_index not in self.truncated_cells:
                self.truncated_cells.add(cell_index)
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"[mlgrader: output beyond {self._output_bytes} bytes was dropped]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


class SandboxKernel:
    """One sandboxed kernel: ``with SandboxKernel(workdir, limits) as k: k.run(code, 30)``."""

    def __init__(self, workdir: Path, limits: Limits | None = None, mode: str | None = None,
                 readonly_paths: list[str] | None = None, env: dict[str, str] | None = None):
        self.workdir = Path(workdir).resolve()
        self.limits = limits or Limits()
        self.mode = choose_mode(mode)
        self._readonly = [str(Path(p).resolve()) for p in (readonly_paths or []) if Path(p).exists()]
        self._env = env
        self._client: _CappedClient | None = None
        self._specdir: tempfile.TemporaryDirectory | None = None
        self._last_error_reply: dict | None = None
        self.dead = False

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> "SandboxKernel":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        uid = _sandbox_uid(self.mode)
        self.isolated_user = uid is not None
        if uid is not None:
            os.chown(self.workdir, uid, uid)
            for p in self.workdir.rglob("*"):
                os.lchown(p, uid, uid)
        # The kernel spec lives outside the scratch directory: student code cannot alter it.
        self._specdir = tempfile.TemporaryDirectory(prefix="mlgrader-spec-")
        spec = Path(self._specdir.name) / "kernels" / "mlgrader-sandbox"
        spec.mkdir(parents=True)
        argv = kernel_argv(self.mode, self.workdir, self.limits, uid, self._readonly)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": "mlgrader sandbox", "language": "python",
            "interrupt_mode": "message",  # signals cannot reach a kernel inside bubblewrap
        }))
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        km = AsyncKernelManager(
            kernel_name="mlgrader-sandbox",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
            transport="ipc",
            ip=str(self.workdir / ".kernel"),
            connection_file=str(self.workdir / ".kernel.json"),
            context=context,
        )
        nb = nbformat.v4.new_notebook()
        self._client = _CappedClient(
            nb, km=km, allow_errors=True, interrupt_on_timeout=True,
            error_on_timeout={"ename": "CellTimeout", "evalue": "time limit reached", "traceback": []},
            startup_timeout=int(self.limits.startup_timeout), output_bytes=self.limits.output_bytes,
            resources={"metadata": {"path": str(self.workdir)}},
            on_cell_error=self._remember_error,
        )
        try:
            self._client.start_new_kernel(env=kernel_env(self.workdir, self._env, self.limits.threads))
            self._client.start_new_kernel_client()
        except Exception as exc:
            self.stop()
            raise SandboxError(f"the sandboxed kernel did not start ({self.mode} mode): {exc}") from exc

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.km is not None:
            try:
                if client.kc is not None:
                    client.kc.stop_channels()
                run_sync(client.km.shutdown_kernel)(now=True)
            except Exception:  # the kernel may be long dead; nothing to clean then
                pass
            try:
                run_sync(client.km.cleanup_resources)()
            except Exception:
                pass
        if self._specdir is not None:
            self._specdir.cleanup()
            self._specdir = None

    # -- running code ---------------------------------------------------------------------

    def _remember_error(self, cell, cell_index, execute_reply):
        self._last_error_reply = execute_reply.get("content", {})

    def run(self, code: str, timeout: float, store_history: bool = True, _probe: bool = True,
            reply_mime: str | None = None) -> CellRun:
        """Run ``code``; never raises for anything the code does."""
        if self._client is None or self.dead:
            return CellRun("died", error_name="KernelDied", error_value="the kernel is not running")
        client = self._client
        cell = nbformat.v4.new_code_cell(code)
        client.nb.cells.append(cell)
        index = len(client.nb.cells) - 1
        if reply_mime:
            client.reply_cells[index] = reply_mime
        client.timeout = max(1, int(round(timeout)))
        self._last_error_reply = None
        started = time.monotonic()
        try:
            client.execute_cell(cell, index, store_history=store_history)
        except DeadKernelError:
            self.dead = True
            return CellRun("died", list(cell.outputs), time.monotonic() - started, "KernelDied",
                           "the kernel died", truncated=index in client.truncated_cells)
        except Exception as exc:  # a message we could not even decode: stop trusting this kernel
            self.dead = True
            return CellRun("died", [], time.monotonic() - started, "ProtocolError",
                           f"the kernel sent a message the grader could not read ({type(exc).__name__})")
        finally:
            client.nb.cells[index] = nbformat.v4.new_code_cell("")  # don't keep old outputs
        seconds = time.monotonic() - started
        run = CellRun("ok", list(cell.outputs), seconds, truncated=index in client.truncated_cells)
        reply = self._last_error_reply
        if reply is not None:
            run.status = "timeout" if reply.get("ename") == "CellTimeout" else "error"
            run.error_name = clip_text(str(reply.get("ename")), 200)
            run.error_value = clip_text(str(reply.get("evalue")), MAX_ERROR_CHARS)
            lines = reply.get("traceback", [])
            run.traceback = clip_text(_ANSI.sub("", "\n".join(map(str, lines if isinstance(lines, list) else []))),
                                  MAX_ERROR_CHARS)
        if run.status == "timeout" and _probe and not self._responsive():
            self.dead = True
        return run

    def _responsive(self) -> bool:
        """After an interrupted cell: does the kernel answer again within a few seconds?"""
        probe = self.run("pass", timeout=10, store_history=False, _probe=False)
        return probe.status == "ok"
