"""What ``autograder/<assignment>/`` holds, how to read it back, and which one grades a notebook.

The bundle is everything grading needs and nothing more: the ordered cell layout of each
notebook (grade ids, kinds, points, time limits), the read-only setup code to restore, the
full test code (public and hidden checks), the data sets a notebook reads, and the
assignment's deadline when its solution header gives one (:mod:`mlgrader.deadlines`). Grading
reads only this folder, so it works inside a Gradescope zip or a student repository where
solutions/ does not exist.

Layout::

    autograder/<assignment>/manifest.json
    autograder/<assignment>/tests/<notebook>/<grade_id>.py
    autograder/<assignment>/files/<path>        files a notebook reads (put beside it when grading)

This module owns the format: the hidden-test markers (:func:`public_part`), writing
(:func:`bundle_files`) and reading (:func:`load_bundle`, :func:`list_bundles`), the content
hash that names a bundle (:func:`bundle_hash`), choosing the bundle and notebook that grade
a submission (:func:`choose_bundle`), and the zero grade of a notebook that cannot be run
(:func:`zero_result`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .deadlines import Deadline, DeadlineError, parse_deadline
from .results import GradeResult, TestResult

MANIFEST = "manifest.json"
DEADLINE_KEY = "deadline"
FORMAT_VERSION = 1

# A test cell's hidden region: in the bundle, never in the release or in feedback.
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
FILES_DIR = "files"

# Cells that earn points: tests (the grader decides) and those staff grade (manual answers, tasks).
GRADED_KINDS = ("test", "manual", "task")
STAFF_KINDS = ("manual", "task")

# The first cell of every built notebook makes mlgrader importable for the student (a laptop,
# Colab). Grading never runs it: the sandbox has its own mlgrader and must never install one,
# so its kind is skipped like markdown, and a student who edits or deletes it gets no note.
INSTALL_KIND = "install"
INSTALL_CELL_ID = "mlgrader-install"


class BundleError(ValueError):
    """The autograder bundle is missing or malformed, or none fits the submission."""


@dataclass(frozen=True)
class CellEntry:
    """A cell of the release notebook as grading sees it."""

    grade_id: str
    kind: str  # markdown | install | setup | exercise | test | manual | task
    points: float = 0.0
    timeout: float | None = None
    # setup cells: restored before running; manual answers: the text students were given
    # (an answer still equal to it is no answer)
    source: str | None = None
    cell_type: str | None = None  # manual answers only: "code" or "markdown"
    helper: bool | None = None  # setup cells whose definitions the tests also use (run in the grader too)
    rubric: str | None = None  # manual answers and tasks: for staff
    # tests: the source of the cell that stands for the test in a notebook another tool wrote
    # (no grade ids; otter's grader.check("q1")): the test runs there
    match: str | None = None

    @property
    def graded(self) -> bool:
        return self.kind in GRADED_KINDS

    @property
    def by_staff(self) -> bool:
        return self.kind in STAFF_KINDS


@dataclass(frozen=True)
class NotebookEntry:
    name: str
    cells: tuple[CellEntry, ...]
    tests: dict[str, str]  # grade_id -> full test source (public and hidden)
    timeout: float
    memory_mb: int
    seed_torch: bool = False
    artifacts: tuple[str, ...] = ()
    data: tuple[str, ...] = ()  # data sets the notebook reads (names known to mlgrader.data)
    files: tuple[str, ...] = ()  # paths under files/ that grading puts beside the notebook

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells if c.graded)

    @property
    def staff_points(self) -> float:
        """Points that staff give (manual answers and tasks): pending in every automatic grade."""
        return sum(c.points for c in self.cells if c.by_staff)

    def cell(self, grade_id: str) -> CellEntry | None:
        return next((c for c in self.cells if c.grade_id == grade_id), None)

    @property
    def hidden_tests(self) -> tuple[str, ...]:
        """Grade ids of the tests that hold hidden checks, in notebook order (told from the bundle's
        own test sources, so that a platform can show their results later without solutions/)."""
        return tuple(c.grade_id for c in self.cells
                     if c.kind == "test" and has_hidden_checks(self.tests.get(c.grade_id, "")))


@dataclass(frozen=True)
class Bundle:
    assignment: str
    notebooks: tuple[NotebookEntry, ...]
    seed: int = 0
    path: Path | None = field(default=None, compare=False)
    # When the assignment is due (from the solution header), so that grading needs no solutions/.
    deadline: Deadline | None = None

    @property
    def notebook_names(self) -> tuple[str, ...]:
        return tuple(nb.name for nb in self.notebooks)

    def notebook(self, name: str | None) -> NotebookEntry:
        if name is None:
            if len(self.notebooks) == 1:
                return self.notebooks[0]
            raise BundleError(
                f"assignment {self.assignment} has several notebooks "
                f"({', '.join(self.notebook_names)}); name the notebook file after one of them"
            )
        for nb in self.notebooks:
            if nb.name == name:
                return nb
        raise BundleError(f"assignment {self.assignment} has no notebook {name!r} "
                          f"(it has {', '.join(self.notebook_names)})")

    def has_notebook(self, name: str | None) -> bool:
        return name is not None and name in self.notebook_names


# --- the hidden region ---------------------------------------------------------------------


def public_part(test_source: str) -> str:
    """A test cell's source without its hidden region (what students see)."""
    out, hidden = [], False
    for line in test_source.splitlines():
        stripped = line.strip()
        if stripped == HIDDEN_BEGIN:
            hidden = True
        elif stripped == HIDDEN_END:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def has_hidden_checks(test_source: str) -> bool:
    """Whether a test cell's source has a hidden region (the same marker :func:`public_part` cuts)."""
    return any(line.strip() == HIDDEN_BEGIN for line in test_source.splitlines())


