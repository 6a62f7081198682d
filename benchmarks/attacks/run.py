"""The adversarial corpus through three graders: nbgrader autograde, otter run, mlgrader grade.

    .venv/bin/python benchmarks/attacks/run.py                 # prints the table, writes benchmarks/attacks.md
    .venv/bin/python benchmarks/attacks/run.py --only patch-np-allclose gradebook-relative

Every attack notebook comes from tests/adversarial/corpus.py (the same files the test suite
grades), and mlgrader grades them with tests/adversarial/runner.py, as the test suite does. Each grader gets the same exercise, tests and points (01-gradient-descent, 8 points):

* nbgrader 0.9: a scratch course made of this repository's nbgrader_config.py and
  source/01-gradient-descent; `nbgrader generate_assignment`, the attacks as submissions
  in submitted/<student>/, `nbgrader autograde` (cell timeout lowered from the course's
  300 s to 20 s), scores read with nbgrader.api.Gradebook. The gradebook attacks run in
  courses of their own, next to an honest student whose score they might change.
* otter-grader 7: a hand-made autograder zip whose four exception-based test files run
  exactly the bundle's test code (public and hidden checks, all-or-nothing per test as in
  mlgrader) in otter's grading kernel; `otter run` per submission (pre-warmed and forked,
  like the test suite's mlgrader runs), the score from results.json. Otter has no time
  limit of its own: a run still going after 90 s is killed and counted as no grade.
* mlgrader: `mlgrader grade --json --sandbox bubblewrap` (or subprocess where bubblewrap is
  missing) against a copy of the bundle with 10 s cell limits.

Attacks that are unsafe without a sandbox (a fork bomb, an unbounded list) are not run
through nbgrader and otter; attacks on mlgrader's own channel are marked n/a there.
Offline; about 6-9 minutes on two slow cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from adversarial import corpus  # noqa: E402
from adversarial.runner import (  # noqa: E402
    Listener, grade_case, hidden_lines_in, kill_processes_with, make_bundles, new_context)

A = corpus.ASSIGNMENT
NB = corpus.NOTEBOOK
OUT_MD = REPO / "benchmarks" / "attacks.md"
NBGRADER_TIMEOUT = 20
OTTER_TIMEOUT = 30

# Not run through graders without a sandbox, and why.
UNSAFE = {
    "fork-bomb": "not run: no process limit (1000 forks on a shared machine)",
    "memory-growing-list": "not run: no memory limit (would take all 24 GB)",
    "output-flood-grader-memory": "n/a (mlgrader's grader memory)",
}
# Not run through nbgrader and otter: attacks on mlgrader's own machinery (its helper, its
# message channel, its bundle lookup and limits), and, to keep the run short, variants that
# elsewhere are only a wrong answer or a broken file like those in the table.
NOT_ELSEWHERE = {
    **{name: "n/a (mlgrader's helper and channel)" for name in (
        "agent-claims-success", "agent-module-values", "agent-deleted", "agent-malformed-reply",
        "agent-module-main", "iopub-nested-json", "iopub-content-not-dict", "forged-reply-first", "detect-grader",
        "pickle-in-reply")},
    **{name: "n/a (mlgrader's data channel; elsewhere a wrong answer)" for name in (
        "hostile-dunders", "lying-subclasses", "object-arrays", "huge-values")},
    **{name: "n/a (mlgrader's bundle and limits)" for name in (
        "overwrite-grader-code", "bundle-path-absolute", "bundle-path-relative", "kernelspec-spoof", "huge-file",
        "notebook-time-limit")},
    **{name: "not run (output size: checks mlgrader's limits)" for name in ("huge-error-message", "output-flood")},
    **{name: "not run (a broken file, like corrupt-json)" for name in (
        "empty-file", "binary-file", "non-string-source", "empty-notebook")},
}
GRADEBOOK_ATTACKS = ("gradebook-relative", "gradebook-absolute")


@dataclass
class Cell:
    """One grader's verdict on one attack."""

    score: float | None = None
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def render(self) -> str:
        if self.skipped:
            return self.skipped
        text = "no grade" if self.score is None else f"{self.score:g}"
        return text + (f" ({'; '.join(self.notes)})" if self.notes else "")


def venv_env() -> dict[str, str]:
    env = corpus.grader_env()
    env["PYTHONWARNINGS"] = "ignore"
    return env


