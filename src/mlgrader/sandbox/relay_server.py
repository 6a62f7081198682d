"""Output relays without a Python start each: forked by a server that has imported ZeroMQ.

Every kernel's output passes through its own :mod:`~mlgrader.sandbox.output_relay`
process. Started as ``python -m mlgrader.sandbox.output_relay``, each costs 50 ms of CPU
(Python, then ZeroMQ's import): a sixth of what a warm grade of 01 costs in all. A batch
worker keeps one :class:`RelayServer` instead, ``python -m mlgrader.sandbox.relay_server``,
which imports ZeroMQ once (it creates no context, so forking it is safe) and forks one
relay per kernel. The relay is the same code under the same memory cap; only its start
differs.

Protocol, one connection per relay (a Unix socket only this user can open): the grader
sends one JSON line ``{"kernel_url", "relay_url", "max_message_bytes", "memory_mb"}``;
the relay writes ``{"ready": true}`` once its sockets are up, and the server writes
``{"exit": status}`` when it ends. The server kills the relay when the grader's end of the
connection closes first, and exits when the grader does (the relays with it).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from .limits import SandboxError
from .output_relay import die_with_parent, relay

SERVER_START_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
MAX_REQUEST_BYTES = 64 * 1024


# --- the grader's side ---------------------------------------------------------------------


class RelayServer:
    """One running relay server (a child of this process), and how to ask it for a relay."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="mlgrader-relays-"))
        self.control = self.folder / "control.sock"
        self.process = subprocess.Popen([sys.executable, "-m", "mlgrader.sandbox.relay_server", str(self.control)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            if _line(self.process.stdout, SERVER_START_TIMEOUT_S) != b"ready\n":
                raise SandboxError(f"the output relay server did not start (exit {self.process.poll()})")
        except BaseException:
            self.close()
            raise

    def alive(self) -> bool:
        return self.process.poll() is None

    def relay(self, kernel_url: str, relay_url: str, max_message_bytes: int, memory_mb: int) -> "ForkedRelay":
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.settimeout(READY_TIMEOUT_S)
            connection.connect(str(self.control))
            connection.sendall(json.dumps({"kernel_url": kernel_url, "relay_url": relay_url,
                                           "max_message_bytes": max_message_bytes,
                                           "memory_mb": memory_mb}).encode() + b"\n")
            return ForkedRelay(connection)
        except BaseException:
            connection.close()
            raise

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        for path in (self.control, self.folder):
            try:
                path.unlink() if path.is_socket() else path.rmdir()
            except OSError:
                pass


class ForkedRelay:
    """The grader's handle of one forked relay: ready, wait for its end, or end it."""

    def __init__(self, connection: socket.socket):
        self._connection = connection
        self._reader = connection.makefile("rb")
        self.returncode: int | None = None

    def ready(self) -> bool:
        try:
            return json.loads(self._reader.readline() or b"{}").get("ready") is True
        except (OSError, ValueError):
            return False

    def wait(self) -> int:
        """Block until the relay has ended (on its own, or by :meth:`kill`); its exit status."""
        self._connection.settimeout(None)
        try:
            for line in self._reader:
                message = json.loads(line)
                if "exit" in message:
                    self.returncode = int(message["exit"])
                    break
        except (OSError, ValueError):
            pass
        if self.returncode is None:
            self.returncode = -signal.SIGKILL
        return self.returncode

    def kill(self) -> None:
        """End the relay: the server kills it when this end of the connection shuts (and wakes wait())."""
        try:
            self._connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.kill()
        self._reader.close()
        self._connection.close()


class ExecRelay:
    """A relay started as a process of its own (a single grade: no server to fork it)."""

    def __init__(self, kernel_url: str, relay_url: str, max_message_bytes: int, memory_mb: int):
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mlgrader.sandbox.output_relay", kernel_url, relay_url,
             "--max-message-bytes", str(max_message_bytes), "--memory-mb", str(memory_mb)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def ready(self) -> bool:
        return self._process.stdout.readline().strip() == b"ready"

    def wait(self) -> int:
        return self._process.wait()

    def kill(self) -> None:
        self._process.kill()

    def close(self) -> None:
        self._process.kill()
        self._process.wait()
        self._process.stdout.close()


def start_relay(server: RelayServer | None, kernel_url: str, relay_url: str, max_message_bytes: int,
                memory_mb: int) -> ExecRelay | ForkedRelay:
    """A relay from ``kernel_url`` to ``relay_url``, forked by ``server`` when there is a live one."""
    if server is not None and server.alive():
        try:
            return server.relay(kernel_url, relay_url, max_message_bytes, memory_mb)
        except OSError:
            pass  # the server went away between the check and the request: start one the slow way
    return ExecRelay(kernel_url, relay_url, max_message_bytes, memory_mb)


def _line(stream, timeout: float) -> bytes:
    import select

    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else b""


# --- the server ------------------------------------------------------------------------------


def _become_relay(connection: socket.socket, request: dict) -> None:
    """In the forked child: the relay of one kernel, writing its readiness on ``connection``; never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        keep = connection.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
        die_with_parent()  # the server; it dies with the grader
        opts = argparse.Namespace(kernel_url=str(request["kernel_url"]), relay_url=str(request["relay_url"]),
                                  max_message_bytes=int(request["max_message_bytes"]),
                                  memory_mb=int(request["memory_mb"]))
        code = relay(opts, lambda: connection.sendall(b'{"ready": true}\n'))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def serve(control: str) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # created 0600: only this user may connect
    try:
        server.bind(control)
    finally:
        os.umask(old)
    server.listen(16)
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *args: None)  # only to wake the selector
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, "accept")
    selector.register(wakeup_read, selectors.EVENT_READ, "child")
    relays: dict[int, socket.socket] = {}  # pid -> the grader's connection for it
    print("ready", flush=True)
    while True:
        for key, _ in selector.select(timeout=5):
            if key.data == "accept":
                connection, _ = server.accept()
                pid = _fork_relay(connection)
                if pid is None:
                    connection.close()
                else:
                    relays[pid] = connection
                    selector.register(connection, selectors.EVENT_READ, pid)
            elif key.data == "child":
                os.read(wakeup_read, 4096)
            else:  # the grader's end closed (nothing else is sent after the request): end the relay
                try:
                    os.kill(key.data, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                selector.unregister(key.fileobj)
        _reap(relays, selector)


def _fork_relay(connection: socket.socket) -> int | None:
    if _peer_pid(connection) != os.getppid():
        return None  # only the grader that started this server asks it for relays
    connection.settimeout(10)
    try:
        request = json.loads(_read_request(connection))
    except (OSError, ValueError):
        return None
    if not valid_request(request):
        return None
    pid = os.fork()
    if pid == 0:
        _become_relay(connection, request)
    connection.settimeout(None)
    return pid


def valid_request(request: object) -> bool:
    """A relay between two local (ipc://) sockets, with a size limit and a memory cap: nothing else.

    In the fallback sandbox a kernel may run as the grader's own user; a relay to a TCP
    address would be a way out of it, so none is ever made.
    """
    if not isinstance(request, dict):
        return False
    urls = [request.get("kernel_url"), request.get("relay_url")]
    numbers = [request.get("max_message_bytes"), request.get("memory_mb")]
    return (all(isinstance(url, str) and url.startswith("ipc://") for url in urls)
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers))


def _peer_pid(connection: socket.socket) -> int:
    import struct

    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[0]


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
    return data


def _reap(relays: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    while relays:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = relays.pop(pid, None)
        if connection is None:
            continue
        try:
            connection.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
        except OSError:
            pass
        try:
            selector.unregister(connection)
        except (KeyError, ValueError):
            pass
        connection.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mlgrader.sandbox.relay_server CONTROL_SOCKET", file=sys.stderr)
        return 2
    die_with_parent()
    serve(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
