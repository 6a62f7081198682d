"""solutions/ -> source/ -> release/ -> autograder/: the build pipeline.

Each step is a small function from solution specs to ``{relative path: bytes}``:

1. :func:`source_notebooks`   nbgrader source notebooks with cell metadata
2. :func:`release_notebooks`  student notebooks, made by nbgrader's own generate_assignment
3. :func:`autograder_bundles` hidden tests and the grading manifest
4. :func:`targets.target_files` student-repository workflow and Gradescope files

:func:`build` runs the steps, then either writes the files or (``check=True``) compares
them with what is on disk. Every output is a pure function of the solution sources, so a
rebuild changes no byte and ``--check`` can name each stale file.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import targets
from .authoring import NotebookSpec, read_solution, solution_files
from .bundle import Bundle, CellEntry, NotebookEntry, bundle_files

GENERATED_DIRS = ("source", "release", "autograder")
CACHE_DIR = ".mlgrader-cache"  # ignored by git; safe to delete


class BuildError(RuntimeError):
    """A build step failed; the message says which and why."""


@dataclass
class BuildReport:
    """What a build wrote, or (with check) what is stale."""

    assignments: list[str]
    written: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# --- step 1: nbgrader source notebooks -------------------------------------------------


def source_notebook(spec: NotebookSpec) -> nbformat.NotebookNode:
    """The nbgrader source notebook (solutions and hidden tests still inside)."""
    cells = [_source_cell(c) for c in spec.cells]
    metadata = {
        "kernelspec": spec.kernelspec,
        "language_info": {"name": "python"},
        "mlgrader": {"assignment": spec.assignment, "notebook": spec.name},
    }
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def _source_cell(cell) -> nbformat.NotebookNode:
    nbgrader = {
        "grade": cell.kind == "test",
        "grade_id": cell.grade_id,
        "locked": cell.kind in ("markdown", "setup", "test"),
        "schema_version": 3,
        "solution": cell.kind == "exercise",
        "task": False,
    }
    if cell.kind == "test":
        nbgrader["points"] = _number(cell.points)
    if cell.kind == "markdown":
        node = nbformat.v4.new_markdown_cell(cell.source, metadata={"nbgrader": nbgrader})
    else:
        node = nbformat.v4.new_code_cell(cell.source, metadata={"nbgrader": nbgrader})
    node.id = cell.grade_id  # deterministic ids: a rebuild changes no byte
    return node


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb, version=4) + "\n").encode()


def source_notebooks(specs: list[NotebookSpec]) -> dict[str, bytes]:
    return {f"source/{s.assignment}/{s.name}.ipynb": notebook_bytes(source_notebook(s)) for s in specs}


# --- step 2: release notebooks through nbgrader ----------------------------------------


def release_notebooks(sources: dict[str, bytes], cache_dir: Path | None = None) -> dict[str, bytes]:
    """Run ``nbgrader generate_assignment`` on the source notebooks.

    Each assignment gets a scratch course directory with its own throwaway gradebook:
    the real course's gradebook.db is untouched, the build is repeatable, and the
    assignments can go through nbgrader in parallel.
    """
    by_assignment: dict[str, dict[str, bytes]] = {}
    for rel, data in sources.items():
        by_assignment.setdefault(Path(rel).parts[1], {})[rel] = data
    out: dict[str, bytes] = {}
    workers = min(len(by_assignment), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for produced in pool.map(lambda item: _release_one(*item, cache_dir), sorted(by_assignment.items())):
            out.update(produced)
    return out


def _release_one(assignment: str, sources: dict[str, bytes], cache_dir: Path | None) -> dict[str, bytes]:
    """One assignment through nbgrader, or from the cache of earlier identical runs.

    The release is a pure function of the source notebooks and the nbgrader version, so
    a cached copy keyed by their hash is exactly what nbgrader would write again.
    """
    cache = cache_dir / _release_key(sources) if cache_dir else None
    if cache is not None and (cache / "done").exists():
        return {rel: (cache / rel).read_bytes() for rel in _release_paths(sources)}
    out = _run_generate_assignment(assignment, sources)
    if cache is not None:
        for rel, data in out.items():
            (cache / rel).parent.mkdir(parents=True, exist_ok=True)
            (cache / rel).write_bytes(data)
        (cache / "done").write_text("")
    return out


def _release_paths(sources: dict[str, bytes]) -> list[str]:
    return ["release/" + rel.split("/", 1)[1] for rel in sources]


def _release_key(sources: dict[str, bytes]) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(f"nbgrader {version('nbgrader')}\n".encode())
    for rel in sorted(sources):
        digest.update(rel.encode() + b"\0" + sources[rel] + b"\0")
    return digest.hexdigest()[:32]


def _run_generate_assignment(assignment: str, sources: dict[str, bytes]) -> dict[str, bytes]:
    out = {}
    with tempfile.TemporaryDirectory(prefix="mlgrader-build-") as tmp:
        course = Path(tmp)
        for rel, data in sources.items():
            (course / rel).parent.mkdir(parents=True, exist_ok=True)
            (course / rel).write_bytes(data)
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(course)!r}\n"
            f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
        )
        _run_nbgrader(["generate_assignment", assignment, "--force"], course)
        for rel in sources:
            release_rel = "release/" + rel.split("/", 1)[1]
            produced = course / release_rel
            if not produced.exists():
                raise BuildError(f"nbgrader generate_assignment did not produce {release_rel}")
            out[release_rel] = _normalised_release(produced.read_bytes())
    return out


def _normalised_release(data: bytes) -> bytes:
    # nbgrader writes with its own formatting; re-serialise so the bytes are stable.
    return notebook_bytes(nbformat.reads(data.decode(), as_version=4))


def nbgrader_env() -> dict[str, str]:
    """Environment for nbgrader: the venv's bin/ first on PATH (nbgrader runs alembic)."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def _run_nbgrader(args: list[str], course: Path) -> None:
    exe = Path(sys.executable).parent / "nbgrader"
    cmd = [str(exe) if exe.exists() else "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, env=nbgrader_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BuildError(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")


