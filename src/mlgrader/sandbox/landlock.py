"""Linux Landlock for the fallback sandbox, through ctypes system calls (no dependency).

Landlock (https://docs.kernel.org/userspace-api/landlock.html) lets an unprivileged process
restrict itself and every process it starts: which file hierarchies it may read, execute or
change, whether it may bind or connect TCP sockets (ABI 4), and whether it may signal or
reach abstract Unix sockets of processes outside its domain (ABI 6). The rules hold after
exec and cannot be lifted.

Use: :func:`prepare` a :class:`Policy` while the folders can still be opened (as root, before
dropping privileges: the rules attach to the folders, not to their paths, so a folder other
users cannot reach by its path works too), then :func:`enforce` it right before exec. Both are
best effort, as the kernel documentation recommends: only the access rights the running
kernel's ABI knows are handled, and where Landlock is missing or refused the result says why
and nothing is restricted.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
from dataclasses import dataclass, field

# The three system calls share their numbers on every architecture since Linux 5.1 (the
# unified table), except those that add an offset to all of theirs (alpha, ia64, mips).
SYSCALLS = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
ARCHITECTURES = {"x86_64", "amd64", "aarch64", "arm64", "riscv64", "ppc64le", "ppc64", "s390x",
                 "i386", "i686", "armv7l", "armv8l", "loongarch64"}

CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# File system access rights, and the ABI that introduced each.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

# Rights that apply to a file itself; a rule on a file (not a folder) may grant only these.
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

READ = FS_READ_FILE | FS_READ_DIR
READ_EXECUTE = READ | FS_EXECUTE
# A folder the kernel owns: everything but making device nodes (which needs privileges anyway).
WRITE = (READ_EXECUTE | FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG
         | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_SYM | FS_REFER | FS_TRUNCATE)
DEVICE = FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV
# Files that exist may be written (opening for writing truncates), nothing created or
# removed: /proc/self/task/*/comm.
FILES = READ | FS_WRITE_FILE | FS_TRUNCATE

ACCESS = {"read": READ, "exec": READ_EXECUTE, "write": WRITE, "device": DEVICE, "files": FILES}


def fs_rights(abi: int) -> int:
    """The file system rights the kernel of Landlock ABI ``abi`` can handle."""
    if abi < 1:
        return 0
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def net_rights(abi: int) -> int:
    return NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0


def scopes(abi: int) -> int:
    return SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)): 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = None


def _syscall(name: str, *args) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    result = _libc.syscall(ctypes.c_long(SYSCALLS[name]), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"landlock_{name}: {os.strerror(code)}")
    return result


def abi_version() -> tuple[int, str]:
    """The running kernel's Landlock ABI (0 where there is none) and, when 0, why."""
    if platform.system() != "Linux":
        return 0, "not Linux"
    if platform.machine().lower() not in ARCHITECTURES:
        return 0, f"system call numbers not known for {platform.machine()}"
    try:
        return int(_syscall("create_ruleset", None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))), ""
    except OSError as exc:
        why = {errno.ENOSYS: "the kernel has no Landlock", errno.EOPNOTSUPP: "Landlock is disabled on this host",
               errno.EPERM: "Landlock system calls are blocked here (seccomp?)"}
        return 0, why.get(exc.errno, str(exc))
    except (AttributeError, ValueError) as exc:  # no syscall() in this C library
        return 0, f"cannot make system calls: {exc}"


@dataclass
class Policy:
    """What the sandboxed process may reach: (access, path) pairs; access is a key of ACCESS.

    Everything else on the file system is denied, and with ABI 4 every TCP bind and connect
    (``deny_tcp``); with ABI 6 signals and abstract Unix sockets stay inside the sandbox.
    Paths that do not exist are left out.
    """

    rules: list[tuple[str, str]] = field(default_factory=list)
    deny_tcp: bool = True
    scope: bool = True


@dataclass
class Prepared:
    """A ruleset ready to enforce (``fd``), or why there is none; see :func:`status`."""

    abi: int
    fd: int | None = None
    reason: str = ""
    fs: bool = False
    tcp: bool = False
    scoped: bool = False
    skipped: list[str] = field(default_factory=list)  # rules that could not be added (path: why)


def prepare(policy: Policy) -> Prepared:
    """Build the ruleset for ``policy`` (open its paths now). Never raises: see ``reason``."""
    abi, reason = abi_version()
    if abi < 1:
        return Prepared(0, reason=reason)
    handled_fs = fs_rights(abi)
    attr = _RulesetAttr(handled_fs, net_rights(abi) if policy.deny_tcp else 0, scopes(abi) if policy.scope else 0)
    # An older kernel takes a shorter struct: the fields it knows.
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16 if abi >= 4 else 8
    try:
        fd = int(_syscall("create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    except OSError as exc:
        return Prepared(abi, reason=f"cannot create a ruleset: {exc}")
    prepared = Prepared(abi, fd, fs=True, tcp=bool(attr.handled_access_net), scoped=bool(attr.scoped))
    for access, path in policy.rules:
        try:
            _add_path(fd, path, ACCESS[access] & handled_fs)
        except FileNotFoundError:
            continue
        except OSError as exc:
            prepared.skipped.append(f"{path}: {exc.strerror or exc}")
    return prepared


def _add_path(ruleset: int, path: str, allowed: int) -> None:
    target = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not stat.S_ISDIR(os.fstat(target).st_mode):
            allowed &= FILE_RIGHTS
        if not allowed:
            return
        rule = _PathBeneathAttr(allowed, target)
        _syscall("add_rule", ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                 ctypes.c_uint32(0))
    finally:
        os.close(target)


def enforce(prepared: Prepared) -> Prepared:
    """Restrict this process (and all it starts, across exec) to the prepared ruleset.

    Sets PR_SET_NO_NEW_PRIVS first, as Landlock requires of an unprivileged process. On
    failure nothing is restricted and ``reason`` says why.
    """
    if prepared.fd is None:
        return prepared
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(code)}")
        _syscall("restrict_self", ctypes.c_int(prepared.fd), ctypes.c_uint32(0))
    except OSError as exc:
        prepared.reason = f"cannot enforce the ruleset: {exc}"
        prepared.fs = prepared.tcp = prepared.scoped = False
    finally:
        os.close(prepared.fd)
        prepared.fd = None
    return prepared


def status(prepared: Prepared) -> dict:
    """What was restricted, for the grader's record (JSON-able)."""
    applied = prepared.fs and not prepared.reason
    out = {"abi": prepared.abi, "applied": applied, "fs": applied and prepared.fs,
           "tcp": applied and prepared.tcp, "scoped": applied and prepared.scoped}
    if prepared.reason:
        out["reason"] = prepared.reason
    if prepared.skipped:
        out["skipped"] = prepared.skipped
    return out


def describe(report: dict | None) -> str:
    """One line on how the fallback sandbox was restricted (for a grade's messages)."""
    if not report or not report.get("applied"):
        why = (report or {}).get("reason") or "not applied"
        return f"without Landlock ({why}): resource limits only, file system and network not hidden"
    what = ["file system"]
    if report.get("tcp"):
        what.append("TCP")
    restricted = " and ".join(what) + " restricted"
    if report.get("scoped"):
        restricted += ", signals and abstract sockets scoped"
    return f"with Landlock ABI {report['abi']}: resource limits applied, {restricted}"
