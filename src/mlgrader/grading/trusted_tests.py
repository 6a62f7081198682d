"""Running one test in the trusted grader, against values read from the notebook as data.

A test's code (public and hidden checks) runs here, in the grader process, never in the
kernel: the names it reads but does not bind (:func:`free_names`) are fetched through the
:class:`~mlgrader.channel.proxy.Channel`, the grader is seeded, and the verdict is this
process's own. Nothing the submission patched in its kernel can reach these checks.
"""

from __future__ import annotations

import ast
import builtins
import importlib
from dataclasses import dataclass
from pathlib import Path

from ..artifacts import ArtifactError, artifact_folder
from ..bundle import NotebookEntry, public_part
from ..channel.codec import WireError
from ..channel.proxy import MISSING, Channel, RemoteError, RemoteUnavailable, wait_budget
from ..seeding import seed_everything


def free_names(source: str) -> list[str]:
    """Names a test reads but never binds: the notebook values it needs."""
    tree = ast.parse(source)
    loaded, bound = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    names = []
    for name in loaded:
        if name not in bound and not hasattr(builtins, name) and name not in names:
            names.append(name)
    return names


@dataclass
class TestOutcome:
    status: str
    output: str


def run_test(source: str, grade_id: str, channel: Channel, timeout: float, seed: int,
             workdir: Path | None = None) -> TestOutcome:
    """Run one test's code in this (trusted) process against values from the notebook."""
    channel.deadline = wait_budget(timeout)
    try:
        names = free_names(source)
        values = channel.export(names)
    except SyntaxError as exc:
        return TestOutcome("error", f"the test {grade_id} itself is broken ({exc}); tell your instructor")
    except (RemoteUnavailable, WireError) as exc:
        return TestOutcome("error", str(exc))
    except RemoteError as exc:
        return TestOutcome("failed", _remote_error_text(exc))
    missing = [n for n, v in values.items() if v is MISSING]
    namespace = {"__name__": f"mlgrader_test_{grade_id.replace('-', '_')}", "__builtins__": builtins}
    namespace.update({n: v for n, v in values.items() if v is not MISSING})
    # Hidden tests that draw random inputs get the same inputs for every student.
    seed_everything(seed, import_torch=False)
    try:
        with artifact_folder(workdir or Path.cwd()):
            exec(compile(source, f"<test {grade_id}>", "exec"), namespace)
    except ArtifactError as exc:
        return TestOutcome("failed", str(exc))
    except AssertionError as exc:  # CheckFailure is an AssertionError
        return TestOutcome("failed", str(exc) or _bare_assert_text(exc, source))
    except NameError as exc:
        name = getattr(exc, "name", None)
        if name in missing:
            return TestOutcome("failed", f"your notebook does not define `{name}` at this point; "
                                         "did the cell that should define it run without an error?")
        return TestOutcome("error", f"the test {grade_id} is broken ({exc}); tell your instructor")
    except RemoteError as exc:
        return TestOutcome("failed", _remote_error_text(exc))
    except (RemoteUnavailable, WireError) as exc:
        return TestOutcome("error", str(exc))
    except Exception as exc:  # a test tripping over an odd value is still the value's fault
        return TestOutcome("failed", f"the test could not use your values: {type(exc).__name__}: {exc}")
    finally:
        channel.deadline = None
    return TestOutcome("passed", "")


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


def preload_test_imports(entry: NotebookEntry) -> None:
    """Import what the tests import before any student code runs.

    Tests then use modules loaded while the submission could not have touched their
    files yet: defence in depth for the fallback sandbox, where the file system is shared.
    """
    modules = {"mlgrader.checks", "mlgrader.artifacts", "numpy"} | ({"torch"} if entry.seed_torch else set())
    for source in entry.tests.values():
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    for name in sorted(modules):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the test will report it when it runs


