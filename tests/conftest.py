"""Shared fixtures: the course root, built notebooks, and a way to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ASSIGNMENT = "01-gradient-descent"
NOTEBOOK = "gradient_descent"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed `mlgrader` console script, as a user would."""
    return subprocess.run([str(BIN / "mlgrader"), *args], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def grade_json(path: Path, *extra: str) -> dict:
    proc = run_cli("grade", str(path), "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


@pytest.fixture()
def solution_nb() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)


@pytest.fixture()
def release_nb() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)


def pytest_addoption(parser):
    parser.addoption("--otter-assignment", default="01-gradient-descent",
                     help="the assignment whose solution and stub tests/test_otter.py grades with real `otter run`")


@pytest.fixture
def otter_assignment(request) -> str:
    return request.config.getoption("--otter-assignment")
