"""Run the draft capstone benchmarks and write RESULTS.md next to this file.

    python benchmarks/drafts/run_all.py [--quick]

Each (model, threads, seed) trains in a fresh process, as a student's CI would. This
machine may be shared: before each run we wait until other processes use less than
QUIET_CORES cores (at most MAX_WAIT seconds), and a run during which they used more is
repeated (up to RETRIES attempts); every attempt is kept in results.jsonl with the load it
saw ("others_cores", in cores), and --table keeps the least disturbed attempt of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUIET_CORES = 0.3
RETRIES = 2
MAX_WAIT = 45.0
TIMEOUT = 240

# (script, extra arguments, label)
RECOMMENDED = [
    ("fashion_linear_mlp.py", ["--models", "linear"], "linear"),
    ("fashion_linear_mlp.py", ["--models", "mlp"], "mlp"),
    ("fashion_cnn.py", [], "cnn"),
]
ALTERNATIVES = [
    ("fashion_linear_mlp.py", ["--models", "linear", "--epochs", "3"], "linear"),
    ("fashion_linear_mlp.py", ["--models", "mlp", "--epochs", "3"], "mlp"),
    ("fashion_linear_mlp.py", ["--models", "mlp", "--epochs", "4", "--lr", "3e-3",
                               "--schedule", "onecycle"], "mlp"),
    ("fashion_cnn.py", ["--epochs", "2"], "cnn"),
    ("fashion_cnn.py", ["--arch", "small"], "cnn"),
    ("fashion_cnn.py", ["--arch", "tiny-fc", "--epochs", "4"], "cnn"),
]


def busy_seconds() -> float:
    """CPU seconds used by the whole machine since boot."""
    with open("/proc/stat") as fh:
        f = [int(v) for v in fh.readline().split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU seconds used by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_quiet(max_wait: float = MAX_WAIT, window: float = 2.0) -> float:
    """Wait until the machine's load stays under QUIET_CORES for a window; return the last load."""
    deadline = time.monotonic() + max_wait
    while True:
        b0 = busy_seconds()
        time.sleep(window)
        load = (busy_seconds() - b0) / window
        if load < QUIET_CORES or time.monotonic() > deadline:
            return load


def run_one(script: str, args: list[str], label: str, threads: int, seed: int,
            done: list[dict], retries: int = RETRIES, max_wait: float = MAX_WAIT) -> list[dict]:
    """Run one configuration in a fresh process, retrying while the machine is busy.

    ``done`` holds the attempts already recorded for it (the runner resumes).
    """
    attempts = []
    for attempt in range(len(done) + 1, retries + 1):
        if any(_load(r) < QUIET_CORES for r in done + attempts):
            break
        wait_quiet(max_wait)
        cmd = [sys.executable, str(HERE / script), "--json", "--threads", str(threads),
               "--seeds", str(seed), *args]
        b0, t0, c0 = busy_seconds(), time.perf_counter(), children_cpu_seconds()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                 timeout=TIMEOUT).stdout
            row = json.loads(out.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            wall = time.perf_counter() - t0
            cpu = children_cpu_seconds() - c0  # the killed child was waited for
            row = dict(model=f"{label} (timed out)", threads=threads, seed=seed, timed_out=True,
                       seconds=round(wall, 2), cpu_seconds=round(cpu, 2), test_accuracy=None,
                       others_cores=round(max(0.0, busy_seconds() - b0 - cpu) / wall, 2))
        row["attempt"] = attempt
        row["args"] = " ".join(args)
        attempts.append(row)
        print(json.dumps(row), flush=True)
    return attempts


def _label(row: dict) -> str:
    """linear, mlp or cnn."""
    return row["model"].split(" ")[0].split("-")[0]


def _load(row: dict) -> float:
    """The outside load a run saw; unknown counts as worst."""
    return float("inf") if row.get("others_cores") is None else row["others_cores"]


def _fmt(value, spec: str) -> str:
    """Format a number, or '?' when unknown."""
    return "?" if value is None else format(value, spec)


def least_disturbed(rows: list[dict]) -> list[dict]:
    """Keep, for each (model, args, threads, seed), the attempt with the least outside load."""
    best: dict[tuple, dict] = {}
    for r in rows:
        key = (_label(r), r["args"], r["threads"], r["seed"])
        if key not in best or _load(r) < _load(best[key]):
            best[key] = r
    return list(best.values())


def _config(args: str) -> str:
    """The command-line changes from the recommended config, or 'recommended'."""
    changes = args.split()
    if changes[:1] == ["--models"]:
        changes = changes[2:]
    return " ".join(changes) or "recommended"


def table(rows: list[dict]) -> str:
    """A markdown table of the runs."""
    head = ("| model | config | threads | seed | epochs | batch | lr | sched | seconds | cpu s "
            "| others (cores) | test acc |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['model']} | {_config(r['args'])} | {r['threads']} | {r['seed']} | "
            f"{r.get('epochs', '?')} | {r.get('batch', '?')} | {_fmt(r.get('lr'), 'g')} | "
            f"{r.get('schedule', '?')} | {_fmt(r['seconds'], '.2f')}{' (killed)' if r.get('timed_out') else ''} | "
            f"{_fmt(r['cpu_seconds'], '.2f')} | {_fmt(r['others_cores'], '.2f')} | "
            f"{_fmt(r['test_accuracy'], '.4f')} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="recommended configs only")
    parser.add_argument("--out", default=str(HERE / "results.jsonl"))
    parser.add_argument("--table", action="store_true", help="print the table of --out and exit")
    parser.add_argument("--retries", type=int, default=RETRIES, help="attempts per run in all")
    parser.add_argument("--max-wait", type=float, default=MAX_WAIT, help="seconds to wait for quiet")
    a = parser.parse_args()
    if a.table:
        print(table(least_disturbed([json.loads(line) for line in open(a.out)])))
        return
    jobs = [(j, t, s) for j in RECOMMENDED for t in (1, 2) for s in (0, 1, 2)]
    if not a.quick:
        jobs += [(j, t, 0) for j in ALTERNATIVES for t in (1, 2)]
    out = Path(a.out)
    previous = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    with open(out, "a") as fh:
        for (script, args, label), threads, seed in jobs:
            done = [r for r in previous if r["args"] == " ".join(args) and r["threads"] == threads
                    and r["seed"] == seed and _label(r) == label]
            for row in run_one(script, args, label, threads, seed, done, a.retries, a.max_wait):
                fh.write(json.dumps(row) + "\n")
                fh.flush()


if __name__ == "__main__":
    main()
