"""The architecture of shared/DESIGN.md, checked on the import graph with import-linter.

pyproject.toml holds the contracts (layers, the grader never importing the kernel side, no
cycles). The first test runs the real `lint-imports` on the package; the others plant one
violation each in a copy of the package and show that the same contracts catch it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(source_root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(source_root))
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_package_keeps_its_layers():
    proc = lint_imports(ROOT / "src")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.fixture
def package_copy(tmp_path) -> Path:
    shutil.copytree(ROOT / "src" / "mlgrader", tmp_path / "mlgrader", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def plant(package_copy: Path, module: str, line: str) -> None:
    path = package_copy / "mlgrader" / module
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.mark.parametrize("module, line, broken", [
    ("sandbox/kernel.py", "from ..grading import plan  # the sandbox learns about tests", "Layers"),
    ("checks/compare.py", "from ..sandbox import limits  # the checks learn about processes", "Layers"),
    ("bundle.py", "from . import cli  # an import up the layers", "Layers"),
    ("grading/session.py", "from ..channel import kernel_agent  # the grader imports the kernel side",
     "never imports the kernel side"),
    ("channel/kernel_agent.py", "from ..checks import check_close  # the kernel side grows", "kernel side imports only"),
    ("batch/layouts.py", "from . import run  # run imports layouts: a cycle", "No import cycles"),
])
def test_a_planted_violation_breaks_a_contract(package_copy, module, line, broken):
    plant(package_copy, module, line)
    proc = lint_imports(package_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    broken_lines = [l for l in proc.stdout.splitlines() if l.endswith("BROKEN")]
    assert any(broken in l for l in broken_lines), proc.stdout


def test_every_module_sits_in_a_layer(package_copy):
    (package_copy / "mlgrader" / "newcomer.py").write_text('"""A module nobody placed in a layer."""\n')
    proc = lint_imports(package_copy)
    assert proc.returncode == 1 and "newcomer" in proc.stdout, proc.stdout
