"""The two sandbox modes, and the bubblewrap command line of the first.

``bubblewrap``
    The kernel runs under bubblewrap in new user, pid, network, ipc and uts namespaces:
    no network, a read-only system (only the Python installation and the folders the
    caller names are visible, never the course directory, the autograder bundle or a
    gradebook), a private /tmp and one writable scratch directory. The kernel talks to the
    grader over Unix sockets in that directory (ZeroMQ ``ipc`` transport).
``subprocess``
    Where namespaces are unavailable (some containers, CI runners that restrict user
    namespaces): a plain process in the scratch directory with the same resource limits,
    as an unprivileged user when the grader is root, and restricted by Landlock where the
    host has it (:mod:`mlgrader.sandbox.policy`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .limits import SandboxError
from .python_access import python_roots

MODES = ("bubblewrap", "subprocess")


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
    """``requested`` if it is a mode, else (``auto``, None) bubblewrap where it works."""
    requested = requested or "auto"
    if requested == "auto":
        return "bubblewrap" if bubblewrap_works() else "subprocess"
    if requested not in MODES:
        raise SandboxError(f"unknown sandbox mode {requested!r} (choose auto, {', '.join(MODES)})")
    if requested == "bubblewrap" and not bubblewrap_works():
        raise SandboxError("bubblewrap was requested but cannot create namespaces here (is `bwrap` installed?)")
    return requested


def bubblewrap_argv(workdir: Path, readonly: list[str], inner: list[str]) -> list[str]:
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
    binds = [*python_roots(), *readonly]
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

