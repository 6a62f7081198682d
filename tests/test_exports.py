"""The instructor's gradebook end to end: grade-batch with a deadline and a roster on nbgrader's
submitted/ tree and on a folder of cloned repositories (real git commits at chosen dates), grades.csv,
the report, the real `nbgrader export` of the gradebook written, the LMS files of `mlgrader export`,
and regrades (one student; everyone after a bundle change) with the history."""

import contextlib
import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlgrader import cli
from mlgrader.batch import BatchOptions, run_batch
from mlgrader.batch.tasks import GradeTask, TaskOutcome
from mlgrader.results import GradeResult
from mlgrader.results import TestResult as Verdict  # not Test*: pytest would collect it

from test_submission_times import classroom_csv, student_repo

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01-gradient-descent"
SOLUTION = ROOT / "source" / ASSIGNMENT / "gradient_descent.ipynb"
STUB = ROOT / "release" / ASSIGNMENT / "gradient_descent.ipynb"
TESTS = [("test-derivative", 1.0), ("test-gd-loop", 2.0), ("test-nudge", 2.0), ("test-gradient-weight", 3.0)]
DEADLINE = {"due": "2026-10-01T23:59:00", "timezone": "Europe/Berlin",
            "late": {"policy": "per-day", "percent": 10, "grace": "15m", "cutoff": "3d"}}
ROSTER = ("id,name,email,login,section,canvas_id,sis_login_id\n"
          "s001,Alice Liddell,alice@uni.example,alice,A,901,aliddell\n"
          "s002,Bob Builder,bob@uni.example,bob,A,902,bbuilder\n"
          "s003,Carol Danvers,carol@uni.example,carol,B,903,cdanvers\n"
          "s004,Dave Null,dave@uni.example,dave,B,904,dnull\n")
CONFIG = (f'roster = "roster.csv"\n[assignments."{ASSIGNMENT}"]\ntitle = "HW1 gradient descent"\ncanvas_id = 4242\n'
          'extensions = {carol = "2d"}\n')


def course(root: Path, config: str = CONFIG, roster: str = ROSTER) -> Path:
    """A course folder: the bundle with its deadline in the manifest (as the build writes it from the
    solution header), mlgrader.toml and the roster beside it. No solutions/."""
    bundle = root / "autograder" / ASSIGNMENT
    shutil.copytree(ROOT / "autograder" / ASSIGNMENT, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    (bundle / "manifest.json").write_text(json.dumps({**manifest, "deadline": DEADLINE}, indent=1, sort_keys=True))
    (root / "mlgrader.toml").write_text(config)
    (root / "roster.csv").write_text(roster)
    return root


def submit(root: Path, student: str, notebook: Path, stamp: str | None) -> Path:
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, folder / "gradient_descent.ipynb")
    if stamp:
        (folder / "timestamp.txt").write_text(stamp + "\n")
    return folder


def run_cli(argv: list[str]) -> SimpleNamespace:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    return SimpleNamespace(code=code, out=stdout.getvalue(), err=stderr.getvalue())


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def utc_naive(text: str) -> str:
    """grades.csv's time as nbgrader's export prints it (UTC, no zone)."""
    return str(dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc).replace(tzinfo=None))


@pytest.fixture(scope="module")
def nbgrader_class(tmp_path_factory):
    """nbgrader's layout, graded for real: on time, a day late, on time by her extension, not on the roster."""
    root = course(tmp_path_factory.mktemp("nbgrader-class"))
    submit(root, "alice", SOLUTION, "2026-10-01 21:30:00.000000 UTC")  # 23:30 in Berlin: on time
    submit(root, "bob", SOLUTION, "2026-10-03 00:30:00 CEST")  # 1 d 31 min late: 2 started days, -1.6
    submit(root, "carol", STUB, "2026-10-03 10:00:00 UTC")  # late, but her extension runs two more days
    submit(root, "mallory", SOLUTION, "2026-10-01 20:00:00 UTC")  # on no roster line
    out, db = root / "grades", root / "gradebook.db"
    run = run_cli(["grade-batch", str(root / "submitted"), "--autograder", str(root / "autograder"), "--out", str(out),
                   "--workers", "2", "--gradebook", f"sqlite:///{db}"])
    return SimpleNamespace(root=root, out=out, db=db, run=run, rows={r["student"]: r for r in read_csv(out / "grades.csv")})


