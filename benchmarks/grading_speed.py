"""Grading time of the same submissions with nbgrader, otter-grader and mlgrader.

    .venv/bin/python benchmarks/grading_speed.py [--copies N]

Grades N copies of the finished 01-gradient-descent notebook (examples/submissions/alice.ipynb)
with real `nbgrader autograde`, real `otter run` (the otter port of the same tests that
benchmarks/attacks/run.py builds), `mlgrader grade` one by one, and
`mlgrader grade-batch`. Prints seconds per submission and the ratio to nbgrader, and
writes benchmarks/grading_speed.md. Timings, never assertions: this is not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ASSIGNMENT = "01-gradient-descent"
SAMPLE = ROOT / "examples" / "submissions" / "alice.ipynb"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    return env


def _run(cmd: list[str], cwd: Path) -> float:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {proc.stderr[-500:]}")
    return time.monotonic() - started


def time_nbgrader(copies: int, work: Path) -> float:
    course = work / "nbgrader-course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    _run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], course)
    for i in range(copies):
        target = course / "submitted" / f"student{i}" / ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copy(SAMPLE, target / "gradient_descent.ipynb")
    return _run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT], course)


def time_otter(copies: int, work: Path) -> float | None:
    """`otter run` with the otter port of 01's tests that benchmarks/attacks/run.py builds."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("attacks_run", ROOT / "benchmarks" / "attacks" / "run.py")
    runner = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = runner  # dataclasses look their module up while it loads
    spec.loader.exec_module(runner)
    autograder = runner.otter_autograder(work)
    total = 0.0
    for i in range(copies):
        out = work / f"otter{i}"
        out.mkdir()
        shutil.copy(SAMPLE, out / "gradient_descent.ipynb")
        total += _run([str(BIN / "otter"), "run", "-a", str(autograder), "-o", str(out),
                       str(out / "gradient_descent.ipynb")], out)
    return total


def time_mlgrader_single(copies: int, work: Path) -> float:
    total = 0.0
    for i in range(copies):
        path = work / f"ml{i}.ipynb"
        shutil.copy(SAMPLE, path)
        total += _run([str(BIN / "mlgrader"), "grade", str(path), "--json"], ROOT)
    return total


def time_mlgrader_batch(copies: int, work: Path) -> float | None:
    folder = work / "batch"
    folder.mkdir()
    for i in range(copies):
        shutil.copy(SAMPLE, folder / f"student{i}.ipynb")
    try:
        return _run([str(BIN / "mlgrader"), "grade-batch", str(folder), "--out", str(work / "grades"),
                     "--workers", str(os.cpu_count() or 1)], ROOT)
    except RuntimeError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, fn in (("nbgrader autograde (one call)", time_nbgrader),
                         ("otter run (one call per notebook)", time_otter),
                         ("mlgrader grade (one call per notebook)", time_mlgrader_single),
                         (f"mlgrader grade-batch --workers {os.cpu_count()}", time_mlgrader_batch)):
            sub = work / name.split()[0] / str(len(rows))
            sub.mkdir(parents=True)
            seconds = fn(args.copies, sub)
            rows.append((name, seconds))
            print(f"{name}: {'n/a' if seconds is None else f'{seconds:.1f} s'}", file=sys.stderr)
    base = rows[0][1]
    lines = [
        f"# Grading speed: {args.copies} copies of the finished {ASSIGNMENT} notebook",
        "",
        f"Machine: {os.cpu_count()} CPU cores, {platform.python_implementation()} {platform.python_version()}. "
        f"Command: `.venv/bin/python benchmarks/grading_speed.py --copies {args.copies}`.",
        "",
        "| grader | total s | s per notebook | ratio to nbgrader |",
        "|---|---|---|---|",
    ]
    for name, seconds in rows:
        if seconds is None:
            lines.append(f"| {name} | n/a | n/a | n/a |")
        else:
            lines.append(f"| {name} | {seconds:.1f} | {seconds / args.copies:.2f} | {seconds / base:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "benchmarks" / "grading_speed.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
