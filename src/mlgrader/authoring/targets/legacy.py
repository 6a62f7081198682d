"""Where graded runs happen: files for Gradescope (the student repository is
:mod:`~mlgrader.authoring.targets.classroom`).

It runs ``mlgrader grade`` against the bundle that sits next to it.
"""

from __future__ import annotations

from . import TargetInputs

# Students' CI machines have no GPU: install the CPU-only torch wheels (a fraction of the
# CUDA build's download) at the version the course is pinned to.
TORCH_PIN = "torch==2.14.1 torchvision==0.29.1"
CPU_WHEELS = "https://download.pytorch.org/whl/cpu"

_GRADESCOPE_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
apt-get update && apt-get install -y bubblewrap python3-venv
python3 -m venv /opt/mlgrader
/opt/mlgrader/bin/pip install --index-url {cpu_wheels} {torch_pin}
/opt/mlgrader/bin/pip install "mlgrader[course]"
"""

_GRADESCOPE_RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; results.json is its contract.
set -uo pipefail
cd /autograder/source
shopt -s nullglob
notebooks=(/autograder/submission/*.ipynb)
/opt/mlgrader/bin/mlgrader grade "${{notebooks[0]:-/autograder/submission/missing.ipynb}}" \\
    --assignment {assignment} --autograder /autograder/source/autograder \\
    --format gradescope > /autograder/results/results.json
"""

def target_files(inputs: TargetInputs) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for assignment in [inputs.assignment]:
        base = f"autograder/{assignment}/targets"
        out[f"{base}/gradescope/setup.sh"] = _GRADESCOPE_SETUP.format(
            cpu_wheels=CPU_WHEELS, torch_pin=TORCH_PIN
        ).encode()
        out[f"{base}/gradescope/run_autograder"] = _GRADESCOPE_RUN.format(assignment=assignment).encode()
    return out