def test_grades_csv_shows_who_when_how_late_and_the_penalty_beside_the_raw_score(nbgrader_class):
    assert nbgrader_class.run.code == 0, nbgrader_class.run.err
    rows = nbgrader_class.rows
    assert sorted(rows) == ["mallory", "s001", "s002", "s003"]
    header = list(next(iter(rows.values())))
    assert header[:8] == ["student", "assignment", "notebook", "score", "max_score", "status", "reason", "path"]
    assert header[8:] == ["name", "email", "login", "roster", "submitted_at", "time_source", "due", "late_seconds",
                          "penalty", "final_score", "late_note", "tamper", "manual_points"]
    alice, bob, carol, mallory = rows["s001"], rows["s002"], rows["s003"], rows["mallory"]
    assert (alice["name"], alice["email"], alice["login"], alice["roster"]) == \
        ("Alice Liddell", "alice@uni.example", "alice", "matched")
    assert (alice["submitted_at"], alice["time_source"], alice["due"]) == \
        ("2026-10-01T23:30:00+02:00", "nbgrader timestamp.txt", "2026-10-01T23:59:00+02:00")
    assert (alice["score"], alice["penalty"], alice["final_score"], alice["late_seconds"]) == ("8", "0", "8", "0")
    assert (bob["score"], bob["penalty"], bob["final_score"], bob["late_seconds"]) == ("8", "1.6", "6.4", "88260")
    assert "2 started days x 10% of 8 points = -1.6" in bob["late_note"]
    assert (carol["due"], carol["penalty"], carol["late_seconds"]) == ("2026-10-03T23:59:00+02:00", "0", "0")
    assert (mallory["roster"], mallory["login"], mallory["score"]) == ("not on roster", "mallory", "8")


def test_the_report_and_the_summary_list_lateness_and_the_roster(nbgrader_class):
    summary = nbgrader_class.run.out
    assert "submission times from 4 nbgrader timestamp.txt" in summary
    assert "1 late: 1.6 points taken by the late policy (raw scores kept)" in summary
    assert "  not on roster  mallory:" in summary
    assert "  missing  01-gradient-descent: s004 (Dave Null)" in summary
    report = (nbgrader_class.out / "report.html").read_text()
    for text in ("Late submissions", "Submissions that match no one on the roster (1)", "mallory",
                 "Roster students with no submission (1)", "Dave Null", "late penalty", "-1.6"):
        assert text in report
    feedback = (nbgrader_class.out / "feedback" / "s002.html").read_text()
    assert "Late: 1 d 31 min late" in feedback and "Score after the late penalty: <b>6.4 / 8</b>" in feedback


