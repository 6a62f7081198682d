"""When a submission was handed in, from each record the layouts have: nbgrader's timestamp.txt,
real git repositories with commits at chosen dates, GitHub Classroom's grades CSV, zip members, mtimes."""

import datetime as dt
import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from mlgrader.batch.archives import unpack
from mlgrader.batch.errors import BatchUsageError
from mlgrader.batch.layouts import collect_submissions
from mlgrader.batch.timestamps import blob_id, parse_timestamp, read_classroom_times, submission_time

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01-gradient-descent"
KNOWN = {ASSIGNMENT: ("gradient_descent",)}
NOTEBOOK = ROOT / "release" / ASSIGNMENT / "gradient_descent.ipynb"
UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="A Student", GIT_AUTHOR_EMAIL="student@example.org",
               GIT_COMMITTER_NAME="A Student", GIT_COMMITTER_EMAIL="student@example.org",
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True,
                          text=True).stdout.strip()


def student_repo(root: Path, login: str, commits: list[tuple[str, dict[str, bytes]]]) -> Path:
    """A GitHub Classroom clone <assignment>-<login>/ with one commit per (date, files)."""
    repo = root / f"{ASSIGNMENT}-{login}"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for date, files in commits:
        for name, data in files.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes(data)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"work of {date}", date=date)
    return repo


def only(subs):
    assert len(subs) == 1
    return subs[0]


# --- nbgrader ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2026-10-01 21:58:12.123456 UTC", "2026-10-01T21:58:12.123456+00:00"),  # nbgrader's default format
    ("2026-10-01 23:58:12 CEST", "2026-10-01T21:58:12+00:00"),  # its abbreviation of the course's zone
    ("2026-10-01 23:58:12 +0200", "2026-10-01T21:58:12+00:00"),
    ("2026-10-01T21:58:12Z", "2026-10-01T21:58:12+00:00"),  # GitHub's
    ("2026-10-01 21:58:12", "2026-10-01T21:58:12+00:00"),  # no zone: UTC, as nbgrader reads it
])
def test_timestamp_text_is_read_as_nbgrader_and_github_write_it(text, expected):
    assert parse_timestamp(text, "UTC", "Europe/Berlin") == at(expected)


def test_an_unknown_zone_abbreviation_is_refused():
    with pytest.raises(ValueError, match="'PDTX' cannot be told"):
        parse_timestamp("2026-10-01 21:58:12 PDTX", "UTC", "Europe/Berlin")


def test_nbgrader_timestamp_txt_is_the_time_and_a_broken_one_is_passed_over(tmp_path):
    folder = tmp_path / "submitted" / "alice" / ASSIGNMENT
    folder.mkdir(parents=True)
    shutil.copy(NOTEBOOK, folder)
    (folder / "timestamp.txt").write_text("2026-10-01 21:00:00.000000 UTC\n")
    sub = only(collect_submissions([str(tmp_path / "submitted")], KNOWN))
    time = submission_time(sub)
    assert (time.at, time.source) == (at("2026-10-01T21:00:00+00:00"), "nbgrader timestamp.txt")
    (folder / "timestamp.txt").write_text("yesterday evening")
    os.utime(folder / "gradient_descent.ipynb", (1_790_000_000, 1_790_000_000))
    time = submission_time(sub)
    assert (time.at, time.source) == (dt.datetime.fromtimestamp(1_790_000_000, UTC), "file mtime")
    assert "timestamp.txt unreadable" in time.detail


# --- a cloned repository ---------------------------------------------------------------------


def test_the_last_commit_that_changed_the_notebook_is_the_time(tmp_path):
    nb = NOTEBOOK.read_bytes()
    student_repo(tmp_path, "ada", [("2026-10-01T20:00:00+02:00", {"README.md": b"hello"}),
                                   ("2026-10-01T23:30:00+02:00", {"gradient_descent.ipynb": nb}),
                                   ("2026-10-04T09:00:00+02:00", {"README.md": b"typo fixed after the deadline"})])
    sub = only(collect_submissions([str(tmp_path)], KNOWN))
    assert (sub.layout.rule, sub.student) == ("classroom", "ada")
    time = submission_time(sub)
    assert (time.at, time.source) == (at("2026-10-01T23:30:00+02:00"), "git commit")
    assert "set by the student's machine" in time.detail


def test_a_saved_weights_file_committed_later_moves_the_time(tmp_path):
    repo = student_repo(tmp_path, "bob", [("2026-10-01T12:00:00Z", {"gradient_descent.ipynb": NOTEBOOK.read_bytes()}),
                                          ("2026-10-02T12:00:00Z", {"model.safetensors": b"weights"})])
    sub = only(collect_submissions([str(tmp_path)], KNOWN))
    assert submission_time(sub).at == at("2026-10-01T12:00:00+00:00")
    assert submission_time(sub, artifacts=["model.safetensors"]).at == at("2026-10-02T12:00:00+00:00")
    assert blob_id((repo / "gradient_descent.ipynb").read_bytes()) == git(repo, "rev-parse", "HEAD:gradient_descent.ipynb")


def test_uncommitted_changes_are_not_described_by_any_commit(tmp_path):
    repo = student_repo(tmp_path, "carl", [("2026-10-01T12:00:00Z", {"gradient_descent.ipynb": NOTEBOOK.read_bytes()})])
    (repo / "gradient_descent.ipynb").write_bytes(NOTEBOOK.read_bytes() + b"\n")
    os.utime(repo / "gradient_descent.ipynb", (1_791_000_000, 1_791_000_000))
    time = submission_time(only(collect_submissions([str(tmp_path)], KNOWN)))
    assert (time.source, time.at) == ("file mtime", dt.datetime.fromtimestamp(1_791_000_000, UTC))
    assert "has changes that were never committed" in time.detail


