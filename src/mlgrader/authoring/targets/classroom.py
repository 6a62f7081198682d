"""Build target: the GitHub Classroom student repository template, ``classroom/<assignment>/``.

An instructor makes a template repository from this folder; every student gets a copy::

    <notebook>.ipynb                     the release notebook(s): stubs and public checks
    mlgrader-<version>-py3-none-any.whl  this mlgrader: the notebooks import it, the workflow installs it
    requirements.txt                     pinned, for a CPU-only runner (CPU torch index where needed)
    README.md  .gitignore                for the student
    .github/workflows/classroom.yml      on push: install, grade the public checks, report
    .mlgrader/autograder/<assignment>/   the PUBLIC bundle: the bundle layout, each test through
                                         bundle.public_part, so ``mlgrader grade --autograder`` works
    .mlgrader/template.json              sha256 of the files a student must not change

Nothing hidden enters it: a student can read and rewrite everything in their repository,
workflow included, so it holds no hidden test and no token. The Actions run is feedback (a
provisional score from the public checks); the final grade is the instructor's
``grade-batch`` with the hidden tests over the cloned repositories, which can compare each
repository with ``template.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from dataclasses import replace

from ...bundle import FILES_DIR, HIDDEN_BEGIN, HIDDEN_END, Bundle, bundle_files, public_part
from ..autograder import notebook_entry
from ..errors import BuildError
from . import TargetInputs

TOP = "classroom"
WORKFLOW = ".github/workflows/classroom.yml"
BUNDLES = ".mlgrader/autograder"
TEMPLATE_MANIFEST = ".mlgrader/template.json"
TEMPLATE_FORMAT = 1

# Pinned actions (full commit SHAs; the tag each one is, in the comment next to it).
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065  # v5.6.0"
# No commit SHA of the reporter's v1 tag could be checked when this was written (the build
# machine cannot reach github.com): the tag it is. Pin a SHA in your course when you can.
REPORTER = "classroom-resources/autograding-grading-reporter@v1"

# How the runner gets each data set before grading (the sandbox has no network, so the
# trusted side downloads it into mlgrader's cache, where the grader then finds it).
FETCH_DATA = {
    "fashion-mnist": "from mlgrader.data import fashion_mnist; fashion_mnist('train'); fashion_mnist('test')",
}
INSTALL_MINUTES = 15
DATA_MINUTES = 10
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def target_files(inputs: TargetInputs) -> dict[str, bytes]:
    """``classroom/<assignment>/...``: the student repository template of one assignment."""
    _check_names(inputs)
    files: dict[str, bytes] = {**inputs.release_notebooks(), **inputs.release_files()}
    files[inputs.wheel_name] = inputs.wheel
    files["requirements.txt"] = inputs.requirements.encode()
    files.update({f"{BUNDLES}/{inputs.assignment}/{rel}": data for rel, data in public_bundle_files(inputs).items()})
    files[WORKFLOW] = workflow_text(inputs).encode()
    files["README.md"] = student_readme(inputs).encode()
    files[".gitignore"] = GITIGNORE.encode()
    files[TEMPLATE_MANIFEST] = template_manifest(inputs, files).encode()
    return {f"{TOP}/{inputs.assignment}/{rel}": data for rel, data in files.items()}


def _check_names(inputs: TargetInputs) -> None:
    """Names end up in YAML and shell lines: allow only plain file names, and distinct step ids."""
    for spec in inputs.specs:
        if not _SAFE_NAME.match(spec.name):
            raise BuildError(f"notebook name {spec.name!r} of {inputs.assignment} cannot go into a workflow "
                             "(use letters, digits, '.', '-', '_')")
    ids = [step_id(spec.name) for spec in inputs.specs]
    if len(set(ids)) != len(ids):
        raise BuildError(f"notebooks of {inputs.assignment} map to the same workflow step id: {sorted(ids)}")


def step_id(notebook: str) -> str:
    """The workflow step id of a notebook's grade step (the reporter reads ``<ID>_RESULTS``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", notebook)
    return name if name[0].isalpha() else f"nb_{name}"


# --- the public bundle -----------------------------------------------------------------------


def public_bundle_files(inputs: TargetInputs) -> dict[str, bytes]:
    """The bundle of this assignment with every test cut to its public part (same layout, with
    the data files the tests read)."""
    entries = []
    for spec in inputs.specs:
        entry = notebook_entry(spec)
        tests = {gid: public_part(source) for gid, source in entry.tests.items()}
        leaked = [gid for gid, text in tests.items() if HIDDEN_BEGIN in text or HIDDEN_END in text]
        if leaked:  # public_part keeps a marker only when a region is malformed
            raise BuildError(f"{spec.path}: hidden-test markers left in the public part of {', '.join(leaked)}")
        entries.append(replace(entry, tests=tests))
    files = {rel: text.encode() for rel, text in bundle_files(Bundle(inputs.assignment, tuple(entries))).items()}
    files.update({rel: data for rel, data in inputs.bundle_files().items() if rel.startswith(f"{FILES_DIR}/")})
    return files