def test_nbgrader_export_of_the_gradebook_shows_the_numbers_of_grades_csv(nbgrader_class, tmp_path):
    from mlgrader.authoring.release import nbgrader_env

    target = tmp_path / "nbgrader-export.csv"
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export",
                           f"--CourseDirectory.db_url=sqlite:///{nbgrader_class.db}", "--to", str(target)],
                          cwd=tmp_path, env=nbgrader_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    exported = {r["student_id"]: r for r in read_csv(target)}
    assert sorted(exported) == ["mallory", "s001", "s002", "s003", "s004"]  # the roster's Dave too, as nbgrader lists
    for student, ours in nbgrader_class.rows.items():
        theirs = exported[student]
        assert float(theirs["raw_score"]) == float(ours["score"])
        assert float(theirs["late_submission_penalty"]) == float(ours["penalty"])
        assert float(theirs["score"]) == float(ours["final_score"])
        assert float(theirs["max_score"]) == float(ours["max_score"])
        assert theirs["timestamp"] == utc_naive(ours["submitted_at"])
        assert theirs["duedate"] == utc_naive("2026-10-01T23:59:00+02:00")  # the assignment's; carol's extension ...
    assert (exported["s002"]["last_name"], exported["s002"]["first_name"], exported["s002"]["email"]) == \
        ("Builder", "Bob", "bob@uni.example")
    assert exported["s004"]["timestamp"] == "" and float(exported["s004"]["score"]) == 0.0
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{nbgrader_class.db}") as gb:  # ... is the submission's extension, as in nbgrader
        carol = gb.find_submission(ASSIGNMENT, "s003")
        assert carol.extension == dt.timedelta(days=2) and carol.total_seconds_late == 0
        bob = gb.find_submission(ASSIGNMENT, "s002")
        assert bob.total_seconds_late == 88260 and gb.find_student("s001").lms_user_id == "901"


def test_canvas_export_has_canvas_leading_columns_and_one_assignment_column(nbgrader_class, tmp_path):
    run = run_cli(["export", "--format", "canvas", "--grades", str(nbgrader_class.out),
                   "--autograder", str(nbgrader_class.root / "autograder"), "--out", str(tmp_path / "canvas.csv")])
    assert run.code == 0, run.err
    assert "mallory is on no roster line: left out" in run.err
    assert read_rows(tmp_path / "canvas.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW1 gradient descent (4242)"],
        ["Points Possible", "", "", "", "", "8"],
        ["Builder, Bob", "902", "s002", "bbuilder", "A", "6.4"],
        ["Danvers, Carol", "903", "s003", "cdanvers", "B", "0"],
        ["Liddell, Alice", "901", "s001", "aliddell", "A", "8"],
        ["Null, Dave", "904", "s004", "dnull", "B", ""],  # nothing handed in: Canvas leaves the cell as it was
    ]


def test_moodle_export_has_one_identifier_column(nbgrader_class, tmp_path):
    args = ["export", "--format", "moodle", "--grades", str(nbgrader_class.out),
            "--autograder", str(nbgrader_class.root / "autograder")]
    assert run_cli(args + ["--out", str(tmp_path / "m.csv")]).code == 0
    assert read_rows(tmp_path / "m.csv") == [["Email address", "HW1 gradient descent"], ["bob@uni.example", "6.4"],
                                             ["carol@uni.example", "0"], ["alice@uni.example", "8"],
                                             ["dave@uni.example", ""]]
    assert run_cli(args + ["--out", str(tmp_path / "i.csv"), "--moodle-id", "idnumber"]).code == 0
    assert [r[0] for r in read_rows(tmp_path / "i.csv")] == ["ID number", "s002", "s003", "s001", "s004"]


def test_wide_export_has_per_assignment_and_per_test_columns(nbgrader_class, tmp_path):
    run = run_cli(["export", "--format", "csv", "--grades", str(nbgrader_class.out),
                   "--autograder", str(nbgrader_class.root / "autograder"), "--out", str(tmp_path / "w.csv")])
    assert run.code == 0, run.err
    rows = read_csv(tmp_path / "w.csv")
    a = ASSIGNMENT
    assert list(rows[0]) == ["student", "name", "email", "login", "roster", a, f"{a} max", f"{a} raw", f"{a} penalty",
                             f"{a} late_seconds", f"{a} submitted_at", f"{a} status", f"{a} pending",
                             *(f"{a}/gradient_descent/{t}" for t, _ in TESTS)]
    by = {r["student"]: r for r in rows}
    assert sorted(by) == ["mallory", "s001", "s002", "s003", "s004"]  # everyone, roster or not
    bob = by["s002"]
    assert (bob[a], bob[f"{a} raw"], bob[f"{a} penalty"], bob[f"{a} status"], bob[f"{a} submitted_at"]) == \
        ("6.4", "8", "1.6", "graded", "2026-10-03T00:30:00+02:00")
    assert [bob[f"{a}/gradient_descent/{t}"] for t, _ in TESTS] == ["1", "2", "2", "3"]
    assert (by["s004"][a], by["s004"][f"{a} status"]) == ("", "missing")
    assert by["mallory"]["roster"] == "not on roster"


