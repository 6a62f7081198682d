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
    Where namespaces are unavailable (some containers, CI runners that restrict user
    namespaces): a plain process in the scratch directory. The same resource limits apply,
    and as root it runs as an unprivileged user (reaching a Python that user could not read
    through descriptors, or refusing to grade). Where the host has Linux Landlock the kernel
    may read only its Python, the system's programs and libraries, a few files of /etc and
    the data it is given, write only its scratch directory (its /tmp is a folder there), and
    with Landlock ABI 4 open no TCP connection (see :func:`landlock_rules`); without
    Landlock the file system and the network are not hidden. Results say which mode ran
    and, in this one, what Landlock restricted (:attr:`SandboxKernel.landlock`).

In both modes :mod:`mlgrader.sandbox_exec` applies the limits (memory, processes, file
size, CPU time) before the kernel starts, so they bind everything the student starts. As
root, each kernel has a uid of its own, and stopping it kills every process of that uid.
The grader reads no output message larger than it could keep, and stops a kernel whose
cell floods it with output.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError

from . import landlock
from .kernel_client import MAX_MESSAGE_BYTES, BoundedKernelClient, CappedClient
from .results import clip_text

MODES = ("bubblewrap", "subprocess")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_ERROR_CHARS = 20_000  # of an exception's text kept for feedback
# Messages the grader holds queued, unread, per socket: the kernel keeps (or drops) the rest.
# Two: a print flood arrives in messages of ~40 MB (ipykernel merges 0.2 s of output), and
# queued here they are the grader's memory (126-145 MB peak under floods on a busy machine).
RECEIVE_QUEUE = 2
# The output relay's own memory cap: one message of MAX_MESSAGE_BYTES assembled, one being
# forwarded, and Python. Anything it cannot hold ends it, and the notebook with it.
RELAY_MEMORY_MB = 1024
MB = 2**20


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
    # Output beyond this (per cell, kept or not) is an output flood: the kernel is stopped.
    # Far above any honest notebook (Jupyter itself stops showing output at 1 MB/s).
    flood_bytes: int = 64 * MB
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


def _grader_source() -> str:
    """The folder that holds the grader's own ``mlgrader`` package."""
    import mlgrader

    return str(Path(mlgrader.__file__).resolve().parent.parent)


def _python_roots() -> list[str]:
    """Folders the kernel needs to read: the interpreter, its packages, mlgrader itself."""
    roots = {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix), _grader_source()}
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


# --- the sandbox user ----------------------------------------------------------------------
#
# As root, every kernel runs as an unprivileged uid of its own, in both modes: RLIMIT_NPROC
# then binds, the grader's files are out of reach, and when the kernel stops every process
# of that uid can be killed without touching anything else. A lock file per uid keeps it
# the kernel's own while graders run side by side.

UID_RANGE = (200_000, 300_000)
FALLBACK_FIX = ("install bubblewrap (namespaces hide the host), run the grader as a non-root user, "
                "or install Python where other users can read it")


def _claim_uid() -> tuple[int, int]:
    """A uid no other kernel uses, and the lock (an open file descriptor) that keeps it so."""
    folder = _uid_lock_folder()
    rng = random.SystemRandom()
    for _ in range(100):
        uid = rng.randrange(*UID_RANGE)
        fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another kernel's
            os.close(fd)
            continue
        if not processes_of(uid):  # not even left over by a grader that was killed
            return uid, fd
        os.close(fd)
    raise SandboxError("found no free uid for the sandbox user")


def _uid_lock_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / f"mlgrader-uids-{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise SandboxError(f"{folder} is not a private folder of this user; remove it")
    return folder


