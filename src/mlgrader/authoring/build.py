"""solutions/ -> source/ -> release/ -> autograder/ -> classroom/: the build pipeline.

The pipeline is the tuple :data:`PIPELINE`, in order; each step is a small function from a
:class:`BuildContext` (the solution specs and what earlier steps made) to
``{relative path: bytes}``:

1. :func:`mlgrader.authoring.notebooks.source_notebooks`   nbgrader source notebooks
2. :func:`mlgrader.authoring.release.release_notebooks`    student notebooks, by nbgrader
3. :func:`mlgrader.authoring.autograder.autograder_bundles` hidden tests, grading manifest
4. :func:`mlgrader.authoring.targets.target_files`         where students submit

:func:`build` runs the steps, then either writes the files or (``check=True``) compares
them with what is on disk. Every output is a pure function of the solution sources, so a
rebuild changes no byte and ``--check`` can name each stale file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .autograder import autograder_bundles
from .errors import BuildError
from .notebooks import source_notebooks
from .release import release_notebooks
from .solution import NotebookSpec, read_solution, solution_files
from .targets import target_files

GENERATED_DIRS = ("source", "release", "autograder", "classroom")
CACHE_DIR = ".mlgrader-cache"  # ignored by git; safe to delete


@dataclass(frozen=True)
class BuildContext:
    root: Path
    specs: tuple[NotebookSpec, ...]
    done: dict[str, bytes]  # what the earlier steps made


def _sources(ctx: BuildContext) -> dict[str, bytes]:
    return source_notebooks(list(ctx.specs))


def _releases(ctx: BuildContext) -> dict[str, bytes]:
    sources = {rel: data for rel, data in ctx.done.items() if rel.startswith("source/") and rel.endswith(".ipynb")}
    out = release_notebooks(sources, ctx.root / CACHE_DIR / "release")
    # The files beside the notebooks (images, data): students get them as they are, as
    # nbgrader's generate_assignment copies them.
    out.update({"release/" + rel[len("source/"):]: data for rel, data in ctx.done.items()
                if rel.startswith("source/") and not rel.endswith(".ipynb")})
    return out


def _bundles(ctx: BuildContext) -> dict[str, bytes]:
    return autograder_bundles(list(ctx.specs), {rel: data for rel, data in ctx.done.items() if rel.startswith("release/")})


def _targets(ctx: BuildContext) -> dict[str, bytes]:
    return target_files(list(ctx.specs), ctx.done)


PIPELINE: tuple[tuple[str, Callable[[BuildContext], dict[str, bytes]]], ...] = (
    ("source notebooks", _sources),
    ("release notebooks", _releases),
    ("autograder bundles", _bundles),
    ("targets", _targets),
)


@dataclass
class BuildReport:
    """What a build wrote, or (with check) what is stale."""

    assignments: list[str]
    written: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """One line per assignment: what was written or removed (or is stale), else "up to date"."""
        lines = []
        for name in self.assignments:
            written, removed, stale = (_of(name, paths) for paths in (self.written, self.removed, self.stale))
            if stale:
                lines.append(f"{name}: {_count(len(stale), 'stale file')}")
            elif written or removed:
                done = [f"wrote {_count(len(written), 'file')}" if written else "",
                        f"removed {_count(len(removed), 'file')}" if removed else ""]
                lines.append(f"{name}: {', '.join(d for d in done if d)} ({_tops(written + removed)})")
            else:
                lines.append(f"{name}: up to date")
        return lines


def _of(assignment: str, paths: list[str]) -> list[str]:
    """The generated paths (``<top>/<assignment>/...``) that belong to one assignment."""
    return [p for p in paths if p.split("/")[1:2] == [assignment]]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _tops(paths: list[str]) -> str:
    """Which generated folders the paths lie in, in build order: "source/, release/"."""
    tops = {p.split("/", 1)[0] for p in paths}
    return ", ".join(f"{top}/" for top in GENERATED_DIRS if top in tops)


def build_outputs(root: Path, assignments: list[str] | None = None,
                  steps: int = len(PIPELINE)) -> tuple[list[str], dict[str, bytes]]:
    """Run the first ``steps`` steps (default: all) in memory; return the assignments built and their files."""
    specs = tuple(read_solution(p) for p in solution_files(root, assignments))
    if not specs:
        raise BuildError(f"no solution sources found under {Path(root) / 'solutions'}")
    outputs: dict[str, bytes] = {}
    for _name, step in PIPELINE[:steps]:
        outputs.update(step(BuildContext(Path(root), specs, dict(outputs))))
    return sorted({s.assignment for s in specs}), outputs


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


# What validation and grading read of a build: the notebooks and the bundle. The zips and the
# student template carry the wheel of the running mlgrader, which changes with every edit of
# the toolkit, not of the exercise; `build --check` still names them.
GRADED_DIRS = ("source", "release", "autograder")
# the steps before the targets make them (the notebooks and the bundle)
_GRADED_STEPS = [name for name, _step in PIPELINE].index("targets")
PACKAGED_SUFFIXES = (".zip",)


def stale_graded_files(root: Path, assignments: list[str] | None = None) -> list[str]:
    """The files of ``source/``, ``release/`` and ``autograder/`` (zips aside) that a build
    would change, add or remove: what a validation would wrongly read as the exercise.

    Only the steps that make them run (not the targets, whose wheel takes most of a build)."""
    root = Path(root)
    names, outputs = build_outputs(root, assignments, steps=_GRADED_STEPS)

    def graded(rel: str) -> bool:
        return rel.split("/", 1)[0] in GRADED_DIRS and not rel.endswith(PACKAGED_SUFFIXES)

    made = {rel: data for rel, data in outputs.items() if graded(rel)}
    changed = [rel for rel, data in made.items() if not (root / rel).is_file() or (root / rel).read_bytes() != data]
    extra = [rel for rel in _existing_generated_files(root, names) if graded(rel) and rel not in made]
    return sorted(changed + extra)


def _existing_generated_files(root: Path, assignments: list[str]) -> set[str]:
    found = set()
    for top in GENERATED_DIRS:
        for assignment in assignments:
            base = root / top / assignment
            if base.is_dir():
                found.update(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file())
    return found
