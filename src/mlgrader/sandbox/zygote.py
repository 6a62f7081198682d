"""``python -m mlgrader.sandbox.zygote --control SOCKET``: warm kernels, forked one per notebook.

A cold kernel pays for importing ipykernel and numpy (0.4 CPU-seconds), or torch (2.4), in
every notebook. The zygote pays once per grading worker: it runs inside one bubblewrap
sandbox (no network, read-only system, the worker's scratch root and data bound in), has
imported ipykernel and the modules the notebooks' setup cells import, and never runs
student code. For each notebook the grader asks it, over a Unix socket only root can
open, to fork a kernel. The child becomes what the limiter makes of a cold kernel before
it runs any student code: a session of its own, the notebook's environment and scratch
folder, the resource limits, then the sandbox uid the grader claimed for it (as root, every
kernel has a uid of its own), and only then ipykernel.

What one notebook could leave for the next is handled here and by the grader: every
process of a notebook's uid is killed when it is done (the grader), and the files that uid
left in the sandbox's shared /tmp and /dev/shm are removed (``clean``, asked by the
grader) before the next notebook's cells run. Memory is the fork's own copy of a zygote
that never saw a submission or a test. Children are forked one request at a time from a
single-threaded process; ``threading.active_count()`` is checked before each fork.

Protocol (one JSON object per line, each request on a connection of its own):
``{"op": "spawn", "uid", "workdir", "connection_file", "env", "limits"}`` is answered by
``{"ok": true, "pid": N}`` and, when the kernel ends, ``{"exit": status}``; the kernel is
killed when that connection closes first (the grader's handle for it went away).
``{"op": "clean", "uid"}`` is answered by ``{"ok": true, "removed": N}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
from pathlib import Path

from . import limiter
from .policy import KERNEL_OPTIONS
from .users import UID_RANGE, remove_files_of

SHARED_FOLDERS = ("/tmp", "/dev/shm")  # writable by every uid of this sandbox: cleaned per uid
MAX_REQUEST_BYTES = 1 << 20


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlgrader.sandbox.zygote", description=__doc__.splitlines()[0])
    parser.add_argument("--control", required=True, help="the Unix socket to listen on (0600, root only)")
    parser.add_argument("--preload", default="", help="comma-separated modules to import before forking")
    return parser.parse_args(argv)


# What a kernel imports on its way to its first reply: found by comparing sys.modules before
# and after IPKernelApp.initialize() in a forked child (debugpy alone was 0.11 s of 0.21).
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                  "IPython.core.history", "IPython.extensions", "sqlite3", "pdb", "xmlrpc.server",
                  "tornado.gen", "tornado.locks", "tornado.queues", "mlgrader.channel.kernel_agent")


def preload(modules: list[str]) -> list[str]:
    """Import what every kernel imports, and what the notebooks' setup cells do; the ones that failed."""
    failed = []
    for name in [*KERNEL_MODULES, *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # a module a notebook imports may be missing: its kernel will say so
            failed.append(name)
    return failed


def listen(path: str) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # created 0600: only root may connect
    try:
        server.bind(path)
    finally:
        os.umask(old)
    server.listen(8)
    return server


# --- the child: from a fork of the zygote to a kernel ----------------------------------------


def _leave_the_zygote() -> None:
    """In the child: keep nothing of the zygote's but the code (its sockets, pipes, epoll fd)."""
    signal.set_wakeup_fd(-1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # the zygote's stdout is the grader's pipe; ipykernel captures the kernel's own
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))


