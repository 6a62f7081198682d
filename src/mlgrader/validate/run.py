"""Running the validation cases of a course: every solution, stub and variant, graded for real.

Each case is the real grading path (sandbox included) on a notebook written to a temporary
folder, on the batch's workers (:func:`mlgrader.batch.executors.run_in_workers`), each with its
warm kernels: a case whose worker dies costs that case only.
"""

from __future__ import annotations

import functools
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

from ..authoring.build import stale_graded_files
from ..batch.executors import NoProgress, Progress, ProcessFailure, default_workers, run_in_workers, \
    threads_per_worker
from ..config import GradingConfig
from ..grading import grade_notebook
from ..results import GradeResult
from ..grading.plan import Focus
from ..sandbox.warm import WarmKernels
from .judge import judge_solution, judge_stub, judge_variant
from .mutants import judge_mutant, load_equivalents, mutated_notebook, notebook_mutants, unused_equivalents
from .variants import NEEDS, Variant, VariantError, apply_variant, load_variants

# The share of a notebook's applicable mutants its tests must kill (with a message that explains).
MUTANT_KILL_RATE = 0.9


@dataclass
class CaseResult:
    assignment: str
    notebook: str
    case: str
    ok: bool
    score: float
    max_score: float
    detail: str = ""  # why it failed, or the feedback that satisfied it: whole, never clipped
    skipped: bool = False  # a variant that cannot show on this machine (see Variant.needs)
    # "case" (solution, stub, variant: each must be ok), "mutant" (one of many: a survivor is
    # listed, and the assignment's "mutants" summary decides), or "mutants" (that summary).
    kind: str = "case"
    seconds: float = 0.0  # how long grading this case took (on one worker)
    grade: GradeResult | None = None  # the whole grade: the feedback a student would get

    @property
    def label(self) -> str:
        return f"{self.assignment}/{self.notebook} {self.case}"


@dataclass
class ValidationReport:
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.cases) and all(c.ok for c in self.cases if c.kind != "mutant")

    def to_dict(self) -> dict:
        return {"ok": self.ok, "cases": [asdict(c) for c in self.cases]}


