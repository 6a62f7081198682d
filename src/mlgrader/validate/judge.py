"""Judging one validation case: does the solution, the stub or a variant grade as it must?"""

from __future__ import annotations

from ..results import GradeResult
from .variants import Variant


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

