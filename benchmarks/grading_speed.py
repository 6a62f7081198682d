"""Grading throughput of mlgrader next to nbgrader and otter-grader, in one run, on this machine.

    .venv/bin/python benchmarks/grading_speed.py [--n 50] [--students 6] [--skip-otter]

1. N mixed submissions of 01-gradient-descent, the same files for every grader: solutions,
   stubs, partial answers and hostile notebooks from the adversarial corpus (tests/adversarial)
   that every grader gets through. Real `nbgrader autograde` (one call), real `otter run` (one
   call per notebook, the otter zip that `mlgrader build` makes), `mlgrader grade-batch` with
   its default workers (one more than the CPUs), with 2 and with 1. Throughput ratios; mlgrader's amortised overhead per submission.
2. A single `mlgrader grade` of 01 (a fresh process, as a student's CI or Gradescope runs it).
3. 05 with saved weights (the GPU-trained fixture): seconds per submission in a batch.
4. Grader memory per worker, per assignment, in a real 2-worker batch (PSS, USS and RSS).
5. The whole course: S students, all six notebooks each, in students per hour.

Writes benchmarks/grading_speed.md. Timings, never assertions: this is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))

from adversarial import corpus  # noqa: E402

from mlgrader.batch.executors import default_workers  # noqa: E402

DEFAULT_WORKERS = default_workers()  # what grade-batch uses without --workers

ASSIGNMENT = "01-gradient-descent"
NOTEBOOK = "gradient_descent"
# Hostile notebooks that every grader gets through in seconds (no endless loops: nbgrader and
# otter would spend their whole time limit on those, which measures the limit, not the grader).
HOSTILE = ("patch-np-allclose", "patch-mlgrader-checks", "input-transformer", "hooks-custom-exc",
           "agent-claims-success", "os-exit", "sys-exit", "corrupt-json", "delete-tests", "duplicate-tests",
           "test-source-pass", "setup-edited")
GPU_TRAINED_05 = ROOT / "tests" / "fixtures" / "gpu-trained" / "05-fashion-mnist-gpu"
GPU_TRAINED_06 = ROOT / "tests" / "fixtures" / "gpu-trained" / "06-cnn"


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PATH"] = f"{BIN}{os.pathsep}{out['PATH']}"
    out.pop("MLGRADER_SANDBOX", None)
    return out


def run(cmd: list[str], cwd: Path, check: bool = True) -> float:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    if check and proc.returncode not in (0, 1):  # grade-batch exits 1 when a row is an error
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return time.monotonic() - started


# --- the submissions ---------------------------------------------------------------------------


def mixed_submissions(n: int, folder: Path) -> list[tuple[str, bytes]]:
    """(kind, notebook bytes) for n students: a quarter each of solved, stub, partial, hostile."""
    ctx = corpus.Context(root=folder, course=folder, marker=folder / "MARKER", token="benchmark-token")
    kinds = [("solved", corpus.attack_named("baseline-solved")), ("stub", corpus.attack_named("baseline-stub")),
             ("partial", corpus.attack_named("baseline-wrong"))]
    hostile = [corpus.attack_named(name) for name in HOSTILE]
    out = []
    for i in range(n):
        if i % 4 < 3:
            kind, attack = kinds[i % 4]
        else:
            kind, attack = f"hostile {hostile[(i // 4) % len(hostile)].name}", hostile[(i // 4) % len(hostile)]
        out.append((kind, corpus.build(attack, ctx)))
    return out


def nbgrader_course(subs: list[tuple[str, bytes]], work: Path) -> Path:
    course = work / "nbgrader-course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], course)
    for i, (_, data) in enumerate(subs):
        target = course / "submitted" / f"student{i:03d}" / ASSIGNMENT
        target.mkdir(parents=True)
        (target / f"{NOTEBOOK}.ipynb").write_bytes(data)
    return course


# --- 1. the same N submissions, every grader -----------------------------------------------------


def time_nbgrader(course: Path) -> float:
    return run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT], course, check=False)


def time_otter(subs: list[tuple[str, bytes]], work: Path) -> float:
    zip_path = ROOT / "autograder" / ASSIGNMENT / "otter.zip"
    if not zip_path.exists():
        raise FileNotFoundError(f"{zip_path} (run mlgrader build)")
    total = 0.0
    for i, (_, data) in enumerate(subs):
        out = work / f"otter{i:03d}"
        out.mkdir()
        (out / f"{NOTEBOOK}.ipynb").write_bytes(data)
        total += run([str(BIN / "otter"), "run", "-a", str(zip_path), "-o", str(out), str(out / f"{NOTEBOOK}.ipynb")],
                     out, check=False)
    return total


def time_batch(course: Path, out: Path, workers: int | None) -> tuple[float, list[dict]]:
    """grade-batch on the course, with ``workers`` (None: grade-batch's default)."""
    pool = ["--workers", str(workers)] if workers is not None else []
    seconds = run([str(BIN / "mlgrader"), "grade-batch", str(course / "submitted"), "--out", str(out), *pool,
                   "--no-cache", "--autograder", str(ROOT / "autograder")], ROOT)
    return seconds, [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]


def overhead(results: list[dict], seconds: float, workers: int) -> tuple[float, float]:
    """(mean start+teardown+prepare per submission, worker-seconds per submission not spent in cells or tests)."""
    fixed = [sum(r.get("phases", {}).get(k, 0.0) for k in ("prepare", "start", "teardown")) for r in results]
    work = sum(r.get("phases", {}).get("cells", 0.0) + r.get("phases", {}).get("tests", 0.0) for r in results)
    return statistics.mean(fixed), (seconds * workers - work) / len(results)


# --- 2-5 ----------------------------------------------------------------------------------------


def time_single_grade(work: Path, repeats: int = 5) -> list[float]:
    path = work / f"{NOTEBOOK}.ipynb"
    shutil.copy(ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", path)
    return [run([str(BIN / "mlgrader"), "grade", str(path), "--json"], ROOT) for _ in range(repeats)]


def copy_fixture(fixture: Path, folder: Path) -> None:
    folder.mkdir(parents=True)
    for file in fixture.iterdir():
        shutil.copy(file, folder / file.name)


def time_05(work: Path, copies: int) -> tuple[float, list[dict]]:
    course = work / "class05"
    for i in range(copies):
        copy_fixture(GPU_TRAINED_05, course / "submitted" / f"student{i}" / "05-fashion-mnist-gpu")
    return time_batch(course, work / "grades05", None)


# --- 4. grader memory: a real 2-worker batch, every process sampled -----------------------------

MEMORY_COPIES = 4  # submissions per assignment: each of the 2 workers grades two


def _children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return out


def _memory_kb(pid: int) -> dict[str, int]:
    """Rss, Pss and private (USS) of a process, in kB, from the kernel's rollup of its mappings."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split()[:2]
        fields[name.rstrip(":")] = int(value)
    return {"rss": fields["Rss"], "pss": fields["Pss"], "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def _grader_pool(batch_pid: int) -> tuple[int | None, list[int]]:
    """The batch's process server and the grading workers forked from it (not the kernels)."""
    for child in _children(batch_pid):
        if b"multiprocessing.forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
            return child, _children(child)
    return None, []


def sample_batch_memory(course: Path, out: Path, workers: int) -> dict[str, float]:
    """Run grade-batch and sample its grading processes every 20 ms; peaks in MB.

    - worker RSS: resident pages of one worker, torch's shared libraries and the pages it
      shares with the process server counted in full (what `top` shows);
    - worker USS: pages only that worker holds, what one more worker adds;
    - per worker: (process server + all workers) counted once, in proportional set size
      (PSS: a page shared by k processes counts 1/k in each), divided by the workers.
    """
    proc = subprocess.Popen([str(BIN / "mlgrader"), "grade-batch", str(course), "--out", str(out), "--workers",
                             str(workers), "--no-cache", "--autograder", str(ROOT / "autograder")],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = {"worker_rss": 0, "worker_uss": 0, "pool_pss": 0, "server_rss": 0}
    while proc.poll() is None:
        time.sleep(0.02)
        try:
            server, pool = _grader_pool(proc.pid)
            if server is None or len(pool) != workers:
                continue  # starting or stopping: a process's share changes while the others are read
            server_memory, samples = _memory_kb(server), [_memory_kb(pid) for pid in pool]
            if _grader_pool(proc.pid) != (server, pool):
                continue  # a worker was replaced while it was read
        except (OSError, ValueError, KeyError):  # a process ended while it was read
            continue
        total = server_memory["pss"] + sum(m["pss"] for m in samples)
        peak["server_rss"] = max(peak["server_rss"], server_memory["rss"])
        for m in samples:
            peak["worker_rss"] = max(peak["worker_rss"], m["rss"])
            peak["worker_uss"] = max(peak["worker_uss"], m["uss"])
        peak["pool_pss"] = max(peak["pool_pss"], total)
    stderr = proc.stderr.read().decode(errors="replace")
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"grade-batch failed ({proc.returncode}): {stderr[-800:]}")
    rows = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    return {**{k: v / 1024 for k, v in peak.items()}, "per_worker_mb": peak["pool_pss"] / 1024 / workers,
            "scores": sorted({f"{r.get('score', 0):g}/{r.get('max_score', 0):g}" for r in rows})}


def grader_memory(work: Path) -> dict[str, dict]:
    """Each assignment's solution, MEMORY_COPIES students, graded by a real 2-worker batch."""
    out = {}
    for assignment in sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()):
        fixture = {"05": GPU_TRAINED_05, "06": GPU_TRAINED_06}.get(assignment[:2])
        course = work / f"memory-{assignment}"
        for i in range(MEMORY_COPIES):
            folder = course / f"student{i}" / assignment
            if fixture is not None:
                copy_fixture(fixture, folder)
            else:
                folder.mkdir(parents=True)
                for nb in (ROOT / "source" / assignment).glob("*.ipynb"):
                    shutil.copy(nb, folder / nb.name)
            for nb in folder.glob("*.ipynb"):  # each student's own bytes
                nb.write_bytes(nb.read_bytes() + b"\n" * i)
        try:
            out[assignment] = sample_batch_memory(course, work / f"memory-{assignment}-grades", 2)
        except RuntimeError as exc:
            out[assignment] = {"error": str(exc)}
    return out


def time_course(work: Path, students: int) -> float:
    course = work / "course"
    for i in range(students):
        base = course / "submitted" / f"student{i}"
        for assignment in ("01-gradient-descent", "02-linear-regression", "03-neural-networks", "04-softmax-regression"):
            (base / assignment).mkdir(parents=True)
            for nb in (ROOT / "source" / assignment).glob("*.ipynb"):
                data = nb.read_bytes() + b"\n" * i  # each student's own bytes: no cache hit
                (base / assignment / nb.name).write_bytes(data)
        copy_fixture(GPU_TRAINED_05, base / "05-fashion-mnist-gpu")
        copy_fixture(GPU_TRAINED_06, base / "06-cnn")
    seconds, _ = time_batch(course, work / "grades-course", None)
    return seconds


# --- the report ---------------------------------------------------------------------------------


def memory_lines(memory: dict[str, dict]) -> list[str]:
    """The grader-memory table of the report."""
    lines = [f"Grader memory: {MEMORY_COPIES} students' solutions per assignment, `grade-batch --workers 2`, "
             "the process server and its 2 grading workers sampled every 20 ms (the kernels, which run "
             "the students' code, are not the grader). Peaks in MB:", "",
             "| assignment | scores | per worker (server + workers, PSS, / 2) | worker USS (one more worker adds) "
             "| worker RSS (shared pages in full) | server RSS |",
             "|---|---|---|---|---|---|"]
    for assignment, row in memory.items():
        if "error" in row:
            lines.append(f"| {assignment} | error | {row['error'][:60]} | | | |")
        else:
            lines.append(f"| {assignment} | {', '.join(row['scores'])} | {row['per_worker_mb']:.0f} "
                         f"| {row['worker_uss']:.0f} | {row['worker_rss']:.0f} | {row['server_rss']:.0f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="mixed 01 submissions (default 50)")
    parser.add_argument("--students", type=int, default=6, help="students for the whole-course run (default 6)")
    parser.add_argument("--copies-05", type=int, default=6)
    parser.add_argument("--skip-otter", action="store_true")
    parser.add_argument("--memory-only", action="store_true",
                        help="print only the grader-memory table (benchmarks/grading_speed.md is left as it is)")
    args = parser.parse_args()
    if args.memory_only:
        with tempfile.TemporaryDirectory(prefix="mlgrader-bench-") as tmp:
            print("\n".join(memory_lines(grader_memory(Path(tmp)))))
        return 0
    lines = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    # mlgrader's bytecode, as `pip install` compiles it (nbgrader's and otter's came with
    # theirs): an editable checkout under PYTHONDONTWRITEBYTECODE would compile ~550 modules
    # in every process of every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mlgrader-bench-") as tmp:
        work = Path(tmp)
        subs = mixed_submissions(args.n, work)
        course = nbgrader_course(subs, work)
        kinds = sorted({k.split()[0] for k, _ in subs})
        timings = {"nbgrader autograde (one call)": time_nbgrader(course)}
        if not args.skip_otter:
            timings["otter run (one call per notebook)"] = time_otter(subs, work)
        default, _ = time_batch(course, work / "grades-default", None)
        two, results = time_batch(course, work / "grades2", 2)
        one, _ = time_batch(course, work / "grades1", 1)
        timings[f"mlgrader grade-batch (default: {DEFAULT_WORKERS} workers)"] = default
        timings["mlgrader grade-batch --workers 2"] = two
        timings["mlgrader grade-batch --workers 1"] = one
        fixed, amortised = overhead(results, two, 2)
        singles = time_single_grade(work)
        seconds_05, results_05 = time_05(work, args.copies_05)
        memory = grader_memory(work)
        course_seconds = time_course(work, args.students)

    say(f"# Grading speed on this machine ({os.cpu_count()} CPU cores, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load[0]:.2f} at the start)")
    say()
    say(f"Command: `.venv/bin/python benchmarks/grading_speed.py --n {args.n} --students {args.students}`. "
        f"{args.n} submissions of {ASSIGNMENT} ({', '.join(kinds)}; hostile ones from tests/adversarial: "
        f"{', '.join(HOSTILE[: max(1, args.n // 4)])}), the same files for every grader.")
    say()
    say(f"| grader | total s | s per submission | grade-batch ({DEFAULT_WORKERS} workers) is faster by |")
    say("|---|---|---|---|")
    for name, seconds in timings.items():
        say(f"| {name} | {seconds:.1f} | {seconds / args.n:.3f} | {seconds / default:.1f}x |")
    say()
    say(f"- Scaling from 1 to 2 workers: {one:.1f} s -> {two:.1f} s ({one / two:.2f}x); to {DEFAULT_WORKERS} "
        f"(the default, one more than the CPUs: a worker waits on its kernel): {default:.1f} s "
        f"({one / default:.2f}x).")
    say(f"- Amortised overhead per submission (2 workers): {fixed:.3f} s of kernel start, teardown and reading "
        f"per grade (mean of the phases in the results); {amortised:.3f} worker-seconds per submission not spent "
        f"in cells or tests.")
    say(f"- A single `mlgrader grade` of 01 (a fresh process): median {statistics.median(singles):.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in singles)}).")
    per_05 = [r["seconds"] for r in results_05]
    say(f"- 05 with its saved weights, {args.copies_05} submissions, {DEFAULT_WORKERS} workers: {seconds_05:.1f} s, "
        f"{seconds_05 / args.copies_05:.2f} s per submission; each grade {statistics.mean(per_05):.2f} s "
        f"(phases of one: {json.dumps({k: round(v, 2) for k, v in results_05[0].get('phases', {}).items()})}).")
    say(f"- The whole course ({args.students} students x 6 notebooks, {DEFAULT_WORKERS} workers): "
        f"{course_seconds:.1f} s, "
        f"{3600 * args.students / course_seconds:.0f} students per hour.")
    say()
    for line in memory_lines(memory):
        say(line)
    say()
    say("Targets (issue 11):")
    say()
    peaks = [row["per_worker_mb"] for row in memory.values() if "per_worker_mb" in row]
    targets = [
        (f"grade-batch >= 5x nbgrader autograde's throughput on {ASSIGNMENT}",
         f"{timings['nbgrader autograde (one call)'] / default:.1f}x",
         timings["nbgrader autograde (one call)"] / default >= 5),
        ("amortised overhead <= 0.3 s per submission", f"{fixed:.3f} s", fixed <= 0.3),
        ("a single `mlgrader grade` of 01 <= 1 s", f"{statistics.median(singles):.2f} s",
         statistics.median(singles) <= 1.0),
        ("05 with saved weights <= 6 s per submission", f"{seconds_05 / args.copies_05:.2f} s",
         seconds_05 / args.copies_05 <= 6.0),
        ("grader memory <= 500 MB per worker on every assignment (pool PSS / workers; RSS in the table)",
         f"max {max(peaks, default=0):.0f} MB", len(peaks) == len(memory) and max(peaks, default=0) <= 500),
    ]
    if "otter run (one call per notebook)" in timings:
        otter = timings["otter run (one call per notebook)"] / default
        targets.insert(1, (f"grade-batch >= 10x `otter run`'s throughput on {ASSIGNMENT}", f"{otter:.1f}x", otter >= 10))
    for text, value, met in targets:
        say(f"- {text}: {value}, {'met' if met else 'NOT met'}")
    (ROOT / "benchmarks" / "grading_speed.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