# --- the workflow ----------------------------------------------------------------------------


def python_version() -> str:
    """The Python the pins were made with (the runner installs the same)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def grade_minutes(timeout_s: float) -> int:
    """A grade step's time limit: the notebook's own limit plus kernel starts and tests."""
    return math.ceil(timeout_s / 60) + 5


def workflow_text(inputs: TargetInputs) -> str:
    data = sorted({d for spec in inputs.specs for d in notebook_entry(spec).data})
    grade_total = sum(grade_minutes(spec.timeout) for spec in inputs.specs)
    job_minutes = INSTALL_MINUTES + (DATA_MINUTES if data else 0) + grade_total + 5
    parts = [_WORKFLOW_HEAD.format(assignment=inputs.assignment, minutes=job_minutes, checkout=CHECKOUT,
                                   setup_python=SETUP_PYTHON, python=python_version()),
             _INSTALL_STEP.format(minutes=INSTALL_MINUTES, wheel=inputs.wheel_name)]
    parts += [_data_step(name) for name in data]
    parts.append(_PROVISIONAL_STEP.format(assignment=inputs.assignment))
    parts += [_GRADE_STEP.format(notebook=spec.name, id=step_id(spec.name), minutes=grade_minutes(spec.timeout),
                                 assignment=inputs.assignment, bundles=BUNDLES) for spec in inputs.specs]
    ids = [step_id(spec.name) for spec in inputs.specs]
    env = "\n".join(f"          {i.upper()}_RESULTS: ${{{{ steps.{i}.outputs.result }}}}" for i in ids)
    parts.append(_REPORT_STEP.format(reporter=REPORTER, env=env, runners=",".join(ids)))
    return "".join(parts)


def _data_step(name: str) -> str:
    if name not in FETCH_DATA:
        raise BuildError(f"the student workflow does not know how to fetch data set {name!r}")
    return _DATA_STEP.format(minutes=DATA_MINUTES, name=name, command=FETCH_DATA[name])


_WORKFLOW_HEAD = """\
# Made by `mlgrader build` for {assignment}. Do not edit: the course compares this file, the
# requirements, the wheel and .mlgrader/ with its template when it grades your repository.
#
# On every push: install the pinned requirements and the mlgrader wheel in this repository
# (never a package named mlgrader from an index), grade the PUBLIC checks of each notebook,
# and show a provisional score in the job summary and to GitHub Classroom. The hidden tests
# are not in this repository; the course staff grade with them after the deadline.
#
# The job fails only when no grade could be produced (the install or the grader crashed, a
# notebook is missing or could not be read or run at all). A low score does not fail it:
# an unfinished exercise is not an error, and its points say how far you are.
#
# Sandbox: GitHub's ubuntu-24.04 runners forbid unprivileged user namespaces (AppArmor), so
# bubblewrap cannot start there and mlgrader's `auto` mode grades in its fallback sandbox:
# resource and time limits, and Landlock where the kernel has it. The job summary names the
# mode that ran. (To use bubblewrap instead, add a step before grading that runs
# `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` and installs bubblewrap.)
name: Autograding Tests  # the name GitHub Classroom looks for
on:
  push:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  run-autograding-tests:  # the job id GitHub Classroom looks for
    runs-on: ubuntu-24.04
    timeout-minutes: {minutes}
    steps:
      - name: Check out this repository
        uses: {checkout}
        with:
          persist-credentials: false  # no token left in .git/config for the notebook to read
      - name: Set up Python {python} (the version the requirements were pinned with)
        uses: {setup_python}
        with:
          python-version: "{python}"
          cache: pip
          cache-dependency-path: requirements.txt
"""

_INSTALL_STEP = """\
      - name: Install the pinned requirements and the mlgrader wheel of this repository
        timeout-minutes: {minutes}
        run: |
          set -euo pipefail
          python -m pip install --disable-pip-version-check -r requirements.txt ./{wheel}
          mlgrader --help > /dev/null
"""

_DATA_STEP = """\
      - name: Download the {name} data set (the grading sandbox has no network)
        timeout-minutes: {minutes}
        run: |
          python -c "{command}"
"""

_PROVISIONAL_STEP = """\
      - name: Mark the score as provisional in the job summary
        run: |
          set -euo pipefail
          {{
            echo "## {assignment}: provisional score (public checks only)"
            echo ""
            echo "Public checks only; your final grade also uses hidden tests after the deadline."
            echo ""
          }} >> "$GITHUB_STEP_SUMMARY"