def test_export_without_a_batch_or_with_a_bad_format_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["export", "--format", "canvas", "--grades", str(tmp_path)]) == 2
    assert "no graded batch here" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["export", "--format", "blackboard"])


def test_export_help_says_what_each_file_is_for(capsys):
    with pytest.raises(SystemExit):
        cli.main(["export", "--help"])
    text = capsys.readouterr().out
    for words in ("Canvas's gradebook CSV", "Moodle's grade import CSV", "A wide CSV", "Points Possible"):
        assert words in text


# --- cloned repositories (GitHub Classroom) --------------------------------------------------

CLASSROOM_ROSTER = ("identifier,github_username,github_id,name\n"
                    "ada@uni.example,ada-l,1001,Ada Lovelace\n"
                    "grace@uni.example,GraceH,1002,Grace Hopper\n"
                    "s2003,,,Never Linked\n")


def test_a_folder_of_cloned_repositories_from_grade_batch_to_canvas(tmp_path):
    root = course(tmp_path, config=f'[assignments."{ASSIGNMENT}"]\ntitle = "HW1"\n', roster=CLASSROOM_ROSTER)
    repos = root / f"{ASSIGNMENT}-submissions"  # as `gh classroom clone student-repos` names it
    student_repo(repos, "ada-l", [("2026-10-01T21:00:00+02:00", {"gradient_descent.ipynb": SOLUTION.read_bytes()}),
                                  ("2026-10-06T09:00:00+02:00", {"README.md": b"after the deadline"})])
    student_repo(repos, "GraceH", [("2026-10-01T20:00:00+02:00", {"gradient_descent.ipynb": STUB.read_bytes()}),
                                   ("2026-10-02T05:00:00+02:00", {"gradient_descent.ipynb": SOLUTION.read_bytes()})])
    grades_csv = classroom_csv(root / "classroom-grades.csv", [("ada-l", f"{ASSIGNMENT}-ada-l", "2026-10-01T19:05:00Z")])
    out = root / "grades"
    run = run_cli(["grade-batch", str(repos), "--autograder", str(root / "autograder"), "--out", str(out),
                   "--workers", "2", "--roster", str(root / "roster.csv"), "--classroom-grades", str(grades_csv)])
    assert run.code == 0, run.err
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    ada, grace = rows["ada@uni.example"], rows["grace@uni.example"]
    assert (ada["time_source"], ada["submitted_at"], ada["penalty"]) == ("GitHub Classroom", "2026-10-01T21:05:00+02:00", "0")
    assert (grace["time_source"], grace["submitted_at"], grace["login"]) == ("git commit", "2026-10-02T05:00:00+02:00",
                                                                           "GraceH")
    assert (grace["score"], grace["penalty"], grace["final_score"]) == ("8", "0.8", "7.2")  # 5 h late: one day
    assert "  missing  01-gradient-descent: s2003 (Never Linked)" in run.out
    assert run_cli(["export", "--format", "canvas", "--grades", str(out), "--autograder", str(root / "autograder")]).code == 0
    assert read_rows(out / "canvas.csv")[2:] == [["Hopper, Grace", "", "grace@uni.example", "", "", "7.2"],
                                                 ["Linked, Never", "", "s2003", "", "", ""],
                                                 ["Lovelace, Ada", "", "ada@uni.example", "", "", "8"]]


# --- regrades ---------------------------------------------------------------------------------


