"""``python -m mlgrader.sandbox.limiter [limits] -- COMMAND...``: apply limits, then exec.

The first process of every sandboxed kernel. It runs with the grader's privileges just
long enough to set resource limits, hand the kernel's connection file to the sandbox
user and drop to that user; then it replaces itself with COMMAND (bubblewrap, or the
kernel itself in the fallback mode). Limits set here are inherited by everything the
student's code starts, so they hold in both modes.

In the fallback mode it also opens the Python folders the sandbox user cannot reach by
their paths (``--reach``) and builds a small virtual environment that reaches them through
those descriptors (``--python-shim``); see :func:`mlgrader.sandbox.python_access.hidden_python_roots`.
There it also restricts the kernel with Landlock where the host has it (``--landlock``, see
:mod:`mlgrader.sandbox.landlock`): the rules are prepared while the folders can still be opened and
enforced last, right before exec, and ``--landlock-report`` records what was restricted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import sysconfig
from pathlib import Path

from . import landlock

MB = 1024 * 1024
IOPUB_PIPE_WARNING = "ignore:Couldn't bind IOPub Pipe:UserWarning"


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: python -m mlgrader.sandbox.limiter [options] -- COMMAND...")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="mlgrader.sandbox.limiter")
    parser.add_argument("--memory-mb", type=int, required=True, help="private writable memory (RLIMIT_DATA)")
    parser.add_argument("--nproc", type=int, required=True, help="processes/threads of the sandbox user")
    parser.add_argument("--fsize-mb", type=int, required=True, help="largest file it may write")
    parser.add_argument("--cpu-s", type=int, required=True, help="CPU seconds")
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--uid", type=int, help="drop to this uid/gid (when started as root)")
    parser.add_argument("--chown", action="append", default=[], help="give this path to --uid first")
    parser.add_argument("--reach", action="append", default=[],
                        help="a folder --uid cannot reach by its path: open it first, reach it through /proc")
    parser.add_argument("--python-shim", help="build here a virtual environment of this Python, reached that way")
    parser.add_argument("--landlock", action="append", default=[], metavar="ACCESS:PATH",
                        help=f"restrict with Landlock, allowing ACCESS ({', '.join(landlock.ACCESS)}) beneath PATH")
    parser.add_argument("--landlock-report", help="write what Landlock restricted here (JSON)")
    return parser.parse_args(argv[:split]), argv[split + 1 :]


def apply_limits(opts: argparse.Namespace) -> None:
    # The memory cap is RLIMIT_DATA, not RLIMIT_AS. Both count memory reserved rather than
    # touched, but RLIMIT_AS also counts reservations that can never hold data: CUDA maps
    # tens of GB of PROT_NONE address space at start (with RLIMIT_AS it fails "out of
    # memory" and the notebook silently trains on the CPU), and every OpenMP thread's malloc
    # arena reserves 64 MB. Measured: torch with 16 threads has VmSize 4.4 GB but VmData
    # 1.05 GB, so a 6 GB RLIMIT_AS left a 14-core grader 1.6 GB for the student's data.
    limits = {
        resource.RLIMIT_DATA: opts.memory_mb * MB,
        resource.RLIMIT_FSIZE: opts.fsize_mb * MB,
        resource.RLIMIT_CPU: opts.cpu_s,
        resource.RLIMIT_NOFILE: opts.nofile,
        resource.RLIMIT_CORE: 0,
    }
    if opts.nproc > 0:
        limits[resource.RLIMIT_NPROC] = opts.nproc
    for which, value in limits.items():
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def drop_privileges(uid: int, paths: list[str]) -> None:
    for path in paths:
        os.chown(path, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:  # never run student code as root by accident
        raise SystemExit("mlgrader.sandbox.limiter: could not drop privileges")


def open_folders(folders: list[str]) -> dict[str, str]:
    """Open each folder while still privileged; the path that reaches it through this process.

    The descriptors survive exec and the process keeps its pid, so ``/proc/<pid>/fd/<n>``
    reaches the folder for the kernel and every process it starts while it lives; only the
    path components below the folder are checked against the sandbox user.
    """
    through = {}
    for folder in folders:
        fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
        os.set_inheritable(fd, True)
        through[os.path.realpath(folder)] = f"/proc/{os.getpid()}/fd/{fd}"
    return through


def reached(path: str, through: dict[str, str]) -> str:
    """``path`` as the sandbox user can reach it: through a folder's descriptor where needed."""
    real = os.path.realpath(path)
    for folder, via in through.items():
        if real == folder or real.startswith(folder.rstrip("/") + "/"):
            return via + real[len(folder):]
    return path