def processes_of(uid: int) -> list[int]:
    """Pids of the live processes whose real uid is ``uid`` (zombies are dead already)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line)
        except OSError:  # gone meanwhile
            continue
        if int(status["Uid"].split()[0]) == uid and not status["State"].strip().startswith(("Z", "X")):
            pids.append(int(proc.name))
    return pids


def kill_all_of(uid: int) -> None:
    """SIGKILL every process of ``uid``, however it detached itself (new session, double fork).

    A helper process takes the uid and calls kill(-1): from an unprivileged uid that reaches
    exactly the processes of that uid, in one pass over the process table that no fork slips
    through. Repeated until none is left alive (ESRCH, or zombies only), for at most two
    seconds. Killing the kernel's process group or session would miss those that left it.
    """
    if not UID_RANGE[0] <= uid < UID_RANGE[1]:
        raise ValueError(f"refusing to kill every process of uid {uid}")  # never root's, never a person's
    pid = os.fork()
    if pid == 0:  # the helper: never returns into the grader's code
        code = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            if os.getuid() == uid and os.geteuid() == uid:  # kill(-1) as root would kill the host
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    os.kill(-1, signal.SIGKILL)
                    time.sleep(0.002)
                    if processes_of(uid) == [os.getpid()]:  # itself only
                        break
                code = 0
        except ProcessLookupError:
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)


def _world_traversable(path: str) -> bool:
    for folder in [Path(path), *Path(path).parents]:
        try:
            if not folder.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


# --- a hidden Python in the fallback mode ----------------------------------------------------
#
# The fallback kernel runs as the sandbox user too, but the grader's Python may live where
# other users cannot go (a pyenv under /root, mode 0700). Measured on such a host: copying
# the interpreter and its packages is not realistic (torch alone is gigabytes), and the
# operator's permissions are not ours to change. What works: the limiter, still root,
# opens those folders and keeps the descriptors across exec (it becomes the kernel, same
# pid); a path through /proc/<kernel pid>/fd/<n> reaches a folder with only the components
# below it checked. A small virtual environment (the shim) whose interpreter and packages
# are such paths gives the kernel a normal sys.prefix, site-packages and sys.executable, for
# the processes it starts as well (they use the kernel's descriptors while it lives). They
# can read what the folder's own permissions allow and walk up to its outermost readable
# parent (/root/.pyenv), never into the folder that hid it. Where this cannot work, grading
# stops with FALLBACK_FIX: student code never runs as root.


def hidden_python_roots() -> list[str]:
    """The Python folders other users cannot reach by their paths (outermost ones only)."""
    candidates = {os.path.realpath(p) for p in _python_roots()}
    candidates.add(os.path.dirname(os.path.realpath(sys.executable)))
    libdir = sysconfig.get_config_var("LIBDIR")  # a shared libpython
    if libdir and os.path.isdir(libdir):
        candidates.add(os.path.realpath(libdir))
    hidden = sorted(p for p in candidates if not _world_traversable(p))
    return [p for p in hidden if not any(p.startswith(q.rstrip("/") + "/") for q in hidden)]


def _check_reachable(folder: Path) -> None:
    """Refuse (SandboxError) a scratch folder the fallback sandbox user could not enter."""
    if not _world_traversable(str(folder.parent)):
        raise SandboxError(f"the fallback sandbox user cannot reach {folder.parent}; set TMPDIR to a folder "
                           f"other users can enter, or {FALLBACK_FIX}")


def _check_proc() -> None:
    """Refuse (SandboxError) to run a hidden Python for the sandbox user without /proc to reach it."""
    if not Path(f"/proc/{os.getpid()}/fd").is_dir():
        raise SandboxError("the fallback sandbox needs /proc to reach the Python installation, which other "
                           f"users cannot read; not grading as root: {FALLBACK_FIX}")


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


def kernel_argv(mode: str, workdir: Path, limits: Limits, uid: int | None, readonly: list[str],
                hidden: list[str] = (), shim: Path | None = None, landlock_report: Path | None = None) -> list[str]:
    """The kernel's command: the limiter, then (inside bubblewrap in that mode) the kernel.

    ``hidden`` folders are reached through descriptors and ``shim`` (see hidden_python_roots).
    With ``landlock_report`` (fallback mode) the limiter applies :func:`landlock_rules` where
    the host has Landlock and writes there what it restricted.
    """
    limiter = [
        sys.executable, "-m", "mlgrader.sandbox_exec",
        "--memory-mb", str(limits.memory_mb),
        "--nproc", str(_process_budget(limits, uid)),
        "--fsize-mb", str(limits.file_size_mb),
        "--cpu-s", str(limits.cpu_seconds),
    ]
    if uid is not None:
        limiter += ["--uid", str(uid), "--chown", "{connection_file}"]
    python = sys.executable
    if shim is not None:
        limiter += [*(a for folder in hidden for a in ("--reach", folder)), "--python-shim", str(shim)]
        python = str(shim / "bin" / "python3")
    if landlock_report is not None and mode == "subprocess":
        limiter += ["--landlock-report", str(landlock_report)]
        limiter += [a for access, path in landlock_rules(workdir, readonly, shim)
                    for a in ("--landlock", f"{access}:{path}")]
    limited_kernel = [*limiter, "--", python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if mode == "bubblewrap":
        return _bubblewrap_argv(workdir, readonly, limited_kernel)
    return limited_kernel


# --- Landlock in the fallback mode -------------------------------------------------------------
#
# What the fallback kernel may reach where the host has Landlock; everything else is denied
# (listing "/" too; names can still be looked up and stat()ed: Landlock checks opening, not
# path walks). Measured with strace on a kernel that imports numpy, torch and matplotlib,
# trains, plots, and runs a DataLoader with two workers: besides its Python it reads
# /etc/ld.so.cache, /etc/localtime and /etc/fonts, /sys/devices/system/cpu (core counts),
# /proc, /var/cache/fontconfig, and writes /dev/null, /dev/shm (semaphores and torch's shared
# tensors) and its temporary folder (TMPDIR, here inside the scratch directory). CUDA (tried
# on an H100: the limiter with these rules, then torch training a small CNN there and in a
# process it started) also needs /dev/nvidia* (read, write, ioctl) and to name its threads
# in /proc/<pid>/task; no more of /sys than the CPU folders.

# The files of /etc that programs in a kernel read; the rest of /etc (the host's
# configuration, which may hold world-readable secrets) stays closed.
ETC_READABLE = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group", "nsswitch.conf",
    "host.conf", "hosts", "resolv.conf", "gai.conf", "protocols", "services", "networks", "ssl",
    "ca-certificates", "ca-certificates.conf", "pki", "fonts", "os-release", "lsb-release", "debian_version",
    "alternatives", "mime.types", "magic", "matplotlibrc", "jupyter", "ipython", "locale.alias", "locale.conf",
    "xdg", "environment.d",
)
SYSTEM_PROGRAMS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Devices a kernel writes; GPUs (/dev/nvidia*) are added where the host has them.
WRITABLE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
SYS_READABLE = ("/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/fs/cgroup")


def landlock_rules(workdir: Path, readonly: list[str], shim: Path | None = None) -> list[tuple[str, str]]:
    """(access, path) rules for the fallback kernel: see :mod:`mlgrader.landlock` for the accesses."""
    rules = [("exec", p) for p in SYSTEM_PROGRAMS]
    python = {*_python_roots(), os.path.dirname(os.path.realpath(sys.executable))}
    libdir = sysconfig.get_config_var("LIBDIR")  # a shared libpython
    if libdir:
        python.add(os.path.realpath(libdir))
    if shim is not None:
        python.add(str(shim))
    rules += [("exec", p) for p in sorted(python)]
    rules += [("read", f"/etc/{name}") for name in ETC_READABLE]
    import mimetypes

    rules += [("read", p) for p in mimetypes.knownfiles if p.startswith("/etc/")]
    rules += [("read", "/proc"), ("read", "/dev"), ("read", "/var/cache/fontconfig")]
    # Its own threads' names (pthread_setname_np on another thread writes /proc/self/task/<tid>/comm;
    # measured on an H100: CUDA fails to start, error 304, where it cannot). The limiter opens
    # this path, and the kernel is the limiter after exec: the kernel's own /proc entry.
    rules += [("files", "/proc/self/task")]
    rules += [("read", p) for p in [*SYS_READABLE, "/usr/share/datasets", *readonly]]
    gpus = sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    rules += [("device", p) for p in gpus]  # GPU grading
    if gpus and os.geteuid() == 0:
        # CUDA in the processes the kernel starts names their threads too. As root every kernel
        # has a uid of its own: by their permissions it may write only its own processes' files.
        # (Not so for a grader that is not root: there CUDA works in the kernel process only.)
        rules += [("files", "/proc")]
    rules += [("device", p) for p in WRITABLE_DEVICES]
    rules += [("write", "/dev/shm"), ("write", str(workdir))]
    return rules


def private_tmp(workdir: Path) -> Path:
    """The fallback kernel's temporary folder (its TMPDIR), inside its scratch directory."""
    return workdir / ".tmp"


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
    # The kernel imports the grader's own mlgrader (the limiter that reads our arguments, the
    # helper that speaks our protocol), also when the grader runs from a source checkout on
    # PYTHONPATH instead of the installed package. An installed one is found anyway, and a
    # whole site-packages folder must not go ahead of the standard library.
    source = _grader_source()
    if not Path(source).name.endswith("-packages"):
        env["PYTHONPATH"] = source
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


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"abi": 0, "applied": False, "reason": f"no report from the limiter ({type(exc).__name__})"}
    return report if isinstance(report, dict) else {"abi": 0, "applied": False, "reason": "a malformed report"}