# --- writing and reading -------------------------------------------------------------------


def bundle_files(bundle: Bundle) -> dict[str, str]:
    """Relative path -> text for every text file of the bundle (deterministic); the data files
    under files/ are bytes, written by the build beside these."""
    manifest = {
        "format": FORMAT_VERSION,
        "assignment": bundle.assignment,
        "seed": bundle.seed,
        "notebooks": [_notebook_json(nb) for nb in bundle.notebooks],
    }
    if bundle.deadline is not None:  # absent rather than null: bundles without one stay as they were
        manifest[DEADLINE_KEY] = bundle.deadline.to_json()
    files = {MANIFEST: _manifest_text(manifest)}
    for nb in bundle.notebooks:
        for grade_id, source in nb.tests.items():
            files[f"tests/{nb.name}/{grade_id}.py"] = source.rstrip("\n") + "\n"
    return files


def _manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=1, sort_keys=True) + "\n"


def _notebook_json(nb: NotebookEntry) -> dict:
    entry = {
        "name": nb.name,
        "timeout": nb.timeout,
        "memory_mb": nb.memory_mb,
        "seed_torch": nb.seed_torch,
        "artifacts": list(nb.artifacts),
        "max_score": nb.max_score,
        "cells": [_cell_json(c) for c in nb.cells],
    }
    if nb.data:  # absent rather than empty: bundles of notebooks without data stay as they were
        entry["data"] = list(nb.data)
    if nb.files:
        entry["files"] = list(nb.files)
    return entry


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
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{manifest_path} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest_path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        version = manifest.get("format") if isinstance(manifest, dict) else None
        raise BundleError(f"{manifest_path}: unsupported bundle format {version!r}")
    try:
        notebooks = tuple(_notebook_entry(path, nb) for nb in manifest["notebooks"])
        deadline = parse_deadline(manifest.get(DEADLINE_KEY) or {}, f"{manifest_path}: {DEADLINE_KEY}")
        return Bundle(manifest["assignment"], notebooks, int(manifest.get("seed", 0)), path, deadline)
    except DeadlineError as exc:
        raise BundleError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{manifest_path} is malformed ({type(exc).__name__}: {exc})") from None


def _notebook_entry(path: Path, nb: dict) -> NotebookEntry:
    cells = tuple(CellEntry(**c) for c in nb["cells"])
    tests = {}
    for c in cells:
        if c.kind == "test":
            test_file = path / "tests" / nb["name"] / f"{c.grade_id}.py"
            try:
                tests[c.grade_id] = test_file.read_text()
            except FileNotFoundError:
                raise BundleError(f"bundle is incomplete: {test_file} is missing") from None
    return NotebookEntry(
        name=nb["name"],
        cells=cells,
        tests=tests,
        timeout=float(nb["timeout"]),
        memory_mb=int(nb["memory_mb"]),
        seed_torch=bool(nb.get("seed_torch", False)),
        artifacts=tuple(nb.get("artifacts", ())),
        data=tuple(nb.get("data", ())),
        files=tuple(_bundle_file_name(path, name) for name in nb.get("files", ())),
    )


def _bundle_file_name(path: Path, name: object) -> str:
    """A name under files/ that cannot leave the bundle (nor, when copied, the scratch folder)."""
    relative = Path(str(name))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"files entry {name!r} is not a path inside the bundle")
    if not (path / FILES_DIR / relative).is_file():
        raise BundleError(f"bundle is incomplete: {path / FILES_DIR / relative} is missing")
    return relative.as_posix()


