"""The grader's side of a sandboxed kernel's messages: what it decodes, keeps and counts.

The kernel is untrusted and may send anything on its output (iopub) channel. Two classes
keep that from costing the grader memory or time:

- :class:`BoundedIOPubChannel` never decodes a message larger than the grader could use;
  a small stand-in of type :data:`UNREAD` records its size instead;
- :class:`CappedClient` (nbclient's executor) keeps at most ``output_bytes`` of output per
  cell and stops a kernel whose cell floods it (``flood_bytes``).

Messages reach them through :mod:`mlgrader.sandbox.output_relay`, which bounds the size of a
whole message (ZeroMQ caps only frames); :class:`mlgrader.sandbox.kernel.SandboxKernel` wires
them together.
"""

from __future__ import annotations

import json
import time
from queue import Empty
from typing import Callable

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import DELIM
from nbclient import NotebookClient
from traitlets import Type

# Replies larger than this close the connection instead of filling the grader's memory.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024

# An output message the grader did not read (see BoundedIOPubChannel): its type and size.
UNREAD = "mlgrader_unread"
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
HEADER_BYTES = 64 * 1024  # a header or parent header larger than this is not a kernel's


class BoundedIOPubChannel(AsyncZMQSocketChannel):
    """The kernel's output channel, decoding no message larger than the grader can use.

    ipykernel sends what a cell prints within 0.2 s as one message, so a print loop sends
    messages of hundreds of MB, and decoding one (bytes, JSON text, then the cap's size
    check) costs about three times its size: 600 MB printed took the grader to 980 MB. A
    message larger than ``limit()`` (what the running cell may still keep; the reply a
    request waits for may be as large as a message can be) is never copied out of ZeroMQ:
    a small stand-in of type :data:`UNREAD` carries its header and its size instead.
    Only a display_data message can be a reply, so the type in the (small) header decides
    which limit applies: a stream flood from a background thread while a request waits is
    not decoded either.
    """

    # Until follow() is called: read every message up to the socket's limit, count nothing.
    _limit: Callable[[str | None], int] = staticmethod(lambda msg_type: MAX_MESSAGE_BYTES)
    _unread: Callable[[int], None] = staticmethod(lambda size: None)

    def follow(self, limit: Callable[[str | None], int], unread: Callable[[int], None]) -> None:
        """Take the size limit per message type, and the counter of unread bytes, from the executor."""
        self._limit, self._unread = limit, unread

    def limit(self, msg_type: str | None) -> int:
        return self._limit(msg_type)

    def unread(self, size: int) -> None:
        self._unread(size)

    async def _recv(self, **kwargs) -> dict:
        frames = await self.socket.recv_multipart(copy=False)
        parts = _after_delimiter(frames)
        size = sum(len(p) for p in parts)
        if size <= self.limit(_message_type(self.session, parts)):
            return self.session.deserialize(parts, copy=False)
        message = _unread_stand_in(self.session, parts, size)
        self.unread(size)  # whichever request it names: a flood between cells counts as well
        return message


class BoundedKernelClient(AsyncKernelClient):
    iopub_channel_class = Type(BoundedIOPubChannel)
    # Where the output channel subscribes instead of the kernel's own socket: a subclass
    # (relayed_client_class) sets it to the relay's address (see mlgrader.sandbox.output_relay).
    iopub_url = ""
    # Metadata for the next execute_request only (see SandboxKernel.run's request_metadata).
    request_metadata: dict | None = None

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """jupyter_client's wait_for_ready, without its closing wait of 0.2 s.

        jupyter_client ends by reading the output channel until nothing has come for 0.2 s,
        to drop the kernel's start-up messages: that was 0.2 s of every grade (a warm kernel
        answers in 0.1 s). The executor ignores output that answers no request of its own,
        so dropping what is queued already is enough.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and await self._iopub_connected():
                self._handle_kernel_info_reply(reply)
                break
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while await self._iopub_connected(wait=0):
            pass

    async def _iopub_connected(self, wait: float = 0.2) -> bool:
        """Whether an output message arrives within ``wait`` seconds (the kernel's status is sent
        with every reply: none means the output channel is not connected yet)."""
        try:
            await self.iopub_channel.get_msg(timeout=wait)
        except Empty:
            return False
        return True

    def execute(self, code: str, silent: bool = False, store_history: bool = True,
                user_expressions: dict | None = None, allow_stdin: bool | None = None,
                stop_on_error: bool = True) -> str:
        """jupyter_client's execute, carrying ``request_metadata`` in the request's metadata when set.

        A kernel reads a request's metadata as plain JSON (``kernel.get_parent()``), while the
        code of a cell goes through IPython's input transformers and the compiler: a 17 MB
        argument in the code took 8 s to parse, in the metadata it costs a JSON decode.
        """
        metadata, self.request_metadata = self.request_metadata, None
        if metadata is None:
            return super().execute(code, silent, store_history, user_expressions, allow_stdin, stop_on_error)
        content = {"code": code, "silent": silent, "store_history": store_history,
                   "user_expressions": user_expressions or {},
                   "allow_stdin": self.allow_stdin if allow_stdin is None else allow_stdin,
                   "stop_on_error": stop_on_error}
        message = self.session.msg("execute_request", content, metadata=metadata)
        self.shell_channel.send(message)
        return message["header"]["msg_id"]

    def connect_iopub(self, identity: bytes | None = None) -> zmq.Socket:
        """The output channel's socket: subscribed to the relay where there is one."""
        if not self.iopub_url:
            return super().connect_iopub(identity)
        socket = self.context.socket(zmq.SUB)
        socket.linger = 1000
        if identity:
            socket.identity = identity
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        socket.connect(self.iopub_url)
        return socket