class StaleBuildError(RuntimeError):
    """The generated notebooks or bundle differ from what the solution sources make."""

    def __init__(self, stale: list[str]):
        shown = ", ".join(stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        super().__init__(f"stale: run mlgrader build ({shown} differ from what solutions/ makes)")
        self.stale = stale


@dataclass(frozen=True)
class _Job:
    assignment: str
    notebook: str
    case: str
    notebook_json: str
    autograder_dir: str
    config: GradingConfig
    variant: Variant | None = None
    focus: str | None = None  # a mutant: grade id of the mutated cell


def _run_job(job: _Job, kernels=None) -> CaseResult:
    started = time.monotonic()
    case = _graded_case(job, kernels)
    return replace(case, seconds=round(time.monotonic() - started, 2))


def _graded_case(job: _Job, kernels=None) -> CaseResult:
    with tempfile.TemporaryDirectory(prefix="mlgrader-validate-") as tmp:
        path = Path(tmp) / f"{job.notebook}.ipynb"
        path.write_text(job.notebook_json)
        focus = Focus(job.focus) if job.focus else None
        result = grade_notebook(path, job.assignment, Path(job.autograder_dir), job.config, kernels=kernels,
                                focus=focus)
    if job.focus:
        killed, explained, detail = judge_mutant(result)
        if killed and not explained:
            detail = f"killed with a bare value mismatch: {detail}"
        return CaseResult(job.assignment, job.notebook, job.case, killed and explained, result.score,
                          result.max_score, detail, kind="mutant", grade=result)
    if job.case == "solution":
        ok, detail = judge_solution(result)
    elif job.case == "stub":
        ok, detail = judge_stub(result)
    else:
        ok, detail = judge_variant(result, job.variant)
    return CaseResult(job.assignment, job.notebook, job.case, ok, result.score, result.max_score, detail, grade=result)


_NEEDS_WORDS = {"gpu": "a CUDA GPU", "no-gpu": "no CUDA GPU"}
assert set(_NEEDS_WORDS) == set(NEEDS)


def machine_kind() -> str:
    """"gpu" where torch sees a CUDA device (the sandboxed kernel sees the same), else "no-gpu"."""
    try:
        import torch
    except ImportError:
        return "no-gpu"
    return "gpu" if torch.cuda.is_available() else "no-gpu"


def case_matches(case: str, wanted: str) -> bool:
    """Whether a case ("solution", "stub", "variant NAME", "mutant ...") is the one asked for ("NAME" will do)."""
    return wanted in (case, case.removeprefix("variant "))


def _jobs(root: Path, names: list[str], autograder_dir: Path, config: GradingConfig,
          skipped: list[CaseResult], mutants: bool = False) -> list[_Job]:
    """The grading jobs; variants that cannot show on this machine go to ``skipped``."""
    jobs = []
    machine = None  # "gpu" or "no-gpu", asked once and only when a variant needs it (imports torch)
    for assignment in names:
        variants = load_variants(root / "solutions" / assignment / "variants.toml")
        notebooks = sorted((root / "source" / assignment).glob("*.ipynb"))
        if not notebooks:
            raise VariantError(f"no source notebooks for {assignment}; run `mlgrader build` first")
        for source in notebooks:
            nb_name = source.stem
            release = root / "release" / assignment / source.name
            solution_nb = nbformat.read(source, as_version=4)
            common = dict(assignment=assignment, notebook=nb_name, autograder_dir=str(autograder_dir), config=config)
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
            if mutants:
                jobs.extend(_mutant_jobs(root, assignment, solution_nb, common, skipped))
    return jobs


def _mutant_jobs(root: Path, assignment: str, solution_nb, common: dict, listed: list[CaseResult]) -> list[_Job]:
    """One focused job per distinct mutant; equivalent ones go to ``listed`` with their reason."""
    equivalents = load_equivalents(root / "solutions" / assignment / "variants.toml")
    found = notebook_mutants(solution_nb, exercise_ids(solution_nb), equivalents)
    for stale in unused_equivalents(found, equivalents):
        raise VariantError(f"{assignment}: variants.toml marks an equivalent mutant that no longer exists: "
                           f"{stale.operator} in cell {stale.cell}")
    jobs = []
    for mutant in found:
        if mutant.equivalent is not None:
            listed.append(CaseResult(assignment, common["notebook"], mutant.case, True, 0, 0,
                                     f"equivalent: {mutant.equivalent.reason}", skipped=True, kind="mutant"))
            continue
        jobs.append(_Job(case=mutant.case, notebook_json=nbformat.writes(mutated_notebook(solution_nb, mutant)),
                         focus=mutant.cell, **common))
    return jobs


def exercise_ids(nb) -> set[str]:
    """Grade ids of the cells a student writes code in: nbgrader solution cells that are not tests."""
    ids = set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade") and meta.get("grade_id"):
            ids.add(meta["grade_id"])
    return ids


def mutant_summaries(cases: list[CaseResult]) -> list[CaseResult]:
    """Per assignment: the share of applicable mutants killed with a message that explains them.
    OK at 90 % or more, and never with no applicable mutant at all."""
    summaries = []
    for assignment in sorted({c.assignment for c in cases}):
        mine = [c for c in cases if c.assignment == assignment and c.kind == "mutant"]
        applicable = [c for c in mine if not c.skipped]
        killed = [c for c in applicable if c.ok]
        rate = len(killed) / len(applicable) if applicable else 0.0
        ok = bool(applicable) and rate >= MUTANT_KILL_RATE
        detail = (f"{len(killed)} of {len(applicable)} applicable mutants killed with an explaining message "
                  f"({rate:.0%}); {len(mine) - len(applicable)} marked equivalent")
        notebook = mine[0].notebook if mine else ""
        summaries.append(CaseResult(assignment, notebook, "mutants", ok, len(killed), len(applicable), detail,
                                    kind="mutants"))
    return summaries


def validate(root: Path, assignments: list[str] | None = None, config: GradingConfig | None = None,
             autograder_dir: Path | None = None, workers: int | None = None,
             progress: Progress | None = None, only: str | None = None, mutants: bool = False) -> ValidationReport:
    """Grade every case of the assignments (default: all), or only the case ``only`` names
    ("solution", "stub", a variant's name); with ``mutants`` also the automatic mutants of
    every solution region, and per assignment the share they kill.

    Raises :class:`VariantError` on a bad variants.toml, :class:`StaleBuildError` when the
    build is older than the solution sources (a validation of it would prove the old tests),
    and :class:`~mlgrader.authoring.errors.AuthoringError` on a broken solution source.
    """
    root = Path(root)
    config = config or GradingConfig()
    progress = progress or NoProgress()
    names = assignments or sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    if autograder_dir is None or Path(autograder_dir).resolve() == (root / "autograder").resolve():
        stale = stale_graded_files(root, names)
        if stale:
            raise StaleBuildError(stale)
    report = ValidationReport()
    jobs = _jobs(root, names, autograder_dir or root / "autograder", config, report.cases, mutants)
    if only is not None:
        report.cases[:] = [c for c in report.cases if case_matches(c.case, only)]
        jobs = [job for job in jobs if case_matches(job.case, only)]
        if not jobs and not report.cases:
            raise VariantError(f"no case {only!r} in {', '.join(names)} (cases: solution, stub, the variants' names)")
    if not jobs:
        return report
    workers = min(workers or default_workers(), len(jobs))
    if config.threads is None:
        jobs = [_with_threads(job, threads_per_worker(workers)) for job in jobs]
    progress.start(len(jobs))
    results: dict[int, CaseResult] = {}
    kernels = functools.partial(WarmKernels, config.sandbox, jobs[0].config.threads)
    for index, outcome in run_in_workers(_run_job, jobs, workers, preload=("mlgrader.imports", __name__),
                                         make_context=kernels):
        results[index] = outcome if isinstance(outcome, CaseResult) else _failed_case(jobs[index], outcome)
        progress.advance(jobs[index].case)
    report.cases.extend(results[i] for i in sorted(results))
    if mutants:
        report.cases.extend(mutant_summaries(report.cases))
    return report


def _with_threads(job: _Job, threads: int) -> _Job:
    return replace(job, config=job.config.with_options(threads=threads))


def _failed_case(job: _Job, failure: ProcessFailure) -> CaseResult:
    """A case whose grading process returned nothing: a failure of the case, with the reason."""
    return CaseResult(job.assignment, job.notebook, job.case, False, 0.0, 0.0, failure.reason)