def test_the_repository_config_runs_nothing(tmp_path):
    """A repository that came as a zip carries its own .git/config: its fsmonitor must not run."""
    repo = student_repo(tmp_path, "mallory", [("2026-10-01T12:00:00Z", {"gradient_descent.ipynb": NOTEBOOK.read_bytes()})])
    marker = tmp_path / "fsmonitor-ran"
    git(repo, "config", "core.fsmonitor", f"touch {marker}; false")
    git(repo, "config", "core.pager", f"touch {marker}; cat")
    time = submission_time(only(collect_submissions([str(tmp_path)], KNOWN)))
    assert time.source == "git commit" and not marker.exists()
    subprocess.run(["git", "-C", str(repo), "status"], capture_output=True)  # what the config was waiting for
    assert marker.exists()


def classroom_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["assignment_name,assignment_url,starter_code_url,github_username,roster_identifier,"
             "student_repository_name,student_repository_url,submission_timestamp,points_awarded,points_available"]
    lines += [f"hw1,,,{login},,{repo},,{stamp},8,8" for login, repo, stamp in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_github_classrooms_submission_time_wins_over_an_earlier_commit_date(tmp_path):
    nb = NOTEBOOK.read_bytes()
    student_repo(tmp_path / "repos", "dora", [("2026-09-30T12:00:00Z", {"gradient_descent.ipynb": nb})])  # back-dated
    student_repo(tmp_path / "repos", "eve", [("2026-10-03T12:00:00Z", {"gradient_descent.ipynb": nb})])
    times = read_classroom_times([classroom_csv(tmp_path / "grades.csv", [
        ("dora", f"{ASSIGNMENT}-dora", "2026-10-02T08:00:00Z"), ("eve", f"{ASSIGNMENT}-eve", "2026-10-01T08:00:00Z"),
        ("fay", f"{ASSIGNMENT}-fay", "")])])
    subs = {s.student: s for s in collect_submissions([str(tmp_path / "repos")], KNOWN)}
    dora, eve = submission_time(subs["dora"], classroom=times), submission_time(subs["eve"], classroom=times)
    assert (dora.source, dora.at) == ("GitHub Classroom", at("2026-10-02T08:00:00+00:00"))
    # eve's graded notebook was committed after the platform's time: that time does not describe it
    assert (eve.source, eve.at) == ("git commit", at("2026-10-03T12:00:00+00:00"))
    assert "after GitHub Classroom's submission time" in eve.detail


def test_a_csv_that_is_not_classrooms_is_a_usage_error(tmp_path):
    (tmp_path / "x.csv").write_text("student,time\na,b\n")
    with pytest.raises(BatchUsageError, match="not GitHub Classroom's grades CSV"):
        read_classroom_times([tmp_path / "x.csv"])


# --- zips and mtimes -------------------------------------------------------------------------


def extended_timestamp(moment: dt.datetime) -> bytes:
    """The extended-timestamp extra field (0x5455) holding a UTC modification time."""
    return struct.pack("<HHBi", 0x5455, 5, 1, int(moment.timestamp()))


def test_zip_members_carry_their_time_and_are_unpacked_safely(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        exact = zipfile.ZipInfo(f"submitted/gia/{ASSIGNMENT}/gradient_descent.ipynb", date_time=(2026, 10, 1, 1, 0, 0))
        exact.extra = extended_timestamp(at("2026-10-01T22:15:00+00:00"))
        zf.writestr(exact, NOTEBOOK.read_bytes())
        zf.writestr(zipfile.ZipInfo("hal-hw1.ipynb", date_time=(2026, 10, 2, 9, 30, 0)), NOTEBOOK.read_bytes())
        zf.writestr(zipfile.ZipInfo("../escape.ipynb", date_time=(2026, 10, 2, 9, 30, 0)), b"{}")
        zf.writestr(zipfile.ZipInfo("__MACOSX/._hal-hw1.ipynb", date_time=(2026, 10, 2, 9, 30, 0)), b"junk")
    subs = {s.student: s for s in collect_submissions([str(archive)], KNOWN, unpack_dir=tmp_path / "unpacked")}
    assert sorted(subs) == ["gia", "hal-hw1"]
    assert not (tmp_path / "escape.ipynb").exists() and not list((tmp_path / "unpacked").rglob("__MACOSX"))
    gia = submission_time(subs["gia"], local_zone="Europe/Berlin")
    # an nbgrader tree in a zip without timestamp.txt: the zip's exact time
    assert (gia.source, gia.at) == ("zip entry", at("2026-10-01T22:15:00+00:00"))
    hal = submission_time(subs["hal-hw1"], local_zone="Europe/Berlin")
    assert (hal.source, hal.at) == ("zip entry", at("2026-10-02T09:30:00+02:00"))  # DOS time, read in the course zone
    assert "read in Europe/Berlin" in hal.detail
    again = unpack(archive, tmp_path / "unpacked")  # unpacked once per content
    assert again.folder == subs["gia"].path.parents[3]


def test_a_flat_file_falls_back_to_its_mtime_and_says_so(tmp_path):
    shutil.copy(NOTEBOOK, tmp_path / "ivy.ipynb")
    os.utime(tmp_path / "ivy.ipynb", (1_792_000_000, 1_792_000_000))
    time = submission_time(only(collect_submissions([str(tmp_path)], KNOWN)))
    assert (time.source, time.at) == ("file mtime", dt.datetime.fromtimestamp(1_792_000_000, UTC))
    assert "least reliable" in time.detail
