"""Files a notebook produces (saved weights), read safely by tests.

A training notebook saves its model's ``state_dict``; a test loads it and measures the
model on data the grader owns. When grading, the file lives in the sandbox's scratch
folder, which student code controls, so reading it is defensive: no symlinks are
followed, only regular files of bounded size are read, and the bytes are parsed by
safetensors or by ``torch.load(weights_only=True)`` on the CPU. Nothing is unpickled.

Tests call :func:`load_state_dict` with a relative path. In the student's own kernel it
resolves against the working directory; while grading, :func:`artifact_folder` points it
at the sandbox's scratch folder for the duration of a test.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_ARTIFACT_BYTES = 512 * 1024 * 1024

# Where relative artifact paths resolve while a test runs (None: the working directory).
_FOLDER: contextvars.ContextVar[Path | None] = contextvars.ContextVar("mlgrader_artifact_folder", default=None)


class ArtifactError(ValueError):
    """A saved file is missing, too large, not a regular file, or not loadable as weights."""


class ArtifactMissing(ArtifactError):
    """The saved file does not exist (the notebook did not save it, or not there)."""


@contextlib.contextmanager
def artifact_folder(folder: Path):
    token = _FOLDER.set(Path(folder))
    try:
        yield
    finally:
        _FOLDER.reset(token)


def read_artifact_bytes(name: str, max_bytes: int = MAX_ARTIFACT_BYTES) -> bytes:
    """The bytes of ``name`` inside the artifact folder, without following symlinks."""
    relative = Path(name)
    # A bare file name: a folder on the way could be a symlink planted by student code.
    if len(relative.parts) != 1 or name in (".", ".."):
        raise ArtifactError(f"{name}: an artifact is a plain file name in the notebook's folder")
    base = _FOLDER.get() or Path.cwd()
    path = base / relative
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ArtifactMissing(f"{name} was not found: did the notebook save it (in its own folder)?") from None
    except OSError as exc:
        raise ArtifactError(f"{name} cannot be read ({exc.strerror}); it must be a plain file, not a link") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(f"{name} is not a regular file")
        if info.st_size > max_bytes:
            raise ArtifactError(f"{name} is {info.st_size // 2**20} MB; the limit is {max_bytes // 2**20} MB")
        return handle.read(max_bytes + 1)[:max_bytes]


def load_state_dict(name: str) -> dict:
    """A ``state_dict`` saved with safetensors or ``torch.save``, as CPU tensors."""
    data = read_artifact_bytes(name)
    if name.endswith(".safetensors"):
        from safetensors.torch import load as load_safetensors

        try:
            return dict(load_safetensors(data))
        except Exception as exc:  # safetensors raises its own error types
            raise ArtifactError(f"{name} is not a valid safetensors file: {exc}") from None
    import torch

    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # the restricted unpickler refuses anything but tensors & containers
        raise ArtifactError(f"{name} could not be loaded as weights only (no code): {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ArtifactError(f"{name} does not hold a state_dict (a mapping of names to tensors)")
    return dict(state)


def fit_weights(model, weights: dict, name: str, layout: str):
    """``model`` (the grader's own) with ``weights`` loaded, in eval mode.

    Weights that do not fit fail the test with a message naming the file and the expected
    ``layout`` (e.g. "two Linear layers with 64 hidden units"), instead of torch's RuntimeError.
    """
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise AssertionError(f"{name} does not fit {layout}: {exc}") from None
    return model.eval()


@dataclass(frozen=True)
class CopyNote:
    """A file listed in ``artifacts`` that was not copied: missing (the notebook retrains) or refused."""

    name: str
    missing: bool
    text: str


def copy_artifacts(source_dir: Path, names: list[str], dest_dir: Path) -> list[CopyNote]:
    """Copy the named files that sit next to a submission into its scratch folder.

    Returns a note for each file that was missing or refused.
    """
    notes = []
    for name in names:
        token = _FOLDER.set(Path(source_dir))
        try:
            data = read_artifact_bytes(name)
        except ArtifactMissing as exc:
            notes.append(CopyNote(name, True, f"not copied into the sandbox: {exc}"))
            continue
        except ArtifactError as exc:
            notes.append(CopyNote(name, False, f"not copied into the sandbox: {exc}"))
            continue
        finally:
            _FOLDER.reset(token)
        target = Path(dest_dir) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return notes