class SandboxKernel:
    """One sandboxed kernel: ``with SandboxKernel(workdir, limits) as k: k.run(code, 30)``."""

    def __init__(self, workdir: Path, limits: Limits | None = None, mode: str | None = None,
                 readonly_paths: list[str] | None = None, env: dict[str, str] | None = None):
        self.workdir = Path(workdir).resolve()
        self.limits = limits or Limits()
        self.mode = choose_mode(mode)
        self._readonly = [str(Path(p).resolve()) for p in (readonly_paths or []) if Path(p).exists()]
        self._env = env
        self._client: CappedClient | None = None
        self._specdir: tempfile.TemporaryDirectory | None = None
        self._shimdir: tempfile.TemporaryDirectory | None = None
        self.uid: int | None = None  # the sandbox user, when we are root
        self._uid_lock: int | None = None
        self.leftovers = 0  # processes the notebook left running, killed by stop()
        # Fallback mode: what Landlock restricted (mlgrader.landlock.status), read once started.
        self.landlock: dict | None = None
        self._last_error_reply: dict | None = None
        self._relay: subprocess.Popen | None = None  # mlgrader.iopub_relay, between kernel output and us
        self._stopping = False
        self.relay_failed = False  # the relay ended on its own: a message too large to forward
        self.dead = False

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> "SandboxKernel":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start()
        except Exception:
            self.stop()
            raise

    def _start(self) -> None:
        env = kernel_env(self.workdir, self._env, self.limits.threads)
        if self.mode == "subprocess" and not (self._env or {}).get("TMPDIR"):
            # A temporary folder of its own: with Landlock the shared /tmp is closed to it.
            private_tmp(self.workdir).mkdir(exist_ok=True)
            env["TMPDIR"] = str(private_tmp(self.workdir))
        if os.geteuid() == 0:  # never run student code as root: a uid of its own (see _claim_uid)
            self.uid, self._uid_lock = _claim_uid()
            os.chown(self.workdir, self.uid, self.uid)
            for p in self.workdir.rglob("*"):
                os.lchown(p, self.uid, self.uid)
        # The kernel spec lives outside the scratch directory: student code cannot alter it.
        self._specdir = tempfile.TemporaryDirectory(prefix="mlgrader-spec-")
        spec = Path(self._specdir.name) / "kernels" / "mlgrader-sandbox"
        spec.mkdir(parents=True)
        hidden, shim = self._python_shim()
        report = Path(self._specdir.name) / "landlock.json" if self.mode == "subprocess" else None
        argv = kernel_argv(self.mode, self.workdir, self.limits, self.uid, self._readonly, hidden, shim, report)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": "mlgrader sandbox", "language": "python",
            "interrupt_mode": "message",  # signals cannot reach a kernel inside bubblewrap
        }))
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        # Messages wait in the kernel, not here: queued in the grader they are its memory.
        context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        km = AsyncKernelManager(
            kernel_name="mlgrader-sandbox",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
            transport="ipc",
            ip=str(self.workdir / ".kernel"),
            connection_file=str(self.workdir / ".kernel.json"),
            context=context,
            client_factory=BoundedKernelClient,
        )
        nb = nbformat.v4.new_notebook()
        self._client = CappedClient(
            nb, km=km, allow_errors=True, interrupt_on_timeout=True,
            error_on_timeout={"ename": "CellTimeout", "evalue": "time limit reached", "traceback": []},
            startup_timeout=int(self.limits.startup_timeout), output_bytes=self.limits.output_bytes,
            flood_bytes=self.limits.flood_bytes, on_flood=self._kill_kernel,
            resources={"metadata": {"path": str(self.workdir)}},
            on_cell_error=self._remember_error,
        )
        try:
            self._client.start_new_kernel(env=env)
            self._start_relay(km)
            self._client.start_new_kernel_client()
            self._client.kc.iopub_channel.limit = self._client.iopub_limit
            self._client.kc.iopub_channel.unread = self._client.count_unread
            if report is not None:  # the limiter wrote it before exec; the kernel has answered since
                self.landlock = _read_report(report)
        except Exception as exc:
            how = (f" (its Python, in {', '.join(hidden)}, is not readable by other users and is reached through "
                   f"/proc/<pid>/fd; if that is what failed here: {FALLBACK_FIX})") if shim else ""
            raise SandboxError(f"the sandboxed kernel did not start ({self.mode} mode): {exc}{how}") from exc

    def _start_relay(self, km: AsyncKernelManager) -> None:
        """Put :mod:`mlgrader.iopub_relay` between the kernel's output socket and this client."""
        relay_url = f"ipc://{self._specdir.name}/iopub"  # outside the scratch: the kernel cannot replace it
        self._relay = subprocess.Popen(
            [sys.executable, "-m", "mlgrader.iopub_relay", km._make_url("iopub"), relay_url,
             "--max-message-bytes", str(MAX_MESSAGE_BYTES), "--memory-mb", str(RELAY_MEMORY_MB)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if self._relay.stdout.readline().strip() != b"ready":
            raise SandboxError("the output relay (mlgrader.iopub_relay) did not start")
        km.client_factory = type("RelayedKernelClient", (BoundedKernelClient,), {"iopub_url": relay_url})
        threading.Thread(target=self._watch_relay, args=(self._relay,), daemon=True).start()

    def _watch_relay(self, relay: subprocess.Popen) -> None:
        """The relay ended on its own: a message over the limit (or beyond its memory). Stop the kernel."""
        relay.wait()
        if self._stopping or self._kernel_ended(within=1.0):  # a dead kernel disconnects too
            return
        self.relay_failed = True
        client = self._client
        if client is not None and client.running_cell is not None:
            client.flooded_cells.add(client.running_cell)
        self._kill_kernel()

    def sandbox_note(self) -> str:
        """One line on how this kernel was sandboxed, for a grade's messages (fallback mode)."""
        return ("graded in the fallback sandbox (no namespaces on this host) "
                + landlock.describe(self.landlock))

    def _python_shim(self) -> tuple[list[str], Path | None]:
        """The hidden Python folders and a folder for the shim, where the kernel needs them."""
        if self.mode != "subprocess" or self.uid is None:  # bubblewrap binds them with readable parents
            return [], None
        _check_reachable(self.workdir)
        hidden = hidden_python_roots()
        if not hidden:
            return [], None
        _check_proc()
        self._shimdir = tempfile.TemporaryDirectory(prefix="mlgrader-python-")
        shim = Path(self._shimdir.name)
        shim.chmod(0o755)  # the sandbox user reads it; only the limiter (root) writes in it
        _check_reachable(shim)
        return hidden, shim

    def stop(self) -> None:
        self._stopping = True
        client, self._client = self._client, None
        if client is not None and client.km is not None:
            if self._uid_lock is not None:
                self.leftovers = self._leftovers(client)
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
        if self._relay is not None:
            self._relay.kill()
            self._relay.wait()
            self._relay.stdout.close()
            self._relay = None
        if self._uid_lock is not None:  # only while the uid is still ours
            kill_all_of(self.uid)  # what the kernel left running: new sessions, double forks
            os.close(self._uid_lock)
            self._uid_lock = None
        for folder in (self._specdir, self._shimdir):
            if folder is not None:
                folder.cleanup()
        self._specdir = self._shimdir = None

    def _leftovers(self, client: CappedClient) -> int:
        """How many processes of the sandbox user are running besides the kernel itself."""
        try:
            kernel_alive = run_sync(client.km.is_alive)()
        except Exception:
            kernel_alive = False
        return max(0, len(processes_of(self.uid)) - (1 if kernel_alive else 0))

    # -- running code ---------------------------------------------------------------------

    def _kernel_ended(self, within: float) -> bool:
        """Whether the kernel's process has exited, or does so within ``within`` seconds."""
        process = getattr(self._client.km.provisioner, "process", None) if self._client else None
        deadline = time.monotonic() + within
        while process is not None and time.monotonic() < deadline:
            if process.poll() is not None:
                return True
            time.sleep(0.05)
        return process is None

    def _kill_kernel(self) -> None:
        """Stop the kernel at once, from inside a cell's run (nbclient then reports it dead)."""
        process = getattr(self._client.km.provisioner, "process", None) if self._client else None
        if process is not None:
            process.kill()

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
        client.running_cell = index
        self._last_error_reply = None
        started = time.monotonic()
        try:
            client.execute_cell(cell, index, store_history=store_history)
        except DeadKernelError:
            self.dead = True
            return self._died(cell.outputs, index, time.monotonic() - started)
        except Exception as exc:  # a message we could not even decode: stop trusting this kernel
            self.dead = True
            if index in client.flooded_cells:
                return self._died(cell.outputs, index, time.monotonic() - started)
            return CellRun("died", [], time.monotonic() - started, "ProtocolError",
                           f"the kernel sent a message the grader could not read ({type(exc).__name__})")
        finally:
            client.nb.cells[index] = nbformat.v4.new_code_cell("")  # don't keep old outputs
        seconds = time.monotonic() - started
        if index in client.flooded_cells:  # it ended before the kernel was gone: still a flood
            self.dead = True
            return self._died(cell.outputs, index, seconds)
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

    def _died(self, outputs: list, index: int, seconds: float) -> CellRun:
        """The run of a cell that ended with the kernel's death: by an output flood, or else."""
        truncated = index in self._client.truncated_cells
        if self.relay_failed:
            return CellRun("died", list(outputs), seconds, "OutputFlood",
                           f"output flood: the kernel sent a message over {MAX_MESSAGE_BYTES // MB} MB "
                           "(or more than the grader's output relay holds), so the kernel was stopped",
                           truncated=truncated)
        if index in self._client.flooded_cells:
            return CellRun("died", list(outputs), seconds, "OutputFlood",
                           f"output flood: more than {self.limits.flood_bytes // MB} MB of output, "
                           "so the kernel was stopped", truncated=truncated)
        return CellRun("died", list(outputs), seconds, "KernelDied", "the kernel died", truncated=truncated)

    def _responsive(self) -> bool:
        """After an interrupted cell: does the kernel answer again within a few seconds?"""
        probe = self.run("pass", timeout=10, store_history=False, _probe=False)
        return probe.status == "ok"
