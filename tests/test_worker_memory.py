"""A batch worker's memory: what the process server preloads is shared, freed memory goes back.

Issue 11's target is grader memory per worker. Three mechanisms keep it down, each tested
here on real processes: the server that workers are forked from imports what the tests
import (torch) and runs torch's one-time start-up, so workers share those pages instead of
each holding its own copy; the grader gives freed heap pages back after every test; and the
preload names only what the assignments being graded need (01 never pays for torch).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlgrader.batch.run import GRADER_MODULES, TORCH_WARMUP, worker_preload
from mlgrader.bundle import list_bundles
from mlgrader.grading.memory import return_freed_memory

ROOT = Path(__file__).resolve().parent.parent
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc's allocator")


def rollup_kb(pid: int | str = "self") -> dict[str, int]:
    """The kernel's totals of a process's mappings (Rss, Pss, Anonymous, Private_Dirty, ...), kB."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split()[:2]
        out[name.rstrip(":")] = int(value)
    return out


def worker_report(images: int) -> dict:
    """Run in a worker: what it found imported, and what a small CNN training step cost it."""
    found_torch = "torch" in sys.modules
    import torch
    import torch.nn.functional as F

    before = rollup_kb()["Private_Dirty"]
    conv, linear = torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Linear(8 * 14 * 14, 10)
    optimizer = torch.optim.Adam([*conv.parameters(), *linear.parameters()], lr=1e-3)
    x, y = torch.rand(images, 1, 28, 28), torch.randint(0, 10, (images,))
    for _ in range(3):
        optimizer.zero_grad()
        F.cross_entropy(linear(F.max_pool2d(F.relu(conv(x)), 2).flatten(1)), y).backward()
        optimizer.step()
    del conv, linear, optimizer, x, y
    return_freed_memory()
    return {"found_torch": found_torch, "private_before_mb": before / 1024,
            "kept_after_training_mb": (rollup_kb()["Private_Dirty"] - before) / 1024,
            "server_anonymous_mb": rollup_kb(os.getppid())["Anonymous"] / 1024}


WORKERS_SCRIPT = """
import json, sys
from mlgrader.batch.executors import run_in_workers
from test_worker_memory import worker_report
preload = tuple(sys.argv[1].split(",")) if sys.argv[1] else ()
print(json.dumps(dict(run_in_workers(worker_report, [64, 64], workers=2, preload=preload))))
"""


def reports_of_workers(preload: tuple[str, ...]) -> list[dict]:
    """Two workers' reports, from a fresh process (the process server is started once per process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", WORKERS_SCRIPT, ",".join(preload)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return list(json.loads(proc.stdout.strip().splitlines()[-1]).values())


@linux_only
def test_workers_share_the_preloaded_torch_and_its_warm_up():
    warm = reports_of_workers(GRADER_MODULES + ("torch", TORCH_WARMUP))
    cold = reports_of_workers(GRADER_MODULES)
    for report in warm:
        assert report["found_torch"], "the worker imported torch itself: the server's preload did not reach it"
        # torch's ~280 MB of anonymous pages stay the server's, shared: the worker holds a sliver
        assert report["private_before_mb"] < 0.25 * report["server_anonymous_mb"], report
    for report in cold:
        assert not report["found_torch"]
        assert report["private_before_mb"] > 100, report  # torch imported privately, the cost avoided above
    # torch's first backward pass initialises ~80 MB for good; warmed up in the server, the
    # worker's first training step keeps only what this step itself needed
    assert max(r["kept_after_training_mb"] for r in warm) < 40, warm
    assert min(r["kept_after_training_mb"] for r in cold) > 40, cold


def test_the_preload_names_only_what_the_graded_assignments_import():
    bundles = list_bundles(ROOT / "autograder")
    only_01 = worker_preload({"01-gradient-descent"}, bundles)
    assert only_01[: len(GRADER_MODULES)] == GRADER_MODULES
    assert "numpy" in only_01 and "mlgrader.checks" in only_01
    assert not any(name.split(".")[0] in ("torch", "sklearn") for name in only_01)  # 01 never pays for torch
    assert TORCH_WARMUP not in only_01

    cnn = worker_preload({"06-cnn"}, bundles)
    assert "torch" in cnn and "mlgrader.data" in cnn
    assert cnn[-1] == TORCH_WARMUP  # after torch, which it warms up

    unknown = worker_preload({"01-gradient-descent", None}, bundles)  # a notebook that names no assignment
    assert set(cnn) <= set(unknown) and set(only_01) <= set(unknown)


@linux_only
def test_freed_heap_memory_goes_back_to_the_system():
    # 2 KB blocks come from glibc's heap, not from mmap; keeping every 64th alive pins the heap
    # so that it cannot shrink from the top on its own: only a trim returns the pages between
    blocks = [bytearray(2048) for _ in range(100_000)]
    for block in blocks:
        block[0] = 1
    kept = blocks[::64]
    del blocks
    before = rollup_kb()["Anonymous"]
    assert return_freed_memory()
    after = rollup_kb()["Anonymous"]
    assert before - after > 100 * 1024, (before, after)  # most of the ~195 MB freed
    assert len(kept) == 1563