"""

_GRADE_STEP = """\
      - name: Grade {notebook}.ipynb with the public checks
        id: {id}
        timeout-minutes: {minutes}
        run: |
          set -euo pipefail
          result="$(mlgrader grade {notebook}.ipynb --assignment {assignment} --autograder {bundles} --format classroom --summary "$GITHUB_STEP_SUMMARY")"
          printf '%s' "$result" | base64 --decode | python -m json.tool > /dev/null
          echo "result=$result" >> "$GITHUB_OUTPUT"
"""

_REPORT_STEP = """\
      - name: Report the provisional score to GitHub Classroom
        # Reads each grade step's result (base64 JSON) from <STEP ID>_RESULTS.
        uses: {reporter}
        env:
{env}
        with:
          runners: {runners}
"""


# --- what the student reads ------------------------------------------------------------------

GITIGNORE = """\
.ipynb_checkpoints/
__pycache__/
.venv/
.DS_Store
"""


def student_readme(inputs: TargetInputs) -> str:
    specs = inputs.specs
    title = specs[0].title if len(specs) == 1 else inputs.assignment
    notebooks = ", ".join(f"`{s.name}.ipynb`" for s in specs)
    artifacts = sorted({a for s in specs for a in s.artifacts})
    text = _README.format(title=title, assignment=inputs.assignment, notebooks=notebooks,
                          wheel=inputs.wheel_name, python=python_version(), bundles=BUNDLES,
                          first=f"{specs[0].name}.ipynb")
    if "download.pytorch.org" in inputs.requirements:
        text = text.replace("\n## On Colab", _README_CPU_TORCH + "\n## On Colab", 1)
    if artifacts:
        names = " and ".join(f"`{a}`" for a in artifacts)
        them = "these files" if len(artifacts) > 1 else "that file"
        text += _README_ARTIFACTS.format(names=names, them=them)
    return text


_README = """\
# {title}

Your copy of assignment `{assignment}`. Work in {notebooks}, then commit and push.
Keep the file name, and leave the read-only cells as they are.

## On your laptop

Open the notebook from this folder (Jupyter, JupyterLab or VS Code) and run its first cell:
it lets Python import `mlgrader` (the checks the notebook uses) straight from
`{wheel}` in this folder, without installing anything. You need Python with
numpy (and whatever else the notebook imports). To get exactly what the grader uses:

    python{python} -m venv .venv && . .venv/bin/activate
    pip install -r requirements.txt ./{wheel} jupyterlab

## On Colab

Open the notebook in Colab (File > Open notebook > GitHub). Before you run the first cell,
upload `{wheel}` from this repository (Files pane > Upload), or clone the
repository in a cell (`!git clone <your repository's URL>`, then `%cd` into it). When you
are done, download the notebook (File > Download > .ipynb) and commit it here under the
same name, or use File > Save a copy in GitHub.

## What the check on GitHub means

Every push runs `.github/workflows/classroom.yml` on GitHub Actions: it installs
`requirements.txt` and the wheel, grades your notebook with the **public** checks (the
ones you see in the notebook) in a sandbox, and shows a table of points in the run's
summary. That score is **provisional**: your final grade also uses hidden tests, run by
the course staff after the deadline.

- Green: a grade was produced, whatever the score. Red: no grade could be produced
  (a missing or broken notebook, a crash); open the run's log.
- Do not change the workflow, `requirements.txt`, the wheel or `.mlgrader/`: the course
  compares them with the template, and changing them cannot change your final grade.

To run the same grading yourself (after the `pip install` above), in this folder:

    mlgrader check {first}

It runs the public checks in the grader's sandbox, with the messages the grader gives (the
same as `mlgrader grade {first} --autograder {bundles}`).
"""

_README_CPU_TORCH = """
`requirements.txt` installs the CPU build of torch, the one the grader runs. On a machine
with a GPU, keep your own torch: the notebook runs on either.
"""

_README_ARTIFACTS = """
## Saved weights

The notebook saves {names}. Commit {them} next to the notebook: grading then measures
your saved weights instead of training again (without them, the notebook retrains within
its time limit).
"""


# --- what the instructor compares ------------------------------------------------------------


def template_manifest(inputs: TargetInputs, files: dict[str, bytes]) -> str:
    """sha256 of every file a student must not change (the notebooks they edit are left out:
    their read-only cells are compared by grade id with the real bundle when grading)."""
    notebooks = sorted(inputs.release_notebooks())
    protected = {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())
                 if rel not in notebooks and rel not in ("README.md", ".gitignore")}
    manifest = {
        "format": TEMPLATE_FORMAT,
        "assignment": inputs.assignment,
        "notebooks": notebooks,
        "protected": protected,
    }
    return json.dumps(manifest, indent=1, sort_keys=True) + "\n"