def test_regrading_one_student_keeps_everyone_else_and_the_history(nbgrader_class, tmp_path):
    root = tmp_path / "class"
    shutil.copytree(nbgrader_class.root, root, symlinks=True)
    out = root / "grades"
    submit(root, "bob", STUB, "2026-10-02 08:00:00 UTC")  # bob's resubmission (worse, and later)
    run = run_cli(["grade-batch", str(root / "submitted"), "--autograder", str(root / "autograder"), "--out", str(out),
                   "--workers", "1", "--student", "bob"])
    assert run.code == 0, run.err
    assert "(3 kept from the last batch)" in run.out
    assert "regraded s002: 1 changed" in run.out
    assert "changed  s002 01-gradient-descent/gradient_descent: 6.4 -> 0 (a new submission)" in run.out
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert sorted(rows) == ["mallory", "s001", "s002", "s003"] and rows["s001"]["final_score"] == "8"
    assert (rows["s002"]["score"], rows["s002"]["submitted_at"]) == ("0", "2026-10-02T10:00:00+02:00")
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    bob = [h for h in history if h["student"] == "s002"]
    assert [(h["score"], h["final_score"], h["why"]) for h in bob] == [(8.0, 6.4, "first grade"), (0.0, 0.0, "a new submission")]
    report = (out / "report.html").read_text()
    assert "Changes since the last grading" in report and "Regraded on request: s002" in report
    assert run_cli(["grade-batch", str(root / "submitted"), "--autograder", str(root / "autograder"),
                    "--out", str(out), "--student", "zed"]).code == 2


def stand_in(task: GradeTask) -> TaskOutcome:
    """Grades by the bundle: full marks, 2 points fewer once a test was made stricter."""
    strict = "# stricter" in (Path(task.autograder.path) / ASSIGNMENT / "tests" / "gradient_descent" /
                              "test-nudge.py").read_text()
    tests = [Verdict(name, 0.0 if strict and name == "test-nudge" else points, points, "passed")
             for name, points in TESTS]
    result = GradeResult(ASSIGNMENT, sum(t.score for t in tests), 8.0, tests, "gradient_descent", task.path)
    return TaskOutcome("graded", "", result.to_dict())


def test_after_a_bundle_change_everything_is_regraded_and_the_report_shows_what_changed(tmp_path):
    root = course(tmp_path)
    for student in ("alice", "bob"):
        submit(root, student, SOLUTION, "2026-10-01 12:00:00 UTC")
    options = BatchOptions(paths=(str(root / "submitted"),), out=root / "grades", autograder=root / "autograder",
                           workers=1, grade_fn=stand_in)
    first = run_batch(options)
    assert [r.final_score for r in first] == [8.0, 8.0] and not first.notes.changes
    test = root / "autograder" / ASSIGNMENT / "tests" / "gradient_descent" / "test-nudge.py"
    test.write_text(test.read_text() + "\n# stricter\n")
    second = run_batch(options)
    assert not any(r.cached for r in second)  # the bundle changed: nothing from the cache
    assert [(c.student, c.before, c.after, c.why) for c in second.notes.changes] == [
        ("s001", 8.0, 6.0, "the autograder bundle changed"), ("s002", 8.0, 6.0, "the autograder bundle changed")]
    assert "the autograder bundle changed" in (root / "grades" / "report.html").read_text()
    third = run_batch(options)  # nothing new: no change, nothing appended
    assert all(r.cached for r in third) and not third.notes.changes
    assert len((root / "grades" / "history.jsonl").read_text().splitlines()) == 4


