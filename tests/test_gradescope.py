"""The Gradescope target: autograder/<a>/gradescope.zip, graded end to end in an /autograder-like root.

Setup-free: the built zip is unpacked into ``tmp/source`` (as Gradescope does into
/autograder/source), the student's files go into ``tmp/submission``, and the zip's own
``run_autograder`` runs with ``AUTOGRADER_ROOT`` pointing there. Nothing is installed:
setup.sh's step (a venv with the pinned requirements and the zip's wheel) is replaced by
this test's venv, which has the same pinned versions, and by the zip's wheel unpacked onto
PYTHONPATH, so the grader that runs is the mlgrader code the zip carries. What differs from
Gradescope: no setup.sh run, this machine's kernel and bubblewrap, and a pytest tmp folder
as the root. setup.sh itself is checked by parsing it (it may install local files only).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import stat
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from mlgrader.authoring.solution import read_solution, solution_files
from mlgrader.authoring.targets import target_files
from mlgrader.authoring.targets.wheel import wheel_name
from mlgrader.bundle import Bundle, CellEntry, NotebookEntry, public_part
from mlgrader.grading.folder import pick_notebooks, scan_folder
from mlgrader.results import GradeResult, combine_results
from mlgrader.results import TestResult as Verdict  # not named Test*: pytest would try to collect it

from conftest import ASSIGNMENT, BIN, NOTEBOOK, ROOT

ZIP = ROOT / "autograder" / ASSIGNMENT / "gradescope.zip"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
MAX_SCORE = 8.0


# --- an /autograder-like root ------------------------------------------------------------------


def _unpack(archive: zipfile.ZipFile, dest: Path) -> None:
    """Extract keeping the permissions the zip records (zipfile itself drops them)."""
    for info in archive.infolist():
        path = Path(archive.extract(info, dest))
        path.chmod(info.external_attr >> 16 & 0o777)


def make_root(tmp: Path, files: dict[str, bytes]) -> Path:
    """tmp/{source,submission,results} with the zip in source/ and ``files`` in submission/."""
    root = tmp / "autograder"
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir(parents=True)
    with zipfile.ZipFile(ZIP) as archive:
        _unpack(archive, root / "source")
    for rel, data in files.items():
        (root / "submission" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / rel).write_bytes(data)
    return root


def run_autograder(root: Path, path: str | None = None, **env: str) -> dict:
    """The zip's run_autograder, with this venv in place of setup.sh's; results.json parsed."""
    wheel_dir = root.parent / "wheel"
    if not wheel_dir.is_dir():
        zipfile.ZipFile(root / "source" / wheel_name()).extractall(wheel_dir)
    full_env = {**os.environ, "AUTOGRADER_ROOT": str(root), "MLGRADER_VENV": str(root.parent / "no-venv"),
                "PYTHONPATH": str(wheel_dir), "PATH": path or f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    proc = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=full_env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert not (root / "results" / ".results.json.partial").exists()
    return results


def notebook_bytes(kind: str) -> bytes:
    """The solution (nbgrader source notebook) or the stub (student release) of 01."""
    top = {"solution": "source", "stub": "release"}[kind]
    return (ROOT / top / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()


def without_metadata(data: bytes) -> bytes:
    nb = nbformat.reads(data.decode(), as_version=4)
    nb.metadata.pop("mlgrader", None)
    return nbformat.writes(nb).encode()


SOLUTION, STUB = notebook_bytes("solution"), notebook_bytes("stub")
NAMED = f"{NOTEBOOK}.ipynb"

# Submission folder contents -> what results.json must say.
CASES = {
    "solution": {NAMED: SOLUTION},
    "stub": {NAMED: STUB},
    "misnamed": {"homework.ipynb": SOLUTION},
    "named-in-subfolder-next-to-untitled": {
        f"work/{NAMED}": SOLUTION, "Untitled.ipynb": without_metadata(STUB),
        f"work/.ipynb_checkpoints/{NOTEBOOK}-checkpoint.ipynb": STUB, "__MACOSX/._homework.ipynb": b"\0\x05",
    },
    "untitled-with-metadata-next-to-named": {NAMED: SOLUTION, "Untitled.ipynb": STUB},
    "empty": {},
    "corrupt": {NAMED: SOLUTION[: len(SOLUTION) // 2]},
    "two-candidates": {"copy1.ipynb": SOLUTION, "copy2.ipynb": STUB, "notes.txt": b"my notes"},
    "nothing-fits": {"Untitled.ipynb": without_metadata(SOLUTION), "broken.ipynb": b"{not json"},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, dict]:
    """Every case of CASES graded by run_autograder, two at a time (this machine has 2 cores)."""
    def grade(name: str) -> tuple[str, dict]:
        return name, run_autograder(make_root(tmp_path_factory.mktemp(name), CASES[name]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(grade, CASES))


def _scores(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"]}


def assert_full_marks(results: dict) -> None:
    assert results["score"] == MAX_SCORE, results
    assert len(results["tests"]) == 4 and all(t["status"] == "passed" for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) == MAX_SCORE


def assert_zero_with(results: dict, *phrases: str) -> None:
    assert results["score"] == 0, results
    for phrase in phrases:
        assert phrase in results["output"], (phrase, results["output"])
    for test in results["tests"]:
        assert test["score"] == 0 and test["status"] == "failed"
        assert test["output"].startswith("error (no verdict): ")  # our third status stays visible


# --- end to end ---------------------------------------------------------------------------------


def test_the_solution_gets_full_marks_and_hidden_tests_wait_for_the_due_date(graded):
    results = graded["solution"]
    assert_full_marks(results)
    # Every test of 01 holds hidden checks: all after the due date (and so is the total).
    assert {t["visibility"] for t in results["tests"]} == {"after_due_date"}
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "hidden"
    assert results["output_format"] == "text" and results["test_output_format"] == "text"
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 1
    assert "sandbox" in results["output"] and "after the due date" in results["output"]
    assert list(_scores(results)) == ["test-derivative", "test-gd-loop", "test-nudge", "test-gradient-weight"]


def test_the_stub_gets_zero_on_every_test(graded):
    results = graded["stub"]
    assert results["score"] == 0 and len(results["tests"]) == 4
    assert all(t["score"] == 0 and t["status"] == "failed" and t["output"] for t in results["tests"])
    assert any("NotImplementedError" in t["output"] for t in results["tests"])


def test_a_misnamed_notebook_with_the_metadata_is_graded(graded):
    results = graded["misnamed"]
    assert_full_marks(results)
    assert f"graded homework.ipynb: no file is named {NAMED}" in results["output"]


def test_the_named_notebook_wins_over_untitled_and_checkpoints(graded):
    for case in ("named-in-subfolder-next-to-untitled", "untitled-with-metadata-next-to-named"):
        results = graded[case]
        assert_full_marks(results)
        assert "not graded: Untitled.ipynb" in results["output"], results["output"]
        assert "checkpoint" not in results["output"] and "MACOSX" not in results["output"]


def test_an_empty_submission_gets_zero_with_the_reason(graded):
    assert_zero_with(graded["empty"], "the submission is empty", f"upload {NAMED}")
    assert len(graded["empty"]["tests"]) == 4


def test_a_corrupt_notebook_gets_zero_with_the_reason(graded):
    assert_zero_with(graded["corrupt"], "is not valid notebook JSON")


def test_several_candidates_and_none_named_right_get_a_clear_message(graded):
    assert_zero_with(graded["two-candidates"], f"no file is named {NAMED}", "copy1.ipynb", "copy2.ipynb",
                     f"rename the one to grade to {NAMED}")


def test_nothing_that_fits_is_named_with_why(graded):
    assert_zero_with(graded["nothing-fits"], "Untitled.ipynb (no mlgrader metadata)",
                     "broken.ipynb (not readable as notebook JSON)")


def test_a_purely_public_test_is_visible_at_once(tmp_path):
    """Visibility comes from the bundle's test source: drop one test's hidden block, and it shows."""
    root = make_root(tmp_path, {NAMED: SOLUTION})
    test_file = root / "source" / "autograder" / ASSIGNMENT / "tests" / NOTEBOOK / "test-derivative.py"
    test_file.write_text(public_part(test_file.read_text()) + "\n")
    results = run_autograder(root)
    visibility = {t["name"]: t["visibility"] for t in results["tests"]}
    assert visibility == {"test-derivative": "visible", "test-gd-loop": "after_due_date",
                          "test-nudge": "after_due_date", "test-gradient-weight": "after_due_date"}
    assert_full_marks(results)


def test_a_crash_or_a_timeout_still_writes_results_json(tmp_path):
    no_mlgrader = make_root(tmp_path / "crash", {NAMED: SOLUTION})
    results = run_autograder(no_mlgrader, path="/usr/bin:/bin")  # mlgrader is not on PATH: exit 127
    assert results["score"] == 0 and "exit status 127" in results["output"] and results["tests"] == []
    slow = nbformat.reads(SOLUTION.decode(), as_version=4)
    slow.cells.insert(0, nbformat.v4.new_code_cell("import time\ntime.sleep(40)"))  # within the cell's own limit
    too_slow = make_root(tmp_path / "slow", {NAMED: nbformat.writes(slow).encode()})
    results = run_autograder(too_slow, MLGRADER_TIME_LIMIT="5")
    assert results["score"] == 0 and "longer than 5 s" in results["output"]
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "hidden"


# --- the zip itself --------------------------------------------------------------------------------


def test_every_assignment_has_a_gradescope_zip_in_gradescopes_layout():
    for assignment in ASSIGNMENTS:
        archive = zipfile.ZipFile(ROOT / "autograder" / assignment / "gradescope.zip")
        names = archive.namelist()
        assert {"setup.sh", "run_autograder", "requirements.txt", wheel_name(),
                f"autograder/{assignment}/manifest.json"} <= set(names)
        assert all(n in ("setup.sh", "run_autograder", "requirements.txt", wheel_name())
                   or n.startswith(f"autograder/{assignment}/") for n in names), names
        assert not [n for n in names if "solution" in n]
        for info in archive.infolist():
            mode = stat.S_IMODE(info.external_attr >> 16)
            assert mode == (0o755 if info.filename in ("setup.sh", "run_autograder") else 0o644), info.filename
        assert f'ASSIGNMENT="{assignment}"' in archive.read("run_autograder").decode()


def test_the_zip_is_byte_identical_across_builds():
    """Two builds of the targets from the committed notebooks and bundle: the same bytes as on disk."""
    specs = [read_solution(p) for p in solution_files(ROOT, [ASSIGNMENT])]
    made = {p.relative_to(ROOT).as_posix(): p.read_bytes()
            for top in ("source", "release", "autograder") for p in (ROOT / top / ASSIGNMENT).rglob("*")
            if p.is_file() and p.name != "gradescope.zip" and "targets" not in p.relative_to(ROOT).parts}
    rel = f"autograder/{ASSIGNMENT}/gradescope.zip"
    first, second = target_files(specs, made)[rel], target_files(specs, made)[rel]
    assert first == second == ZIP.read_bytes()


def _solution_only_lines() -> list[str]:
    """Lines of 01's solution regions that appear neither in the release nor in the bundle's tests."""
    source = (ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.py").read_text()
    public = (ROOT / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text()
    public += "".join(p.read_text() for p in (ROOT / "autograder" / ASSIGNMENT / "tests").rglob("*.py"))
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
            inside = line.strip() == "### BEGIN SOLUTION"
        elif inside and len(line.strip()) > 12 and line.strip() not in public:
            lines.append(line.strip())
    return lines


def test_the_zip_holds_no_solution_code():
    lines = _solution_only_lines()
    assert "xs.append(xs[-1] - alpha * df(xs[-1]))" in lines and len(lines) >= 3
    archive = zipfile.ZipFile(ZIP)
    texts = {name: archive.read(name) for name in archive.namelist()}
    wheel = zipfile.ZipFile(io.BytesIO(texts.pop(wheel_name())))
    texts.update({f"wheel:{name}": wheel.read(name) for name in wheel.namelist()})
    for name, data in texts.items():
        text = data.decode("utf-8", errors="replace")
        assert not [line for line in lines if line in text], name


def _shell_commands(script: str) -> list[list[str]]:
    """setup.sh as commands: continuation lines joined, comments dropped, split as the shell would."""
    joined = script.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if shlex.split(line, comments=True)]


def _runs_pip(cmd: list[str]) -> bool:
    """``pip ...``, ``.../pip3 ...`` or ``python -m pip ...``."""
    words = [Path(w).name for w in cmd]
    return bool(words) and words[0].startswith("pip") or \
        any(a == "-m" and b.startswith("pip") for a, b in zip(words, words[1:]))


def test_setup_installs_only_files_the_zip_carries():
    for assignment in ASSIGNMENTS:
        archive = zipfile.ZipFile(ROOT / "autograder" / assignment / "gradescope.zip")
        script, names = archive.read("setup.sh").decode(), set(archive.namelist())
        installs = [cmd for cmd in _shell_commands(script) if _runs_pip(cmd)]
        assert installs, "setup.sh installs nothing with pip"
        for cmd in installs:
            assert "install" in cmd, cmd
            args = cmd[cmd.index("install") + 1:]
            local, it = [], iter(args)
            for arg in it:
                if arg == "-r":
                    local.append(next(it))
                elif not arg.startswith("--"):
                    local.append(arg)
            assert local and all(a == "requirements.txt" or a.startswith("./") for a in local), cmd
            assert all(a.removeprefix("./") in names for a in local), (local, names)
        # No other installer and no package index other than what requirements.txt names.
        for word in ("pip3 ", "uv ", "conda ", "easy_install", "--index-url", "--extra-index-url", "curl ", "wget "):
            assert word not in script, word


# --- an assignment of several notebooks (none in this course yet) ------------------------------


def _notebook_with(assignment: str, notebook: str) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["mlgrader"] = {"assignment": assignment, "notebook": notebook}
    return nbformat.writes(nb).encode()


def test_each_notebook_of_a_bundle_gets_its_own_file(tmp_path):
    entries = tuple(NotebookEntry(name, (CellEntry("t", "test", 1.0),), {"t": "assert x == 1"}, 60.0, 512)
                    for name in ("part1", "part2", "part3"))
    bundle = Bundle("hw", entries)
    (tmp_path / "sub").mkdir()
    (tmp_path / "part1.ipynb").write_bytes(_notebook_with("hw", "part1"))
    (tmp_path / "sub" / "mine.ipynb").write_bytes(_notebook_with("hw", "part2"))  # misnamed, metadata says part2
    (tmp_path / "other.ipynb").write_bytes(_notebook_with("hw-2", "part3"))  # another assignment's
    picks = {p.entry.name: p for p in pick_notebooks(scan_folder(tmp_path), bundle)}
    assert picks["part1"].path == tmp_path / "part1.ipynb"
    assert picks["part2"].path == tmp_path / "sub" / "mine.ipynb" and "sub/mine.ipynb" in picks["part2"].note
    assert picks["part3"].path is None
    assert "other.ipynb (a notebook of assignment hw-2)" in picks["part3"].reason


def test_several_notebooks_make_one_gradescope_result():
    first = GradeResult("hw", 1.0, 2.0, [Verdict("a", 1.0, 1.0, "passed"), Verdict("b", 0.0, 1.0, "pending")],
                        notebook="part1", sandbox="subprocess", messages=["repaired a cell"], hidden_tests=["a"])
    second = GradeResult("hw", 0.0, 1.0, [Verdict("a", 0.0, 1.0, "error", "time limit")], notebook="part2",
                         sandbox="subprocess")
    results = combine_results([first, second]).to_gradescope()
    assert results["score"] == 1.0
    assert [(t["name"], t["status"], t["visibility"]) for t in results["tests"]] == [
        ("part1/a", "passed", "after_due_date"), ("part1/b", "failed", "visible"), ("part2/a", "failed", "visible")]
    assert results["tests"][1]["output"].startswith("pending (graded by staff later)")
    assert results["tests"][2]["output"] == "error (no verdict): time limit"
    assert "part1: repaired a cell" in results["output"] and "after the due date" in results["output"]
