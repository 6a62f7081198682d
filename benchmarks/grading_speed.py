"""Grading throughput of mlgrader next to nbgrader and otter-grader, in one run, on this machine.

    .venv/bin/python benchmarks/grading_speed.py [--n 50] [--students 6] [--skip-otter]

1. N mixed submissions of 01-gradient-descent, the same files for every grader: solutions,
   stubs, partial answers and hostile notebooks from the adversarial corpus (tests/adversarial)
   that every grader gets through. Real `nbgrader autograde` (one call), real `otter run` (one
   call per notebook, the otter zip that `mlgrader build` makes), `mlgrader grade-batch` with
   2 workers and with 1. Throughput ratios; mlgrader's amortised overhead per submission.
2. A single `mlgrader grade` of 01 (a fresh process, as a student's CI or Gradescope runs it).
3. 05 with saved weights (the GPU-trained fixture): seconds per submission in a batch.
4. Grader memory: the peak RSS of a grading worker, per assignment.
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


def time_batch(course: Path, out: Path, workers: int) -> tuple[float, list[dict]]:
    seconds = run([str(BIN / "mlgrader"), "grade-batch", str(course / "submitted"), "--out", str(out),
                   "--workers", str(workers), "--no-cache", "--autograder", str(ROOT / "autograder")], ROOT)
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
    return time_batch(course, work / "grades05", 2)


MEMORY_PROBE = """\
import json, sys
sys.modules.setdefault("rfc3987_syntax", None)
from pathlib import Path
from mlgrader.bundle import choose_bundle
from mlgrader.config import GradingConfig
from mlgrader.grading import grade_notebook
from mlgrader.grading.trusted_tests import preload_test_imports
from mlgrader.sandbox.warm import WarmKernels
# What importing the modules the tests import costs alone (torch: ~510 MB with this CUDA build)
preload_test_imports(choose_bundle(Path(sys.argv[2]), Path(sys.argv[1]).name, requested=sys.argv[3]).entry)
imports = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024
# Private memory (what a second worker adds; torch's libraries are shared between workers),
# sampled every 20 ms: the kernel keeps no high-water mark of it.
import threading, time
def private_mb():
    fields = dict(l.split()[:2] for l in open("/proc/self/smaps_rollup") if l.startswith("Private_"))
    return sum(int(v) for v in fields.values()) / 1024
private_peak, done = [private_mb()], threading.Event()
def sample():
    while not done.wait(0.02):
        private_peak[0] = max(private_peak[0], private_mb())
threading.Thread(target=sample, daemon=True).start()
with WarmKernels() as kernels:
    for _ in range(2):
        result = grade_notebook(Path(sys.argv[1]), autograder_dir=Path(sys.argv[2]),
                                config=GradingConfig(threads=1), kernels=kernels)
done.set()
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"score": result.score, "max": result.max_score, "peak_mb": peak, "imports_mb": imports,
                  "private_peak_mb": max(private_peak[0], private_mb())}))
"""


def grader_memory(work: Path) -> dict[str, dict]:
    """Peak RSS of a process that grades an assignment's solution twice with warm kernels (a worker)."""
    out = {}
    for assignment in sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()):
        if assignment.startswith("05"):
            notebook = GPU_TRAINED_05 / "fashion_mnist_gpu.ipynb"
        elif assignment.startswith("06"):
            notebook = GPU_TRAINED_06 / "cnn.ipynb"
        else:
            notebook = next((ROOT / "source" / assignment).glob("*.ipynb"))
        proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(notebook), str(ROOT / "autograder"), assignment],
                              env=env(), capture_output=True, text=True, cwd=work)
        out[assignment] = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else \
            {"error": proc.stderr[-300:]}
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
    seconds, _ = time_batch(course, work / "grades-course", 2)
    return seconds


# --- the report ---------------------------------------------------------------------------------


