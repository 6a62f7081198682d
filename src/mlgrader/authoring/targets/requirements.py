"""Pinned requirements for grading on a CPU-only runner: exact versions, CPU torch wheels.

A target's runner (a GitHub Actions job, Gradescope's image) installs what grading needs
and nothing else: mlgrader's own dependencies (from the wheel it carries) plus the
distributions an assignment's notebooks import, with everything they depend on, at the
versions this machine runs (so a grade on the runner is made with the same software the
instructor validated). CUDA-only distributions are left out: the runner installs torch's
CPU build from PyTorch's CPU index (``2.14.1+cpu`` is what ``==2.14.1`` finds there).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from dataclasses import dataclass

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ...data import DOWNLOADERS
from ..autograder import imports_of, notebook_entry
from ..solution import NotebookSpec

CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# Distributions that exist only for CUDA builds of torch (the CPU build needs none of them).
CUDA_ONLY = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
# Distributions that grading needs but that have no top-level module of the same name.
TORCH_FAMILY = {"torch", "torchvision", "torchaudio"}


@dataclass(frozen=True)
class Pins:
    """``name==version`` lines for a runner, and whether they need PyTorch's CPU index."""

    pins: tuple[str, ...]
    needs_torch_index: bool

    def text(self, title: str) -> str:
        lines = [f"# {title}", "# Made by `mlgrader build`: exact versions, for a CPU-only runner (Python "
                 f"{sys.version_info.major}.{sys.version_info.minor}, Linux).", "--only-binary=:all:"]
        if self.needs_torch_index:
            lines.append(f"--extra-index-url {CPU_TORCH_INDEX}")
        return "\n".join(lines + list(self.pins)) + "\n"


def distributions_for(modules: set[str]) -> set[str]:
    """The installed distributions that provide these top-level modules (unknown ones: the standard library)."""
    provided = importlib.metadata.packages_distributions()
    names = set()
    for module in modules:
        names.update(canonicalize_name(d) for d in provided.get(module, ()))
    names.discard("mlgrader")
    return names


def pinned_closure(roots: set[str]) -> Pins:
    """``roots`` and everything they need on a Linux runner, at the installed versions, CUDA-only parts left out."""
    environment = default_environment()
    seen: dict[str, str] = {}
    todo = sorted(canonicalize_name(r) for r in roots)
    while todo:
        name = todo.pop()
        if name in seen or CUDA_ONLY.match(name):
            continue
        dist = importlib.metadata.distribution(name)
        seen[name] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue
            todo.append(canonicalize_name(requirement.name))
    pins = tuple(f"{name}=={version}" for name, version in sorted(seen.items()))
    return Pins(pins, bool(TORCH_FAMILY & set(seen)))


def mlgrader_requirements() -> set[str]:
    """The distributions the mlgrader wheel declares (what grading itself imports)."""
    requires = importlib.metadata.distribution("mlgrader").requires or []
    environment = default_environment()
    names = set()
    for text in requires:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({**environment, "extra": ""}):
            names.add(canonicalize_name(requirement.name))
    return names


def assignment_requirements(specs: tuple[NotebookSpec, ...] | list[NotebookSpec]) -> Pins:
    """The pins a runner needs to grade these notebooks: mlgrader's dependencies, what the code imports,
    and what downloads their data sets (a runner has no copy on disk)."""
    modules = {name.split(".")[0] for spec in specs for name in imports_of(spec)}
    downloaders = {DOWNLOADERS[d] for spec in specs for d in notebook_entry(spec).data}
    return pinned_closure(mlgrader_requirements() | distributions_for(modules) | downloaders)
