"""Running one test in the trusted grader, against values read from the notebook as data.

A test's code (public and hidden checks) runs here, in the grader process, never in the
kernel: the names it reads but does not bind (:func:`free_names`) are fetched through the
:class:`~mlgrader.channel.proxy.Channel`, the grader is seeded, and the verdict is this
process's own. Nothing the submission patched in its kernel can reach these checks.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts import ArtifactError, artifact_folder
from ..bundle import NotebookEntry, public_part
from ..channel.codec import WireError
from ..channel.proxy import MISSING, Channel, RemoteError, RemoteObject, RemoteUnavailable, wait_budget
from ..checks import CheckFailure, to_numpy
from ..seeding import seed_everything


def free_names(source: str) -> list[str]:
    """Names a test reads from the notebook: those it reads but never binds, and those it reads
    (or deletes) before it first binds them (``orig = f; del f; ...; f = orig``).

    A function's parameters and locals, and a comprehension's variables, are its own: a test
    function ``def check(f): ...`` called as ``check(f=f)`` still reads the notebook's ``f``.
    """
    return list(_free_names(source))


# The analyses below depend on a test's source only, and a worker grades the same tests in
# notebook after notebook: walking their syntax trees was a tenth of the grader's CPU per grade.
ANALYSES_KEPT = 512


@functools.lru_cache(maxsize=ANALYSES_KEPT)
def _free_names(source: str) -> tuple[str, ...]:
    tree = ast.parse(source)
    uses: dict[str, list[tuple[int, int, str]]] = {}
    defined = set()  # bound by def, class, import, except: never the notebook's
    local = _scope_locals(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in local:
            kind = "load" if isinstance(node.ctx, ast.Load) else "del" if isinstance(node.ctx, ast.Del) else "store"
            uses.setdefault(node.id, []).append((node.lineno, node.col_offset, kind))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    names = []
    for name, occurrences in uses.items():
        kinds = {kind for _, _, kind in occurrences}
        if name in defined or hasattr(builtins, name) or "load" not in kinds and "del" not in kinds:
            continue
        if "store" not in kinds and "del" not in kinds or min(occurrences)[2] != "store":
            names.append(name)
    return tuple(names)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _scope_locals(tree: ast.AST) -> set[int]:
    """The Name nodes that belong to a function's or a comprehension's own scope, not the test's."""
    local = set()
    for node in ast.walk(tree):
        if isinstance(node, _FUNCTIONS):
            arguments = node.args
            own = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
            own.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
            body = node.body if isinstance(node.body, list) else [node.body]
            inside = [n for part in body for n in ast.walk(part)]
            global_names = {g for n in inside if isinstance(n, (ast.Global, ast.Nonlocal)) for g in n.names}
            own.update(n.id for n in inside if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load))
            own -= global_names
            local.update(id(n) for n in inside if isinstance(n, ast.Name) and n.id in own)
        elif isinstance(node, _COMPREHENSIONS):
            bound = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            local.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in bound)
    return local


@functools.lru_cache(maxsize=ANALYSES_KEPT)
def helper_definitions(source: str) -> str:
    """What of a helper cell runs in the grader: its imports, functions, classes and constants.

    A read-only cell that defines a helper the tests call (``def check_answer(x): ...``) is
    run by the notebook's kernel for the student; the grader runs its definitions too, in
    the test's namespace, so that a test calls the grader's helper, not a function the
    student could have replaced. Other statements (loading data, printing) stay in the kernel;
    a helper reads the values they made from the notebook, like a test does.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    kept = [node for node in tree.body if _is_definition(node)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) if kept else ""


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        try:
            ast.literal_eval(node.value)  # a constant such as TOLERANCE = 1e-6
        except ValueError:
            return False
        return True
    return False


class MirroredNames(dict):
    """A test's top-level names, where deleting a notebook name, or binding it back to one of the
    notebook's own objects, also happens in the notebook (``del squares`` makes the student's
    ``sum_of_squares`` fail with NameError, as when the test ran in the kernel).

    Used as the ``locals`` of ``exec``: reads fall through to the test's globals, and every
    store also goes there, so that functions the test defines see the same names.
    """

    def __init__(self, namespace: dict, channel: Channel, notebook_names: set[str]):
        super().__init__()
        self._namespace, self._channel, self._notebook_names = namespace, channel, notebook_names

    def __getitem__(self, name):
        return self._namespace[name]

    def __contains__(self, name) -> bool:
        return name in self._namespace

    def __setitem__(self, name, value) -> None:
        self._namespace[name] = value
        if name in self._notebook_names and isinstance(value, RemoteObject):
            self._channel.bind(name, value)

    def __delitem__(self, name) -> None:
        del self._namespace[name]
        if name in self._notebook_names:
            self._channel.unset(name)


@dataclass
class TestOutcome:
    status: str
    output: str
    # The notebook's loss curves this test checked (name -> values), for the feedback's plot.
    curves: dict[str, list[float]] = field(default_factory=dict)


# A curve longer than this is thinned for the plot (every k-th value): a page stays small.
_CURVE_POINTS = 2000


def curve_names(source: str) -> list[str]:
    """Names passed as the first argument of ``check_loss_curve(...)`` in a test."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called == "check_loss_curve" and node.args[0].id not in names:
                names.append(node.args[0].id)
    return names


