"""Adversarial submissions graded by the real `mlgrader grade --json` (tests/adversarial/corpus.py).

For every attack and sandbox mode two tests:

* ``test_attack_is_contained``: the attack gains no point over its honest base notebook,
  and nothing escapes: no hidden test text, solution or planted secret in the output, no
  file written outside the sandbox (the marker, the decoy course folder and its
  gradebook.db are untouched, nothing planted in the grader's Python), no process outlives
  the grade, nothing reached the network, the result stays small and the grader's memory
  bounded.
* ``test_attack_is_reported``: the grader exits 0 with one JSON grade in the command-line
  contract, says which sandbox ran, gives the exact score where it is known, and its
  messages name what happened (time limit, kernel died, MemoryError, a changed cell...).

The grades run once per session, in parallel (a small thread pool of `mlgrader` processes),
only for the cases pytest selected. Known vulnerabilities are xfail(strict=True) with the
reason; see the corpus entries' ``xfail_*`` fields.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adversarial import corpus
from adversarial.runner import CaseRun, Listener, grade_case, hidden_lines_in, make_bundles
from mlgrader.sandbox.modes import bubblewrap_works

pytestmark = pytest.mark.slow

WORKERS = 6
MAX_RESULT_BYTES = 1_000_000
STATUSES = {"passed", "failed", "error"}


# --------------------------------------------------------------------------- cases


def _params(kind: str) -> list:
    out = []
    for attack in corpus.ATTACKS:
        for mode in attack.modes:
            marks = []
            reasons = dict(getattr(attack, f"xfail_{kind}"))
            if mode in reasons:
                marks.append(pytest.mark.xfail(strict=True, reason=reasons[mode]))
            if mode == "bubblewrap":
                marks.append(pytest.mark.skipif(not bubblewrap_works(), reason="bubblewrap cannot create namespaces here"))
            out.append(pytest.param(attack.name, mode, id=f"{attack.name}-{mode}", marks=marks))
    return out


@pytest.fixture(scope="session")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="session")
def graded(request, tmp_path_factory, listener) -> dict:
    """Grade every selected (attack, mode) once, in parallel."""
    wanted = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "attack_name" in params and (params["attack_name"], params["mode"]) not in wanted:
            wanted.append((params["attack_name"], params["mode"]))
    base = tmp_path_factory.mktemp("adversarial")
    bundles = make_bundles(base)
    # slowest first, so that the pool finishes together
    slow = ("loop", "flood", "fork", "time-limit", "memory", "read-hidden", "tensor")
    wanted.sort(key=lambda case: not any(s in case[0] for s in slow))
    runs = {}
    zygote = corpus.Zygote(base / "zygote")
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = {case: pool.submit(grade_case, corpus.attack_named(case[0]), case[1],
                                         base / f"{case[0]}-{case[1]}", bundles, listener.port, zygote)
                       for case in wanted}
            for case, future in futures.items():
                runs[case] = future.result()
    finally:
        zygote.close()
    summary = {f"{n}-{m}": {"seconds": round(r.outcome.seconds, 1), "rc": r.outcome.returncode,
                            "score": r.outcome.result.get("score") if r.outcome.result else None}
               for (n, m), r in runs.items()}
    (base / "summary.json").write_text(json.dumps(summary, indent=1))
    return runs


def _describe(run: CaseRun) -> str:
    o = run.outcome
    summary = json.dumps({k: o.result.get(k) for k in ("score", "messages", "sandbox")})[:1500] if o.result else "no JSON"
    return f"{run.attack.name} [{run.mode}] rc={o.returncode} {o.seconds:.1f}s {summary}\nstderr: {o.stderr[-1500:]}"


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("attack_name, mode", _params("contained"))
def test_attack_is_contained(graded, listener, attack_name, mode):
    run = graded[(attack_name, mode)]
    attack, outcome = run.attack, run.outcome
    why = _describe(run)
    assert outcome.score <= attack.allowed, f"the attack gained points: {why}"
    if outcome.result is not None:
        assert float(outcome.result["max_score"]) == corpus.MAX_SCORE, why
    assert not run.ctx.marker.exists(), f"code from the submission ran outside the sandbox: {why}"
    leaked = hidden_lines_in(outcome.stdout + outcome.stderr)
    assert not leaked, f"hidden test text reached the output: {leaked}: {why}"
    leaked = [text for text in (*run.ctx.secrets(), corpus.SOLUTION_MARK) if text in outcome.stdout + outcome.stderr]
    assert not leaked, f"secrets or the course's solutions reached the output: {leaked}: {why}"
    assert run.course_after == run.course_before, f"files outside the sandbox changed: {why}"
    assert not run.planted, f"the submission wrote into the grader's Python: {run.planted}: {why}"
    assert not run.orphans, f"processes of the submission outlived the grade: {why}"
    assert not listener.reached_by(run.ctx), f"the submission reached the host's network: {why}"
    if not run.autograder_existed:
        assert not Path("/autograder").exists(), f"the submission created /autograder on the host: {why}"
    assert len(outcome.stdout) <= MAX_RESULT_BYTES, f"result of {len(outcome.stdout)} bytes: {why[:300]}"
    if run.followup is not None:
        assert run.followup.score <= corpus.BASE_SCORES[attack.followup_base], \
            f"the next honest grade got {run.followup.score}: {why}"
    if attack.max_grader_rss_mb is not None:
        assert outcome.grader_rss_mb is not None, why
        assert outcome.grader_rss_mb <= attack.max_grader_rss_mb, \
            f"the grader grew to {outcome.grader_rss_mb:.0f} MB: {why}"


@pytest.mark.parametrize("attack_name, mode", _params("reported"))
def test_attack_is_reported(graded, attack_name, mode):
    run = graded[(attack_name, mode)]
    attack, outcome = run.attack, run.outcome
    why = _describe(run)
    assert outcome.returncode == 0, f"the grader did not exit 0: {why}"
    result = outcome.result
    assert isinstance(result, dict), f"no JSON grade on stdout: {why}"
    assert result["assignment"] == corpus.ASSIGNMENT, why
    assert {"assignment", "score", "max_score", "tests"} <= set(result), why
    assert [t["name"] for t in result["tests"]] == list(corpus.TESTS), why
    for test in result["tests"]:
        assert test["status"] in STATUSES and isinstance(test["output"], str), why
        assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0.0), why
    assert result["score"] == sum(t["score"] for t in result["tests"]), why
    if result.get("cells") or not attack.assignment_flag:  # a notebook that ran says where
        assert result["sandbox"] == mode, why
        if mode == "subprocess":
            assert any("fallback sandbox" in m for m in result["messages"]), why
    if attack.exact_score is not None:
        assert result["score"] == attack.exact_score, why
    text = outcome.text()
    for expected in attack.expect:
        assert expected.lower() in text, f"the grade does not say {expected!r}: {why}"


def test_corpus_is_large_and_readable():
    """The issue asks for at least 25 adversarial submissions, each described."""
    attacks = [a for a in corpus.ATTACKS if not a.name.startswith("baseline")]
    assert len(attacks) >= 25
    assert len({a.name for a in corpus.ATTACKS}) == len(corpus.ATTACKS)
    for attack in corpus.ATTACKS:
        assert attack.description and attack.base in corpus.BASES
        assert attack.transform is None or attack.transform in corpus.TRANSFORMS
        assert set(attack.modes) <= {"bubblewrap", "subprocess"}
    modes = {m for a in attacks for m in a.modes}
    assert "subprocess" in modes


def test_grader_calls_do_not_import_torch_in_the_kernel():
    """A student function called by a test must not make the kernel import torch it never used."""
    import shutil
    import tempfile

    from mlgrader.channel.proxy import Channel
    from mlgrader.sandbox.kernel import SandboxKernel
    from mlgrader.sandbox.limits import Limits

    workdir = Path(tempfile.mkdtemp(prefix="mlgrader-adv-"))
    try:
        with SandboxKernel(workdir, Limits()) as kernel:
            started = kernel.run("import mlgrader.channel.kernel_agent as a\na.start(globals())", timeout=60)
            assert started.ok, started.error_value
            assert kernel.run("def df(x):\n    return 2 * x", timeout=30).ok
            df = Channel(kernel).export(["df"])["df"]
            assert df(3.0) == 6.0
            assert kernel.run("import sys\nprint('torch' in sys.modules)", timeout=30).text().strip() == "False"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
