"""grade-batch on a real Dask cluster whose workers cannot see the course.

A `dask scheduler` and two `dask worker` processes run on 127.0.0.1 (no dashboard, every
listener bound to the loopback). Each worker runs inside a mount namespace (bubblewrap
`--tmpfs` over the course folder) in which that folder is empty, with a working folder of
its own: the tasks must carry the notebooks' bytes, and the autograder folder must reach
the workers as data. The rows must be those of a local run.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgrader.sandbox.modes import bubblewrap_works

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENT = "01-gradient-descent"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None or not bubblewrap_works(),
                                 reason="hiding the course from the workers needs bubblewrap")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_course(root: Path) -> Path:
    course = root / "course"
    shutil.copytree(ROOT / "autograder" / ASSIGNMENT, course / "autograder" / ASSIGNMENT)
    submitted = course / "submitted"
    for student, source in [("alice", ROOT / "source" / ASSIGNMENT / "gradient_descent.ipynb"),
                            ("bob", ROOT / "release" / ASSIGNMENT / "gradient_descent.ipynb")]:
        (submitted / student / ASSIGNMENT).mkdir(parents=True)
        shutil.copy(source, submitted / student / ASSIGNMENT / "gradient_descent.ipynb")
    (submitted / "carol" / ASSIGNMENT).mkdir(parents=True)
    (submitted / "carol" / ASSIGNMENT / "gradient_descent.ipynb").write_text('{"cells": [')  # damaged
    return course


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT / "src"),
            "DASK_DISTRIBUTED__DASHBOARD__LINK": ""}


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, course folder); the workers see an empty course folder."""
    course = make_course(tmp_path)
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "w"))]
    for n in range(2):
        own = tmp_path / f"worker-{n}"
        own.mkdir()
        argv = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", str(course), "--chdir", str(own), "--die-with-parent",
                "--", str(BIN / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--host", "127.0.0.1",
                "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--local-directory", str(own)]
        processes.append(subprocess.Popen(argv, env=env(), stdout=subprocess.DEVNULL,
                                          stderr=open(logs / f"worker-{n}.log", "w")))
    try:
        _wait_for_workers(f"tcp://127.0.0.1:{port}", 2)
        yield f"tcp://127.0.0.1:{port}", course
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_workers(address: str, count: int) -> None:
    from dask.distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=60)


def grade_batch(course: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "mlgrader"), "grade-batch", str(course / "submitted"), "--autograder",
                           str(course / "autograder"), "--out", str(out), *extra],
                          env=env(), capture_output=True, text=True, timeout=600)


def rows(out: Path) -> dict[str, tuple]:
    with (out / "grades.csv").open(newline="") as handle:
        return {r["student"]: (r["assignment"], r["notebook"], r["score"], r["max_score"], r["status"], r["reason"])
                for r in csv.DictReader(handle)}


def test_a_cluster_without_the_course_gives_the_local_rows(cluster, tmp_path):
    address, course = cluster
    local = grade_batch(course, tmp_path / "local", "--workers", "2")
    remote = grade_batch(course, tmp_path / "remote", "--scheduler", address)
    assert local.returncode == remote.returncode == 0, local.stderr + remote.stderr
    assert rows(tmp_path / "remote") == rows(tmp_path / "local")
    assert rows(tmp_path / "remote")["alice"][2:5] == ("8", "8", "graded")
    assert rows(tmp_path / "remote")["carol"][2:5] == ("0", "8", "graded")  # damaged: a zero with the reason
    for student in ("alice", "bob", "carol"):
        assert per_test_results(tmp_path / "local", student) == per_test_results(tmp_path / "remote", student)


def per_test_results(out: Path, student: str) -> list:
    """The per-test results, with the kernel's cell file names (which hold a pid) left out."""
    tests = json.loads((out / "results" / f"{student}.json").read_text())["tests"]
    return [{**t, "output": re.sub(r'File "[^"]*ipykernel_\d+/', 'File "', t["output"])} for t in tests]