# --- step 3: autograder bundles ----------------------------------------------------------


def notebook_entry(spec: NotebookSpec) -> NotebookEntry:
    cells = tuple(
        CellEntry(
            grade_id=c.grade_id,
            kind=c.kind,
            points=c.points,
            timeout=c.timeout,
            source=c.source if c.kind == "setup" else None,
        )
        for c in spec.cells
    )
    tests = {c.grade_id: c.source for c in spec.tests}
    return NotebookEntry(spec.name, cells, tests, spec.timeout, spec.memory_mb, _imports_torch(spec), spec.artifacts)


def _imports_torch(spec: NotebookSpec) -> bool:
    """Whether the notebook uses torch, so the grader seeds it before the first cell."""
    for c in spec.cells:
        if not c.is_code:
            continue
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] == "torch" for n in names):
                return True
    return False


def autograder_bundles(specs: list[NotebookSpec]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for assignment in sorted({s.assignment for s in specs}):
        entries = tuple(notebook_entry(s) for s in specs if s.assignment == assignment)
        bundle = Bundle(assignment, entries)
        for rel, text in bundle_files(bundle).items():
            out[f"autograder/{assignment}/{rel}"] = text.encode()
    return out


# --- the pipeline --------------------------------------------------------------------


def build_outputs(root: Path, assignments: list[str] | None = None) -> tuple[list[str], dict[str, bytes]]:
    """Run every step in memory; return the assignments built and their files."""
    specs = [read_solution(p) for p in solution_files(root, assignments)]
    if not specs:
        raise BuildError(f"no solution sources found under {Path(root) / 'solutions'}")
    names = sorted({s.assignment for s in specs})
    sources = source_notebooks(specs)
    outputs = dict(sources)
    outputs.update(release_notebooks(sources, Path(root) / CACHE_DIR / "release"))
    outputs.update(autograder_bundles(specs))
    outputs.update(targets.target_files(specs))
    return names, outputs


def build(root: Path, assignments: list[str] | None = None, check: bool = False) -> BuildReport:
    root = Path(root)
    names, outputs = build_outputs(root, assignments)
    report = BuildReport(names)
    existing = _existing_generated_files(root, names)
    for rel, data in sorted(outputs.items()):
        path = root / rel
        if path.exists() and path.read_bytes() == data:
            continue
        if check:
            report.stale.append(rel)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            report.written.append(rel)
    for rel in sorted(existing - set(outputs)):
        if check:
            report.stale.append(rel)
        else:
            (root / rel).unlink()
            report.removed.append(rel)
    return report


def _existing_generated_files(root: Path, assignments: list[str]) -> set[str]:
    found = set()
    for top in GENERATED_DIRS:
        for assignment in assignments:
            base = root / top / assignment
            if base.is_dir():
                found.update(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file())
    return found
