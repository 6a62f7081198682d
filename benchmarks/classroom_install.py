"""Students' CI time: install-to-grade of a student template's workflow in a fresh venv.

    .venv/bin/python benchmarks/classroom_install.py [ASSIGNMENT ...]   (default: 01 and 05)

For each assignment: copies classroom/<assignment>/ to a scratch folder, puts the solution
notebook (source/) in as the student's work, and runs the workflow's own steps from the YAML
(tests/github_runner.py: a fresh ``python -m venv``, the install step, the data step, the
grade step) with a stopwatch on each. Writes benchmarks/classroom_install.md. Timings,
never assertions: this is not a test. The scratch venv (GBs for torch) is deleted after.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from github_runner import RunnerEmulation, install_end, workflow_steps  # noqa: E402

DEFAULT = ("01-gradient-descent", "05-fashion-mnist-gpu")


def _size(folder: Path) -> float:
    """GB on disk (du), for the venv."""
    out = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 2**20


def _reachable(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


def _drop_unreachable_index(requirements: Path) -> str:
    """Where PyTorch's CPU index cannot be reached (this machine), pip would retry it for every
    package for minutes: drop its line and say so. pip then takes torch from PyPI (the CUDA build)."""
    lines = requirements.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("--extra-index-url https://download.pytorch.org/")]
    if kept == lines or _reachable("download.pytorch.org"):
        return ""
    requirements.write_text("".join(kept))
    return "PyTorch's CPU index unreachable here: its line was removed, so torch is the CUDA build"


def measure(assignment: str, work: Path) -> dict:
    template = ROOT / "classroom" / assignment
    steps = workflow_steps(template)
    repo = work / "repo"
    shutil.copytree(template, repo)
    note = _drop_unreachable_index(repo / "requirements.txt")
    for notebook in (ROOT / "source" / assignment).glob("*.ipynb"):
        shutil.copy(notebook, repo / notebook.name)
    emulation = RunnerEmulation(work)
    started = time.monotonic()
    job = emulation.run(steps, repo, work / "summary.md")
    total = time.monotonic() - started
    if job.returncode:
        failed = next(s for s in job.steps if s.returncode)
        raise RuntimeError(f"{assignment}: step {failed.name!r} failed:\n{failed.log}")
    end = install_end(steps)
    grades = [s for s, spec in zip(job.steps, steps) if "id" in spec]
    scores = {runner: (sum(t["score"] for t in r["tests"]), r["max_score"]) for runner, r in job.results.items()}
    return {"assignment": assignment, "total": total, "load": os.getloadavg()[0],
            "install": sum(s.seconds for s in job.steps[:end]),
            "data": sum(s.seconds for s, spec in zip(job.steps, steps) if "Download" in spec.get("name", "")),
            "grade": sum(s.seconds for s in grades), "venv_gb": _size(emulation.venv), "scores": scores,
            "note": note}


def write_report(rows: list[dict]) -> str:
    lines = ["# Students' CI time: install-to-grade of the classroom workflow", "",
             f"Machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores "
             f"(shared), CPython {platform.python_version()}. Command: "
             f"`.venv/bin/python benchmarks/classroom_install.py {' '.join(r['assignment'] for r in rows)}`.", "",
             "Fresh venv, the workflow's own steps (tests/github_runner.py says what differs from a runner), "
             "the solution notebook as the student's work, the public checks. \"load after\": the machine's "
             "1-minute load average when the row was done (other work shares these cores).", "",
             "| assignment | install s | data s | grade s | install-to-grade s | venv GB | public score | load after | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        score = ", ".join(f"{s:g}/{m:g}" for s, m in r["scores"].values())
        lines.append(f"| {r['assignment']} | {r['install']:.1f} | {r['data']:.1f} | {r['grade']:.1f} | "
                     f"{r['total']:.1f} | {r['venv_gb']:.2f} | {score} | {r['load']:.1f} | {r['note']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(DEFAULT))
    args = parser.parse_args()
    rows = []
    for assignment in args.assignments:
        with tempfile.TemporaryDirectory(prefix="mlgrader-ci-time-") as tmp:
            rows.append(measure(assignment, Path(tmp)))
            print(rows[-1], flush=True)
    report = write_report(rows)
    (ROOT / "benchmarks" / "classroom_install.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
