"""Prove each assignment's tests: solution full marks, stub zero, known mistakes lose points.

For every notebook of an assignment, :func:`validate` grades (through the real grading
path, sandbox included):

- the nbgrader source notebook, i.e. the solution: it must score full marks;
- the student release, i.e. the stub: every graded test must score zero;
- each known-wrong variant from ``solutions/<assignment>/variants.toml``: the solution
  with one exercise cell edited; each listed test must lose points and the feedback of
  one of them must contain the variant's ``message``.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

from .grade import _grade_id, grade_notebook
from .results import GradeResult


class VariantError(ValueError):
    """variants.toml is malformed or does not fit the solution."""


@dataclass(frozen=True)
class Variant:
    name: str
    cell: str
    lose: tuple[str, ...]
    message: str = ""
    notebook: str | None = None
    find: str | None = None
    replace: str | None = None
    source: str | None = None
    needs: str | None = None  # "gpu" or "no-gpu": the mistake only shows on such a machine


NEEDS = ("gpu", "no-gpu")


@dataclass
class CaseResult:
    assignment: str
    notebook: str
    case: str
    ok: bool
    score: float
    max_score: float
    detail: str = ""
    skipped: bool = False  # a variant that cannot show on this machine (see Variant.needs)


@dataclass
class ValidationReport:
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.cases) and all(c.ok for c in self.cases)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "cases": [asdict(c) for c in self.cases]}


def load_variants(path: Path) -> list[Variant]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise VariantError(f"{path}: {exc}") from None
    variants = []
    for number, item in enumerate(data.get("variant", []), start=1):
        try:
            variant = Variant(
                name=item["name"], cell=item["cell"], lose=tuple(item["lose"]),
                message=item.get("message", ""), notebook=item.get("notebook"),
                find=item.get("find"), replace=item.get("replace"), source=item.get("source"),
                needs=item.get("needs"),
            )
        except KeyError as exc:
            raise VariantError(f"{path}: variant {number} lacks {exc}") from None
        if variant.source is None and (variant.find is None or variant.replace is None):
            raise VariantError(f"{path}: variant {variant.name} needs find and replace, or source")
        if variant.needs not in (None, *NEEDS):
            raise VariantError(f"{path}: variant {variant.name}: needs must be one of {', '.join(NEEDS)}")
        variants.append(variant)
    return variants


def apply_variant(nb: nbformat.NotebookNode, variant: Variant) -> nbformat.NotebookNode:
    """A copy of the solution notebook with the variant's edit made."""
    edited = nbformat.from_dict(nb)
    cells = [c for c in edited.cells if _grade_id(c) == variant.cell]
    if len(cells) != 1:
        raise VariantError(f"variant {variant.name}: no single cell with grade_id {variant.cell!r}")
    cell = cells[0]
    if variant.source is not None:
        cell.source = variant.source
    else:
        count = cell.source.count(variant.find)
        if count != 1:
            raise VariantError(f"variant {variant.name}: the text to find occurs {count} times in cell {variant.cell}")
        cell.source = cell.source.replace(variant.find, variant.replace)
    return edited


# --- judging one case ----------------------------------------------------------------------


def judge_solution(result: GradeResult) -> tuple[bool, str]:
    failed = [t for t in result.tests if t.status != "passed"]
    if not failed and result.score == result.max_score:
        return True, ""
    return False, "; ".join(f"{t.name}: {t.output.splitlines()[0] if t.output else t.status}" for t in failed)


def judge_stub(result: GradeResult) -> tuple[bool, str]:
    scored = [t.name for t in result.tests if t.score > 0]
    return (not scored, f"the stub scores points in {', '.join(scored)}" if scored else "")


def judge_variant(result: GradeResult, variant: Variant) -> tuple[bool, str]:
    tests = {t.name: t for t in result.tests}
    unknown = [name for name in variant.lose if name not in tests]
    if unknown:
        return False, f"variants.toml names unknown tests: {', '.join(unknown)}"
    kept = [name for name in variant.lose if tests[name].score >= tests[name].max_score]
    if kept:
        return False, f"did not lose points in {', '.join(kept)}"
    lost_outputs = [tests[name].output for name in variant.lose]
    if variant.message and not any(variant.message.lower() in out.lower() for out in lost_outputs):
        first = lost_outputs[0].splitlines()[0] if lost_outputs and lost_outputs[0] else ""
        return False, f"feedback lacks {variant.message!r} (said: {first[:120]})"
    return True, (lost_outputs[0].splitlines()[0][:120] if lost_outputs and lost_outputs[0] else "")


