"""Judging one validation case: does the solution, the stub or a variant grade as it must?"""

from __future__ import annotations

from ..results import GradeResult
from .variants import Variant


def judge_solution(result: GradeResult) -> tuple[bool, str]:
    """Full marks on every automatically graded test; each answer staff grade is pending (the
    solution answers it), and its points are neither won nor lost here."""
    pending = [t for t in result.tests if t.status == "pending"]
    failed = [t for t in result.tests if t.status not in ("passed", "pending")]
    automatic = sum(t.max_score for t in result.tests if t.status != "pending")
    if not failed and result.score == automatic:
        return True, _pending_detail(pending)
    return False, "\n".join(f"{t.name}: {t.output.strip() if t.output else t.status}" for t in failed)


def judge_stub(result: GradeResult) -> tuple[bool, str]:
    """Zero on every test: automatic tests fail, answers staff grade score nothing yet."""
    scored = [t.name for t in result.tests if t.score > 0]
    return (not scored, f"the stub scores points in {', '.join(scored)}" if scored else "")


def _pending_detail(pending: list) -> str:
    if not pending:
        return ""
    points = sum(t.max_score for t in pending)
    return f"{points:g} points graded by staff (pending): {', '.join(t.name for t in pending)}"


def judge_variant(result: GradeResult, variant: Variant) -> tuple[bool, str]:
    tests = {t.name: t for t in result.tests}
    unknown = [name for name in variant.lose if name not in tests]
    if unknown:
        return False, f"variants.toml names unknown tests: {', '.join(unknown)}"
    kept = [name for name in variant.lose if tests[name].score >= tests[name].max_score]
    if kept:
        return False, f"did not lose points in {', '.join(kept)}"
    lost = [tests[name] for name in variant.lose]
    if not lost:
        return True, ""
    if variant.message and not any(variant.message.lower() in t.output.lower() for t in lost):
        said = "\n".join(f"{t.name}: {t.output.strip() or t.status}" for t in lost)
        return False, f"feedback lacks {variant.message!r}; it said:\n{said}"
    # The whole feedback that satisfied the variant, so that its author can read it.
    shown = next((t for t in lost if variant.message and variant.message.lower() in t.output.lower()), lost[0])
    return True, f"{shown.name}: {shown.output.strip()}" if shown.output.strip() else shown.name