def build_python_shim(folder: Path, through: dict[str, str]) -> None:
    """A virtual environment in ``folder`` running this Python with its packages, reached via ``through``.

    Python finds ``pyvenv.cfg`` next to its command's folder and its standard library from
    ``home``, so sys.prefix, site-packages and sys.executable all work for the kernel and for
    the processes it starts.
    """
    python = reached(sys.executable, through)
    (folder / "bin").mkdir()
    for name in ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}"):
        (folder / "bin" / name).symlink_to(python)
    config = {"home": os.path.dirname(python), "include-system-site-packages": "true",
              "version": ".".join(map(str, sys.version_info[:3]))}
    if sys.prefix != sys.base_prefix:  # a virtual environment: its packages, and its choice about the system's
        config["include-system-site-packages"] = _venv_setting("include-system-site-packages", "false")
        for entry in Path(sys.prefix).iterdir():
            if entry.name not in ("bin", "pyvenv.cfg"):
                (folder / entry.name).symlink_to(reached(str(entry), through))
    (folder / "pyvenv.cfg").write_text("".join(f"{key} = {value}\n" for key, value in config.items()))
    (folder / "site").mkdir()
    (folder / "site" / "sitecustomize.py").write_text(REALPATH_FIX.format(through=dict(through)))


# os.path.realpath() turns a path through /proc/<pid>/fd/<n> back into the folder's real
# path, which the sandbox user cannot enter: matplotlib resolves its font files that way,
# and every plot failed with PermissionError. Inside the kernel, results that land in a
# hidden folder are mapped back to the descriptor path. (Convenience only: the permission
# checks stay as they are.)
REALPATH_FIX = """\
# Written by mlgrader.sandbox.limiter for the fallback sandbox; see REALPATH_FIX there.
import os.path as _path

_THROUGH = {through!r}
_realpath = _path.realpath


def _reachable_realpath(path, *args, **kwargs):
    real = _realpath(path, *args, **kwargs)
    text = real.decode() if isinstance(real, bytes) else real
    for folder, via in _THROUGH.items():
        if text == folder or text.startswith(folder.rstrip("/") + "/"):
            mapped = via + text[len(folder):]
            return mapped.encode() if isinstance(real, bytes) else mapped
    return real


_path.realpath = _reachable_realpath
"""


def _venv_setting(key: str, default: str) -> str:
    try:
        lines = (Path(sys.prefix) / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return default
    for line in lines:
        name, _, value = line.partition("=")
        if name.strip().lower() == key:
            return value.strip()
    return default


def shim_environment(env: dict[str, str], through: dict[str, str], shim: Path) -> dict[str, str]:
    """The kernel's environment with the shim's Python first and hidden folders reached via ``through``."""
    env = dict(env)
    env["PATH"] = os.pathsep.join(filter(None, [str(shim / "bin"), env.get("PATH")]))
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir and reached(libdir, through) != libdir:  # a shared libpython the loader must find there
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [reached(libdir, through), env.get("LD_LIBRARY_PATH")]))
    paths = [reached(p, through) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(shim / "site"), *paths])  # its sitecustomize: REALPATH_FIX
    return env


def landlock_policy(rules: list[str]) -> landlock.Policy:
    pairs = []
    for rule in rules:
        access, sep, path = rule.partition(":")
        if not sep or access not in landlock.ACCESS or not path:
            raise SystemExit(f"mlgrader.sandbox.limiter: bad --landlock rule {rule!r} (ACCESS:PATH)")
        pairs.append((access, path))
    return landlock.Policy(pairs)


def main(argv: list[str] | None = None) -> None:
    opts, command = parse_args(sys.argv[1:] if argv is None else argv)
    if not command:
        raise SystemExit("mlgrader.sandbox.limiter: no command given")
    through = open_folders(opts.reach)
    env = dict(os.environ)
    if opts.python_shim:
        build_python_shim(Path(opts.python_shim), through)
        env = shim_environment(env, through, Path(opts.python_shim))
    report = None
    if opts.landlock_report:  # opened while we may still write where the grader reads it
        report = os.open(opts.landlock_report, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW,
                         0o600)
    # Prepared while privileged: rules attach to folders the sandbox user cannot open by path.
    prepared = landlock.prepare(landlock_policy(opts.landlock)) if opts.landlock else None
    if opts.uid is not None:
        drop_privileges(opts.uid, opts.chown)
    apply_limits(opts)
    if prepared is not None:
        landlock.enforce(prepared)  # last: nothing after this needs more than the kernel may do
        if prepared.tcp:
            # ipykernel forwards what forked children print over TCP on 127.0.0.1, which is now
            # closed: such output is lost (as it is without a network), and the warning about
            # it would go to the grader's log at every start.
            env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), IOPUB_PIPE_WARNING]))
    if report is not None:
        state = landlock.status(prepared) if prepared is not None else {"abi": 0, "applied": False,
                                                                       "reason": "not requested"}
        os.write(report, json.dumps(state).encode())
        os.close(report)
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
