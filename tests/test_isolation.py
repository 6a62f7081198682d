"""Nothing of one submission reaches the next: A tries to leave files, processes, environment
and patched modules behind for B, and B looks for them, graded one after the other by the
same grader (warm kernels forked from one zygote, as a batch worker does, and cold kernels),
in both sandbox modes.

A's notebook, step by step (each step on its own, so that a refused one does not stop the
rest): files in /tmp, /dev/shm, /var/tmp and its home; a world-writable folder in /tmp; a
daemon in a session of its own that keeps writing /dev/shm/alive-by-a; numpy.allclose,
builtins and os.environ patched. B's notebook lists what it finds; its only test asserts
the list is empty, so the grade says what leaked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from mlgrader.bundle import Bundle, CellEntry, NotebookEntry, bundle_files
from mlgrader.config import GradingConfig
from mlgrader.grading import grade_notebook
from mlgrader.sandbox.modes import bubblewrap_works
from mlgrader.sandbox.warm import ColdKernels, WarmKernels

pytestmark = pytest.mark.slow

ASSIGNMENT, NOTEBOOK = "isolation", "probe"

LEAVE_TRACES = r'''
import builtins, os, sys, time
import numpy
attempts = {}
def attempt(name, action):
    try:
        action()
        attempts[name] = "ok"
    except Exception as exc:
        attempts[name] = type(exc).__name__
def write(path):
    with open(path, "w") as handle:
        handle.write("left by A")
attempt("tmp", lambda: write("/tmp/left-by-a"))
attempt("var-tmp", lambda: write("/var/tmp/left-by-a"))
attempt("shm", lambda: write("/dev/shm/left-by-a"))
attempt("home", lambda: write(os.path.expanduser("~/left-by-a")))
def world_writable_folder():
    os.makedirs("/tmp/a-folder", exist_ok=True)
    os.chmod("/tmp/a-folder", 0o777)
attempt("tmp-folder", world_writable_folder)
def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for _ in range(1200):  # 60 s: long past A's grade
                try:
                    write("/dev/shm/alive-by-a")
                except OSError:
                    pass
                time.sleep(0.05)
        os._exit(0)
    time.sleep(0.3)
attempt("daemon", daemon)
def patch():
    numpy.allclose = lambda *args, **kwargs: True
    builtins.LEFT_BY_A = True
    os.environ["LEFT_BY_A"] = "1"
    sys.modules["left_by_a"] = numpy
attempt("patch", patch)
found = []
'''

LOOK_FOR_TRACES = r'''
import builtins, glob, os, sys, time
import numpy
time.sleep(0.3)  # give a surviving daemon the time to write again
found = []
for path in ["/tmp/left-by-a", "/var/tmp/left-by-a", "/dev/shm/left-by-a", "/tmp/a-folder",
             "/dev/shm/alive-by-a", os.path.expanduser("~/left-by-a")]:
    if os.path.exists(path):
        found.append(path)
if numpy.allclose(1.0, 2.0):
    found.append("numpy.allclose patched")
if hasattr(builtins, "LEFT_BY_A"):
    found.append("builtins patched")
if "LEFT_BY_A" in os.environ:
    found.append("environment variable")
if "left_by_a" in sys.modules:
    found.append("sys.modules entry")
'''


def make_bundle(root: Path) -> Path:
    cells = (CellEntry("setup-1", "setup", source="import numpy as np"),
             CellEntry("probe", "exercise"),
             CellEntry("test-nothing-left", "test", points=1.0),
             CellEntry("test-attempts", "test", points=0.5))
    tests = {"test-nothing-left": "assert found == [], f'B found: {found}'\n",
             # Fails on purpose in A, to carry what A's attempts did into its grade.
             "test-attempts": "import json\nassert False, 'ATTEMPTS ' + json.dumps(attempts)\n"}
    entry = NotebookEntry(NOTEBOOK, cells, tests, timeout=120, memory_mb=2048)
    folder = root / "autograder" / ASSIGNMENT
    for rel, text in bundle_files(Bundle(ASSIGNMENT, (entry,))).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return root / "autograder"


def submission(folder: Path, name: str, probe: str) -> Path:
    cells = [nbformat.v4.new_code_cell("import numpy as np", metadata={"nbgrader": {"grade_id": "setup-1"}}),
             nbformat.v4.new_code_cell(probe, metadata={"nbgrader": {"grade_id": "probe"}}),
             nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": "test-nothing-left"}}),
             nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": "test-attempts"}})]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"mlgrader": {"assignment": ASSIGNMENT, "notebook": NOTEBOOK},
                                                         "kernelspec": {"name": "python3", "language": "python",
                                                                        "display_name": "Python 3"}})
    path = folder / name / f"{NOTEBOOK}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(nbformat.writes(nb))
    return path


def kernel_sources():
    sources = [pytest.param("subprocess", "cold", id="subprocess-cold")]
    if bubblewrap_works():
        sources += [pytest.param("bubblewrap", "cold", id="bubblewrap-cold")]
        if os.geteuid() == 0:
            sources += [pytest.param("bubblewrap", "warm", id="bubblewrap-warm")]
    return sources


@pytest.mark.parametrize("mode, source", kernel_sources())
def test_nothing_of_a_reaches_b(tmp_path, mode, source):
    autograder = make_bundle(tmp_path)
    config = GradingConfig(sandbox=mode)
    kernels = WarmKernels(mode) if source == "warm" else ColdKernels()
    try:
        a = grade_notebook(submission(tmp_path, "a", LEAVE_TRACES), autograder_dir=autograder, config=config,
                           kernels=kernels)
        b = grade_notebook(submission(tmp_path, "b", LOOK_FOR_TRACES), autograder_dir=autograder, config=config,
                           kernels=kernels)
    finally:
        kernels.close()
    assert a.sandbox == b.sandbox == mode
    assert a.score == 1.0, a.to_json()  # A's own probe ran (its list is empty)
    assert [c.status for c in a.cells] == ["ok", "ok"], a.to_json()
    attempts = json.loads(a.tests[1].output.split("ATTEMPTS ", 1)[1])
    # What A managed to leave: the test is only worth something if these worked.
    assert (attempts["home"], attempts["daemon"], attempts["patch"]) == ("ok",) * 3, attempts
    if mode == "subprocess":
        assert attempts["shm"] == "ok", attempts  # the host's /dev/shm, shared with every kernel
    if source == "warm":
        assert attempts["tmp"] == attempts["tmp-folder"] == "ok", attempts  # the zygote's /tmp is shared
    assert b.score == 1.0, b.tests[0].output  # "B found: [...]" names whatever leaked
    if source == "warm":
        assert a.phases["start"] < 1.5 and b.phases["start"] < 1.5, (a.phases, b.phases)
    assert not list(Path("/dev/shm").glob("*-by-a")), "A's files outlived its grade on the host"