def become_kernel(request: dict) -> None:
    """Turn this freshly forked child into the notebook's kernel; never returns."""
    code = 1
    try:
        os.setsid()
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        os.chdir(request["workdir"])
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        limits = request["limits"]
        limiter.drop_privileges(int(request["uid"]), [request["connection_file"]])
        limiter.apply_limits(argparse.Namespace(memory_mb=int(limits["memory_mb"]), nproc=int(limits["nproc"]),
                                                fsize_mb=int(limits["fsize_mb"]), cpu_s=int(limits["cpu_s"]),
                                                nofile=int(limits.get("nofile", 1024))))
        _set_threads(os.environ.get("OMP_NUM_THREADS"))
        from ipykernel import kernelapp

        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], *KERNEL_OPTIONS]
        kernelapp.launch_new_instance()
        code = 0
    except BaseException as exc:  # reported on the kernel's stderr, which the grader keeps
        print(f"mlgrader.sandbox.zygote: the kernel did not start: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        os._exit(code)


def _set_threads(threads: str | None) -> None:
    """torch read its thread count when the zygote imported it; tell it this kernel's."""
    torch = sys.modules.get("torch")
    if torch is not None and threads and threads.isdigit():
        torch.set_num_threads(int(threads))


# --- the zygote's loop -------------------------------------------------------------------------


def valid_spawn(request: dict) -> str | None:
    """Why a spawn request cannot be served, or None."""
    try:
        uid = int(request["uid"])
        workdir = Path(request["workdir"])
        for key in ("connection_file", "env", "limits"):
            request[key]
    except (KeyError, TypeError, ValueError) as exc:
        return f"malformed request ({type(exc).__name__}: {exc})"
    if not UID_RANGE[0] <= uid < UID_RANGE[1]:
        return f"refusing uid {uid}: kernels run as sandbox uids only"
    if not workdir.is_dir() or workdir.stat().st_uid != uid:
        return f"{workdir} is not a folder of uid {uid}"
    return None


class Zygote:
    """The zygote's state: the listening socket, and the connection of each live kernel."""

    def __init__(self, server: socket.socket):
        self.server = server
        self.selector = selectors.DefaultSelector()
        self.selector.register(server, selectors.EVENT_READ, "accept")
        self.kernels: dict[int, socket.socket] = {}  # pid -> the connection that asked for it

    def serve(self) -> None:
        wakeup_read, wakeup_write = os.pipe()
        os.set_blocking(wakeup_write, False)
        signal.set_wakeup_fd(wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *args: None)  # only to wake the selector
        self.selector.register(wakeup_read, selectors.EVENT_READ, "child")
        while True:
            for key, _ in self.selector.select(timeout=5):
                if key.data == "accept":
                    self._accept()
                elif key.data == "child":
                    os.read(wakeup_read, 4096)
                else:  # a kernel's connection: readable means it closed (nothing else is sent)
                    self._connection_closed(key.data, key.fileobj)
            self._reap()

    def _accept(self) -> None:
        connection, _ = self.server.accept()
        peer_uid = _peer_uid(connection)
        if peer_uid not in (0, os.geteuid()):  # the socket is 0600 already; belt and braces
            connection.close()
            return
        connection.settimeout(10)
        try:
            request = json.loads(_read_line(connection))
        except (OSError, ValueError) as exc:
            _send(connection, {"ok": False, "error": f"unreadable request ({exc})"})
            connection.close()
            return
        if request.get("op") == "clean":
            _send(connection, {"ok": True, "removed": remove_files_of(int(request.get("uid", -1)), SHARED_FOLDERS)})
            connection.close()
        elif request.get("op") == "spawn":
            self._spawn(connection, request)
        else:
            _send(connection, {"ok": False, "error": f"unknown op {request.get('op')!r}"})
            connection.close()

    def _spawn(self, connection: socket.socket, request: dict) -> None:
        problem = valid_spawn(request)
        if problem is None and threading.active_count() != 1:
            problem = "the zygote has threads; forking it is not safe"
        if problem is not None:
            _send(connection, {"ok": False, "error": problem})
            connection.close()
            return
        pid = os.fork()
        if pid == 0:
            _leave_the_zygote()
            become_kernel(request)
        self.kernels[pid] = connection
        _send(connection, {"ok": True, "pid": pid})
        connection.settimeout(None)
        self.selector.register(connection, selectors.EVENT_READ, pid)

    def _connection_closed(self, pid: int, connection: socket.socket) -> None:
        """The grader's handle for this kernel went away: the kernel goes too."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._forget(pid)

    def _reap(self) -> None:
        while self.kernels:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.kernels.get(pid)
            if connection is not None:
                try:
                    _send(connection, {"exit": os.waitstatus_to_exitcode(status)})
                except OSError:
                    pass
                self._forget(pid)

    def _forget(self, pid: int) -> None:
        connection = self.kernels.pop(pid, None)
        if connection is not None:
            try:
                self.selector.unregister(connection)
            except (KeyError, ValueError):
                pass
            connection.close()


def _peer_uid(connection: socket.socket) -> int:
    import struct

    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[1]


def _read_line(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
    return data


def _send(connection: socket.socket, message: dict) -> None:
    connection.sendall(json.dumps(message).encode() + b"\n")


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    failed = preload([m for m in opts.preload.split(",") if m])
    server = listen(opts.control)
    print(json.dumps({"ready": True, "not_preloaded": failed}), flush=True)
    Zygote(server).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
