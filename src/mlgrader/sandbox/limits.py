"""The limits of one sandboxed kernel, and the error for a sandbox that could not be set up."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import DEFAULT_CELL_TIMEOUT_S, DEFAULT_MEMORY_MB

MB = 2**20


class SandboxError(RuntimeError):
    """The sandbox could not be set up (not the student's fault)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel."""

    memory_mb: int = DEFAULT_MEMORY_MB
    max_processes: int = 256
    file_size_mb: int = 512
    cpu_seconds: int = 3600
    output_bytes: int = 200_000  # per cell, kept for feedback; the rest is dropped
    # Output beyond this (per cell, kept or not) is an output flood: the kernel is stopped.
    # Far above any honest notebook (Jupyter itself stops showing output at 1 MB/s).
    flood_bytes: int = 64 * MB
    startup_timeout: float = DEFAULT_CELL_TIMEOUT_S
    # CPU threads for numpy/torch. Several kernels each spinning up one thread per core
    # on a small machine stall each other badly; batch graders set cores // workers.
    threads: int | None = None
