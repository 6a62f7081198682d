"""Where a notebook's kernel comes from: started cold, or forked warm from a zygote.

Grading asks a kernel source for a :class:`Scratch` (the notebook's scratch folder, ready
for its saved files) and then for the kernel itself. :class:`ColdKernels` starts every
kernel from nothing (python, ipykernel, the notebook's imports: 0.6-3 s). A batch worker
keeps a :class:`WarmKernels` for its life: a :class:`KernelZygote` per set of preloaded
modules (see :mod:`mlgrader.sandbox.zygote`), each one bubblewrap sandbox whose children
are the kernels. Warm kernels need the bubblewrap mode and a root grader (every kernel a uid
of its own); anywhere else WarmKernels starts them cold, and says so nowhere: the grade is
the same either way, only its ``start`` phase differs.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from .kernel import SandboxKernel
from .limits import Limits, SandboxError
from .modes import bubblewrap_argv, choose_mode
from .policy import kernel_env
from .relay_server import RelayServer

ZYGOTE_START_TIMEOUT_S = 120.0  # importing torch on a loaded machine
PRELOADABLE = frozenset({"numpy", "torch", "torchvision", "sklearn", "scipy", "pandas"})
# What else a notebook that imports these pays for in its first seconds: torch's optimizers
# import torch._dynamo when the first one is made (2-7 s here, more than `import torch`).
PRELOAD_ALONG = {"torch": ("torch._dynamo", "torch.optim", "torch.nn.functional")}
MAX_ZYGOTES = 3  # per worker: each holds its imports in memory (torch: ~400 MB, shared with its kernels)


def preloadable(modules: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The modules a zygote may import ahead of time, of those a notebook's setup cells import.

    Only libraries that read nothing of the kernel's environment when imported: matplotlib,
    for one, fixes its cache folder at import, which would be the zygote's, not the kernel's.
    """
    chosen = set(modules) & PRELOADABLE
    return tuple(sorted(chosen | {extra for name in chosen for extra in PRELOAD_ALONG.get(name, ())}))


class KernelZygote:
    """One running zygote: a bubblewrap sandbox around ``python -m mlgrader.sandbox.zygote``."""

    def __init__(self, preload: tuple[str, ...], readonly: tuple[str, ...], threads: int | None):
        self.preload, self.readonly = preload, readonly
        self.root = Path(tempfile.mkdtemp(prefix="mlgrader-warm-"))
        self.root.chmod(0o711)  # kernels reach their own folder in it, list nothing, create nothing
        self.control = self.root / ".control.sock"
        inner = [sys.executable, "-m", "mlgrader.sandbox.zygote", "--control", str(self.control),
                 "--preload", ",".join(preload)]
        env = kernel_env(self.root, None, threads)
        try:
            self.process = subprocess.Popen(bubblewrap_argv(self.root, list(readonly), inner), env=env,
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL)
            self._wait_ready()
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> None:
        ready, _, _ = select.select([self.process.stdout], [], [], ZYGOTE_START_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else b""
        try:
            if json.loads(line or b"{}").get("ready"):
                return
        except ValueError:
            pass
        raise SandboxError(f"the warm-kernel zygote did not start (exit {self.process.poll()})")

    def alive(self) -> bool:
        return self.process.poll() is None

    def new_workdir(self) -> Path:
        workdir = Path(tempfile.mkdtemp(prefix="run-", dir=self.root))
        workdir.chmod(0o700)
        return workdir

    def clean(self, uid: int) -> None:
        """Remove what ``uid`` left in the sandbox's shared /tmp and /dev/shm (before the next kernel runs)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(30)
            connection.connect(str(self.control))
            connection.sendall(json.dumps({"op": "clean", "uid": uid}).encode() + b"\n")
            answer = json.loads(connection.makefile("rb").readline() or b"{}")
        if not answer.get("ok"):
            raise SandboxError(f"the zygote could not clean up after uid {uid}: {answer.get('error')}")

    def spawn_argv(self, uid: int, workdir: Path, limits: dict) -> list[str]:
        """The kernel command jupyter_client runs: the handle that asks this zygote for a kernel."""
        return [sys.executable, "-I", str(Path(__file__).with_name("spawn.py")), str(self.control),
                "--uid", str(uid), "--workdir", str(workdir), "--limits", json.dumps(limits),
                "-f", "{connection_file}"]

    def close(self) -> None:
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if process is not None and process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Scratch:
    """A notebook's scratch folder, and (``zygote``) where its kernel will come from."""

    workdir: Path
    zygote: KernelZygote | None = None
    relays: RelayServer | None = None  # forks the kernel's output relay (else it is started as a process)

    def kernel(self, limits: Limits, mode: str, readonly: list[str], env: dict[str, str]) -> SandboxKernel:
        if self.zygote is not None:
            return SandboxKernel(self.workdir, limits, mode="bubblewrap", readonly_paths=readonly, env=env,
                                 zygote=self.zygote, relays=self.relays)
        return SandboxKernel(self.workdir, limits, mode=mode, readonly_paths=readonly, env=env, relays=self.relays)

    def remove(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class KernelSource(Protocol):
    def scratch(self, preload: tuple[str, ...], readonly: tuple[str, ...]) -> Scratch: ...

    def close(self) -> None: ...


class ColdKernels:
    """Every kernel started from nothing (a single grade, or where warm kernels cannot be)."""

    def scratch(self, preload: tuple[str, ...], readonly: tuple[str, ...]) -> Scratch:
        return Scratch(Path(tempfile.mkdtemp(prefix="mlgrader-run-")))

    def close(self) -> None:
        pass


@dataclass
class WarmKernels:
    """A worker's zygotes, one per (preloaded modules, data folders); cold kernels where they cannot be."""

    mode: str = "auto"
    threads: int | None = None
    zygotes: dict[tuple, KernelZygote] = field(default_factory=dict)
    failed: set[tuple] = field(default_factory=set)  # keys whose zygote would not start: cold from then on
    relays: RelayServer | None = None  # started with the first kernel, restarted when it died

    def usable(self) -> bool:
        return os.geteuid() == 0 and choose_mode(self.mode) == "bubblewrap"

    def scratch(self, preload: tuple[str, ...], readonly: tuple[str, ...]) -> Scratch:
        key = (preload, readonly)
        zygote = self._zygote(key) if key not in self.failed and self.usable() else None
        relays = self._relay_server()
        if zygote is None:
            return replace(ColdKernels().scratch(preload, readonly), relays=relays)
        return Scratch(zygote.new_workdir(), zygote, relays)

    def _relay_server(self) -> RelayServer | None:
        if self.relays is not None and not self.relays.alive():
            self.relays.close()
            self.relays = None
        if self.relays is None:
            try:
                self.relays = RelayServer()
            except (OSError, SandboxError):  # each kernel's relay is then started as a process
                return None
        return self.relays

    def _zygote(self, key: tuple) -> KernelZygote | None:
        zygote = self.zygotes.get(key)
        if zygote is not None and not zygote.alive():
            self.zygotes.pop(key).close()
            zygote = None
        if zygote is None:
            while len(self.zygotes) >= MAX_ZYGOTES:
                self.zygotes.pop(next(iter(self.zygotes))).close()
            try:
                zygote = KernelZygote(*key, self.threads)
            except SandboxError:
                self.failed.add(key)
                return None
            self.zygotes[key] = zygote
        return zygote

    def close(self) -> None:
        for zygote in self.zygotes.values():
            zygote.close()
        self.zygotes.clear()
        if self.relays is not None:
            self.relays.close()
            self.relays = None

    def __enter__(self) -> "WarmKernels":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
