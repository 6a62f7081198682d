"""Tests for grade-batch (mlgrader.batch and the modules it is made of): layouts, the process
pool, Dask, the cache, crashes, outputs."""

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlgrader import cli
from mlgrader.batch import BatchOptions, run_batch
from mlgrader.batch.executors import ProcessFailure, run_in_workers
from mlgrader.batch.layouts import collect_submissions, student_from_path
from mlgrader.batch.tasks import GradeTask, TaskOutcome
from mlgrader.results import GradeResult

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "source/01-gradient-descent/gradient_descent.ipynb"
STUB = ROOT / "release/01-gradient-descent/gradient_descent.ipynb"
ASSIGNMENT = "01-gradient-descent"
KNOWN = {ASSIGNMENT: ("gradient_descent",), "02-linear-regression": ("linear_regression",)}


def make_class(root: Path) -> Path:
    """nbgrader layout for four students plus one loose, damaged notebook."""
    submitted = root / "submitted"
    for student, source in [("alice", SOLUTION), ("bob", STUB), ("dave", SOLUTION)]:
        target = submitted / student / ASSIGNMENT / "gradient_descent.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(source, target)  # dave's is a byte-for-byte copy of alice's
    carol = submitted / "carol" / ASSIGNMENT / "gradient_descent.ipynb"
    carol.parent.mkdir(parents=True)
    carol.write_text('{"cells": [')  # damaged; the layout still names the assignment
    checkpoint = submitted / "alice" / ASSIGNMENT / ".ipynb_checkpoints" / "gradient_descent-checkpoint.ipynb"
    checkpoint.parent.mkdir()
    shutil.copy(STUB, checkpoint)  # Jupyter's autosave copy: must be ignored
    (root / "loose").mkdir()
    (root / "loose" / "erin.ipynb").write_text("not json at all")  # no assignment can be attached
    return root


def batch_args(paths, out, autograder=None, workers=2, scheduler=None) -> list[str]:
    """The argv of `mlgrader grade-batch ... --json`."""
    args = ["grade-batch", *[str(p) for p in paths], "--out", str(out), "--json",
            "--autograder", str(autograder or ROOT / "autograder")]
    if workers is not None:
        args += ["--workers", str(workers)]
    if scheduler:
        args += ["--scheduler", scheduler]
    return args


def grade_batch(argv: list[str]) -> int:
    return cli.main(argv)


def run_cli(argv) -> tuple[int, list[dict], float]:
    stdout = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(argv)
    return code, [json.loads(line) for line in stdout.getvalue().splitlines()], time.monotonic() - started


