"""Where graded runs happen: the files for a student-repository workflow (GitHub Actions).

The Gradescope target is :mod:`~mlgrader.authoring.targets.gradescope`.
"""

from __future__ import annotations

from . import TargetInputs

# Students' CI machines have no GPU: install the CPU-only torch wheels (a fraction of the
# CUDA build's download) at the version the course is pinned to.
TORCH_PIN = "torch==2.14.1 torchvision==0.29.1"
CPU_WHEELS = "https://download.pytorch.org/whl/cpu"

_WORKFLOW = """\
# Grades the notebooks of {assignment} on every push (GitHub Actions, CPU only).
# The hidden tests live in a private repository of the course staff: set the secret
# MLGRADER_AUTOGRADER_TOKEN (read access) and the variable MLGRADER_AUTOGRADER_REPO.
name: mlgrader {assignment}
on: [push, workflow_dispatch]
permissions:
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - uses: actions/checkout@v4
        with:
          repository: ${{{{ vars.MLGRADER_AUTOGRADER_REPO }}}}
          token: ${{{{ secrets.MLGRADER_AUTOGRADER_TOKEN }}}}
          path: .mlgrader-staff
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install
        run: |
          sudo apt-get update && sudo apt-get install -y bubblewrap
          pip install --index-url {cpu_wheels} {torch_pin}
          pip install "mlgrader[course]"
      - name: Grade
        run: |
          for nb in {notebooks}; do
            mlgrader grade "$nb" --assignment {assignment} \\
              --autograder .mlgrader-staff/autograder --json | tee "grade-$(basename "$nb" .ipynb).json"
          done
      - uses: actions/upload-artifact@v4
        with:
          name: grades
          path: grade-*.json
"""


def target_files(inputs: TargetInputs) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    specs = inputs.specs
    for assignment in [inputs.assignment]:
        notebooks = " ".join(f"{s.name}.ipynb" for s in specs if s.assignment == assignment)
        base = f"autograder/{assignment}/targets"
        out[f"{base}/github/mlgrader.yml"] = _WORKFLOW.format(
            assignment=assignment, notebooks=notebooks, cpu_wheels=CPU_WHEELS, torch_pin=TORCH_PIN
        ).encode()
    return out
