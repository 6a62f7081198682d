"""Grading one submission of a batch: what runs on a local worker or on a Dask worker.

:func:`grade_task` is a function of a picklable :class:`GradeTask` and of what the worker
keeps between tasks (its warm kernels), so the local workers and a Dask cluster run the
very same code. A local task names its notebook by path; a task for a cluster carries the
notebook's bytes and the saved files next to it (:meth:`GradeTask.with_contents`), and the
autograder folder travels once per worker, content-addressed (:class:`AutograderRef`):
a cluster's workers need no copy of the course and no shared file system.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..bundle import FILES_DIR, BundleError, list_bundles
from ..config import GradingConfig
from ..grading import grade_notebook
from ..sandbox.limits import SandboxError

MAX_SUBMISSION_BYTES = 64 * 1024 * 1024  # per file read for a cluster task (the grader refuses larger notebooks)


@dataclass(frozen=True)
class AutograderRef:
    """The bundles that grade: a folder this machine has, or content-addressed files sent to the workers."""

    path: str | None = None  # local workers: the autograder folder
    digest: str | None = None  # a cluster: sha256 of autograder_files(), materialized once per worker


@dataclass(frozen=True)
class GradeTask:
    """What a worker needs to grade one submission."""

    name: str  # the notebook's file name (it chooses among an assignment's notebooks)
    autograder: AutograderRef
    path: str | None = None  # local: where the notebook is (saved files beside it)
    notebook: bytes | None = None  # a cluster: the notebook's bytes ...
    files: tuple[tuple[str, bytes], ...] = ()  # ... and the saved files that sat beside it
    assignment: str | None = None  # --assignment
    fallback_assignment: str | None = None  # from the layout, when the notebook names none
    config: GradingConfig = field(default_factory=GradingConfig)

    def with_contents(self, artifact_names: set[str], autograder: AutograderRef) -> "GradeTask":
        """This task carrying its notebook and the saved files beside it, for a worker without our disk."""
        folder = Path(self.path).parent
        files = tuple((name, _read(folder / name)) for name in sorted(artifact_names) if (folder / name).is_file())
        return replace(self, path=None, notebook=_read(Path(self.path)), files=files, autograder=autograder)


@dataclass(frozen=True)
class TaskOutcome:
    status: str  # graded | error
    reason: str = ""
    result: dict | None = None  # GradeResult.to_dict()


def _read(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_SUBMISSION_BYTES + 1)  # one byte over: the grader says it is too large


# The folders of a bundle that grading reads (besides the manifest): the tests, and the files
# put beside a notebook.
GRADING_DIRS = ("tests", FILES_DIR)


def autograder_files(folder: Path) -> dict[str, bytes]:
    """What grading reads of an autograder folder (every bundle's manifest, tests and files), by relative path."""
    files = {}
    for name, bundle in list_bundles(folder).items():
        for path in sorted(Path(bundle.path).rglob("*")):
            if path.is_file() and (path.name == "manifest.json" or path.relative_to(bundle.path).parts[0] in GRADING_DIRS):
                files[f"{name}/{path.relative_to(bundle.path).as_posix()}"] = path.read_bytes()
    return files


def files_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def materialized_autograder(digest: str, files: dict[str, bytes]) -> Path:
    """The worker's copy of the autograder folder named by ``digest``, written once (atomically)."""
    base = Path(tempfile.gettempdir()) / f"mlgrader-bundles-{os.geteuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    target = base / digest
    if target.is_dir():
        return target
    if files_digest(files) != digest:
        raise BundleError("the autograder files that reached this worker do not match their digest")
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=base))
    for name, data in files.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    try:
        staging.rename(target)
    except OSError:  # another task on this worker was first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def grade_task(task: GradeTask, kernels=None, autograder_files: dict[str, bytes] | None = None) -> TaskOutcome:
    """Grade one submission; never raises for anything the submission or bundle does.

    ``kernels`` is the worker's kernel source (warm kernels); ``autograder_files`` is the
    autograder folder a cluster scattered to this worker (for a task that names a digest).
    """
    try:
        autograder = _autograder_folder(task, autograder_files)
        if task.notebook is None:
            return _grade(task, Path(task.path), autograder, kernels)
        with tempfile.TemporaryDirectory(prefix="mlgrader-task-") as folder:
            path = Path(folder) / task.name
            path.write_bytes(task.notebook)
            for name, data in task.files:
                (Path(folder) / Path(name).name).write_bytes(data)
            return _grade(task, path, autograder, kernels)
    except (BundleError, SandboxError) as exc:
        return TaskOutcome("error", str(exc))
    except Exception as exc:  # a grader bug must cost this submission, not the batch
        return TaskOutcome("error", f"the grader failed: {type(exc).__name__}: {exc}")


def _autograder_folder(task: GradeTask, files: dict[str, bytes] | None) -> Path:
    if task.autograder.path is not None:
        return Path(task.autograder.path)
    if files is None:
        raise BundleError("this task names its autograder by digest, but no autograder files reached the worker")
    return materialized_autograder(task.autograder.digest, files)


def _grade(task: GradeTask, path: Path, autograder: Path, kernels) -> TaskOutcome:
    if not path.is_file():
        return TaskOutcome("error", f"{path} cannot be read on this grader")
    result = grade_notebook(path, task.assignment, autograder, task.config,
                            fallback_assignment=task.fallback_assignment, kernels=kernels)
    return TaskOutcome("graded", "", result.to_dict())


def grade_task_on_dask(task: GradeTask, autograder_files: dict[str, bytes] | None = None) -> TaskOutcome:
    """:func:`grade_task` as a Dask worker runs it, with that worker's warm kernels when it has them."""
    from .dask_plugin import worker_kernels

    return grade_task(task, worker_kernels(), autograder_files)