def read_csv(path: Path) -> dict[str, dict]:
    with path.open(newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_class(tmp_path_factory.mktemp("class"))


@pytest.fixture(scope="module")
def first_run(course):
    out = course / "grades"
    code, lines, seconds = run_cli(batch_args([course / "submitted", course / "loose" / "*.ipynb"], out))
    print(f"first batch run: {seconds:.1f} s")
    return SimpleNamespace(out=out, code=code, lines=lines, seconds=seconds)


# --- finding submissions and naming students ---------------------------------------------


@pytest.mark.parametrize("path, expected", [
    ("course/submitted/alice/01-gradient-descent/gradient_descent.ipynb", ("alice", "01-gradient-descent")),
    ("repos/01-gradient-descent-bob-smith/gradient_descent.ipynb", ("bob-smith", "01-gradient-descent")),
    ("repos/01-gradient-descent-bob/notebooks/anything.ipynb", ("bob", "01-gradient-descent")),
    ("by-student/carol/gradient_descent.ipynb", ("carol", None)),
    ("flat/dave.ipynb", ("dave", None)),
])
def test_student_ids_follow_the_layout_rules(path, expected):
    assert student_from_path(Path("/data") / path, KNOWN) == expected


def test_collecting_skips_checkpoints_and_keys_clashing_students(tmp_path):
    make_class(tmp_path)
    (tmp_path / "submitted" / "alice" / "02-linear-regression").mkdir()
    (tmp_path / "submitted" / "alice" / "02-linear-regression" / "linear_regression.ipynb").write_text("{}")
    subs = collect_submissions([str(tmp_path / "submitted"), str(tmp_path / "loose")], KNOWN)
    assert sorted(s.student for s in subs) == ["alice", "alice", "bob", "carol", "dave", "erin"]
    assert not any(".ipynb_checkpoints" in str(s.path) for s in subs)
    keys = {s.key for s in subs}
    assert len(keys) == len(subs)
    assert "alice--01-gradient-descent--gradient_descent" in keys and "alice--02-linear-regression--linear_regression" in keys
    assert {"bob", "carol", "dave", "erin"} <= keys


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert grade_batch(batch_args([tmp_path / "nothing-here"], tmp_path / "out")) == 2
    assert "no notebooks found" in capsys.readouterr().err
    (tmp_path / "a.ipynb").write_text("{}")
    assert grade_batch(batch_args([tmp_path], tmp_path / "out", workers=0)) == 2
    assert grade_batch(batch_args([tmp_path], tmp_path / "out", autograder=str(tmp_path / "none"))) == 2
    assert not (tmp_path / "out" / "grades.csv").exists()


# --- a real batch: pool of fresh processes ---------------------------------------------------


def test_grades_csv_has_one_row_per_submission(first_run):
    rows = read_csv(first_run.out / "grades.csv")
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin"]
    # other tools read the first eight columns: names and order stay; the gradebook's come after
    assert list(next(iter(rows.values())))[:8] == ["student", "assignment", "notebook", "score", "max_score",
                                                   "status", "reason", "path"]
    assert {r["manual_points"] for r in rows.values()} == {""}  # no gradebook, no points from staff
    scores = {s: (r["score"], r["max_score"], r["status"]) for s, r in rows.items()}
    assert scores["alice"] == ("8", "8", "graded")
    assert scores["dave"] == ("8", "8", "graded")
    assert scores["bob"] == ("0", "8", "graded")
    assert scores["carol"] == ("0", "8", "graded")  # damaged, but the layout names the assignment
    assert scores["erin"] == ("0", "0", "error")  # no assignment can be attached: an error row
    assert "not valid notebook JSON" in rows["carol"]["reason"]
    assert "not valid notebook JSON" in rows["erin"]["reason"]
    assert "4 of 4 tests not passed" in rows["bob"]["reason"]
    assert rows["alice"]["assignment"] == ASSIGNMENT and rows["alice"]["notebook"] == "gradient_descent"
    assert first_run.code == 1  # erin could only be recorded as an error


def test_json_lines_results_feedback_and_report(first_run):
    assert sorted(line["student"] for line in first_run.lines) == ["alice", "bob", "carol", "dave", "erin"]
    for line in first_run.lines:
        assert {"assignment", "score", "max_score", "tests", "status", "reason", "path"} <= set(line)
        assert line["cached"] is False
    out = first_run.out
    for student in ["alice", "bob", "carol", "dave", "erin"]:
        saved = json.loads((out / "results" / f"{student}.json").read_text())
        assert saved["student"] == student
        GradeResult.from_dict(saved)  # the results are GradeResult JSON
        feedback = (out / "feedback" / f"{student}.html").read_text()
        assert feedback.startswith("<!DOCTYPE html>")
    assert "8 / 8" in (out / "feedback" / "alice.html").read_text()
    report = (out / "report.html").read_text()
    assert 'href="feedback/alice.html"' in report and "data:image/svg+xml;base64," in report
    assert "could not be graded" in report


def test_second_run_reuses_the_cache(first_run, course):
    code, lines, seconds = run_cli(batch_args([course / "submitted", course / "loose" / "*.ipynb"], first_run.out))
    print(f"second batch run (cache): {seconds:.1f} s, first {first_run.seconds:.1f} s")
    cached = {line["student"]: line["cached"] for line in lines}
    assert cached == {"alice": True, "bob": True, "carol": True, "dave": True, "erin": False}  # errors retried
    assert code == first_run.code
    before = {line["student"]: (line["score"], line["status"], line["reason"]) for line in first_run.lines}
    after = {line["student"]: (line["score"], line["status"], line["reason"]) for line in lines}
    assert before == after


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        yield cluster


def test_dask_cluster_gives_the_same_grades(first_run, course, dask_cluster, tmp_path):
    # dave is left out only to save a grade's time; his notebook is alice's
    paths = [course / "submitted" / s for s in ("alice", "bob", "carol")] + [course / "loose" / "*.ipynb"]
    args = batch_args(paths, tmp_path / "dask", scheduler=dask_cluster.scheduler_address, workers=None)
    code, lines, seconds = run_cli(args)
    print(f"dask batch run: {seconds:.1f} s")
    assert code == first_run.code
    assert not any(line["cached"] for line in lines)
    local = {s: (r["score"], r["max_score"], r["status"], r["reason"])
             for s, r in read_csv(first_run.out / "grades.csv").items() if s != "dave"}
    remote = {s: (r["score"], r["max_score"], r["status"], r["reason"])
              for s, r in read_csv(tmp_path / "dask" / "grades.csv").items()}
    assert remote == local
    assert (tmp_path / "dask" / "report.html").exists() and (tmp_path / "dask" / "feedback" / "bob.html").exists()


# --- crashes, time limits and the cache, with a stand-in grader (no kernels) --------------------


def stand_in_grader(task: GradeTask) -> TaskOutcome:
    """Grades by file name; 'bob' kills its own process, as the OOM killer would."""
    name = Path(task.path).parent.parent.name
    if name == "bob":
        os.kill(os.getpid(), signal.SIGKILL)
    score = 8.0 if name == "alice" else 0.0
    result = GradeResult(ASSIGNMENT, score, 8.0, notebook="gradient_descent", submission=task.path)
    return TaskOutcome("graded", "", result.to_dict())


@pytest.fixture
def small_class(tmp_path):
    make_class(tmp_path)
    autograder = tmp_path / "autograder"
    shutil.copytree(ROOT / "autograder" / ASSIGNMENT, autograder / ASSIGNMENT)
    return tmp_path, autograder


def test_a_killed_worker_costs_one_row_never_the_batch(small_class):
    root, autograder = small_class
    options = BatchOptions(paths=(str(root / "submitted"),), out=root / "out", autograder=autograder,
                           workers=2, grade_fn=stand_in_grader)
    rows = {r.submission.student: r for r in run_batch(options)}
    assert sorted(rows) == ["alice", "bob", "carol", "dave"]
    bob = rows["bob"]
    assert (bob.status, bob.result.score, bob.result.max_score) == ("error", 0.0, 8.0)
    assert "killed by SIGKILL" in bob.reason
    assert all(t.status == "error" for t in bob.result.tests) and len(bob.result.tests) == 4
    assert rows["alice"].result.score == 8.0 and rows["alice"].status == "graded"
    assert read_csv(root / "out" / "grades.csv")["bob"]["status"] == "error"
    assert (root / "out" / "feedback" / "bob.html").exists()


def test_cache_follows_the_submission_and_the_bundle(small_class):
    root, autograder = small_class
    shutil.rmtree(root / "submitted" / "bob")  # the stand-in kills bob's process

    def graded(**changes):
        options = BatchOptions(paths=(str(root / "submitted"),), out=root / "out", autograder=autograder,
                               workers=2, grade_fn=stand_in_grader, **changes)
        return {r.submission.student: r.cached for r in run_batch(options)}

    assert graded() == {"alice": False, "carol": False, "dave": False}
    assert graded() == {"alice": True, "carol": True, "dave": True}
    dave = root / "submitted" / "dave" / ASSIGNMENT / "gradient_descent.ipynb"
    dave.write_bytes(dave.read_bytes() + b"\n")  # a resubmission
    assert graded() == {"alice": True, "carol": True, "dave": False}
    test_file = next((autograder / ASSIGNMENT / "tests").rglob("*.py"))
    test_file.write_text(test_file.read_text() + "\n# fixed a hidden test\n")  # the bundle changed
    assert graded() == {"alice": False, "carol": False, "dave": False}
    assert graded(force=True) == {"alice": False, "carol": False, "dave": False}
    assert graded(use_cache=False) == {"alice": False, "carol": False, "dave": False}
    assert graded() == {"alice": True, "carol": True, "dave": True}


def test_workers_report_exits_and_overruns():
    outcomes = dict(run_in_workers(os._exit, [3], workers=1))
    assert isinstance(outcomes[0], ProcessFailure) and "exited with status 3" in outcomes[0].reason
    assert "tried 2 times" in outcomes[0].reason  # a death is tried once more, then reported
    outcomes = dict(run_in_workers(time.sleep, [60, 0], workers=2, time_limit=1.0))
    assert "ran past 1 s" in outcomes[0].reason
    assert outcomes[1] is None  # time.sleep(0) returned normally
    outcomes = dict(run_in_workers(abs, [-2, -3, 4], workers=2))
    assert outcomes == {0: 2, 1: 3, 2: 4}


def die_the_first_time(marker: str) -> str:
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return "graded on the second try"


def test_a_task_whose_worker_died_is_tried_once_more(tmp_path):
    marker = str(tmp_path / "died-once")
    outcomes = dict(run_in_workers(die_the_first_time, [marker, marker + "-never"], workers=1))
    assert outcomes[0] == "graded on the second try"
    assert os.path.exists(marker + "-never")  # the second task also ran (and died once, then passed)


class CountingContext:
    """A worker's context that says which process made it and how often it was used."""

    def __init__(self):
        self.pid, self.used = os.getpid(), 0


def use_context(task, context: CountingContext) -> tuple[int, int]:
    context.used += 1
    return context.pid, context.used


def test_each_worker_makes_its_context_once():
    outcomes = dict(run_in_workers(use_context, list(range(6)), workers=2, make_context=CountingContext))
    by_worker: dict[int, list[int]] = {}
    for pid, used in outcomes.values():
        by_worker.setdefault(pid, []).append(used)
    assert 1 <= len(by_worker) <= 2
    for uses in by_worker.values():
        assert sorted(uses) == list(range(1, len(uses) + 1))  # one context per worker, kept across its tasks


def test_an_interrupted_batch_keeps_its_work_and_resumes(tmp_path):
    """Ctrl-C (SIGINT) in the middle: exit 130, a row for every submission, and a rerun grades only the rest."""
    import subprocess
    import sys

    for n in range(6):
        target = tmp_path / "submitted" / f"s{n}" / ASSIGNMENT / "gradient_descent.ipynb"
        target.parent.mkdir(parents=True)
        # Different bytes for each (the cache is content-addressed: copies would share a grade).
        target.write_bytes((SOLUTION if n % 2 else STUB).read_bytes() + b"\n" * n)
    out = tmp_path / "out"
    argv = [str(Path(sys.executable).parent / "mlgrader"), "grade-batch", str(tmp_path / "submitted"),
            "--out", str(out), "--workers", "1", "--autograder", str(ROOT / "autograder")]
    batch = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "results").is_dir() or len(list((out / "results").glob("*.json"))) < 2:
        assert batch.poll() is None and time.monotonic() < deadline, batch.communicate()
        time.sleep(0.1)
    batch.send_signal(signal.SIGINT)
    _, stderr = batch.communicate(timeout=60)
    assert batch.returncode == 130, stderr
    first = read_csv(out / "grades.csv")
    assert sorted(first) == [f"s{n}" for n in range(6)]  # every submission has a row
    interrupted = {s for s, r in first.items() if "interrupted" in r["reason"]}
    graded = {s for s, r in first.items() if r["status"] == "graded"}
    assert graded and interrupted and graded | interrupted == set(first)
    rerun = subprocess.run(argv + ["--json"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    cached = {json.loads(line)["student"] for line in rerun.stdout.splitlines() if json.loads(line)["cached"]}
    assert cached == graded  # what was graded before the interrupt is not graded again
    final = read_csv(out / "grades.csv")
    assert all(r["status"] == "graded" for r in final.values())
    assert {s: r["score"] for s, r in final.items()} == {f"s{n}": "8" if n % 2 else "0" for n in range(6)}


def test_the_default_pool_is_one_worker_more_than_the_cpus_this_process_may_use():
    """Pinned to one CPU (taskset, a cgroup), grade-batch keeps 2 workers of 1 thread each."""
    import subprocess
    import sys

    script = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
              "from mlgrader.batch.executors import default_workers, threads_per_worker\n"
              "from mlgrader.batch import BatchOptions\n"
              "print(default_workers(), BatchOptions(paths=('x',)).pool_size, threads_per_worker(2), "
              "BatchOptions(paths=('x',), workers=5).pool_size)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "2", "1", "5"]