# --- running the cases -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    assignment: str
    notebook: str
    case: str
    notebook_json: str
    autograder_dir: str
    mode: str | None
    variant: Variant | None = None
    threads: int | None = None


def _run_job(job: _Job) -> CaseResult:
    with tempfile.TemporaryDirectory(prefix="mlgrader-validate-") as tmp:
        path = Path(tmp) / f"{job.notebook}.ipynb"
        path.write_text(job.notebook_json)
        result = grade_notebook(path, job.assignment, Path(job.autograder_dir), mode=job.mode, threads=job.threads)
    if job.case == "solution":
        ok, detail = judge_solution(result)
    elif job.case == "stub":
        ok, detail = judge_stub(result)
    else:
        ok, detail = judge_variant(result, job.variant)
    return CaseResult(job.assignment, job.notebook, job.case, ok, result.score, result.max_score, detail)


_NEEDS_WORDS = {"gpu": "a CUDA GPU", "no-gpu": "no CUDA GPU"}


def machine_kind() -> str:
    """"gpu" where torch sees a CUDA device (the sandboxed kernel sees the same), else "no-gpu"."""
    try:
        import torch
    except ImportError:
        return "no-gpu"
    return "gpu" if torch.cuda.is_available() else "no-gpu"


def _jobs(root: Path, assignments: list[str] | None, autograder_dir: Path, mode: str | None,
          skipped: list[CaseResult]) -> list[_Job]:
    """The grading jobs; variants that cannot show on this machine go to ``skipped``."""
    jobs = []
    machine = None  # "gpu" or "no-gpu", asked once and only when a variant needs it (imports torch)
    names = assignments or sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    for assignment in names:
        variants = load_variants(root / "solutions" / assignment / "variants.toml")
        notebooks = sorted((root / "source" / assignment).glob("*.ipynb"))
        if not notebooks:
            raise VariantError(f"no source notebooks for {assignment}; run `mlgrader build` first")
        for source in notebooks:
            nb_name = source.stem
            release = root / "release" / assignment / source.name
            solution_nb = nbformat.read(source, as_version=4)
            common = dict(assignment=assignment, notebook=nb_name, autograder_dir=str(autograder_dir), mode=mode)
            jobs.append(_Job(case="solution", notebook_json=nbformat.writes(solution_nb), **common))
            jobs.append(_Job(case="stub", notebook_json=release.read_text(), **common))
            for variant in variants:
                if variant.notebook not in (None, nb_name):
                    continue
                edited = apply_variant(solution_nb, variant)  # applied anyway: a stale edit is an error
                if variant.needs and variant.needs != (machine := machine or machine_kind()):
                    skipped.append(CaseResult(assignment, nb_name, f"variant {variant.name}", True, 0, 0,
                                              f"skipped: shows only on a machine with {_NEEDS_WORDS[variant.needs]}",
                                              skipped=True))
                    continue
                jobs.append(_Job(case=f"variant {variant.name}", notebook_json=nbformat.writes(edited),
                                 variant=variant, **common))
    return jobs


def validate(root: Path, assignments: list[str] | None = None, mode: str | None = None,
             autograder_dir: Path | None = None, workers: int | None = None) -> ValidationReport:
    root = Path(root)
    report = ValidationReport()
    jobs = _jobs(root, assignments, autograder_dir or root / "autograder", mode, report.cases)
    if not jobs:
        return report
    cores = max(1, multiprocessing.cpu_count())
    workers = workers or min(len(jobs), cores)
    jobs = [replace(job, threads=max(1, cores // workers)) for job in jobs]
    # Each case grades in a fresh process: kernels, event loops and imports stay apart.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for case in _progress(pool.map(_run_job, jobs), len(jobs)):
            report.cases.append(case)
    return report


def _progress(iterable, total: int):
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("validating", total=total)
        for item in iterable:
            progress.advance(task)
            yield item


def print_table(report: ValidationReport) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="mlgrader validate")
    for column in ("assignment", "notebook", "case", "score", "ok"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in report.cases:
        table.add_row(c.assignment, c.notebook, c.case, f"{c.score:g}/{c.max_score:g}",
                      "[yellow]skip[/]" if c.skipped else "[green]yes[/]" if c.ok else "[red]NO[/]",
                      escape(c.detail))
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # CI logs: keep one row per line
    console.print(table)
