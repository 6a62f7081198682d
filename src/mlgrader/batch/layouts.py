"""Finding a batch's submissions and naming their students (``mlgrader grade-batch``).

Finding submissions
-------------------
Each argument is a folder (searched recursively for ``*.ipynb``), a notebook file, a
glob (``submitted/*/01-*/*.ipynb``; ``**`` recurses) or a zip file (unpacked under
``<out>/unpacked/`` and searched like a folder: :mod:`~mlgrader.batch.archives`). Hidden
folders, which include Jupyter's ``.ipynb_checkpoints`` autosave copies, are skipped. An
argument that names no notebook is a usage error (exit 2): a mistyped folder must not look
like an empty class.

Names from the layout (the first rule that applies, on the absolute path)
--------------------------------------------------------------------------
1. nbgrader: ``.../submitted/<student>/<assignment>/<notebook>.ipynb`` -> ``<student>``.
2. GitHub Classroom: a folder ``<assignment>-<student>`` above the notebook, where
   ``<assignment>`` is the name of a bundle in the autograder folder (name the
   Classroom assignment after the bundle) -> ``<student>`` (the GitHub login).
3. A notebook named after one of the bundles' notebooks (``alice/gradient_descent.ipynb``)
   -> the name of its folder (``alice``).
4. Otherwise the file name, less an assignment or notebook name at its start or end:
   ``alice.ipynb``, ``01-gradient-descent-alice.ipynb``, ``alice-gradient_descent.ipynb``
   -> ``alice``.

Rules 1 and 2 (and 4, when the file name holds one) also give the assignment from the
path; it is used only when the notebook itself names none (e.g. it is damaged), never to
override it.

Student ids
-----------
Without a roster, the student id is the layout's name. With one
(:mod:`~mlgrader.batch.roster`) it is the roster's id of the student the name belongs to;
rules 3 and 4 match loosely (``dave-hw1.ipynb`` is roster student ``dave``). A name that
matches no one keeps the layout's name and is marked as not on the roster.

File names under results/ and feedback/ are the student id reduced to letters, digits and
``._@-``; when a student has several submissions in one batch,
``<student>--<assignment>--<notebook>`` (and a ``-2``, ``-3`` suffix for exact clashes).
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..grading.submission import peek_identity
from .archives import ZipMember, is_zip_argument, unpack
from .errors import BatchUsageError
from .roster import Roster, Student

__all__ = ["BatchUsageError", "LayoutName", "Submission", "collect_submissions", "layout_name",
           "notebook_paths", "student_from_path"]


@dataclass(frozen=True)
class LayoutName:
    """What the path says: whose notebook it is, of which assignment, by which rule, and from which folder."""

    student: str
    assignment: str | None = None
    rule: str = "file"  # nbgrader | classroom | folder | file
    root: Path | None = None  # nbgrader: submitted/<student>/<assignment>; classroom: <assignment>-<student>


@dataclass(frozen=True)
class Submission:
    path: Path  # as found (relative when the argument was)
    student: str  # the roster's id of the student, else the layout's name
    layout_assignment: str | None = None  # from the path (rules 1, 2, 4), a fallback only
    named_assignment: str | None = None  # what the notebook's metadata says, if readable
    key: str = ""  # file name (no suffix) under results/ and feedback/
    layout: LayoutName | None = None
    person: Student | None = None  # the roster's line for the student
    on_roster: bool | None = None  # None: the batch has no roster
    roster_note: str = ""  # how a loose match was made, or why a name matched no one
    zip_member: ZipMember | None = field(default=None, compare=False)  # when it came out of a zip

    @property
    def assignment_guess(self) -> str | None:
        return self.named_assignment or self.layout_assignment

    @property
    def layout_student(self) -> str:
        """The name the layout gave (a folder, a GitHub login), before the roster."""
        return self.layout.student if self.layout else self.student


@dataclass
class Found:
    """The notebooks the arguments name, and for those unpacked from a zip, their zip member."""

    paths: list[Path]
    zip_members: dict[Path, ZipMember] = field(default_factory=dict)  # by resolved path


def notebook_paths(arguments: Iterable[str], unpack_dir: Path | None = None) -> list[Path]:
    """Every notebook the arguments name, once each, in a stable order."""
    return find_notebooks(arguments, unpack_dir).paths


def find_notebooks(arguments: Iterable[str], unpack_dir: Path | None = None) -> Found:
    seen: dict[Path, Path] = {}
    members: dict[Path, ZipMember] = {}
    for argument in arguments:
        if is_zip_argument(argument):
            matches = _unpacked(argument, unpack_dir, members)
        else:
            matches = _expand(argument)
        if not matches:
            raise BatchUsageError(f"{argument}: no notebooks found")
        for path in matches:
            seen.setdefault(path.resolve(), path)
    return Found(sorted(seen.values()), members)


def _unpacked(argument: str, unpack_dir: Path | None, members: dict[Path, ZipMember]) -> list[Path]:
    if unpack_dir is None:
        raise BatchUsageError(f"{argument}: a zip needs a folder to be unpacked in")
    unpacked = unpack(Path(argument), unpack_dir)
    for member in unpacked.members:
        members[member.path.resolve()] = member
    return sorted(m.path for m in unpacked.members
                  if m.path.suffix == ".ipynb" and not _hidden(m.path.relative_to(unpacked.folder)))


def _expand(argument: str) -> list[Path]:
    path = Path(argument)
    if path.is_file():
        return [path]
    roots = [path] if path.is_dir() else [Path(p) for p in sorted(glob.glob(argument, recursive=True))]
    found = []
    for root in roots:
        if root.is_dir():
            found.extend(p for p in sorted(root.rglob("*.ipynb"))
                         if p.is_file() and not _hidden(p.relative_to(root)))
        elif root.is_file() and root.suffix == ".ipynb" and not _hidden(root):
            found.append(root)
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in relative.parts)


def layout_name(path: Path, known: Mapping[str, Sequence[str]]) -> LayoutName:
    """What the layout says about ``path``, by the module's rules; ``known`` maps bundles to notebook names."""
    absolute = Path(os.path.abspath(path))
    folders = absolute.parts[:-1]
    for i in range(len(folders) - 3, -1, -1):  # rule 1: .../submitted/<student>/<assignment>/...
        if folders[i] == "submitted":
            return LayoutName(folders[i + 1], folders[i + 2], "nbgrader", Path(*folders[: i + 3]))
    for depth in range(len(folders) - 1, -1, -1):  # rule 2: <assignment>-<student>
        folder = folders[depth]
        for assignment in sorted(known, key=len, reverse=True):
            if folder.startswith(assignment + "-") and len(folder) > len(assignment) + 1:
                return LayoutName(folder[len(assignment) + 1:], assignment, "classroom", Path(*folders[: depth + 1]))
    notebook_names = {name for names in known.values() for name in names}
    if absolute.stem in notebook_names and folders:  # rule 3
        return LayoutName(folders[-1], None, "folder")
    student, assignment = _from_file_name(absolute.stem, known)  # rule 4
    return LayoutName(student, assignment, "file")