def memory_lines(memory: dict[str, dict]) -> list[str]:
    """The grader-memory table of the report."""
    lines = ["Grader memory (peak RSS of a process grading the assignment's solution twice with warm kernels, "
             "like a batch worker):", "",
             "| assignment | score | peak RSS MB | of which importing what the tests import, MB "
             "| peak private MB (what one more worker adds) |",
             "|---|---|---|---|---|"]
    for assignment, row in memory.items():
        if "error" in row:
            lines.append(f"| {assignment} | error | {row['error'][:60]} | | |")
        else:
            lines.append(f"| {assignment} | {row['score']:g}/{row['max']:g} | {row['peak_mb']:.0f} "
                         f"| {row['imports_mb']:.0f} | {row['private_peak_mb']:.0f} |")
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

    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mlgrader-bench-") as tmp:
        work = Path(tmp)
        subs = mixed_submissions(args.n, work)
        course = nbgrader_course(subs, work)
        kinds = sorted({k.split()[0] for k, _ in subs})
        timings = {"nbgrader autograde (one call)": time_nbgrader(course)}
        if not args.skip_otter:
            timings["otter run (one call per notebook)"] = time_otter(subs, work)
        two, results = time_batch(course, work / "grades2", 2)
        one, _ = time_batch(course, work / "grades1", 1)
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
    say("| grader | total s | s per submission | mlgrader (2 workers) is faster by |")
    say("|---|---|---|---|")
    for name, seconds in timings.items():
        say(f"| {name} | {seconds:.1f} | {seconds / args.n:.3f} | {seconds / two:.1f}x |")
    say()
    say(f"- Scaling from 1 to 2 workers: {one:.1f} s -> {two:.1f} s ({one / two:.2f}x).")
    say(f"- Amortised overhead per submission (2 workers): {fixed:.3f} s of kernel start, teardown and reading "
        f"per grade (mean of the phases in the results); {amortised:.3f} worker-seconds per submission not spent "
        f"in cells or tests.")
    say(f"- A single `mlgrader grade` of 01 (a fresh process): median {statistics.median(singles):.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in singles)}).")
    per_05 = [r["seconds"] for r in results_05]
    say(f"- 05 with its saved weights, {args.copies_05} submissions, 2 workers: {seconds_05:.1f} s, "
        f"{seconds_05 / args.copies_05:.2f} s per submission; each grade {statistics.mean(per_05):.2f} s "
        f"(phases of one: {json.dumps({k: round(v, 2) for k, v in results_05[0].get('phases', {}).items()})}).")
    say(f"- The whole course ({args.students} students x 6 notebooks, 2 workers): {course_seconds:.1f} s, "
        f"{3600 * args.students / course_seconds:.0f} students per hour.")
    say()
    for line in memory_lines(memory):
        say(line)
    say()
    say("Targets (issue 11):")
    say()
    peaks = [row["peak_mb"] for row in memory.values() if "peak_mb" in row]
    targets = [
        (f"grade-batch >= 5x nbgrader autograde's throughput on {ASSIGNMENT}",
         f"{timings['nbgrader autograde (one call)'] / two:.1f}x", timings["nbgrader autograde (one call)"] / two >= 5),
        ("amortised overhead <= 0.3 s per submission", f"{fixed:.3f} s", fixed <= 0.3),
        ("a single `mlgrader grade` of 01 <= 1 s", f"{statistics.median(singles):.2f} s",
         statistics.median(singles) <= 1.0),
        ("05 with saved weights <= 6 s per submission", f"{seconds_05 / args.copies_05:.2f} s",
         seconds_05 / args.copies_05 <= 6.0),
        ("grader memory <= 500 MB per worker on every assignment (peak RSS, shared libraries counted in full)",
         f"max {max(peaks, default=0):.0f} MB", len(peaks) == len(memory) and max(peaks, default=0) <= 500),
    ]
    if "otter run (one call per notebook)" in timings:
        otter = timings["otter run (one call per notebook)"] / two
        targets.insert(1, (f"grade-batch >= 10x `otter run`'s throughput on {ASSIGNMENT}", f"{otter:.1f}x", otter >= 10))
    for text, value, met in targets:
        say(f"- {text}: {value}, {'met' if met else 'NOT met'}")
    (ROOT / "benchmarks" / "grading_speed.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
