"""Run code in a sandboxed Jupyter kernel with limits.

:class:`SandboxKernel` starts a real IPython kernel (ipykernel, driven by nbclient) in a
private working directory and runs cells in it, one at a time, each with a time limit.
It knows nothing about notebooks, tests or grades: it executes code and reports what
happened as a :class:`CellRun`.

The parts, each in its module of this package:

- :mod:`~mlgrader.sandbox.modes`: bubblewrap (namespaces) or the fallback (a plain process);
- :mod:`~mlgrader.sandbox.policy`: the kernel's command line, environment and Landlock rules;
- :mod:`~mlgrader.sandbox.limiter`: the kernel's first process, which applies the limits
  (memory, processes, file size, CPU time), drops to the sandbox user
  (:mod:`~mlgrader.sandbox.users`) and enforces Landlock (:mod:`~mlgrader.sandbox.landlock`)
  before it becomes the kernel, so they bind everything the student starts;
- :mod:`~mlgrader.sandbox.output_relay` and :mod:`~mlgrader.sandbox.bounded_client`: the
  grader reads no output message larger than it could keep, and stops a kernel whose cell
  floods it with output.

As root, each kernel has a uid of its own, and stopping it kills every process of that uid.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError

from ..config import FEEDBACK_CHARS
from ..results import clip_text
from . import landlock
from .bounded_client import MAX_MESSAGE_BYTES, BoundedKernelClient, CappedClient, channel_url, relayed_client_class
from .limits import MB, Limits, SandboxError
from .modes import choose_mode
from .policy import kernel_argv, kernel_env, private_tmp
from .relay_server import ExecRelay, ForkedRelay, RelayServer, start_relay
from .python_access import FALLBACK_FIX, check_proc, check_reachable, hidden_python_roots
from .users import HOST_SHARED_FOLDERS, claim_uid, kill_all_of, process_budget, processes_of, remove_files_of

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Messages the grader holds queued, unread, per socket: the kernel keeps (or drops) the rest.
# Two: a print flood arrives in messages of ~40 MB (ipykernel merges 0.2 s of output), and
# queued here they are the grader's memory (126-145 MB peak under floods on a busy machine).
RECEIVE_QUEUE = 2
# The output relay's own memory cap: one message of MAX_MESSAGE_BYTES assembled, one being
# forwarded, and Python. Anything it cannot hold ends it, and the notebook with it.
RELAY_MEMORY_MB = 1024


@dataclass
class CellRun:
    """What happened when one piece of code ran in the kernel."""

    status: str  # ok | error | timeout | died
    outputs: list = field(default_factory=list)
    seconds: float = 0.0
    error_name: str | None = None
    error_value: str | None = None
    traceback: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def text(self) -> str:
        """Plain text of stream and text outputs, without ANSI colours."""
        return outputs_text(self.outputs)


def outputs_text(outputs: list) -> str:
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])))
    return _ANSI.sub("", "".join(p if p.endswith("\n") else p + "\n" for p in parts if p))



# --- the kernel ------------------------------------------------------------------------


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"abi": 0, "applied": False, "reason": f"no report from the limiter ({type(exc).__name__})"}
    return report if isinstance(report, dict) else {"abi": 0, "applied": False, "reason": "a malformed report"}


def _code_cell(code: str) -> nbformat.NotebookNode:
    """A code cell for the executor, as nbformat.v4.new_code_cell makes it but not validated:
    its jsonschema validation cost more than running the cell (1-2 ms, twice per cell and request)."""
    return nbformat.from_dict({"id": uuid.uuid4().hex[:8], "cell_type": "code", "metadata": {},
                               "execution_count": None, "source": code, "outputs": []})


def _end_process(km: AsyncKernelManager) -> None:
    """Kill the kernel's process group and wait for its first process.

    jupyter_client's own shutdown polls whether the process is gone every 0.1 s, after
    killing it: 0.1 s of every grade. Reaped here, it finds the process gone at once.
    """
    process = getattr(km.provisioner, "process", None)
    if process is None:
        return
    run_sync(km.provisioner.kill)()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # jupyter_client's shutdown then waits and warns, as before
        pass


class SandboxKernel:
    """One sandboxed kernel: ``with SandboxKernel(workdir, limits) as k: k.run(code, 30)``."""

    def __init__(self, workdir: Path, limits: Limits | None = None, mode: str | None = None,
                 readonly_paths: list[str] | None = None, env: dict[str, str] | None = None, zygote=None,
                 relays: RelayServer | None = None):
        self.workdir = Path(workdir).resolve()
        self.limits = limits or Limits()
        # A warm kernel is forked by a zygote (mlgrader.sandbox.warm) whose bubblewrap sandbox it
        # shares, as a uid of its own; the workdir is one of the zygote's, the data bound there.
        self._zygote = zygote
        if zygote is not None and os.geteuid() != 0:
            raise SandboxError("warm kernels need a root grader: each runs as a uid of its own")
        self.mode = "bubblewrap" if zygote is not None else choose_mode(mode)
        self._readonly = [str(Path(p).resolve()) for p in (readonly_paths or []) if Path(p).exists()]
        self._env = env
        self._client: CappedClient | None = None
        self._specdir: tempfile.TemporaryDirectory | None = None
        self._shimdir: tempfile.TemporaryDirectory | None = None
        self.uid: int | None = None  # the sandbox user, when we are root
        self._uid_lock: int | None = None
        self.leftovers = 0  # processes the notebook left running, killed by stop()
        # Fallback mode: what Landlock restricted (mlgrader.sandbox.landlock.status), read once started.
        self.landlock: dict | None = None
        self._last_error_reply: dict | None = None
        self._relay: ExecRelay | ForkedRelay | None = None  # mlgrader.sandbox.output_relay, between kernel output and us
        self._relays = relays  # a worker's relay server (mlgrader.sandbox.relay_server), or None: started as a process
        self._stopping = False
        self.relay_failed = False  # the relay ended on its own: a message too large to forward
        self.dead = False

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> "SandboxKernel":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start()
        except Exception:
            self.stop()
            raise

    def _start(self) -> None:
        env = kernel_env(self.workdir, self._env, self.limits.threads)
        if self.mode == "subprocess" and not (self._env or {}).get("TMPDIR"):
            # A temporary folder of its own: with Landlock the shared /tmp is closed to it.
            # (A zygote's kernels share its sandbox's /tmp, one after the other: what a kernel
            # leaves there is removed before the next one runs, see _clean_zygote.)
            private_tmp(self.workdir).mkdir(exist_ok=True)
            env["TMPDIR"] = str(private_tmp(self.workdir))
        if os.geteuid() == 0:  # never run student code as root: a uid of its own (see claim_uid)
            self.uid, self._uid_lock = claim_uid()
            os.chown(self.workdir, self.uid, self.uid)
            for p in self.workdir.rglob("*"):
                os.lchown(p, self.uid, self.uid)
        # The kernel spec lives outside the scratch directory: student code cannot alter it.
        self._specdir = tempfile.TemporaryDirectory(prefix="mlgrader-spec-")
        spec = Path(self._specdir.name) / "kernels" / "mlgrader-sandbox"
        spec.mkdir(parents=True)
        hidden, shim = self._python_shim()
        report = Path(self._specdir.name) / "landlock.json" if self.mode == "subprocess" else None
        if self._zygote is not None:
            argv = self._zygote.spawn_argv(self.uid, self.workdir, {
                "memory_mb": self.limits.memory_mb, "nproc": process_budget(self.limits, self.uid),
                "fsize_mb": self.limits.file_size_mb, "cpu_s": self.limits.cpu_seconds})
        else:
            argv = kernel_argv(self.mode, self.workdir, self.limits, self.uid, self._readonly, hidden, shim, report)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": "mlgrader sandbox", "language": "python",
            "interrupt_mode": "message",  # signals cannot reach a kernel inside bubblewrap
        }))
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        # Messages wait in the kernel, not here: queued in the grader they are its memory.
        context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        km = AsyncKernelManager(
            kernel_name="mlgrader-sandbox",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
            transport="ipc",
            ip=str(self.workdir / ".kernel"),
            connection_file=str(self.workdir / ".kernel.json"),
            context=context,
            client_factory=BoundedKernelClient,
        )
        nb = nbformat.v4.new_notebook()
        self._client = CappedClient(
            nb, km=km, allow_errors=True, interrupt_on_timeout=True,
            error_on_timeout={"ename": "CellTimeout", "evalue": "time limit reached", "traceback": []},
            startup_timeout=int(self.limits.startup_timeout), output_bytes=self.limits.output_bytes,
            flood_bytes=self.limits.flood_bytes, on_flood=self._kill_kernel,
            resources={"metadata": {"path": str(self.workdir)}},
            on_cell_error=self._remember_error,
        )
        try:
            self._client.start_new_kernel(env=env)
            self._start_relay(km)
            self._client.start_new_kernel_client()
            self._client.kc.iopub_channel.follow(self._client.iopub_limit, self._client.count_unread)
            if report is not None:  # the limiter wrote it before exec; the kernel has answered since
                self.landlock = _read_report(report)
        except Exception as exc:
            how = (f" (its Python, in {', '.join(hidden)}, is not readable by other users and is reached through "
                   f"/proc/<pid>/fd; if that is what failed here: {FALLBACK_FIX})") if shim else ""
            raise SandboxError(f"the sandboxed kernel did not start ({self.mode} mode): {exc}{how}") from exc

    def _start_relay(self, km: AsyncKernelManager) -> None:
        """Put :mod:`mlgrader.sandbox.output_relay` between the kernel's output socket and this client."""
        relay_url = f"ipc://{self._specdir.name}/iopub"  # outside the scratch: the kernel cannot replace it
        self._relay = start_relay(self._relays, channel_url(km.get_connection_info(), "iopub"), relay_url,
                                  MAX_MESSAGE_BYTES, RELAY_MEMORY_MB)
        if not self._relay.ready():
            raise SandboxError("the output relay (mlgrader.sandbox.output_relay) did not start")
        km.client_factory = relayed_client_class(relay_url)
        threading.Thread(target=self._watch_relay, args=(self._relay,), daemon=True).start()

    def _watch_relay(self, relay: ExecRelay | ForkedRelay) -> None:
        """The relay ended on its own: a message over the limit (or beyond its memory). Stop the kernel."""
        relay.wait()
        if self._stopping or self._kernel_ended(within=1.0):  # a dead kernel disconnects too
            return
        self.relay_failed = True
        client = self._client
        if client is not None and client.running_cell is not None:
            client.flooded_cells.add(client.running_cell)
        self._kill_kernel()

    def sandbox_note(self) -> str:
        """One line on how this kernel was sandboxed, for a grade's messages (fallback mode)."""
        return ("graded in the fallback sandbox (no namespaces on this host) "
                + landlock.describe(self.landlock))

    def _python_shim(self) -> tuple[list[str], Path | None]:
        """The hidden Python folders and a folder for the shim, where the kernel needs them."""
        if self.mode != "subprocess" or self.uid is None:  # bubblewrap binds them with readable parents
            return [], None
        check_reachable(self.workdir)
        hidden = hidden_python_roots()
        if not hidden:
            return [], None
        check_proc()
        self._shimdir = tempfile.TemporaryDirectory(prefix="mlgrader-python-")
        shim = Path(self._shimdir.name)
        shim.chmod(0o755)  # the sandbox user reads it; only the limiter (root) writes in it
        check_reachable(shim)
        return hidden, shim

    def stop(self) -> None:
        self._stopping = True
        client, self._client = self._client, None
        if client is not None and client.km is not None:
            if self._uid_lock is not None:
                self.leftovers = self._leftovers(client)
            try:
                if client.kc is not None:
                    client.kc.stop_channels()
                _end_process(client.km)
                run_sync(client.km.shutdown_kernel)(now=True)
            except Exception:  # the kernel may be long dead; nothing to clean then
                pass
            try:
                run_sync(client.km.cleanup_resources)()
            except Exception:
                pass
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        if self._uid_lock is not None:  # only while the uid is still ours
            kill_all_of(self.uid)  # what the kernel left running: new sessions, double forks
            if self._zygote is not None:
                self._clean_zygote()
            elif self.mode == "subprocess":  # no private /tmp: the host's shared folders
                remove_files_of(self.uid, HOST_SHARED_FOLDERS)
            os.close(self._uid_lock)
            self._uid_lock = None
        for folder in (self._specdir, self._shimdir):
            if folder is not None:
                folder.cleanup()
        self._specdir = self._shimdir = None

    def _clean_zygote(self) -> None:
        """Remove this kernel's files from the zygote's shared /tmp and /dev/shm; or retire the zygote.

        A zygote whose leftovers cannot be removed must not fork another kernel: the next
        notebook would find them.
        """
        try:
            self._zygote.clean(self.uid)
        except (OSError, ValueError, SandboxError):
            self._zygote.close()

    def _leftovers(self, client: CappedClient) -> int:
        """How many processes of the sandbox user are running besides the kernel itself."""
        try:
            kernel_alive = run_sync(client.km.is_alive)()
        except Exception:
            kernel_alive = False
        return max(0, len(processes_of(self.uid)) - (1 if kernel_alive else 0))

    # -- running code ---------------------------------------------------------------------

    def _kernel_ended(self, within: float) -> bool:
        """Whether the kernel's process has exited, or does so within ``within`` seconds."""
        process = getattr(self._client.km.provisioner, "process", None) if self._client else None
        deadline = time.monotonic() + within
        while process is not None and time.monotonic() < deadline:
            if process.poll() is not None:
                return True
            time.sleep(0.05)
        return process is None

    def _kill_kernel(self) -> None:
        """Stop the kernel at once, from inside a cell's run (nbclient then reports it dead)."""
        process = getattr(self._client.km.provisioner, "process", None) if self._client else None
        if process is not None:
            process.kill()

    def _remember_error(self, cell, cell_index, execute_reply):
        self._last_error_reply = execute_reply.get("content", {})

    def run(self, code: str, timeout: float, store_history: bool = True, _probe: bool = True,
            reply_mime: str | None = None, request_metadata: dict | None = None) -> CellRun:
        """Run ``code``; never raises for anything the code does.

        ``reply_mime`` marks the one display_data output the run waits for (it may be as large
        as a message can be); ``request_metadata`` travels in the execute_request's metadata,
        where the kernel can read it without parsing it as code.
        """
        if self._client is None or self.dead:
            return CellRun("died", error_name="KernelDied", error_value="the kernel is not running")
        client = self._client
        cell = _code_cell(code)
        client.nb.cells.append(cell)
        index = len(client.nb.cells) - 1
        if reply_mime:
            client.reply_cells[index] = reply_mime
        client.timeout = max(1, int(round(timeout)))
        client.kc.request_metadata = request_metadata
        client.running_cell = index
        self._last_error_reply = None
        started = time.monotonic()
        try:
            client.execute_cell(cell, index, store_history=store_history)
        except DeadKernelError:
            self.dead = True
            return self._died(cell.outputs, index, time.monotonic() - started)
        except Exception as exc:  # a message we could not even decode: stop trusting this kernel
            self.dead = True
            if index in client.flooded_cells:
                return self._died(cell.outputs, index, time.monotonic() - started)
            return CellRun("died", [], time.monotonic() - started, "ProtocolError",
                           f"the kernel sent a message the grader could not read ({type(exc).__name__})")
        finally:
            client.nb.cells[index] = _code_cell("")  # don't keep old outputs
        seconds = time.monotonic() - started
        if index in client.flooded_cells:  # it ended before the kernel was gone: still a flood
            self.dead = True
            return self._died(cell.outputs, index, seconds)
        run = CellRun("ok", list(cell.outputs), seconds, truncated=index in client.truncated_cells)
        reply = self._last_error_reply
        if reply is not None:
            run.status = "timeout" if reply.get("ename") == "CellTimeout" else "error"
            run.error_name = clip_text(str(reply.get("ename")), 200)
            run.error_value = clip_text(str(reply.get("evalue")), FEEDBACK_CHARS)
            lines = reply.get("traceback", [])
            run.traceback = clip_text(_ANSI.sub("", "\n".join(map(str, lines if isinstance(lines, list) else []))),
                                  FEEDBACK_CHARS)
        if run.status == "timeout" and _probe and not self._responsive():
            self.dead = True
        return run

    def _died(self, outputs: list, index: int, seconds: float) -> CellRun:
        """The run of a cell that ended with the kernel's death: by an output flood, or else."""
        truncated = index in self._client.truncated_cells
        if self.relay_failed:
            return CellRun("died", list(outputs), seconds, "OutputFlood",
                           f"output flood: the kernel sent a message over {MAX_MESSAGE_BYTES // MB} MB "
                           "(or more than the grader's output relay holds), so the kernel was stopped",
                           truncated=truncated)
        if index in self._client.flooded_cells:
            return CellRun("died", list(outputs), seconds, "OutputFlood",
                           f"output flood: more than {self.limits.flood_bytes // MB} MB of output, "
                           "so the kernel was stopped", truncated=truncated)
        return CellRun("died", list(outputs), seconds, "KernelDied", "the kernel died", truncated=truncated)

    def _responsive(self) -> bool:
        """After an interrupted cell: does the kernel answer again within a few seconds?"""
        probe = self.run("pass", timeout=10, store_history=False, _probe=False)
        return probe.status == "ok"
