"""Every assignment proves its tests: `mlgrader validate` over solutions, stubs and variants."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, run_cli

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validate(assignment):
    # --mutants in the same run: the mutants share its warm workers, so they cost only their own
    # focused gradings (each stops at the first test that fails).
    proc = run_cli("validate", assignment, "--mutants", "--json", timeout=1200)
    report = json.loads(proc.stdout)
    failures = [c for c in report["cases"] if not c["ok"] and c["kind"] != "mutant"]
    survivors = [c["case"] for c in report["cases"] if c["kind"] == "mutant" and not c["ok"]]
    assert proc.returncode == 0 and not failures, json.dumps(failures, indent=1) + "\nsurvivors: " + "\n".join(survivors)
    cases = {c["case"] for c in report["cases"]}
    assert "solution" in cases and "stub" in cases
    assert sum(c.startswith("variant ") for c in cases) >= 3, "each assignment needs >= 3 known-wrong variants"
    summary = next(c for c in report["cases"] if c["kind"] == "mutants")
    assert summary["max_score"] > 0 and summary["score"] >= 0.9 * summary["max_score"], summary["detail"]


def test_validate_fails_on_a_variant_that_does_not_lose_points(tmp_path):
    import shutil

    course = tmp_path / "course"
    for top in ("solutions", "source", "release", "autograder"):
        shutil.copytree(ROOT / top / "01-gradient-descent", course / top / "01-gradient-descent")
    (course / "solutions" / "01-gradient-descent" / "variants.toml").write_text(
        '[[variant]]\nname = "harmless"\ncell = "gd-loop"\nfind = "alpha * df"\nreplace = "alpha*df"\n'
        'lose = ["test-gd-loop"]\nmessage = "sign"\n')
    proc = run_cli("validate", "--root", str(course), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    harmless = next(c for c in report["cases"] if c["case"] == "variant harmless")
    assert not harmless["ok"] and "did not lose points" in harmless["detail"]


def test_mutant_operators_make_one_typical_mistake_at_a_time():
    from mlgrader.validate.operators import cell_changes

    cell = ("def step(w, x, y, lr):\n    ### BEGIN SOLUTION\n    grad = 2 * np.mean((w * x - y) * x)\n"
            "    p = np.exp(z - z.max(axis=1, keepdims=True))\n    loss = F.cross_entropy(logits, t)\n"
            "    loss.backward()\n    return w - lr * grad.T\n    ### END SOLUTION\n")
    changes = {c.operator: c for c in cell_changes(cell)}
    assert {"mean-to-sum", "swap-axis", "drop-keepdims", "drop-max-shift", "ce-to-nll", "drop-backward",
            "descent-sign", "lr-x100", "drop-transpose"} <= set(changes)
    assert changes["drop-max-shift"].after.strip() == "p = np.exp(z)"
    assert changes["descent-sign"].after.strip() == "return w + lr * grad.T"
    assert all(c.source != cell for c in changes.values())
    assert not cell_changes(cell.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION\n", ""))


def _copy_course(tmp_path):
    import shutil

    course = tmp_path / "course"
    for top in ("solutions", "source", "release", "autograder"):
        shutil.copytree(ROOT / top / "01-gradient-descent", course / top / "01-gradient-descent")
    return course


def test_validate_refuses_a_build_older_than_its_solution(tmp_path):
    course = _copy_course(tmp_path)
    solution = course / "solutions" / "01-gradient-descent" / "gradient_descent.py"
    # a hidden expected value changed without `mlgrader build`: validating the old bundle would say yes
    solution.write_text(solution.read_text().replace("expected = 0.8 ** np.arange(11)", "expected = 1 + 0.8 ** np.arange(11)"))
    proc = run_cli("validate", "--root", str(course))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("mlgrader validate: stale: run mlgrader build (")
    assert "autograder/01-gradient-descent/tests/gradient_descent/test-gd-loop.py" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_broken_variants_toml_is_one_line_with_file_and_line(tmp_path):
    course = _copy_course(tmp_path)
    variants = course / "solutions" / "01-gradient-descent" / "variants.toml"
    variants.write_text(variants.read_text().replace('find = "xs[-1] - alpha"', 'find = "xs[-1] - beta"'))
    proc = run_cli("validate", "--root", str(course))
    line = next(n for n, text in enumerate(variants.read_text().splitlines(), 1) if 'xs[-1] - beta' in text)
    assert proc.returncode == 2 and proc.stderr == (
        f"mlgrader validate: {variants}:{line}: variant gd-wrong-sign: the text to find occurs 0 times in cell gd-loop\n")
    variants.write_text("[[variant]\nname = 1\n")
    proc = run_cli("validate", "--root", str(course))
    assert proc.returncode == 2 and proc.stderr.startswith(f"mlgrader validate: {variants}:1: not valid TOML")
    assert len(proc.stderr.splitlines()) == 1


def test_show_prints_the_whole_feedback_of_one_variant(tmp_path):
    proc = run_cli("validate", "01-gradient-descent", "--show", "gd-wrong-sign")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("01-gradient-descent/gradient_descent variant gd-wrong-sign: yes\n")
    # every line of the check's message, the hint included: nothing clipped
    assert "first difference at xs[1]: expected 0.8, found 1.2" in out
    assert "max abs difference" in out and "(tolerance: rtol=1e-05, atol=1e-08)" in out
    assert "This looks like: added the gradient instead of subtracting it (wrong sign: step downhill, x - alpha * f'(x))." in out
    assert "passed     1 / 1    test-derivative" in out
    proc = run_cli("validate", "01-gradient-descent", "--show", "no-such-variant")
    assert proc.returncode == 2 and "no case 'no-such-variant'" in proc.stderr


def test_equivalent_mutants_are_listed_with_their_reason_and_stale_marks_rejected(tmp_path):
    course = _copy_course(tmp_path)
    # Equivalent mutants must still exist: a stale mark is an error.
    (course / "solutions" / "01-gradient-descent" / "variants.toml").write_text(
        '[[equivalent]]\ncell = "gd-loop"\noperator = "swap-axis"\nreason = "no axis here"\n')
    proc = run_cli("validate", "--root", str(course), "--mutants", "--json")
    assert proc.returncode == 2 and "no longer exists" in proc.stderr
    (course / "solutions" / "01-gradient-descent" / "variants.toml").write_text(
        '[[equivalent]]\ncell = "gd-loop"\noperator = "lr-x100"\nreason = "pretend it cannot be seen"\n')
    proc = run_cli("validate", "--root", str(course), "--mutants", "--json")
    report = json.loads(proc.stdout)
    mutants = [c for c in report["cases"] if c["kind"] == "mutant"]
    marked = [c for c in mutants if c["skipped"]]
    assert len(marked) == 1 and "pretend" in marked[0]["detail"] and "gd-loop" in marked[0]["case"]
    assert all("at line" in c["case"] and "->" in c["case"] for c in mutants)