def side_effects(ctx: corpus.Context, listener: Listener, visible: str | None, orphans: list[int]) -> list[str]:
    """What the attack achieved besides points (``visible=None``: leaks not measured;
    ``orphans``: its processes still running after the grade)."""
    notes = []
    if ctx.marker.exists():
        notes.append("its code ran in the grader")
    if visible is not None and hidden_lines_in(visible):
        notes.append("hidden tests leaked")
    if listener.reached_by(ctx):
        notes.append("reached the host network")
    if corpus.planted(ctx.token):  # a harmless .pth (a comment) in the grader's Python: found and removed
        notes.append("wrote into the grader's Python")
    if orphans:
        notes.append("process outlived grading")
    return notes


def _first_error(log_segment: str) -> str | None:
    """The first telling ERROR line nbgrader logged for one submission, shortened."""
    generic = ("There was an error processing", "Traceback", "Please see the", "Interrupting kernel")
    for line in log_segment.splitlines():
        if "| ERROR]" in line:
            message = line.split("] ", 1)[-1].strip()
            if message and not message.startswith(generic):
                return message[:60] + ("..." if len(message) > 60 else "")
    return None


def canary_source(source: str) -> str:
    return source.replace("### BEGIN HIDDEN TESTS\n", f"### BEGIN HIDDEN TESTS\n# {corpus.CANARY}\n", 1)


# --------------------------------------------------------------------------- nbgrader


def nbgrader_template(root: Path) -> Path:
    """A course folder after `nbgrader generate_assignment` (copied for each gradebook)."""
    course = root / "nbgrader-template"
    (course / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source" / A, course / "source" / A)
    nb_path = course / "source" / A / f"{NB}.ipynb"
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        text = corpus._text(cell["source"])
        if "### BEGIN HIDDEN TESTS" in text:
            cell["source"] = canary_source(text)
    nb_path.write_text(json.dumps(nb, indent=1))
    subprocess.run(["nbgrader", "generate_assignment", A, "--force"], cwd=course, env=venv_env(),
                   check=True, capture_output=True, timeout=300)
    return course


def nbgrader_run(template: Path, course: Path, attacks: list[corpus.Attack], listener: Listener,
                 extra_students: dict[str, str] | None = None) -> dict[str, Cell]:
    shutil.copytree(template, course)
    contexts, students = {}, {}
    for i, attack in enumerate(attacks):
        student = f"s{i:02d}"
        ctx = new_context(root=course.parent, course=course, marker=course.parent / f"marker-nbg-{course.name}-{i}",
                          port=listener.port)
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / f"{NB}.ipynb").write_bytes(corpus.build(attack, ctx))
        contexts[attack.name], students[attack.name] = ctx, student
    for student, base in (extra_students or {}).items():
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / f"{NB}.ipynb").write_text(json.dumps(corpus.BASES[base](), indent=1))
    # `nbgrader autograde` logs an error for a submission it cannot grade and goes on, but
    # some errors stop the whole run, leaving the later submissions ungraded: set the one it
    # stopped at aside, note why, and run it again (it skips what is already autograded).
    aborted: dict[str, str] = {}
    errors: dict[str, str] = {}
    with open(course / "autograde.log", "w") as log:
        for _ in range(len(attacks) + 1):
            proc = subprocess.run(["nbgrader", "autograde", A, f"--ExecutePreprocessor.timeout={NBGRADER_TIMEOUT}"],
                                  cwd=course, env=venv_env(), capture_output=True, text=True, timeout=1500)
            text = proc.stdout + proc.stderr
            log.write(text)
            segments = re.split(r"Creating/updating student with ID '([^']+)'", text)
            for student, segment in zip(segments[1::2], segments[2::2]):
                first = _first_error(segment)
                if first:
                    errors[student] = first
            started = set(segments[1::2])
            # submissions this run never reached: it stopped early (failed ones are retried by
            # every run, as nbgrader removes their autograded folder; those are not the cause)
            unreached = [sid for sid in students.values() if (course / "submitted" / sid).exists()
                         and not (course / "autograded" / sid).exists() and sid not in started]
            if not unreached or len(segments) < 3:
                break
            culprit = segments[-2]
            aborted[culprit] = errors.get(culprit, f"exit {proc.returncode}")
            shutil.move(course / "submitted" / culprit, course / f"set-aside-{culprit}")
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for attack in attacks:
            cell = Cell()
            student = students[attack.name]
            try:
                cell.score = float(gb.find_submission(A, student).score)
            except MissingEntry:
                cell.notes.append("not autograded")
            if student in aborted:
                cell.notes.append(f"stopped the whole autograde run: {aborted[student]}")
            elif student in errors:
                cell.notes.append(f"nbgrader error: {errors[student]}")
            # nbgrader's feedback shows hidden test code by design (the restored test cells and
            # tracebacks through them), so leaks are not noted for it.
            ctx = contexts[attack.name]
            cell.notes += side_effects(ctx, listener, None, kill_processes_with(ctx.token))
            out[attack.name] = cell
        for student, base in (extra_students or {}).items():
            out[f"{student}:{base}"] = Cell(float(gb.find_submission(A, student).score))
    return out