def relayed_client_class(iopub_url: str) -> type:
    """A client class whose output channel reads from ``iopub_url`` (the kernel manager makes the client)."""
    return type("RelayedKernelClient", (BoundedKernelClient,), {"iopub_url": iopub_url})


def channel_url(connection_info: dict, channel: str) -> str:
    """The ZeroMQ address of one of a kernel's channels, from its connection info."""
    transport, ip, port = connection_info["transport"], connection_info["ip"], connection_info[f"{channel}_port"]
    return f"tcp://{ip}:{port}" if transport == "tcp" else f"{transport}://{ip}-{port}"


def _after_delimiter(frames: list) -> list:
    """The signed parts of a message (signature, header, parent, metadata, content, buffers)."""
    for index, frame in enumerate(frames):
        if len(frame) == len(DELIM) and frame.bytes == DELIM:  # never copies a large frame
            parts = frames[index + 1:]
            if len(parts) < 5:
                raise ValueError("malformed message")
            return parts
    raise ValueError("a message without a delimiter")


def _message_type(session, parts: list) -> str | None:
    """The msg_type a message's header claims, read without touching its content (None if odd).

    Not verified: it only chooses how much of the message the grader is willing to decode.
    """
    if len(parts[1]) > HEADER_BYTES:
        return None
    try:
        header = session.unpack(parts[1].bytes)
    except ValueError:
        return None
    return header.get("msg_type") if isinstance(header, dict) else None


def _unread_stand_in(session, parts: list, size: int) -> dict:
    """What the grader keeps of a message too large to read: who sent it, for which request, its size."""
    signature = session.sign([p.buffer for p in parts[1:5]])
    if session.auth is not None and not (len(parts[0]) == len(signature) and parts[0].bytes == signature):
        raise ValueError("Invalid Signature")
    small = all(len(p) <= HEADER_BYTES for p in parts[1:3])
    # Headers too large to be a kernel's are not read either: the message is then nobody's.
    header = session.unpack(parts[1].bytes) if small else {}
    parent = session.unpack(parts[2].bytes) if small else {}
    if not isinstance(header, dict) or not isinstance(parent, dict):
        raise ValueError("malformed message header")
    return {"header": header, "msg_id": header.get("msg_id"), "msg_type": UNREAD, "parent_header": parent,
            "metadata": {}, "content": {"msg_type": header.get("msg_type"), "bytes": size}, "buffers": []}


class CappedClient(NotebookClient):
    """nbclient's executor, keeping at most ``output_bytes`` of output per cell.

    A cell whose output (kept or not) passes ``flood_bytes`` is an output flood: ``on_flood``
    stops the kernel, so that neither its time limit nor the grader's CPU is spent on it.
    """

    def __init__(self, *args, output_bytes: int, flood_bytes: int, on_flood, **kwargs):
        super().__init__(*args, **kwargs)
        self._output_bytes = output_bytes
        self._flood_bytes = flood_bytes
        self._on_flood = on_flood
        self._seen: dict[int, int] = {}
        self._replied: set[int] = set()
        self.running_cell: int | None = None
        self.truncated_cells: set[int] = set()
        self.flooded_cells: set[int] = set()
        self.reply_cells: dict[int, str] = {}  # request cells -> the MIME type of their reply

    def iopub_limit(self, msg_type: str | None) -> int:
        """The largest output message of ``msg_type`` worth reading now (see BoundedIOPubChannel)."""
        index = self.running_cell
        if msg_type == "display_data" and index in self.reply_cells and index not in self._replied:
            return MAX_MESSAGE_BYTES  # the reply a request waits for: bounded by the socket
        return self._output_bytes  # anything larger would be dropped by the cap anyway

    def count_unread(self, size: int) -> None:
        """Count a message too large to read (any request's) against the running cell's flood limit."""
        if self.running_cell is not None:
            self._flood_check(self.running_cell, self._add(self.running_cell, size))

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") == UNREAD:  # a stand-in, counted already (count_unread)
            if msg["content"]["msg_type"] in OUTPUT_TYPES:
                self._truncate(cell.outputs, cell_index)
            return None
        return super().process_message(msg, cell, cell_index)

    def output(self, outs, msg, display_id, cell_index):
        # The first reply a request cell waits for passes uncapped (its size is bounded by
        # MAX_MESSAGE_BYTES); everything else counts against the cell's output budget.
        data = msg.get("content", {}).get("data")
        mime = self.reply_cells.get(cell_index)
        if mime and cell_index not in self._replied and isinstance(data, dict) and mime in data:
            self._replied.add(cell_index)
            return super().output(outs, msg, display_id, cell_index)
        if not self._count(outs, cell_index, len(json.dumps(msg.get("content", {}), default=str))):
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _count(self, outs, cell_index: int, size: int) -> bool:
        """Count ``size`` bytes of output against the cell's budget; whether they may be kept."""
        used = self._add(cell_index, size)
        self._flood_check(cell_index, used)
        if used <= self._output_bytes:
            return True
        self._truncate(outs, cell_index)
        return False

    def _add(self, cell_index: int, size: int) -> int:
        self._seen[cell_index] = self._seen.get(cell_index, 0) + size
        return self._seen[cell_index]

    def _flood_check(self, cell_index: int, used: int) -> None:
        if used > self._flood_bytes and cell_index not in self.flooded_cells:
            self.flooded_cells.add(cell_index)
            self._on_flood()

    def _truncate(self, outs, cell_index: int) -> None:
        if cell_index not in self.truncated_cells:
            self.truncated_cells.add(cell_index)
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr", text=f"[mlgrader: output beyond {self._output_bytes} bytes was dropped]\n"))
