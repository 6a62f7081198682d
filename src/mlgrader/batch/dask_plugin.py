"""Warm kernels on a Dask cluster: a worker plugin that keeps them for the worker's life.

Imported only when a batch runs on Dask (importing distributed takes a second).
"""

from __future__ import annotations

from distributed import WorkerPlugin, get_worker

from ..sandbox.warm import WarmKernels

PLUGIN_NAME = "mlgrader-warm-kernels"


class WarmKernelsPlugin(WorkerPlugin):
    """Each Dask worker makes its :class:`~mlgrader.sandbox.warm.WarmKernels` once."""

    name = PLUGIN_NAME

    def __init__(self, mode: str, threads: int | None):
        self.mode, self.threads = mode, threads
        self.kernels: WarmKernels | None = None

    def setup(self, worker=None) -> None:
        self.kernels = WarmKernels(self.mode, self.threads)

    def teardown(self, worker=None) -> None:
        if self.kernels is not None:
            self.kernels.close()


def worker_kernels() -> WarmKernels | None:
    """The warm kernels of the Dask worker running this task, if the batch registered them."""
    try:
        plugin = get_worker().plugins.get(PLUGIN_NAME)
    except ValueError:  # not on a Dask worker
        return None
    return getattr(plugin, "kernels", None)