# --------------------------------------------------------------------------- otter


OTTER_TEST = '''\
OK_FORMAT = False
name = {name!r}
points = {points!r}

from otter.test_files import test_case

SOURCE = {source!r}


@test_case(points={points!r}, hidden=True)
def {function}(env):
    # the bundle's test (public and hidden checks), run in otter's grading kernel
    exec(compile(SOURCE, {name!r}, "exec"), dict(env))
'''


def otter_autograder(root: Path) -> Path:
    """A hand-made otter autograder zip with the bundle's four tests."""
    zip_path = root / "otter-autograder.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("otter_config.json", json.dumps({}))
        for name, points in corpus.TESTS.items():
            source = canary_source((corpus.BUNDLE / "tests" / NB / f"{name}.py").read_text())
            zf.writestr(f"tests/{name}.py", OTTER_TEST.format(name=name, points=points, source=source,
                                                               function=name.replace("-", "_")))
    return zip_path


# One pre-warmed interpreter with otter imported; each job is a forked child that runs
# `otter run` (otter.run.main, what the `otter run` command calls) for one submission.
OTTER_WORKER = """\
import json, os, signal, sys
import otter.run, otter.execute, nbconvert.preprocessors, nbclient, dill
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(job["cwd"])
            os.environ["JUPYTER_RUNTIME_DIR"] = job["runtime"]
            for fd, path in ((1, job["out"]), (2, job["err"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
            sys.stdout = open(1, "w", closefd=False); sys.stderr = open(2, "w", closefd=False)
            otter.run.main(job["submission"], autograder=job["autograder"], output_dir=job["cwd"], no_logo=True)
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    deadline = job["timeout"]
    import time
    started = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() - started > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            rc = "timeout"
            break
        time.sleep(0.1)
    print(json.dumps({"id": job["id"], "rc": rc}), flush=True)
"""


def otter_run(root: Path, zip_path: Path, attacks: list[corpus.Attack], listener: Listener,
              workers: int = 2) -> dict[str, Cell]:
    jobs = []
    for i, attack in enumerate(attacks):
        work = root / f"otter-{i:02d}"
        (work / "runtime").mkdir(parents=True)
        ctx = new_context(root=root, course=work, marker=root / f"marker-otter-{i}", port=listener.port,
                          autograder_root=work)
        submission = work / f"{NB}.ipynb"
        submission.write_bytes(corpus.build(attack, ctx))
        jobs.append((attack, ctx, {"id": i, "cwd": str(work), "submission": str(submission),
                                   "autograder": str(zip_path), "runtime": str(work / "runtime"),
                                   "out": str(work / "otter.out"), "err": str(work / "otter.err"),
                                   "timeout": OTTER_TIMEOUT}))
    out: dict[str, Cell] = {}

    def worker(chunk):
        proc = subprocess.Popen([sys.executable, "-P", "-c", OTTER_WORKER], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env=venv_env(), cwd=root)
        for attack, ctx, job in chunk:
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline())
            work = Path(job["cwd"])
            # kernels the run left behind (otter has no time limit; its kernels run in their own session)
            kill_processes_with(job["runtime"])
            cell = Cell()
            results = work / "results.json"
            visible = results.read_text(errors="replace") if results.exists() else ""
            if reply["rc"] == "timeout":
                cell.notes.append(f"hung: killed after {OTTER_TIMEOUT} s")
            elif results.exists():
                data = json.loads(visible)  # Gradescope's format: a total, or scores per test
                cell.score = float(data["score"]) if "score" in data else \
                    float(sum(t.get("score", 0.0) for t in data.get("tests", [])))
            else:
                err = (work / "otter.err").read_text(errors="replace").strip().splitlines() if (work / "otter.err").exists() else []
                cell.notes.append("otter failed" + (f": {err[-1][:80]}" if err else ""))
            cell.notes += side_effects(ctx, listener, visible, kill_processes_with(ctx.token))
            out[attack.name] = cell
        proc.stdin.close()
        proc.wait(timeout=60)

    chunks = [jobs[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, chunks))
    return out


# --------------------------------------------------------------------------- mlgrader


