"""Grading one submission of a batch: what runs in a grading process or on a Dask worker.

:func:`grade_task` is a pure function of a picklable :class:`GradeTask` (absolute paths and
a frozen configuration, no open files), so the local pool and a Dask cluster run the very
same code.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from ..bundle import BundleError
from ..config import GradingConfig
from ..grading import grade_notebook
from ..sandbox.limits import SandboxError


@dataclass(frozen=True)
class GradeTask:
    """What a worker needs: plain, picklable, absolute paths."""

    path: str
    autograder: str
    assignment: str | None = None  # --assignment
    fallback_assignment: str | None = None  # from the layout, when the notebook names none
    config: GradingConfig = field(default_factory=GradingConfig)


@dataclass(frozen=True)
class TaskOutcome:
    status: str  # graded | error
    reason: str = ""
    result: dict | None = None  # GradeResult.to_dict()


def grade_task(task: GradeTask) -> TaskOutcome:
    """Grade one submission; never raises for anything the submission or bundle does."""
    path = Path(task.path)
    if not path.is_file():
        return TaskOutcome("error", f"{path} cannot be read on grader {socket.gethostname()} "
                                    "(Dask workers need the submissions on a shared file system)")
    try:
        result = grade_notebook(path, task.assignment, Path(task.autograder), task.config,
                                fallback_assignment=task.fallback_assignment)
    except (BundleError, SandboxError) as exc:
        return TaskOutcome("error", str(exc))
    except Exception as exc:  # a grader bug must cost this submission, not the batch
        return TaskOutcome("error", f"the grader failed: {type(exc).__name__}: {exc}")
    return TaskOutcome("graded", "", result.to_dict())