def _curve_values(value) -> list[float] | None:
    """A notebook value as a plottable curve (a 1-D run of numbers), or None."""
    try:
        values = to_numpy(value, name="curve").astype(float).ravel()
    except (CheckFailure, TypeError, ValueError):
        return None
    if values.size < 2:
        return None
    step = max(1, values.size // _CURVE_POINTS)
    return [float(v) for v in values[::step]]


def notebook_curves(source: str, values: dict) -> dict[str, list[float]]:
    """The loss curves a test checks that are the notebook's own values (never the test's)."""
    curves = {}
    for name in curve_names(source):
        if name in values and values[name] is not MISSING:
            curve = _curve_values(values[name])
            if curve is not None:
                curves[name] = curve
    return curves


def run_test(source: str, grade_id: str, channel: Channel, timeout: float, seed: int,
             workdir: Path | None = None, helpers: str = "") -> TestOutcome:
    """Run one test (see :func:`run_checks`) and keep the notebook's loss curves it checked."""
    outcome, values = run_checks(source, grade_id, channel, timeout, seed, workdir, helpers)
    try:
        outcome.curves = notebook_curves(source, values)
    except SyntaxError:
        pass  # run_checks said so already
    return outcome


def run_checks(source: str, grade_id: str, channel: Channel, timeout: float, seed: int,
               workdir: Path | None = None, helpers: str = "") -> tuple[TestOutcome, dict]:
    """Run one test's code in this (trusted) process against values from the notebook.

    ``helpers`` is grader-side code (:func:`helper_definitions` of the helper cells before the
    test) that runs first, in the test's namespace.
    """
    channel.deadline = wait_budget(timeout)
    values: dict = {}
    try:
        names = free_names(helpers + "\n" + source)
        values = channel.export(names)
    except SyntaxError as exc:
        return TestOutcome("error", f"the test {grade_id} itself is broken ({exc}); tell your instructor"), values
    except (RemoteUnavailable, WireError) as exc:
        return TestOutcome("error", str(exc)), values
    except RemoteError as exc:
        return TestOutcome("failed", _remote_error_text(exc)), values
    missing = [n for n, v in values.items() if v is MISSING]
    namespace = {"__name__": f"mlgrader_test_{grade_id.replace('-', '_')}", "__builtins__": builtins}
    namespace.update({n: v for n, v in values.items() if v is not MISSING})
    # Hidden tests that draw random inputs get the same inputs for every student.
    seed_everything(seed, import_torch=False)
    try:
        with artifact_folder(workdir or Path.cwd()):
            if helpers:
                exec(compile(helpers, f"<helpers of {grade_id}>", "exec"), namespace)
            fetched = {n for n, v in values.items() if v is not MISSING}
            exec(compile(source, f"<test {grade_id}>", "exec"), namespace, _locals_for(source, namespace, channel, fetched))
    except ArtifactError as exc:
        return TestOutcome("failed", str(exc)), values
    except RemoteError as exc:  # before the built-in types a remote error is also an instance of
        return TestOutcome("failed", _remote_error_text(exc)), values
    except AssertionError as exc:  # CheckFailure is an AssertionError
        return TestOutcome("failed", str(exc) or _bare_assert_text(exc, source)), values
    except NameError as exc:
        name = getattr(exc, "name", None)
        if name in missing:
            return TestOutcome("failed", f"your notebook does not define `{name}` at this point; "
                                         "did the cell that should define it run without an error?"), values
        return TestOutcome("error", f"the test {grade_id} is broken ({exc}); tell your instructor"), values
    except (RemoteUnavailable, WireError) as exc:
        return TestOutcome("error", str(exc)), values
    except Exception as exc:  # a test tripping over an odd value is still the value's fault
        return TestOutcome("failed", f"the test could not use your values: {type(exc).__name__}: {exc}"), values
    finally:
        channel.deadline = None
    return TestOutcome("passed", ""), values


def _locals_for(source: str, namespace: dict, channel: Channel, fetched: set[str]) -> dict:
    """The test's namespace itself, or (when it deletes or rebinds names it read from the notebook)
    a :class:`MirroredNames` over it."""
    notebook_names = _rebound_names(source) & fetched
    return MirroredNames(namespace, channel, notebook_names) if notebook_names else namespace


@functools.lru_cache(maxsize=ANALYSES_KEPT)
def _rebound_names(source: str) -> frozenset[str]:
    """The names a test binds or deletes at some point."""
    return frozenset(node.id for node in ast.walk(ast.parse(source))
                     if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load))


def _remote_error_text(exc: RemoteError) -> str:
    hint = ""
    if exc.type_name == "NotImplementedError":
        hint = " (this exercise is not done yet)"
    trace = exc.traceback.strip()
    return f"{exc}{hint}" + (f"\n{trace}" if trace else "")


def _bare_assert_text(exc: AssertionError, source: str) -> str:
    """For a bare ``assert``: the failing line, but only when students can see it anyway."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    lines = source.splitlines()
    lineno = tb.tb_lineno if tb is not None else 0
    line = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    public = {l.strip() for l in public_part(source).splitlines()}
    if line and line in public:
        return f"this check failed: {line}"
    return "a hidden check failed"


def test_imports(entry: NotebookEntry) -> list[str]:
    """The modules a notebook's tests import (and the toolkit they always use), sorted."""
    modules = {"mlgrader.checks", "mlgrader.artifacts", "numpy"} | ({"torch"} if entry.seed_torch else set())
    for source in entry.tests.values():
        modules.update(_imported_modules(source))
    return sorted(modules)


def preload_test_imports(entry: NotebookEntry) -> None:
    """Import what the tests import before any student code runs.

    Tests then use modules loaded while the submission could not have touched their
    files yet: defence in depth for the fallback sandbox, where the file system is shared.
    """
    for name in test_imports(entry):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the test will report it when it runs




@functools.lru_cache(maxsize=ANALYSES_KEPT)
def _imported_modules(source: str) -> frozenset[str]:
    """The modules a test imports (none when it does not parse: it reports that when it runs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return frozenset(modules)
