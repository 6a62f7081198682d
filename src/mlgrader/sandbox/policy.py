"""What a sandboxed kernel may do: its command line, its environment, its Landlock rules.

The caller (grading) decides what the kernel may read besides its Python (``readonly``) and
which variables it gets besides these (``extra``); this module knows nothing of data sets,
tests or notebooks.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from .limits import Limits
from .modes import bubblewrap_argv
from .python_access import grader_source, python_roots
from .users import process_budget


# IPython keeps the input history of a kernel in a SQLite file in its home (the scratch
# folder): creating it, with its fsyncs, was 0.1 s of every kernel's start. A notebook's
# In, Out and _i<n> live in memory either way; nothing of a grade reads the file.
KERNEL_OPTIONS = ("--HistoryManager.enabled=False",)


def kernel_argv(mode: str, workdir: Path, limits: Limits, uid: int | None, readonly: list[str],
                hidden: list[str] = (), shim: Path | None = None, landlock_report: Path | None = None) -> list[str]:
    """The kernel's command: the limiter, then (inside bubblewrap in that mode) the kernel.

    ``hidden`` folders are reached through descriptors and ``shim`` (see hidden_python_roots).
    With ``landlock_report`` (fallback mode) the limiter applies :func:`landlock_rules` where
    the host has Landlock and writes there what it restricted.
    """
    limiter = [
        sys.executable, "-m", "mlgrader.sandbox.limiter",
        "--memory-mb", str(limits.memory_mb),
        "--nproc", str(process_budget(limits, uid)),
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
    limited_kernel = [*limiter, "--", python, "-m", "ipykernel_launcher", "-f", "{connection_file}", *KERNEL_OPTIONS]
    if mode == "bubblewrap":
        return bubblewrap_argv(workdir, readonly, limited_kernel)
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
    """(access, path) rules for the fallback kernel: see :mod:`mlgrader.sandbox.landlock` for the accesses."""
    rules = [("exec", p) for p in SYSTEM_PROGRAMS]
    python = {*python_roots(), os.path.dirname(os.path.realpath(sys.executable))}
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
    rules += [("read", p) for p in [*SYS_READABLE, *readonly]]
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
        # The sandbox uid has no /etc/passwd entry; getpass.getuser() (torch's compile
        # cache, for one) reads these first instead of failing with "uid not found".
        "USER": "student",
        "LOGNAME": "student",
    }
    # The kernel imports the grader's own mlgrader (the limiter that reads our arguments, the
    # helper that speaks our protocol), also when the grader runs from a source checkout on
    # PYTHONPATH instead of the installed package. An installed one is found anyway, and a
    # whole site-packages folder must not go ahead of the standard library.
    source = grader_source()
    if not Path(source).name.endswith("-packages"):
        env["PYTHONPATH"] = source
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                 "CUDA_VISIBLE_DEVICES"):
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