def _from_file_name(stem: str, known: Mapping[str, Sequence[str]]) -> tuple[str, str | None]:
    """``<assignment>-<student>``, ``<student>-<assignment>`` or ``<student>-<notebook>`` -> the student (and
    the assignment when the name tells it), else the whole name."""
    owner: dict[str, str | None] = {}
    for assignment, names in known.items():
        for name in names:
            owner[name] = assignment if name not in owner else None  # shared by two bundles: no hint
    owner.update({assignment: assignment for assignment in known})
    for token in sorted(owner, key=len, reverse=True):
        if len(stem) <= len(token) + 1:
            continue
        if token in known and stem.startswith(token) and stem[len(token)] in "-_.":
            return stem[len(token) + 1:], token
        if stem.endswith(token) and stem[-len(token) - 1] in "-_.":
            return stem[: -len(token) - 1], owner[token]
    return stem, None


def student_from_path(path: Path, known: Mapping[str, Sequence[str]]) -> tuple[str, str | None]:
    """(student name, assignment named by the layout or None), by the module's rules."""
    name = layout_name(path, known)
    return name.student, name.assignment


def collect_submissions(arguments: Iterable[str], known: Mapping[str, Sequence[str]],
                        assignment: str | None = None, roster: Roster | None = None,
                        unpack_dir: Path | None = None) -> list[Submission]:
    """The submissions the arguments name; ``known`` maps each bundle to its notebook names."""
    found = find_notebooks(arguments, unpack_dir)
    subs = []
    for path in found.paths:
        layout = layout_name(path, known)
        if layout.assignment not in known:  # a folder name that is no bundle is no hint
            layout = replace(layout, assignment=None)
        sub = Submission(path, layout.student, layout.assignment, assignment or peek_identity(path)[0],
                         layout=layout, zip_member=found.zip_members.get(path.resolve()))
        subs.append(with_student(sub, roster))
    return with_keys(subs)


def with_student(sub: Submission, roster: Roster | None) -> Submission:
    """``sub`` with the roster's student for its layout name (unchanged without a roster)."""
    if roster is None:
        return sub
    loose = sub.layout is not None and sub.layout.rule in ("folder", "file")
    match = roster.match(sub.layout_student, loose=loose)
    if match.student is None:
        return replace(sub, on_roster=False, roster_note=match.note)
    return replace(sub, student=match.student.id, person=match.student, on_roster=True, roster_note=match.note)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "submission"


def with_keys(subs: Sequence[Submission]) -> list[Submission]:
    """Give each submission a unique, file-safe key (see the module docstring)."""
    per_student = Counter(safe_name(sub.student) for sub in subs)
    used: set[str] = set()
    keyed = []
    for sub in subs:
        base = safe_name(sub.student)
        if per_student[base] > 1:
            base = "--".join([base, safe_name(sub.assignment_guess or "unknown"), safe_name(sub.path.stem)])
        key, n = base, 1
        while key in used:
            n += 1
            key = f"{base}-{n}"
        used.add(key)
        keyed.append(replace(sub, key=key))
    return keyed