def mlgrader_jobs(attacks: list[corpus.Attack], mode: str) -> list[tuple[corpus.Attack, str]]:
    """Each attack in the default mode (or its only mode), plus the fallback mode where it is
    a known weakness of that mode."""
    jobs = []
    for attack in attacks:
        modes = [mode if mode in attack.modes else attack.modes[0]]
        if "subprocess" in dict(attack.xfail_contained) and "subprocess" not in modes:
            modes.append("subprocess")
        jobs += [(attack, m) for m in modes]
    return jobs


def mlgrader_run(root: Path, attacks: list[corpus.Attack], listener: Listener, workers: int = 3) -> dict[str, Cell]:
    from mlgrader.sandbox.modes import bubblewrap_works

    mode = "bubblewrap" if bubblewrap_works() else "subprocess"
    bundles = make_bundles(root)
    zygote = corpus.Zygote(root / "zygote")

    def one(job):
        attack, run_mode = job
        only = run_mode == attack.modes[0] and mode not in attack.modes  # the attack's only mode
        key = attack.name if run_mode == mode or only else f"{attack.name} [{run_mode}]"
        run = grade_case(attack, run_mode, root / f"mlgrader-{attack.name}-{run_mode}", bundles, listener.port,
                         zygote)
        outcome = run.outcome
        cell = Cell(outcome.score if outcome.result else None)
        if only:
            cell.notes.append(f"{run_mode} mode")
        if run.followup is not None:
            cell.notes.append(f"then an honest {attack.followup_base} graded by the same installation got "
                              f"{run.followup.score:g}")
        if outcome.result is None:
            cell.notes.append(f"grader crashed, exit {outcome.returncode}")
        elif outcome.result.get("assignment") != A:
            claimed = str(outcome.result.get("assignment"))
            cell.notes.append("graded against the bundle it shipped" if "evil-bundle" in claimed
                              else f"graded as {claimed!r}")
        cell.notes += side_effects(run.ctx, listener, outcome.stdout + outcome.stderr, run.orphans)
        if run.course_after != run.course_before:
            cell.notes.append("changed files outside its sandbox")
        if len(outcome.stdout) > 1_000_000:
            cell.notes.append(f"{len(outcome.stdout) / 1e6:.0f} MB result")
        if attack.max_grader_rss_mb and outcome.grader_rss_mb and outcome.grader_rss_mb > attack.max_grader_rss_mb:
            cell.notes.append(f"grader grew to {outcome.grader_rss_mb:.0f} MB")
        return key, cell

    try:
        with ThreadPoolExecutor(workers) as pool:
            results = dict(pool.map(one, mlgrader_jobs(attacks, mode)))
    finally:
        zygote.close()
    return results, mode


# --------------------------------------------------------------------------- the table


def render(attacks, nbg, ott, mlg, mode, seconds, victims) -> str:
    lines = [
        "# Attacks on three autograders",
        "",
        "The adversarial corpus of `tests/adversarial/corpus.py` (the submissions `tests/test_adversarial.py` "
        "grades), run through `nbgrader autograde`, `otter run` and `mlgrader grade` on the same exercise "
        f"({A}, 8 points). Reproduce (offline, {seconds / 60:.0f} min here):",
        "",
        "    .venv/bin/python benchmarks/attacks/run.py",
        "",
        "Each score is what the grader recorded; *honest* is what the notebook the attack starts from "
        "deserves (the release stub 0, a wrong answer 5, the full solution 8): a score above it (bold) is "
        "points gained by cheating. nbgrader 0.9.6 and otter-grader 7.0.0 run the same tests (the bundle's "
        "public and hidden checks, all-or-nothing per test) in the student's kernel, as they are designed to; "
        f"nbgrader with a {NBGRADER_TIMEOUT} s cell timeout (the course config says 300), otter with no time "
        f"limit of its own (runs killed after {OTTER_TIMEOUT} s). mlgrader ran in `{mode}` mode; rows "
        "\"in mlgrader's subprocess mode\" show its fallback sandbox where that is weaker.",
        "",
        "Notes: *its code ran in the grader*: a file only the grading process could create appeared "
        "(code from the submission ran outside any sandbox); *hidden tests leaked*: hidden test code reached "
        "what the student gets back (otter: results.json; mlgrader: the result JSON; not noted for nbgrader, "
        "whose feedback shows hidden tests by design); *reached the host network*: a listener on the "
        "grading host's 127.0.0.1 received the submission's bytes; *process outlived grading*: a process "
        "the notebook started was still running after the grade.",
        "",
        "| attack | honest | nbgrader | otter | mlgrader | max |",
        "|---|---|---|---|---|---|",
    ]
    for attack in attacks:
        row = [f"`{attack.name}`: {attack.description}", f"{attack.allowed:g}"]
        for table in (nbg, ott, mlg):
            cell = table.get(attack.name)
            row.append(cell.render() if cell else "")
        row.append(f"{corpus.MAX_SCORE:g}")
        for i in (2, 3, 4):
            cell = (nbg, ott, mlg)[i - 2].get(attack.name)
            if cell and cell.score is not None and cell.score > attack.allowed:
                row[i] = f"**{row[i]}**"
        lines.append("| " + " | ".join(r.replace("|", "\\|") for r in row) + " |")
        for key in sorted(k for k in mlg if k.startswith(attack.name + " [")):
            other = key[len(attack.name) + 2:-1]
            cell = mlg[key]
            text = cell.render()
            if cell.score is not None and cell.score > attack.allowed:
                text = f"**{text}**"
            lines.append(f"| `{attack.name}` in mlgrader's {other} mode | {attack.allowed:g} | | | {text} | "
                         f"{corpus.MAX_SCORE:g} |")
    lines += ["", "Bold: the attack gained points over its honest score. Blank: the row above applies."]
    if victims:
        lines += ["", "nbgrader gradebook attacks ran in courses of their own, next to an honest student "
                      "who submitted the untouched release (honest score 0); that student's recorded score: "
                      + ", ".join(f"{k}: {v:g}" for k, v in victims.items()) + "."]
    return "\n".join(lines) + "\n"


