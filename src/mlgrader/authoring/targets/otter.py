"""autograder/<a>/otter.zip: the assignment's tests as an otter-grader 7 autograder.

For instructors who already grade with otter: the zip has the layout ``otter generate``
makes (``otter_config.json``, ``tests/*.py`` in otter's exception-based test format,
``environment.yml``, ``setup.sh``, ``run_autograder``, ``run_otter.py``), so ``otter run``
and Gradescope's otter setup take it as it is. It is written here rather than by
``otter generate``, whose zip carries the time of the build.

Each mlgrader test cell becomes one otter test file worth the cell's points, all or
nothing (as mlgrader grades it): a public case runs the checks students see in the
release, a hidden case the whole cell (public and hidden checks, in the cell's order, as
the hidden block may use names the public lines imported). The tests import
``mlgrader.checks``, so ``setup.sh`` installs mlgrader from the wheel the zip carries,
with the assignment's pinned requirements and otter-grader pinned the same way.

Unlike mlgrader's own grading, otter runs the tests in the student's kernel, after the
whole notebook has run: what the notebook monkeypatches, otter's verdicts believe.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
from dataclasses import dataclass

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ...bundle import public_part
from ..errors import BuildError
from ..solution import NotebookSpec
from . import TargetInputs
from .requirements import pinned_closure
from .zips import deterministic_zip

OTTER = "otter-grader"
OTTER_ENV = "otter-env"  # the conda environment otter's run_autograder activates
AUTOGRADER_DIR = "/autograder"  # where Gradescope unpacks the zip (into source/)
MINIFORGE_VERSION = "25.3.1-0"  # what otter-grader 7.0.0's own setup.sh installs
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==")  # a name==version line of a requirements file

# What the grading summary shows students: public checks at once, each test's result
# (the hidden checks' messages too) once the instructor publishes grades.
OTTER_CONFIG = {
    "lang": "python",
    "show_hidden": True,
    "force_public_test_summary": True,
    "show_stdout": False,
    "pdf": False,
}

_TEST_FILE = '''\
"""{name}: {points:g} point{plural}. Made by `mlgrader build` from autograder/{assignment}/tests/{notebook}/{name}.py."""

from otter.test_files import test_case

OK_FORMAT = False
name = {name!r}
points = {points!r}
all_or_nothing = True  # mlgrader grades a test cell all or nothing: it stops at the first failing check

PUBLIC_CHECKS = {public}

ALL_CHECKS = {full}


def run_checks(source, env):
    # On a copy of the notebook's globals: names the test assigns stay out of the student's namespace.
    exec(compile(source, name, "exec"), dict(env))
{cases}'''

_PUBLIC_CASE = '''

@test_case(name={label!r}, hidden=False)
def public_checks(env):
    run_checks(PUBLIC_CHECKS, env)
'''

_HIDDEN_CASE = '''

@test_case(name={label!r}, hidden=True)
def all_checks(env):
    run_checks(ALL_CHECKS, env)
'''

_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the grading image: otter's own layout (miniforge,
# the {env} environment that run_autograder activates), with mlgrader from the wheel in this zip,
# never from a package index by name.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
here={root}/source
apt-get update
apt-get install -y wget
wget -nv "https://github.com/conda-forge/miniforge/releases/download/{miniforge}/Miniforge3-Linux-$(uname -m).sh" \\
    -O "$here/miniforge.sh"
bash "$here/miniforge.sh" -b -p /root/miniforge3
/root/miniforge3/bin/mamba env create -f "$here/environment.yml"
/root/miniforge3/envs/{env}/bin/python -m pip install -r "$here/requirements.txt" "$here/{wheel}"
"""

_RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (a copy at {root}/run_autograder).
/root/miniforge3/envs/{env}/bin/python {root}/source/run_otter.py
"""

_RUN_OTTER = '''\
"""Grades {root}/submission with otter-grader (otter's own entry point)."""

from otter.run.run_autograder import main as run_autograder

if __name__ == "__main__":
    run_autograder({root!r})
'''

_ENVIRONMENT = """\
name: {env}
channels:
  - conda-forge
dependencies:
  - python={python}
  - pip
"""


@dataclass(frozen=True)
class OtterTest:
    """One mlgrader test cell as one otter test file."""

    notebook: str
    name: str  # the cell's grade id
    points: float
    source: str  # the whole cell: public and hidden checks

    @property
    def public(self) -> str:
        return public_part(self.source)

    def text(self, assignment: str) -> str:
        cases = []
        if _has_statements(self.public):
            cases.append(_PUBLIC_CASE.format(label=f"{self.name}: public checks"))
        if self.public.strip() != self.source.strip():
            cases.append(_HIDDEN_CASE.format(label=f"{self.name}: all checks"))
        return _TEST_FILE.format(name=self.name, points=self.points, plural="" if self.points == 1 else "s",
                                 assignment=assignment, notebook=self.notebook, public=_literal(self.public),
                                 full=_literal(self.source), cases="".join(cases))


def _literal(code: str) -> str:
    """A Python literal of ``code`` that instructors can read: a raw triple-quoted string where that
    spells it exactly (no carriage return, which reading the file in text mode would turn into a newline), else repr."""
    readable = "r'''" + code + "'''"
    try:
        if "\r" not in code and ast.literal_eval(readable) == code:
            return readable
    except (SyntaxError, ValueError):
        pass
    return repr(code)


def _has_statements(source: str) -> bool:
    """Whether the code does more than import (a public part of imports only checks nothing)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return True  # let it fail where it runs, with Python's message
    return any(not isinstance(node, (ast.Import, ast.ImportFrom)) for node in body)


def otter_tests(inputs: TargetInputs, spec: NotebookSpec) -> list[OtterTest]:
    """The notebook's test cells in notebook order, their code from the bundle."""
    files = inputs.bundle_files()
    tests = []
    for cell in spec.tests:
        rel = f"tests/{spec.name}/{cell.grade_id}.py"
        if rel not in files:
            raise BuildError(f"{inputs.assignment}: the bundle has no {rel} for test cell {cell.grade_id!r}")
        tests.append(OtterTest(spec.name, cell.grade_id, cell.points, files[rel].decode()))
    return tests


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def otter_distributions() -> set[str]:
    """otter-grader and every installed distribution it needs, following the extras requirements ask
    for on the way (``nbconvert[webpdf]``: playwright; ``bleach[css]``: tinycss2), which pip would
    otherwise install at whatever version is newest."""
    if not _installed(OTTER):
        raise BuildError(f"building otter.zip needs {OTTER} installed (requirements.txt pins it): "
                         "the zip pins the version installed here")
    environment = default_environment()
    wanted: dict[str, set[str]] = {}
    todo: list[tuple[str, frozenset[str]]] = [(OTTER, frozenset())]
    while todo:
        name, extras = todo.pop()
        name = canonicalize_name(name)
        if not _installed(name) or (name in wanted and extras <= wanted[name]):
            continue
        wanted.setdefault(name, set()).update(extras)
        for text in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({**environment, "extra": e}) for e in ("", *extras)):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return set(wanted)


def requirements_text(assignment_requirements: str) -> str:
    """The assignment's pinned requirements, then otter-grader's pins that they do not already hold."""
    pinned = {canonicalize_name(m.group(1)) for line in assignment_requirements.splitlines()
              if (m := _PIN.match(line))}
    extra = [pin for pin in pinned_closure(otter_distributions()).pins
             if canonicalize_name(pin.split("==")[0]) not in pinned]
    lines = [assignment_requirements.rstrip("\n"), f"# {OTTER} and what it needs to run the tests, at the same versions"]
    return "\n".join(lines + extra) + "\n"


def _support_files(inputs: TargetInputs) -> dict[str, str]:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"  # the Python the pins were made for
    return {
        "otter_config.json": json.dumps(OTTER_CONFIG, indent=2, sort_keys=True) + "\n",
        "environment.yml": _ENVIRONMENT.format(env=OTTER_ENV, python=python),
        "requirements.txt": requirements_text(inputs.requirements),
        "setup.sh": _SETUP.format(env=OTTER_ENV, root=AUTOGRADER_DIR, miniforge=MINIFORGE_VERSION,
                                  wheel=inputs.wheel_name),
        "run_autograder": _RUN_AUTOGRADER.format(env=OTTER_ENV, root=AUTOGRADER_DIR),
        "run_otter.py": _RUN_OTTER.format(root=AUTOGRADER_DIR),
    }


def zip_name(inputs: TargetInputs, spec: NotebookSpec) -> str:
    """``otter.zip``; ``otter-<notebook>.zip`` each where an assignment has several notebooks, as otter
    grades one notebook per submission ("More than one .ipynb file found in submission")."""
    return "otter.zip" if len(inputs.specs) == 1 else f"otter-{spec.name}.zip"


def otter_zip(inputs: TargetInputs, spec: NotebookSpec) -> bytes:
    """The otter autograder of one notebook."""
    files = {rel: text.encode() for rel, text in _support_files(inputs).items()}
    # numbered so that otter (which runs tests/*.py sorted by name) runs them in notebook order
    for position, test in enumerate(otter_tests(inputs, spec), start=1):
        files[f"tests/{position:02d}-{test.name}.py"] = test.text(inputs.assignment).encode()
    files[inputs.wheel_name] = inputs.wheel
    return deterministic_zip(files, executable=("setup.sh", "run_autograder"))


def target_files(inputs: TargetInputs) -> dict[str, bytes]:
    """``autograder/<a>/otter.zip`` (one per notebook where there are several)."""
    return {f"autograder/{inputs.assignment}/{zip_name(inputs, spec)}": otter_zip(inputs, spec)
            for spec in inputs.specs}
