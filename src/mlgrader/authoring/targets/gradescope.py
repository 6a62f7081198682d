"""The Gradescope target: ``autograder/<assignment>/gradescope.zip``, uploaded as the autograder.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once when it
builds the image, then ``run_autograder`` for every submission (the student's files in
``/autograder/submission``), and reads ``/autograder/results/results.json``. The zip holds::

    setup.sh  run_autograder            at the root, where Gradescope looks for them
    requirements.txt                    the assignment's pins (CPU torch wheels where needed)
    mlgrader-<version>-py3-none-any.whl this very mlgrader, installed from the file
    autograder/<assignment>/...         the bundle: manifest.json and tests/ (hidden checks too)

Nothing of solutions/. The scripts are thin: choosing the notebook and writing results.json
are mlgrader's (``mlgrader grade FOLDER --format gradescope``); the shell only installs,
bounds the run in time, and writes a zero grade with the reason when mlgrader could not.
"""

from __future__ import annotations

import sys

from ..autograder import notebook_entry
from . import TargetInputs
from .zips import deterministic_zip

# Seconds on top of the notebooks' own limits: a kernel start, the grader's helper in the
# kernel (up to 120 s on a loaded machine), importing the tests' libraries.
START_MARGIN_S = 240
DEFAULT_VENV = "/opt/mlgrader"
# Python that fetches a data set into $VENV/data (run_autograder points MLGRADER_DATA there),
# run once by setup.sh while the image builds: otherwise every submission downloads it
# again. A folder other users can read: the fallback sandbox's kernel runs as its own uid.
PREFETCH = {
    "fashion-mnist": "from mlgrader.data import fashion_mnist; "
                     "[fashion_mnist(s, root='$VENV/data', download=True) for s in ('train', 'test')]",
}

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root and with network, when it builds the autograder image.
# It installs only what this zip carries: the mlgrader wheel and the pinned requirements
# (exact versions; PyTorch's CPU index is named in requirements.txt where torch is needed).
# Nothing is installed by a bare package name: a name on PyPI that is not ours would run
# its code here. MLGRADER_VENV moves the environment; MLGRADER_NO_APT=1 skips apt-get
# (a python{python} must then be on PATH): both for trying this outside Gradescope.
set -euo pipefail

SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
VENV="${{MLGRADER_VENV:-{venv}}}"
PYTHON="python{python}"

apt_install() {{ DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }}

# Python {python}: the version the pins were made on (numpy 2.4 needs 3.11 or later).
# Gradescope's default base image, Ubuntu 22.04, runs Python 3.10, and its universe archive
# also has python3.11, built by Ubuntu (no third-party repository). Where the archive has no
# python{python} (Ubuntu 24.04 ships 3.12 only, 20.04 nothing past 3.9) this falls back to the
# deadsnakes PPA, the usual way Gradescope autograders get a newer Python on Ubuntu. A base
# image variant that already has python{python} needs neither.
if [ "${{MLGRADER_NO_APT:-0}}" != 1 ]; then
    apt-get update
    if ! command -v "$PYTHON" >/dev/null || ! "$PYTHON" -c "import ensurepip" 2>/dev/null; then
        if ! apt_install "$PYTHON" "$PYTHON-venv"; then
            apt_install software-properties-common gpg-agent
            add-apt-repository -y ppa:deadsnakes/ppa
            apt-get update
            apt_install "$PYTHON" "$PYTHON-venv"
        fi
    fi
    # The grading sandbox. Where Gradescope's container refuses user namespaces (likely),
    # mlgrader grades in its fallback mode instead: a process of its own uid under the same
    # limits, with Landlock where the kernel has it. Each result names the mode that ran.
    apt_install bubblewrap || echo "setup.sh: no bubblewrap; mlgrader will use its fallback sandbox" >&2
fi