def remove_planted_fakes() -> list[str]:
    """Undo fake-mlgrader-in-cwd where nbgrader and otter let it write: ~ and /tmp of this host.

    Left there, ``python -c 'import numpy'`` run from the home folder imports the fake.
    Only files with the attack's own contents are removed.
    """
    removed = []
    for folder in (Path.home(), Path("/tmp")):
        fakes = {folder / "numpy.py": "allclose = lambda *a, **k: True\n",
                 folder / "sitecustomize.py": "import builtins; builtins.abs = lambda x: 0\n",
                 folder / "zz_evil.pth": "import builtins; builtins.abs = lambda x: 0\n"}
        for path, text in fakes.items():
            if path.is_file() and path.read_text() == text:
                path.unlink()
                removed.append(str(path))
        package = folder / "mlgrader"
        if package.is_dir() and sorted(p.name for p in package.iterdir()) == ["__init__.py", "checks.py"] \
                and "def _noop" in (package / "checks.py").read_text():
            shutil.rmtree(package)
            removed.append(str(package))
    return removed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="attack names (default: the whole corpus)")
    parser.add_argument("--out", default=str(OUT_MD), help="markdown file to write (default: benchmarks/attacks.md)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    started = time.monotonic()
    attacks = [a for a in corpus.ATTACKS if not args.only or a.name in args.only]
    os.environ["PATH"] = venv_env()["PATH"]
    root = Path(tempfile.mkdtemp(prefix="mlgrader-attacks-"))
    listener = Listener()
    others = [a for a in attacks if a.name not in UNSAFE and a.name not in NOT_ELSEWHERE]
    plain = [a for a in others if a.name not in GRADEBOOK_ATTACKS]
    try:
        template = nbgrader_template(root)
        zip_path = otter_autograder(root)
        with ThreadPoolExecutor(5) as pool:
            jobs = {"nbgrader": pool.submit(nbgrader_run, template, root / "nbgrader-course", plain, listener)}
            for name in GRADEBOOK_ATTACKS:
                if name in {a.name for a in others}:
                    jobs[name] = pool.submit(nbgrader_run, template, root / f"nbgrader-{name}",
                                             [corpus.attack_named(name)], listener, {"honest": "stub"})
            jobs["otter"] = pool.submit(otter_run, root, zip_path, others, listener)
            jobs["mlgrader"] = pool.submit(mlgrader_run, root, attacks, listener)
            nbg = jobs["nbgrader"].result()
            victims = {}
            for name in GRADEBOOK_ATTACKS:
                if name in jobs:
                    extra = jobs[name].result()
                    victims[name] = extra.pop("honest:stub").score
                    nbg.update(extra)
            ott = jobs["otter"].result()
            mlg, mode = jobs["mlgrader"].result()
        for name, why in UNSAFE.items():
            nbg.setdefault(name, Cell(skipped=why))
            ott.setdefault(name, Cell(skipped=why))
        for name, why in NOT_ELSEWHERE.items():
            nbg.setdefault(name, Cell(skipped=why))
            ott.setdefault(name, Cell(skipped=why))
        text = render(attacks, nbg, ott, mlg, mode, time.monotonic() - started, victims)
    finally:
        listener.close()
        for planted in remove_planted_fakes():
            print(f"removed what an attack planted on this host: {planted}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"scratch folder kept: {root}", file=sys.stderr)
    print(text)
    if not args.only:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
