"""`mlgrader grade` end to end: the JSON contract, partial credit, and messy notebooks."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, grade_id, grade_json, run_cli

SAMPLES = ROOT / "examples" / "submissions"
TESTS = {"test-derivative": 1, "test-gd-loop": 2, "test-nudge": 2, "test-gradient-weight": 3}


def _write(nb, tmp_path: Path, name: str = "gradient_descent.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def _scores(result: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in result["tests"]}


def test_json_contract_for_the_solution():
    result = grade_json(SAMPLES / "alice.ipynb")
    assert result["assignment"] == ASSIGNMENT
    assert result["score"] == result["max_score"] == 8
    assert {t["name"]: t["max_score"] for t in result["tests"]} == TESTS
    for test in result["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output"}
        assert test["status"] == "passed" and isinstance(test["output"], str)
    assert result["sandbox"] in ("bubblewrap", "subprocess")


def test_stub_scores_zero_and_says_the_exercise_is_not_done():
    result = grade_json(SAMPLES / "bob.ipynb")
    assert result["score"] == 0
    assert all(t["status"] == "failed" for t in result["tests"])
    derivative = next(t for t in result["tests"] if t["name"] == "test-derivative")
    assert "NotImplementedError" in derivative["output"] and "not done yet" in derivative["output"]


def test_partial_credit_per_test():
    result = grade_json(SAMPLES / "carol.ipynb")
    assert _scores(result) == {"test-derivative": 1, "test-gd-loop": 2, "test-nudge": 0, "test-gradient-weight": 0}
    assert result["score"] == 3


def test_text_output_is_a_short_summary():
    proc = run_cli("grade", str(SAMPLES / "carol.ipynb"))
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == f"{ASSIGNMENT}/gradient_descent: 3 / 8"


def test_corrupt_json_gets_zero_with_a_clear_message():
    result = grade_json(SAMPLES / "dave.ipynb", "--assignment", ASSIGNMENT)
    assert result["score"] == 0 and result["max_score"] == 8
    assert all(t["status"] == "error" for t in result["tests"])
    assert "not valid notebook JSON" in result["messages"][0]
    assert "line" in result["messages"][0]


def test_unknown_assignment_is_a_usage_error(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = _write(nb, tmp_path)
    proc = run_cli("grade", str(path))
    assert proc.returncode == 2
    assert "pass --assignment" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("grade", str(path), "--assignment", "no-such-assignment")
    assert proc.returncode == 2 and "no-such-assignment" in proc.stderr


def test_grade_gradescope_format():
    proc = run_cli("grade", str(SAMPLES / "carol.ipynb"), "--format", "gradescope")
    data = json.loads(proc.stdout)
    assert data["score"] == 3 and len(data["tests"]) == 4


def _grade_variants(tmp_path, variants: dict[str, nbformat.NotebookNode], *extra: str) -> dict[str, dict]:
    paths = {}
    for name, nb in variants.items():
        (tmp_path / name).mkdir()
        paths[name] = _write(nb, tmp_path / name)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda item: (item[0], grade_json(item[1], *extra)), paths.items())
        return dict(results)


def test_messy_notebooks_are_graded_by_grade_id(tmp_path, solution_nb, release_nb):
    """Deleted, moved, duplicated, re-typed and edited cells (issue: notebook robustness)."""
    cases = {}

    deleted = nbformat.from_dict(solution_nb)
    deleted.cells = [c for c in deleted.cells if grade_id(c) != "test-gd-loop"]
    cases["deleted-test"] = deleted

    moved = nbformat.from_dict(solution_nb)
    test = _cell(moved, "test-nudge")
    moved.cells.remove(test)
    moved.cells.insert(0, test)
    cases["moved-test"] = moved

    duplicated = nbformat.from_dict(solution_nb)
    exercise = _cell(duplicated, "gd-loop")
    duplicated.cells.insert(duplicated.cells.index(exercise), nbformat.from_dict(exercise))
    cases["duplicated-exercise"] = duplicated

    retyped = nbformat.from_dict(solution_nb)
    cell = _cell(retyped, "derivative")
    retyped.cells[retyped.cells.index(cell)] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    cases["retyped-exercise"] = retyped

    edited_setup = nbformat.from_dict(solution_nb)
    _cell(edited_setup, "setup-2").source = "def f(x):\n    return 0"
    _cell(edited_setup, "setup-1").source = "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None"
    cases["edited-setup"] = edited_setup

    added = nbformat.from_dict(release_nb)  # the stub, finished in a cell the student added
    position = added.cells.index(_cell(added, "derivative")) + 1
    added.cells.insert(position, nbformat.v4.new_code_cell("def df(x):\n    return 2 * x"))
    cases["student-added-cell"] = added

    noisy = nbformat.from_dict(solution_nb)  # a correct answer that warns and writes to stderr
    _cell(noisy, "derivative").source = (
        "import warnings, sys\nwarnings.warn('deprecated thing')\nsys.stderr.write('to stderr\\n')\n"
        + _cell(noisy, "derivative").source)
    cases["warnings"] = noisy

    nokernel = nbformat.from_dict(solution_nb)
    del nokernel.metadata["kernelspec"]
    cases["no-kernelspec"] = nokernel

    results = _grade_variants(tmp_path, cases)

    assert results["deleted-test"]["score"] == 8
    assert any("test-gd-loop was missing" in m for m in results["deleted-test"]["messages"])
    assert results["moved-test"]["score"] == 8
    assert any("test-nudge" in m and "ran after it" in m for m in results["moved-test"]["messages"])
    assert results["duplicated-exercise"]["score"] == 8
    assert any("more than once" in m for m in results["duplicated-exercise"]["messages"])
    retyped_scores = _scores(results["retyped-exercise"])
    assert retyped_scores["test-derivative"] == 0 and retyped_scores["test-nudge"] == 2
    assert any("turned into a markdown cell" in m for m in results["retyped-exercise"]["messages"])
    assert results["edited-setup"]["score"] == 8
    assert any("setup-2 was changed" in m for m in results["edited-setup"]["messages"])
    assert _scores(results["student-added-cell"])["test-derivative"] == 1
    assert results["warnings"]["score"] == 8
    assert results["no-kernelspec"]["score"] == 8
    assert any("names no kernel" in m for m in results["no-kernelspec"]["messages"])


def test_wrong_nbformat_and_other_assignment(tmp_path, solution_nb):
    old = json.loads(nbformat.writes(solution_nb))
    old["nbformat"] = 3
    (tmp_path / "v3.ipynb").write_text(json.dumps(old))
    result = grade_json(tmp_path / "v3.ipynb", "--assignment", ASSIGNMENT)
    assert result["score"] == 0 and "nbformat 3" in result["messages"][0]

    other = nbformat.from_dict(solution_nb)
    other.metadata["mlgrader"]["assignment"] = "02-linear-regression"
    path = _write(other, tmp_path)
    result = grade_json(path, "--assignment", ASSIGNMENT)
    assert result["score"] == 0
    assert "belongs to assignment 02-linear-regression" in result["messages"][0]


@pytest.mark.parametrize("mode", ["subprocess"])
def test_fallback_sandbox_grades_the_same(mode):
    result = grade_json(SAMPLES / "carol.ipynb", "--sandbox", mode)
    assert result["sandbox"] == mode and result["score"] == 3
    assert any("fallback sandbox" in m for m in result["messages"])
    from mlgrader.sandbox import landlock

    abi = landlock.abi_version()[0]  # and what Landlock restricted, where the host has it
    note = next(m for m in result["messages"] if "fallback sandbox" in m)
    assert (f"with Landlock ABI {abi}: " in note) if abi else ("without Landlock" in note), note
