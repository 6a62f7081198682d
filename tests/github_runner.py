"""The job of a student template's ``classroom.yml``, run on this machine (tests and benchmarks).

:class:`RunnerEmulation` runs the workflow's own ``run:`` steps, taken from the YAML, and
stands in for the three actions it uses. It is shared by ``tests/test_classroom.py`` and
``benchmarks/classroom_install.py`` so that both run the same thing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

WORKFLOW = Path(".github/workflows/classroom.yml")
JOB = "run-autograding-tests"
REPORTER = "classroom-resources/autograding-grading-reporter"


def workflow_steps(template: Path) -> list[dict]:
    """The steps of the template's job, as the YAML says."""
    workflow = yaml.safe_load((template / WORKFLOW).read_text())
    return workflow["jobs"][JOB]["steps"]


def install_end(steps: list[dict]) -> int:
    """Index just after the last step that pip-installs (the part a fixture can run once)."""
    return 1 + max(i for i, s in enumerate(steps) if "pip install" in s.get("run", ""))


@dataclass
class StepRun:
    name: str  # the step's id, else its name
    returncode: int
    seconds: float
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobRun:
    steps: list[StepRun]
    summary: str
    results: dict[str, dict]  # what the reporter decoded, by runner id

    @property
    def returncode(self) -> int:
        return next((s.returncode for s in self.steps if s.returncode), 0)

    def step(self, name: str) -> StepRun:
        return next(s for s in self.steps if s.name == name)


class RunnerEmulation:
    """The job, run here as close to a GitHub ubuntu-24.04 runner as this machine allows.

    Every ``run:`` step runs as written in the YAML, with ``bash -e`` (the runner's default
    shell for ``run:``), in order, stopping at the first failure. What differs from a runner:

    - ``actions/checkout``: the caller copies the template folder (no git);
    - ``actions/setup-python``: a fresh ``python -m venv`` of this machine's Python (the same
      minor version the workflow asks for), its bin/ first on PATH; no pip cache;
    - pip reads this machine's pip configuration: PyPI through a proxy plus local wheel
      folders (which hold the CUDA build of torch 2.14.1) and a cap ``torch<=2.14.1`` (files
      under /etc); PyTorch's CPU index is unreachable here. A runner reads PyPI and that
      index directly, so it installs torch's CPU build instead;
    - ``MLGRADER_SANDBOX=subprocess``: a runner cannot start bubblewrap (AppArmor forbids
      unprivileged user namespaces), so ``auto`` picks the fallback there; here the tests run
      as root with a working bubblewrap, so the mode is named;
    - ``$GITHUB_STEP_SUMMARY`` and ``$GITHUB_OUTPUT`` are files of this run;
    - the reporter action is replaced by what it does (classroom-resources/
      autograding-grading-reporter, src/main.js): read ``<RUNNER>_RESULTS`` for each runner,
      decode base64 JSON, fail when a runner's status is ``fail`` or ``error``.
    """

    def __init__(self, work: Path):
        self.work = work
        self.venv = work / "venv"
        self.python = f"{sys.version_info.major}.{sys.version_info.minor}"

    def env(self, output: Path, summary: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env.update(PATH=f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", GITHUB_OUTPUT=str(output),
                   GITHUB_STEP_SUMMARY=str(summary), MLGRADER_SANDBOX="subprocess", CI="true")
        return env

    def run(self, steps: list[dict], repo: Path, summary: Path, runs: list[StepRun] | None = None) -> JobRun:
        """Run ``steps`` in ``repo`` after the steps already in ``runs`` (whose outputs later steps may read)."""
        runs = list(runs or [])
        results: dict[str, dict] = {}
        for step in steps:
            if "run" in step:
                runs.append(self._run_step(step, repo, summary, len(runs)))
            else:
                runs.append(self._action(step, repo, runs, results))
            if runs[-1].returncode:
                break
        return JobRun(runs, summary.read_text() if summary.exists() else "", results)

    def _run_step(self, step: dict, repo: Path, summary: Path, number: int) -> StepRun:
        # The step's script and its $GITHUB_OUTPUT lie next to the run's summary (one folder per run).
        script = summary.with_name(f"step-{number}.sh")
        script.write_text(step["run"])
        output = summary.with_name(f"output-{number}")
        output.write_text("")
        started = time.monotonic()
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", str(script)], cwd=repo,
                              env=self.env(output, summary), capture_output=True, text=True,
                              timeout=60 * step.get("timeout-minutes", 30))
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return StepRun(step.get("id") or step["name"], proc.returncode, time.monotonic() - started,
                       outputs, proc.stdout[-3000:] + proc.stderr[-3000:])

    def _action(self, step: dict, repo: Path, runs: list[StepRun], results: dict) -> StepRun:
        started = time.monotonic()
        action = step["uses"].split("@")[0]
        name = step.get("name", action)
        if action == "actions/checkout":
            if step.get("with", {}).get("persist-credentials") is not False:
                raise AssertionError("checkout must not leave the token in .git/config")
            if not repo.is_dir():
                raise AssertionError(f"copy the template to {repo} before running the job")
        elif action == "actions/setup-python":
            if step["with"]["python-version"] != self.python:
                raise AssertionError(f"the workflow asks for Python {step['with']['python-version']}, "
                                     f"this machine runs {self.python}")
            if not self.venv.exists():
                subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True, timeout=300)
        elif action == REPORTER:
            return self._report(step, runs, results, started)
        else:
            raise AssertionError(f"the emulation does not know the action {step['uses']}")
        return StepRun(name, 0, time.monotonic() - started)

    @staticmethod
    def _report(step: dict, runs: list[StepRun], results: dict, started: float) -> StepRun:
        outputs = {s.name: s.outputs for s in runs}
        for runner in filter(None, re.split(r"[\s,]", step["with"]["runners"])):
            expression = step["env"][f"{runner.strip().upper()}_RESULTS"]
            match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.(\w+) \}\}", expression)
            if not match:
                raise AssertionError(f"the emulation cannot evaluate {expression!r}")
            encoded = outputs[match.group(1)][match.group(2)]
            results[runner] = json.loads(base64.b64decode(encoded, validate=True))
        failed = any(r["status"] in ("fail", "error") for r in results.values())
        return StepRun(step["name"], 1 if failed else 0, time.monotonic() - started)
