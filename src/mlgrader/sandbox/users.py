"""The sandbox user: as root, every kernel runs as an unprivileged uid of its own."""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

from .limits import Limits, SandboxError


# --- the sandbox user ----------------------------------------------------------------------
#
# As root, every kernel runs as an unprivileged uid of its own, in both modes: RLIMIT_NPROC
# then binds, the grader's files are out of reach, and when the kernel stops every process
# of that uid can be killed without touching anything else. A lock file per uid keeps it
# the kernel's own while graders run side by side.

UID_RANGE = (200_000, 300_000)


def claim_uid() -> tuple[int, int]:
    """A uid no other kernel uses, and the lock (an open file descriptor) that keeps it so."""
    folder = uid_lock_folder()
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


def uid_lock_folder() -> Path:
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
            status = (proc / "status").read_text()
        except OSError:  # gone meanwhile
            continue
        if (_status_field(status, "Uid").split() or [""])[0] == str(uid) and not _status_field(status, "State").startswith(("Z", "X")):
            pids.append(int(proc.name))
    return pids


def _status_field(status: str, name: str) -> str:
    """One field of a /proc/<pid>/status text (found, not parsed into a dict: this runs over every process twice per grade)."""
    start = status.find(f"\n{name}:")
    if start < 0:
        return ""
    end = status.find("\n", start + 1)
    return status[start + len(name) + 2: end if end >= 0 else None].strip()


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



# Folders every uid may write on a host; a kernel's leftovers there are removed after it.
HOST_SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")


def remove_files_of(uid: int, folders) -> int:
    """Remove the entries of ``folders`` that ``uid`` owns (after its processes are gone); how many.

    A kernel's uid is its own, so whatever it owns there is what the notebook left: files a
    later notebook (a uid of its own, but the same folders) could otherwise read. Links are
    never followed (rmtree works through file descriptors on Linux).
    """
    if not UID_RANGE[0] <= uid < UID_RANGE[1]:
        raise ValueError(f"refusing to remove the files of uid {uid}")
    removed = 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid != uid:
                continue
            try:
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue
            removed += 1
    return removed


def process_budget(limits: Limits, uid: int | None) -> int:
    """RLIMIT_NPROC for the kernel: its own processes, or (without a uid of its own) this user's too."""
    if uid is not None:
        return limits.max_processes
    mine = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _owned_by_me(p))
    return mine + limits.max_processes


def _owned_by_me(proc: Path) -> bool:
    try:
        return proc.stat().st_uid == os.getuid()
    except OSError:
        return False