"$PYTHON" -m venv "$VENV"
cd "$SOURCE"
"$VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check -r requirements.txt ./{wheel}
"$VENV/bin/mlgrader" --help >/dev/null
{prefetch}echo "setup.sh: mlgrader installed in $VENV"
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder. Its contract:
# results/results.json exists and is valid when this ends, whatever happened (no notebook,
# a crash, the time limit): a grade is never silently missing. AUTOGRADER_ROOT moves the
# root (for trying this outside Gradescope); MLGRADER_VENV is where setup.sh installed.
set -uo pipefail

ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
VENV="${{MLGRADER_VENV:-{venv}}}"
ASSIGNMENT="{assignment}"
# The notebooks' own time limits plus a kernel start. Set the assignment's autograder
# timeout on Gradescope above this, so that a slow notebook still gets its grade and reason.
LIMIT="${{MLGRADER_TIME_LIMIT:-{limit}}}"
SOURCE="$ROOT/source"
RESULTS="$ROOT/results/results.json"
PARTIAL="$ROOT/results/.results.json.partial"
if [ -x "$VENV/bin/mlgrader" ]; then export PATH="$VENV/bin:$PATH"; fi
# Data sets setup.sh fetched (mlgrader.data looks there first).
if [ -z "${{MLGRADER_DATA:-}}" ] && [ -d "$VENV/data" ]; then export MLGRADER_DATA="$VENV/data"; fi

mkdir -p "$ROOT/results"
rm -f "$RESULTS" "$PARTIAL"
# The hidden tests are for root only: the fallback sandbox hides no world-readable file.
chmod -R go-rwx "$SOURCE" 2>/dev/null || true

zero_grade() {{  # $1: why there is no grade (our own words: no quotes, no backslashes)
    printf '{{"score": 0, "execution_time": %d, "output": "%s", "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}}\\n' \\
        "$SECONDS" "$1" > "$RESULTS"
}}

is_results() {{  # $1 holds a JSON object with a numeric score
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not isinstance(d.get("score"), (int, float)))' "$1" 2>/dev/null
}}

timeout --kill-after=15 "$LIMIT" mlgrader grade "$ROOT/submission" --assignment "$ASSIGNMENT" \\
    --autograder "$SOURCE/autograder" --format gradescope > "$PARTIAL"
status=$?
if [ "$status" -eq 0 ] && is_results "$PARTIAL"; then
    mv "$PARTIAL" "$RESULTS"
elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    zero_grade "Not graded: grading took longer than $LIMIT s (the autograder's time limit). Resubmit, or ask the course staff."
else
    zero_grade "Not graded: the autograder failed (exit status $status) before it could write a grade. The course staff can see its log."
fi
rm -f "$PARTIAL"
echo "run_autograder: mlgrader exit status $status; wrote $RESULTS"
"""


def time_limit(inputs: TargetInputs) -> int:
    """Seconds run_autograder allows one submission: every notebook's limit plus a kernel start."""
    return int(sum(spec.timeout for spec in inputs.specs)) + START_MARGIN_S


def python_version() -> str:
    """The Python the pins were made on (``3.11``): the one setup.sh installs."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def prefetch_lines(inputs: TargetInputs) -> str:
    """setup.sh's lines that fetch the notebooks' data sets (none for most assignments)."""
    datasets = sorted({d for spec in inputs.specs for d in notebook_entry(spec).data if d in PREFETCH})
    return "".join(f'"$VENV/bin/python" -c "{PREFETCH[d]}" \\\n'
                   f'    || echo "setup.sh: {d} not fetched now; grading will download it" >&2\n'
                   for d in datasets)


def zip_files(inputs: TargetInputs) -> dict[str, bytes]:
    """Path inside the zip -> bytes."""
    files = {
        "setup.sh": SETUP.format(venv=DEFAULT_VENV, python=python_version(), wheel=inputs.wheel_name,
                                 prefetch=prefetch_lines(inputs)).encode(),
        "run_autograder": RUN.format(venv=DEFAULT_VENV, assignment=inputs.assignment,
                                     limit=time_limit(inputs)).encode(),
        "requirements.txt": inputs.requirements.encode(),
        inputs.wheel_name: inputs.wheel,
    }
    for rel, data in inputs.bundle_files().items():
        files[f"autograder/{inputs.assignment}/{rel}"] = data
    return files


def target_files(inputs: TargetInputs) -> dict[str, bytes]:
    """``autograder/<assignment>/gradescope.zip``."""
    archive = deterministic_zip(zip_files(inputs), executable=("setup.sh", "run_autograder"))
    return {f"autograder/{inputs.assignment}/gradescope.zip": archive}
