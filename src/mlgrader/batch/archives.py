"""Zip files given to ``grade-batch``: unpacked safely, and the time each member was stamped with.

A class's download from an LMS, or a zip of an nbgrader ``submitted/`` tree, is unpacked
under ``<out>/unpacked/<zip name>-<digest>/`` (once per zip content) and graded like a
folder: the layout rules apply to the paths inside it. Members that would land outside
that folder (absolute paths, ``..``), links, and macOS's ``__MACOSX`` copies are skipped;
a zip larger than the limits below is refused rather than filling the disk.

A member's time is the zip's own record of it: the extended-timestamp field, which holds
UTC (written by Info-ZIP's ``zip`` and most tools), else the DOS date-time, which holds the
zipping machine's local wall time with no zone; it is read in the course's time zone and
the record says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import BatchUsageError

MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 4 * 1024 ** 3
MAX_MEMBER_BYTES = 1024 ** 3
EXTENDED_TIMESTAMP = 0x5455
DONE_MARKER = ".mlgrader-unpacked"


@dataclass(frozen=True)
class ZipMember:
    """A file unpacked from a zip, and when the zip says it was last changed."""

    path: Path  # where it was unpacked
    archive: str  # the zip, as given
    member: str  # its name in the zip
    stamp: dt.datetime | None  # aware when the zip holds UTC, naive (local wall time) otherwise

    @property
    def exact(self) -> bool:
        return self.stamp is not None and self.stamp.tzinfo is not None


@dataclass(frozen=True)
class Unpacked:
    folder: Path  # where the zip was unpacked
    members: tuple[ZipMember, ...]


def is_zip_argument(argument: str) -> bool:
    return argument.lower().endswith(".zip") and Path(argument).is_file()


def unpack(archive: Path, into: Path) -> Unpacked:
    """Unpack ``archive`` under ``into`` (see the module docstring); every file unpacked, with its time."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if _wanted(i)]
            _check_size(archive, infos)
            target = into / f"{archive.stem}-{_digest(archive)}"
            members = [ZipMember(target / _safe_name(i.filename), str(archive), i.filename, _stamp(i)) for i in infos]
            if not (target / DONE_MARKER).exists():
                _extract(zf, infos, members, target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise BatchUsageError(f"{archive}: cannot be unpacked ({exc})") from None
    return Unpacked(target, tuple(members))


def _wanted(info: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if info.is_dir() or name.is_absolute() or ".." in name.parts or not name.parts:
        return False
    if name.parts[0] == "__MACOSX" or stat.S_ISLNK(info.external_attr >> 16):
        return False
    return True


def _safe_name(name: str) -> Path:
    return Path(*PurePosixPath(name.replace("\\", "/")).parts)


def _check_size(archive: Path, infos: list[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    largest = max((i.file_size for i in infos), default=0)
    if len(infos) > MAX_MEMBERS or total > MAX_TOTAL_BYTES or largest > MAX_MEMBER_BYTES:
        raise BatchUsageError(f"{archive}: too large to unpack ({len(infos)} files, {total / 1024 ** 2:.0f} MB; "
                              f"limits {MAX_MEMBERS} files, {MAX_TOTAL_BYTES // 1024 ** 3} GB)")


def _digest(archive: Path) -> str:
    digest = hashlib.sha256()
    with archive.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def _extract(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], members: list[ZipMember], target: Path) -> None:
    for info, member in zip(infos, members):
        member.path.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as source, member.path.open("wb") as sink:
            # Read at most the declared size plus one block: a member that lies about its size stops there.
            remaining = info.file_size + 1
            while remaining > 0 and (block := source.read(min(1 << 20, remaining))):
                sink.write(block)
                remaining -= len(block)
        if member.stamp is not None:  # so that a person looking at the files sees the zip's times too
            moment = member.stamp if member.exact else member.stamp.astimezone()
            os.utime(member.path, (moment.timestamp(), moment.timestamp()))
    (target / DONE_MARKER).write_text("")


def _stamp(info: zipfile.ZipInfo) -> dt.datetime | None:
    exact = _extended_mtime(info.extra)
    if exact is not None:
        return exact
    try:
        return dt.datetime(*info.date_time)
    except ValueError:  # a zeroed DOS date (1980-00-00)
        return None


def _extended_mtime(extra: bytes) -> dt.datetime | None:
    """The modification time of the extended-timestamp extra field (UTC seconds), if present."""
    offset = 0
    while offset + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4: offset + 4 + size]
        if kind == EXTENDED_TIMESTAMP and len(body) >= 5 and body[0] & 1:
            (seconds,) = struct.unpack_from("<i", body, 1)
            return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
        offset += 4 + size
    return None
