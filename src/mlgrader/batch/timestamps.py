"""When each submission was handed in, and which record says so.

The first source that applies gives the time; the record always names it (``source``)
and says why a better one was passed over (``detail``):

1. ``nbgrader timestamp.txt``: ``submitted/<student>/<assignment>/timestamp.txt``, written by
   ``nbgrader submit``/``collect``/``zip_collect`` (a time without a zone is UTC, as nbgrader
   reads it).
2. For a cloned repository (the GitHub Classroom layout, ``<assignment>-<login>/`` holding
   ``.git``): ``GitHub Classroom``, the submission time the platform reports in the CSV of
   ``gh classroom assignment-grades`` (``--classroom-grades``; keyed by its
   ``student_repository_name``), and ``git commit``, the committer date of the last commit that
   changed the notebook or one of its saved files. A commit date is set by the student's
   machine, so the platform's time wins, unless the graded notebook was committed after it
   (then the platform's time does not describe what is graded, and the later commit counts).
   A notebook with uncommitted changes is not described by any commit.
   GitHub keeps push times in its API only; no file that Classroom's tools write holds them.
3. ``zip entry``: the time a zip holds for the member (see :mod:`~mlgrader.batch.archives`).
4. ``file mtime``: the file's modification time, the last resort (copying can change it).

Git runs on student-made repositories, so it runs with no pager, signature checks or
fsmonitor, and whether the notebook was changed since its commit is told by hashing the
file here, not by ``git status`` (which would run the repository's filters and hooks).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..deadlines import zone
from .errors import BatchUsageError
from .layouts import Submission

SOURCES = ("nbgrader timestamp.txt", "GitHub Classroom", "git commit", "zip entry", "file mtime")
GIT_TIMEOUT_S = 20
CLASSROOM_TIME_COLUMNS = ("student_repository_name", "submission_timestamp")


@dataclass(frozen=True)
class SubmissionTime:
    """When a submission was handed in (aware), which record says so, and what else there is to know."""

    at: dt.datetime | None
    source: str = ""  # one of SOURCES, "" when nothing could tell
    detail: str = ""

    def to_json(self) -> dict:
        return {"at": self.at.isoformat() if self.at else None, "source": self.source, "detail": self.detail}

    @classmethod
    def from_json(cls, data: dict | None) -> "SubmissionTime | None":
        if not data:
            return None
        at = dt.datetime.fromisoformat(data["at"]) if data.get("at") else None
        return cls(at, data.get("source", ""), data.get("detail", ""))


@dataclass(frozen=True)
class ClassroomTimes:
    """Submission times GitHub Classroom reported, by repository name (lower case)."""

    by_repository: dict[str, dt.datetime]

    def get(self, repository: str) -> dt.datetime | None:
        return self.by_repository.get(repository.lower())


def submission_time(sub: Submission, artifacts: Iterable[str] = (), classroom: ClassroomTimes | None = None,
                    local_zone: str | None = None) -> SubmissionTime:
    """The time ``sub`` was handed in, by the module's rules. ``artifacts`` are the names of the files
    graded with the notebook; ``local_zone`` reads a zip's zone-less times (the course's zone)."""
    passed_over: list[str] = []
    layout = sub.layout
    if layout is not None and layout.rule == "nbgrader" and layout.root is not None:
        found = _nbgrader_time(layout.root / "timestamp.txt", local_zone, passed_over)
        if found:
            return found
    if layout is not None and layout.rule == "classroom" and layout.root is not None:
        found = _repository_time(sub, layout.root, tuple(artifacts), classroom, passed_over)
        if found:
            return found
    if sub.zip_member is not None and sub.zip_member.stamp is not None:
        return _zip_time(sub, local_zone, passed_over)
    return _mtime(sub.path, passed_over)


def _with(detail: str, passed_over: list[str]) -> str:
    return "; ".join([detail, *passed_over]) if detail else "; ".join(passed_over)


# --- 1. nbgrader ------------------------------------------------------------------------------


def _nbgrader_time(path: Path, local_zone: str | None, passed_over: list[str]) -> SubmissionTime | None:
    if not path.is_file():
        passed_over.append(f"no {path.name} in {path.parent}")
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        return SubmissionTime(parse_timestamp(text, "UTC", local_zone), SOURCES[0], str(path))
    except (OSError, ValueError) as exc:
        passed_over.append(f"{path} unreadable: {exc}")
        return None


def parse_timestamp(text: str, naive_zone: str = "UTC", local_zone: str | None = None) -> dt.datetime:
    """A time as nbgrader (``2026-10-01 21:58:12.123456 UTC``) or GitHub (``2026-10-01T21:58:12Z``) writes it.

    A zone may be ``UTC``, an offset (``+0200``), an IANA name, or an abbreviation only when
    it is ``local_zone``'s at that moment (``CEST`` in Europe/Berlin: nbgrader writes its
    configured zone's abbreviation); without one, the time is read in ``naive_zone``.
    Raises ValueError.
    """
    text = " ".join(text.split())
    if not text:
        raise ValueError("empty")
    try:
        moment = dt.datetime.fromisoformat(re.sub(r"(?<=\d)\s*[Zz]$", "+00:00", text))
    except ValueError:
        head, _, name = text.rpartition(" ")
        try:
            moment = dt.datetime.fromisoformat(head)
        except ValueError:
            raise ValueError(f"{text!r} is not a time") from None
        return _in_zone(moment, name, local_zone)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(naive_zone))


def _in_zone(moment: dt.datetime, name: str, local_zone: str | None) -> dt.datetime:
    offset = re.fullmatch(r"([+-])(\d\d):?(\d\d)", name)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        return moment.replace(tzinfo=dt.timezone(sign * delta))
    if name.upper() in ("UTC", "GMT", "Z"):
        return moment.replace(tzinfo=dt.timezone.utc)
    if local_zone:
        local = moment.replace(tzinfo=zone(local_zone))
        if local.tzname() == name:
            return local
    try:
        return moment.replace(tzinfo=zone(name))
    except ValueError:
        raise ValueError(f"time zone {name!r} cannot be told (it is not {local_zone or 'the course zone'}'s); "
                         "write timestamps in UTC or with an offset") from None


# --- 2. a cloned repository -------------------------------------------------------------------


def read_classroom_times(paths: Iterable[Path]) -> ClassroomTimes:
    """The submission times in CSVs of ``gh classroom assignment-grades`` (GitHub Classroom's grades export)."""
    times: dict[str, dt.datetime] = {}
    for path in paths:
        try:
            with Path(path).open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = [c for c in CLASSROOM_TIME_COLUMNS if c not in (reader.fieldnames or ())]
                if missing:
                    raise BatchUsageError(f"{path}: not GitHub Classroom's grades CSV (no {', '.join(missing)} column)")
                for number, row in enumerate(reader, start=2):
                    stamp = (row.get("submission_timestamp") or "").strip()
                    if stamp:  # empty: the student never submitted
                        times[row["student_repository_name"].strip().lower()] = _classroom_stamp(path, number, stamp)
        except OSError as exc:
            raise BatchUsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return ClassroomTimes(times)


def _classroom_stamp(path: Path, number: int, text: str) -> dt.datetime:
    try:
        return parse_timestamp(text, "UTC")
    except ValueError as exc:
        raise BatchUsageError(f"{path} line {number}: submission_timestamp {exc}") from None


def _repository_time(sub: Submission, repository: Path, artifacts: tuple[str, ...],
                     classroom: ClassroomTimes | None, passed_over: list[str]) -> SubmissionTime | None:
    platform = classroom.get(repository.name) if classroom else None
    if classroom is not None and platform is None:
        passed_over.append(f"GitHub Classroom's CSV has no time for {repository.name}")
    commit = _commit_time(sub.path, repository, artifacts, passed_over) if (repository / ".git").exists() else None
    if commit is None and not (repository / ".git").exists():
        passed_over.append(f"{repository} is not a git clone")
    if platform is not None and commit is not None and commit[0] > platform:
        return SubmissionTime(commit[0], SOURCES[2], _with(
            f"commit {commit[1][:12]}, after GitHub Classroom's submission time {platform.isoformat()}", passed_over))
    if platform is not None:
        return SubmissionTime(platform, SOURCES[1], _with(f"for {repository.name}", passed_over))
    if commit is not None:
        return SubmissionTime(commit[0], SOURCES[2], _with(f"commit {commit[1][:12]} (its date is set by the "
                                                           "student's machine)", passed_over))
    return None


def _commit_time(notebook: Path, repository: Path, artifacts: tuple[str, ...],
                 passed_over: list[str]) -> tuple[dt.datetime, str] | None:
    """(committer date, commit) of the last commit that changed the notebook or its saved files."""
    notebook = Path(os.path.abspath(notebook))
    repository = Path(os.path.abspath(repository))
    relative = notebook.relative_to(repository).as_posix()
    graded = [relative] + [(notebook.parent / name).relative_to(repository).as_posix()
                           for name in artifacts if (notebook.parent / name).is_file()]
    try:
        log = _git(repository, "log", "-1", "--no-show-signature", "--format=%H%x00%cI", "--", *graded)
        head_blob = _git(repository, "rev-parse", "--verify", "--quiet", f"HEAD:{relative}")
    except (OSError, subprocess.SubprocessError) as exc:
        passed_over.append(f"git could not read {repository}: {exc}")
        return None
    if not log or not head_blob:
        passed_over.append(f"{relative} is not committed in {repository.name}")
        return None
    if blob_id(notebook.read_bytes(), len(head_blob)) != head_blob:
        passed_over.append(f"{relative} has changes that were never committed")
        return None
    commit, _, date = log.partition("\0")
    return dt.datetime.fromisoformat(date), commit


def _git(repository: Path, *args: str) -> str:
    command = ["git", "-c", f"safe.directory={repository}", "-c", "core.fsmonitor=false", "-c", "log.showSignature=false",
               "--no-pager", "-C", str(repository), *args]
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", GIT_CONFIG_NOSYSTEM="1")
    proc = subprocess.run(command, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, env=env)
    if proc.returncode not in (0, 1):
        raise subprocess.SubprocessError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                                         f"exit {proc.returncode}")
    return proc.stdout.strip()


def blob_id(data: bytes, hex_length: int = 40) -> str:
    """The id git gives a file's bytes (sha1, or sha256 in a repository of that format)."""
    algorithm = hashlib.sha256 if hex_length == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


# --- 3. and 4. --------------------------------------------------------------------------------


def _zip_time(sub: Submission, local_zone: str | None, passed_over: list[str]) -> SubmissionTime:
    member = sub.zip_member
    detail = f"{member.member} in {member.archive}"
    if member.exact:
        return SubmissionTime(member.stamp, SOURCES[3], _with(detail, passed_over))
    name = local_zone or "UTC"
    at = member.stamp.replace(tzinfo=zone(name))
    return SubmissionTime(at, SOURCES[3], _with(f"{detail}; the zip holds local time without a zone, read in "
                                                f"{name}", passed_over))


def _mtime(path: Path, passed_over: list[str]) -> SubmissionTime:
    try:
        at = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.timezone.utc)
    except OSError as exc:
        return SubmissionTime(None, "", _with(f"no time: {exc.strerror or exc}", passed_over))
    return SubmissionTime(at, SOURCES[4], _with("the least reliable record: copying a file can change it",
                                                passed_over))
