"""``python -m mlgrader.sandbox.output_relay KERNEL_URL RELAY_URL``: forward a kernel's output, bounded.

ZeroMQ delivers a message only once all its frames have arrived, and caps each frame
(MAXMSGSIZE), not the message: a kernel can send ten 100 MB frames as one message, and
whoever receives it holds 1 GB before it can look at the size. So the grader does not
receive the kernel's output (iopub) channel itself. This small process does, under its
own memory cap, and forwards every message of at most ``--max-message-bytes`` to the
grader. A larger message, or one too large to assemble within the cap (ZeroMQ then
aborts the process), ends the relay; the grader sees it exit, stops the kernel and
reports an output flood.

Exit status 3: a message over the limit, or the kernel's connection dropped (ZeroMQ's
answer to a frame over the limit or a message it could not hold). It never decodes a
message: frames pass as they are.
"""

from __future__ import annotations

import argparse
import ctypes
import resource
import signal
import sys

import zmq

MB = 2**20
TOO_LARGE = 3
PR_SET_PDEATHSIG = 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlgrader.sandbox.output_relay", description=__doc__.splitlines()[0])
    parser.add_argument("kernel_url", help="the kernel's iopub socket (connect)")
    parser.add_argument("relay_url", help="where the grader subscribes (bind)")
    parser.add_argument("--max-message-bytes", type=int, required=True, help="largest message forwarded")
    parser.add_argument("--memory-mb", type=int, required=True, help="this process's RLIMIT_DATA")
    return parser.parse_args(argv)


def die_with_parent() -> None:
    """Linux: SIGKILL when the grader goes, so that no relay outlives it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def sockets(opts: argparse.Namespace) -> tuple[zmq.Socket, zmq.Socket]:
    context = zmq.Context()
    kernel = context.socket(zmq.SUB)
    kernel.setsockopt(zmq.MAXMSGSIZE, opts.max_message_bytes)
    kernel.setsockopt(zmq.RCVHWM, 2)  # queued here, messages are this process's memory
    kernel.setsockopt(zmq.SUBSCRIBE, b"")
    # The kernel may not have bound its socket yet: retry every 10 ms, not ZeroMQ's 100, so
    # that the status message of the grader's first kernel_info request is not missed (the
    # client then waits 0.2 s and asks again).
    kernel.setsockopt(zmq.RECONNECT_IVL, 10)
    kernel.connect(opts.kernel_url)
    grader = context.socket(zmq.PUB)
    grader.setsockopt(zmq.SNDHWM, 1000)  # a PUB socket drops what its reader has not taken beyond this
    grader.bind(opts.relay_url)
    return kernel, grader


def relay(opts: argparse.Namespace, on_ready) -> int:
    """Forward the kernel's output until a message is too large (or the kernel drops); the exit status.

    ``on_ready`` is called once the sockets are up: the grader waits for it before its client
    subscribes.
    """
    limit = opts.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    kernel, grader = sockets(opts)
    # ZeroMQ drops the connection when a frame is over MAXMSGSIZE or a message cannot be
    # assembled in memory, and then quietly reconnects: the message is lost, and so are
    # the replies the grader waits for. A kernel never disconnects on its own, so any
    # disconnect ends the relay.
    monitor = kernel.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    poller = zmq.Poller()
    poller.register(kernel, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    on_ready()
    while True:
        ready = dict(poller.poll())
        if monitor in ready:
            return TOO_LARGE
        frames = kernel.recv_multipart(copy=False)
        if sum(len(frame) for frame in frames) > opts.max_message_bytes:
            return TOO_LARGE
        grader.send_multipart(frames, copy=False)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    die_with_parent()
    return relay(opts, lambda: print("ready", flush=True))


if __name__ == "__main__":
    sys.exit(main())
