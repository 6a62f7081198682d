"""The resume cache of ``mlgrader grade-batch``: grades kept under ``<out>/cache/``.

A result is reused when the submission's bytes (sha256), the grading inputs taken from its
path (file name, layout assignment, ``--assignment``), the assignment bundle (a hash of
its manifest and test files) and the mlgrader version all match. Only grades are cached,
never errors, so a crashed grade is retried on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..bundle import bundle_hash
from ..results import GradeResult
from .layouts import Submission
from .tasks import GradeTask


def content_digest(path: Path) -> str:
    """sha256 of a file's bytes ("" when it cannot be read now)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


@dataclass
class ResultCache:
    folder: Path
    autograder: Path
    bundle_hashes: dict[str, str | None] = field(default_factory=dict)  # per batch, not global

    def current_bundle_hash(self, assignment: str) -> str | None:
        if assignment not in self.bundle_hashes:
            self.bundle_hashes[assignment] = bundle_hash(self.autograder / assignment)
        return self.bundle_hashes[assignment]

    def entry_path(self, sub: Submission, task: GradeTask, content: str | None = None) -> Path | None:
        """Where this submission's grade is kept; None when the file cannot be read now.
        ``content`` is the notebook's :func:`content_digest` when the caller has it already."""
        content = content or content_digest(sub.path)
        if not content:
            return None
        inputs = json.dumps([content, sub.path.name, task.assignment, task.fallback_assignment, __version__])
        return self.folder / f"{hashlib.sha256(inputs.encode()).hexdigest()}.json"

    def lookup(self, entry_path: Path | None, sub: Submission) -> GradeResult | None:
        if entry_path is None:
            return None
        try:
            entry = json.loads(entry_path.read_text())
            result = GradeResult.from_dict(entry["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if entry.get("version") != __version__ or entry.get("bundle") != self.current_bundle_hash(result.assignment):
            return None
        result.submission = str(sub.path)  # the same bytes may have been found elsewhere before
        return result

    def store(self, path: Path | None, result: GradeResult) -> None:
        bundle = self.current_bundle_hash(result.assignment)
        if path is None or bundle is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"version": __version__, "bundle": bundle, "result": result.to_dict()}))
        temporary.replace(path)  # atomic: a reader never sees half an entry
