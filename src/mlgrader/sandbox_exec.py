"""``python -m mlgrader.sandbox_exec [limits] -- COMMAND...``: apply limits, then exec.

The first process of every sandboxed kernel. It runs with the grader's privileges just
long enough to set resource limits, hand the kernel's connection file to the sandbox
user and drop to that user; then it replaces itself with COMMAND (bubblewrap, or the
kernel itself in the fallback mode). Limits set here are inherited by everything the
student's code starts, so they hold in both modes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

MB = 1024 * 1024


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: python -m mlgrader.sandbox_exec [options] -- COMMAND...")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="mlgrader.sandbox_exec")
    parser.add_argument("--memory-mb", type=int, required=True, help="private writable memory (RLIMIT_DATA)")
    parser.add_argument("--nproc", type=int, required=True, help="processes/threads of the sandbox user")
    parser.add_argument("--fsize-mb", type=int, required=True, help="largest file it may write")
    parser.add_argument("--cpu-s", type=int, required=True, help="CPU seconds")
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--uid", type=int, help="drop to this uid/gid (when started as root)")
    parser.add_argument("--chown", action="append", default=[], help="give this path to --uid first")
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
        raise SystemExit("mlgrader.sandbox_exec: could not drop privileges")


def main(argv: list[str] | None = None) -> None:
    opts, command = parse_args(sys.argv[1:] if argv is None else argv)
    if not command:
        raise SystemExit("mlgrader.sandbox_exec: no command given")
    if opts.uid is not None:
        drop_privileges(opts.uid, opts.chown)
    apply_limits(opts)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
