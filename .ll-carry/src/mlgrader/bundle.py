"""What ``autograder/<assignment>/`` holds, and how to read it back.

The bundle is everything grading needs and nothing more: the ordered cell layout of each
notebook (grade ids, kinds, points, time limits), the read-only setup code to restore, and
the full test code (public and hidden checks). Grading reads only this folder, so it works
inside a Gradescope zip or a student repository where solutions/ does not exist.

Layout::

    autograder/<assignment>/manifest.json
    autograder/<assignment>/tests/<notebook>/<grade_id>.py
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class BundleError(ValueError):
    """The autograder bundle is missing or malformed."""


@dataclass(frozen=True)
class CellEntry:
    """A cell of the release notebook as grading sees it."""

    grade_id: str
    kind: str  # markdown | setup | exercise | test
    points: float = 0.0
    timeout: float | None = None
    source: str | None = None  # setup cells only: restored before running


@dataclass(frozen=True)
class NotebookEntry:
    name: str
    cells: tuple[CellEntry, ...]
    tests: dict[str, str]  # grade_id -> full test source (public and hidden)
    timeout: float
    memory_mb: int
    seed_torch: bool = False
    artifacts: tuple[str, ...] = ()

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells if c.kind == "test")

    def cell(self, grade_id: str) -> CellEntry | None:
        return next((c for c in self.cells if c.grade_id == grade_id), None)


@dataclass(frozen=True)
class Bundle:
    assignment: str
    notebooks: tuple[NotebookEntry, ...]
    seed: int = 0
    path: Path | None = field(default=None, compare=False)

    def notebook(self, name: str | None) -> NotebookEntry:
        if name is None:
            if len(self.notebooks) == 1:
                return self.notebooks[0]
            raise BundleError(
                f"assignment {self.assignment} has several notebooks "
                f"({', '.join(n.name for n in self.notebooks)}); name the notebook file after one of them"
            )
        for nb in self.notebooks:
            if nb.name == name:
                return nb
        raise BundleError(
            f"assignment {self.assignment} has no notebook {name!r} "
            f"(it has {', '.join(n.name for n in self.notebooks)})"
        )


def bundle_files(bundle: Bundle) -> dict[str, str]:
    """Relative path -> text for every file of the bundle (deterministic)."""
    manifest = {
        "format": FORMAT_VERSION,
        "assignment": bundle.assignment,
        "seed": bundle.seed,
        "notebooks": [
            {
                "name": nb.name,
                "timeout": nb.timeout,
                "memory_mb": nb.memory_mb,
                "seed_torch": nb.seed_torch,
                "artifacts": list(nb.artifacts),
                "max_score": nb.max_score,
                "cells": [_cell_json(c) for c in nb.cells],
            }
            for nb in bundle.notebooks
        ],
    }
    files = {MANIFEST: json.dumps(manifest, indent=1, sort_keys=True) + "\n"}
    for nb in bundle.notebooks:
        for grade_id, source in nb.tests.items():
            files[f"tests/{nb.name}/{grade_id}.py"] = source.rstrip("\n") + "\n"
    return files


def _cell_json(cell: CellEntry) -> dict:
    return {k: v for k, v in asdict(cell).items() if v is not None}


def load_bundle(path: Path) -> Bundle:
    """Read ``autograder/<assignment>/`` written by :func:`bundle_files`."""
    path = Path(path)
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise BundleError(f"no autograder bundle at {path} (missing {MANIFEST}; run `mlgrader build`)") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest_path} is not valid JSON: {exc}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BundleError(f"{manifest_path}: unsupported bundle format {manifest.get('format')!r}")
    notebooks = []
    for nb in manifest["notebooks"]:
        cells = tuple(CellEntry(**c) for c in nb["cells"])
        tests = {}
        for c in cells:
            if c.kind == "test":
                test_file = path / "tests" / nb["name"] / f"{c.grade_id}.py"
                try:
                    tests[c.grade_id] = test_file.read_text()
                except FileNotFoundError:
                    raise BundleError(f"bundle is incomplete: {test_file} is missing") from None
        notebooks.append(
            NotebookEntry(
                name=nb["name"],
                cells=cells,
                tests=tests,
                timeout=float(nb["timeout"]),
                memory_mb=int(nb["memory_mb"]),
                seed_torch=bool(nb.get("seed_torch", False)),
                artifacts=tuple(nb.get("artifacts", ())),
            )
        )
    return Bundle(manifest["assignment"], tuple(notebooks), int(manifest.get("seed", 0)), path)


ASSIGNMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def valid_assignment_id(name: object) -> bool:
    """An assignment id is a plain folder name: never a path that could leave autograder/."""
    return isinstance(name, str) and bool(ASSIGNMENT_ID.match(name)) and ".." not in name


def find_bundle(assignment: str, autograder_dir: Path) -> Bundle:
    """Load the bundle of ``assignment`` from an ``autograder/`` folder."""
    if not valid_assignment_id(assignment):
        raise BundleError(f"{str(assignment)[:80]!r} is not an assignment id (letters, digits, '.', '-', '_')")
    candidate = Path(autograder_dir) / assignment
    if not candidate.is_dir():
        known = sorted(p.name for p in Path(autograder_dir).glob("*/") if (p / MANIFEST).exists())
        hint = f" (bundles there: {', '.join(known)})" if known else ""
        raise BundleError(f"no autograder bundle for assignment {assignment!r} in {autograder_dir}{hint}")
    return load_bundle(candidate)
