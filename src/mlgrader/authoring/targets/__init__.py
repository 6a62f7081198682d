"""Build step 4: where students submit. Each target is a function of :class:`TargetInputs`.

The targets of an assignment are listed in :data:`TARGETS`; each returns
``{path relative to the course: bytes}``. They all carry the same two things, made once
per build: the wheel of this very mlgrader (:mod:`~mlgrader.authoring.targets.wheel`;
a target installs it from the file, never from a package index by name) and the pinned
requirements of the assignment for a CPU-only runner
(:mod:`~mlgrader.authoring.targets.requirements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from ...bundle import FILES_DIR, MANIFEST
from ..solution import NotebookSpec
from .requirements import assignment_requirements
from .wheel import wheel_bytes, wheel_name


@dataclass(frozen=True)
class TargetInputs:
    """What every target of one assignment is made from."""

    assignment: str
    specs: tuple[NotebookSpec, ...]
    made: Mapping[str, bytes]  # what the earlier build steps made (source/, release/, autograder/ ...)
    wheel_name: str
    wheel: bytes
    requirements: str  # pinned requirements of this assignment's grading, for a CPU-only runner

    def release_notebooks(self) -> dict[str, bytes]:
        """Notebook file name -> the student release notebook."""
        prefix = f"release/{self.assignment}/"
        return {rel[len(prefix):]: data for rel, data in self.made.items()
                if rel.startswith(prefix) and rel.endswith(".ipynb")}

    def release_files(self) -> dict[str, bytes]:
        """Path beside the notebooks -> bytes of the other files students get (images, data: the
        header's ``files``); a target that hands out the notebooks hands out these too."""
        prefix = f"release/{self.assignment}/"
        return {rel[len(prefix):]: data for rel, data in self.made.items()
                if rel.startswith(prefix) and not rel.endswith(".ipynb")}

    def bundle_files(self) -> dict[str, bytes]:
        """Path inside the bundle -> bytes (manifest.json, tests/<notebook>/<grade_id>.py, files/...)."""
        prefix = f"autograder/{self.assignment}/"
        inside = {rel[len(prefix):]: data for rel, data in self.made.items() if rel.startswith(prefix)}
        # Only the bundle itself: never another target's zip that lies in the same folder.
        return {rel: data for rel, data in inside.items()
                if rel == MANIFEST or rel.startswith("tests/") or rel.startswith(f"{FILES_DIR}/")}


# The target modules import TargetInputs from here, so they are imported when called.
def _classroom(inputs: TargetInputs) -> dict[str, bytes]:
    from .classroom import target_files as classroom_files

    return classroom_files(inputs)


def _gradescope(inputs: TargetInputs) -> dict[str, bytes]:
    from .gradescope import target_files as gradescope_files

    return gradescope_files(inputs)


def _otter(inputs: TargetInputs) -> dict[str, bytes]:
    from .otter import target_files as otter_files

    return otter_files(inputs)


TARGETS: tuple[Callable[[TargetInputs], dict[str, bytes]], ...] = (
    _classroom,
    _gradescope,
    _otter,
)


def target_files(specs: list[NotebookSpec], made: Mapping[str, bytes]) -> dict[str, bytes]:
    """Every target of every assignment in ``specs``."""
    wheel = wheel_bytes()
    out: dict[str, bytes] = {}
    for assignment in sorted({s.assignment for s in specs}):
        own = tuple(s for s in specs if s.assignment == assignment)
        title = f"Grading requirements of {assignment}"
        inputs = TargetInputs(assignment, own, made, wheel_name(), wheel, assignment_requirements(own).text(title))
        for target in TARGETS:
            out.update(target(inputs))
    return out
