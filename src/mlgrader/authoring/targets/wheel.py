"""A wheel of the running mlgrader, byte for byte the same on every build (for the targets).

It carries what a student's notebook and a grader use (checks, data, grading, the sandbox,
the batch), not the instructor's commands (:data:`INSTRUCTOR_ONLY`): `mlgrader build` and
the like say so there and exit 2.

Every target (student repository, Gradescope zip, otter zip) installs mlgrader from the wheel
it carries, never from a package index by name: a name on PyPI that is not ours would run
its code in students' CI. The wheel is made here rather than by a build backend so that it
is a pure function of the package's files: sorted entries, fixed timestamps and
permissions, stored (not deflated), so ``mlgrader build --check`` can compare bytes.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
from pathlib import Path

import mlgrader

from ..install_cell import WHEEL_TAG, install_cell_source, wheel_name  # noqa: F401  (names of the wheel)
from .zips import deterministic_zip



# The instructor's packages: building, importing and scaffolding assignments, proving their
# tests. Students and graders never run them, and they carry what students must not read:
# the scaffold's template of a hidden-test region, the importers' knowledge of hidden markers.
INSTRUCTOR_ONLY = ("authoring", "validate")


def _package_files() -> dict[str, bytes]:
    """Every file of the running mlgrader package that students and graders use, by its path in the wheel."""
    root = Path(mlgrader.__file__).resolve().parent
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in INSTRUCTOR_ONLY:
            continue
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            files[f"mlgrader/{relative.as_posix()}"] = path.read_bytes()
    return files


def _metadata() -> str:
    dist = importlib.metadata.distribution("mlgrader")
    lines = ["Metadata-Version: 2.1", "Name: mlgrader", f"Version: {mlgrader.__version__}",
             f"Summary: {dist.metadata.get('Summary', '')}"]
    if dist.metadata.get("Requires-Python"):
        lines.append(f"Requires-Python: {dist.metadata['Requires-Python']}")
    lines += [f"Requires-Dist: {req}" for req in dist.requires or [] if "extra ==" not in req]
    return "\n".join(lines) + "\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_bytes() -> bytes:
    """The wheel of the running mlgrader (its own files, metadata and console script)."""
    info = f"mlgrader-{mlgrader.__version__}.dist-info"
    files = _package_files()
    files[f"{info}/METADATA"] = _metadata().encode()
    files[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: mlgrader build\nRoot-Is-Purelib: true\n"
                              f"Tag: {WHEEL_TAG}\n").encode()
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nmlgrader = mlgrader.cli:main\n"
    files[f"{info}/top_level.txt"] = b"mlgrader\n"
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return deterministic_zip(files)