def test_a_changed_late_policy_changes_penalties_without_regrading(tmp_path):
    root = course(tmp_path)
    submit(root, "bob", SOLUTION, "2026-10-02 20:30:00 UTC")  # 22 h 31 min late: one started day
    options = BatchOptions(paths=(str(root / "submitted"),), out=root / "grades", autograder=root / "autograder",
                           workers=1, grade_fn=stand_in)
    assert [r.penalty for r in run_batch(options)] == [0.8]
    (root / "mlgrader.toml").write_text(CONFIG.replace('canvas_id = 4242\n', 'canvas_id = 4242\n'
                                                       'late = {policy = "per-hour", percent = 1}\n'))
    again = run_batch(options)
    assert again.rows[0].cached and again.rows[0].penalty == pytest.approx(1.84)  # 23 started hours x 1% of 8
    assert [c.why for c in again.notes.changes] == ["the deadline, late policy or submission time changed"]


def awaiting_staff(task: GradeTask) -> TaskOutcome:
    """A notebook with a manually graded answer still waiting for staff (status pending, 0 points)."""
    tests = [Verdict(name, 0.0 if name == "test-nudge" else points, points,
                     "pending" if name == "test-nudge" else "passed") for name, points in TESTS]
    result = GradeResult(ASSIGNMENT, sum(t.score for t in tests), 8.0, tests, "gradient_descent", task.path)
    return TaskOutcome("graded", "", result.to_dict())


def test_pending_answers_count_zero_and_manual_points_from_formgrader_count(tmp_path):
    from nbgrader.api import Gradebook

    from mlgrader.batch.run import record_in_gradebook

    root = course(tmp_path)
    for student in ("alice", "bob"):
        submit(root, student, SOLUTION, "2026-10-01 12:00:00 UTC")
    report = run_batch(BatchOptions(paths=(str(root / "submitted"),), out=root / "grades",
                                    autograder=root / "autograder", workers=1, grade_fn=awaiting_staff))
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    record_in_gradebook(report.rows, url, report.roster)
    export = ["export", "--format", "csv", "--grades", str(root / "grades"), "--autograder", str(root / "autograder"),
              "--out", str(tmp_path / "w.csv")]
    run = run_cli(export)
    assert run.code == 0 and "s001 01-gradient-descent/gradient_descent: 1 test(s) await a grader (pending): counted 0" in run.err
    by = {r["student"]: r for r in read_csv(tmp_path / "w.csv")}
    assert (by["s001"][ASSIGNMENT], by["s001"][f"{ASSIGNMENT} pending"]) == ("6", "1")
    with Gradebook(url) as gb:  # a grader gives 1.5 of 2 points in formgrader
        gb.find_grade("test-nudge", "gradient_descent", ASSIGNMENT, "s001").manual_score = 1.5
        gb.db.commit()
    assert run_cli(export + ["--gradebook", url]).code == 0
    by = {r["student"]: r for r in read_csv(tmp_path / "w.csv")}
    assert (by["s001"][ASSIGNMENT], by["s001"][f"{ASSIGNMENT} pending"]) == ("7.5", "0")
    assert by["s001"][f"{ASSIGNMENT}/gradient_descent/test-nudge"] == "1.5"
    assert (by["s002"][ASSIGNMENT], by["s002"][f"{ASSIGNMENT} pending"]) == ("6", "1")


def test_a_roster_given_to_export_places_a_batch_graded_without_one(tmp_path):
    root = course(tmp_path, config="")
    for student in ("alice", "bob"):
        submit(root, student, SOLUTION, "2026-10-01 12:00:00 UTC")
    run_batch(BatchOptions(paths=(str(root / "submitted"),), out=root / "grades", autograder=root / "autograder",
                           workers=1, grade_fn=stand_in))
    run = run_cli(["export", "--format", "canvas", "--grades", str(root / "grades"), "--autograder",
                   str(root / "autograder"), "--roster", str(root / "roster.csv"), "--out", str(tmp_path / "c.csv")])
    assert run.code == 0, run.err
    assert [r[:3] + r[5:] for r in read_rows(tmp_path / "c.csv")[2:]] == [
        ["Builder, Bob", "902", "s002", "8"], ["Danvers, Carol", "903", "s003", ""],
        ["Liddell, Alice", "901", "s001", "8"], ["Null, Dave", "904", "s004", ""]]