def list_bundles(autograder_dir: Path) -> dict[str, Bundle]:
    """Every readable bundle in an ``autograder/`` folder, by assignment (broken ones left out)."""
    bundles = {}
    for manifest in sorted(Path(autograder_dir).glob(f"*/{MANIFEST}")):
        if not valid_assignment_id(manifest.parent.name):
            continue
        try:
            bundles[manifest.parent.name] = load_bundle(manifest.parent)
        except BundleError:
            continue
    return bundles


def bundle_hash(bundle_dir: Path) -> str | None:
    """sha256 of what grading reads from a bundle (the manifest and every test file); None if unreadable.

    The deadline is left out: a new due date changes penalties, which every batch works out
    again, not grades, so it must not send the whole class back to the graders.
    """
    bundle_dir = Path(bundle_dir)
    digest = hashlib.sha256()
    try:
        digest.update(MANIFEST.encode() + b"\0" + _manifest_without_deadline(bundle_dir / MANIFEST) + b"\0")
        graded = sorted((bundle_dir / "tests").rglob("*.py")) + sorted(
            p for p in (bundle_dir / FILES_DIR).rglob("*") if p.is_file())  # the data files tests read
        for file in graded:
            digest.update(file.relative_to(bundle_dir).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()


def _manifest_without_deadline(path: Path) -> bytes:
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
    except ValueError:
        return data  # hashed as it is; loading it will say what is wrong
    if not isinstance(manifest, dict) or DEADLINE_KEY not in manifest:
        return data
    manifest.pop(DEADLINE_KEY)
    return _manifest_text(manifest).encode()


# --- which bundle grades a submission ------------------------------------------------------

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
        known = sorted(list_bundles(autograder_dir))
        hint = f" (bundles there: {', '.join(known)})" if known else ""
        raise BundleError(f"no autograder bundle for assignment {assignment!r} in {autograder_dir}{hint}")
    return load_bundle(candidate)


@dataclass(frozen=True)
class BundleChoice:
    """The bundle and notebook that grade one submission, and what the choice has to say."""

    bundle: Bundle
    entry: NotebookEntry
    notes: tuple[str, ...] = ()
    # Why the submission gets zero without running (it names another assignment), or None.
    zero_reason: str | None = None


def choose_bundle(autograder_dir: Path, file_name: str, *, requested: str | None = None,
                  named: str | None = None, named_notebook: str | None = None,
                  fallback: str | None = None, unreadable: str | None = None) -> BundleChoice:
    """The bundle that grades a submission, and the notebook of it.

    The assignment is, first that applies: ``requested`` (``--assignment``); the one the
    notebook's metadata names (``named``; ignored with a note when it is not an assignment
    id: a path there must never choose which code runs); ``fallback`` (the folder layout's);
    the only bundle in ``autograder_dir``. A notebook that names another assignment than the
    requested one is graded zero (``zero_reason``). The notebook entry is the one the
    metadata names, else the one named like the file, else the bundle's only notebook.
    ``unreadable`` is why the notebook could not be read, for the error when no bundle fits.

    Raises :class:`BundleError` when no bundle can be told or loaded.
    """
    notes: list[str] = []
    if named is not None and not valid_assignment_id(named):
        notes.append(f"the notebook's metadata names an invalid assignment {str(named)[:60]!r}; ignored")
        named = None
    zero_reason = None
    if requested and named and requested != named:
        zero_reason = f"this notebook belongs to assignment {named}, not {requested}"
    assignment = requested or named or fallback or _only_bundle(autograder_dir)
    if not assignment:
        if unreadable:
            raise BundleError(f"{unreadable} (and without a readable notebook, pass --assignment to record a grade)")
        raise BundleError(f"cannot tell which assignment {file_name} belongs to "
                          "(no mlgrader metadata in the notebook); pass --assignment")
    bundle = find_bundle(assignment, autograder_dir)
    stem = Path(file_name).stem
    if zero_reason is None and bundle.has_notebook(named_notebook):
        entry = bundle.notebook(named_notebook)
    else:
        entry = bundle.notebook(stem if bundle.has_notebook(stem) and len(bundle.notebooks) > 1 else None)
    return BundleChoice(bundle, entry, tuple(notes), zero_reason)


def _only_bundle(autograder_dir: Path) -> str | None:
    names = sorted(p.parent.name for p in Path(autograder_dir).glob(f"*/{MANIFEST}"))
    return names[0] if len(names) == 1 else None


def zero_result(bundle: Bundle, entry: NotebookEntry, submission: str, reason: str,
                seconds: float = 0.0) -> GradeResult:
    """The grade of a notebook that could not be run: every test 0, status error, the reason everywhere."""
    tests = [TestResult(c.grade_id, 0.0, c.points, "error", reason) for c in entry.cells if c.graded]
    return GradeResult(bundle.assignment, 0.0, entry.max_score, tests, entry.name, submission, "",
                       [reason], [], seconds, hidden_tests=list(entry.hidden_tests))
