"""Every assignment proves its tests: `mlgrader validate` over solutions, stubs and variants."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, run_cli

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validate(assignment):
    proc = run_cli("validate", assignment, "--json", timeout=1200)
    report = json.loads(proc.stdout)
    failures = [c for c in report["cases"] if not c["ok"]]
    assert proc.returncode == 0 and not failures, json.dumps(failures, indent=1)
    cases = {c["case"] for c in report["cases"]}
    assert "solution" in cases and "stub" in cases
    assert sum(c.startswith("variant ") for c in cases) >= 3, "each assignment needs >= 3 known-wrong variants"


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
