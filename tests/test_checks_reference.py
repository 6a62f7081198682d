"""docs/checks.md is the reference of mlgrader.checks, made from its docstrings, and current."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import mlgrader.checks
from conftest import ROOT
from mlgrader.authoring.checks_reference import DOC_PATH, GENERATOR, entries, public_names, render

ENTRIES = entries()
# documented once for all checks, in the module's docstring
COMMON = {"name"} if "``name=``" in (mlgrader.checks.__doc__ or "") else set()


def test_docs_checks_md_is_current():
    assert (ROOT / DOC_PATH).read_text(encoding="utf-8") == render(), (
        f"{DOC_PATH} is stale: run python {GENERATOR}")


def test_the_generator_checks_and_writes_the_file():
    proc = subprocess.run([sys.executable, str(ROOT / GENERATOR), "--check"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, f"{DOC_PATH}: up to date\n"), proc.stderr


def test_every_public_name_is_in_the_reference():
    names = public_names(mlgrader.checks)
    assert {e.name for e in ENTRIES} == set(names) and len(names) >= 10
    text = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    for name in names:
        assert f"\n## {name}\n" in text


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_public_name_documents_its_parameters_and_has_an_example(entry):
    assert entry.doc, f"{entry.name} has no docstring"
    undocumented = [p for p in entry.parameters if p not in COMMON and f"``{p}``" not in entry.doc]
    assert not undocumented, f"{entry.name}: the docstring never names {undocumented}"
    assert "Example::" in entry.doc, f"{entry.name}: the docstring has no Example:: block"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_example_runs(entry):
    """The examples are real code: each runs with numpy and the checks imported."""
    example = entry.doc.split("Example::", 1)[1]
    lines = [line for line in example.splitlines() if line.strip()]
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    code = "\n".join(line[indent:] for line in lines)
    namespace = {"np": np, **{name: getattr(mlgrader.checks, name) for name in public_names(mlgrader.checks)}}
    exec(compile(code, f"<{entry.name} example>", "exec"), namespace)


def test_a_package_is_documented_by_the_names_its_modules_define(tmp_path, monkeypatch):
    package = tmp_path / "fakechecks"
    package.mkdir()
    (package / "__init__.py").write_text('"""Fake checks."""\nimport math\nfrom .close import check_near\n')
    (package / "close.py").write_text(
        'def check_near(actual, *, atol=0.1):\n    """Fail unless near.\n\n    ``actual`` and ``atol``.\n\n'
        '    Example::\n\n        check_near(1)\n    """\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    text = render("fakechecks")
    assert "## check_near\n\n```python\ncheck_near(actual, *, atol=0.1)\n```" in text
    assert "math" not in re.sub(r"<!--.*?-->", "", text)
