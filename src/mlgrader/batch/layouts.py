"""Finding a batch's submissions and naming their students (``mlgrader grade-batch``).

Finding submissions
-------------------
Each argument is a folder (searched recursively for ``*.ipynb``), a notebook file, or a
glob (``submitted/*/01-*/*.ipynb``; ``**`` recurses). Hidden folders, which include
Jupyter's ``.ipynb_checkpoints`` autosave copies, are skipped. An argument that names no
notebook is a usage error (exit 2): a mistyped folder must not look like an empty class.

Student ids (the first rule that applies, on the absolute path)
---------------------------------------------------------------
1. nbgrader: ``.../submitted/<student>/<assignment>/<notebook>.ipynb`` -> ``<student>``.
2. GitHub Classroom: a folder ``<assignment>-<student>`` above the notebook, where
   ``<assignment>`` is the name of a bundle in the autograder folder (name the
   Classroom assignment after the bundle) -> ``<student>``.
3. A notebook named after one of the bundles' notebooks (``alice/gradient_descent.ipynb``)
   -> the name of its folder (``alice``).
4. Otherwise the file name: ``alice.ipynb`` -> ``alice``.

Rules 1 and 2 also give the assignment from the path; it is used only when the notebook
itself names none (e.g. it is damaged), never to override it. File names under results/
and feedback/ are the student id reduced to letters, digits and ``._@-``; when a student
has several submissions in one batch, ``<student>--<assignment>--<notebook>`` (and a
``-2``, ``-3`` suffix for exact clashes).
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..grading.submission import peek_identity


class BatchUsageError(ValueError):
    """The command line cannot be acted on (exit status 2)."""


@dataclass(frozen=True)
class Submission:
    path: Path  # as found (relative when the argument was)
    student: str
    layout_assignment: str | None = None  # from the path (rules 1 and 2), a fallback only
    named_assignment: str | None = None  # what the notebook's metadata says, if readable
    key: str = ""  # file name (no suffix) under results/ and feedback/

    @property
    def assignment_guess(self) -> str | None:
        return self.named_assignment or self.layout_assignment


def notebook_paths(arguments: Iterable[str]) -> list[Path]:
    """Every notebook the arguments name, once each, in a stable order."""
    seen: dict[Path, Path] = {}
    for argument in arguments:
        matches = _expand(argument)
        if not matches:
            raise BatchUsageError(f"{argument}: no notebooks found")
        for path in matches:
            seen.setdefault(path.resolve(), path)
    return sorted(seen.values())


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


def student_from_path(path: Path, known: Mapping[str, Sequence[str]]) -> tuple[str, str | None]:
    """(student id, assignment named by the layout or None), by the module's rules."""
    parts = Path(os.path.abspath(path)).parts
    folders = parts[:-1]
    for i in range(len(folders) - 3, -1, -1):  # rule 1: .../submitted/<student>/<assignment>/...
        if folders[i] == "submitted":
            return folders[i + 1], folders[i + 2]
    for folder in reversed(folders):  # rule 2: <assignment>-<student>
        for assignment in sorted(known, key=len, reverse=True):
            if folder.startswith(assignment + "-") and len(folder) > len(assignment) + 1:
                return folder[len(assignment) + 1:], assignment
    notebook_names = {name for names in known.values() for name in names}
    if Path(path).stem in notebook_names and folders:  # rule 3
        return folders[-1], None
    return Path(path).stem, None  # rule 4


def collect_submissions(arguments: Iterable[str], known: Mapping[str, Sequence[str]],
                        assignment: str | None = None) -> list[Submission]:
    """The submissions the arguments name; ``known`` maps each bundle to its notebook names."""
    subs = []
    for path in notebook_paths(arguments):
        student, layout = student_from_path(path, known)
        layout = layout if layout in known else None  # a folder name that is no bundle is no hint
        subs.append(Submission(path, student, layout, assignment or peek_identity(path)[0]))
    return with_keys(subs)


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
