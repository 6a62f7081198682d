"""Build step 2: the student notebooks, made by nbgrader's own ``generate_assignment``.

Each assignment gets a scratch course directory with its own throwaway gradebook: the
real course's gradebook.db is untouched, the build is repeatable, and the assignments go
through nbgrader in parallel. The release is a pure function of the source notebooks and
the nbgrader version, so a cache keyed by their hash (``.mlgrader-cache/release``) holds
exactly what nbgrader would write again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from .errors import BuildError
from .notebooks import notebook_bytes


def release_notebooks(sources: dict[str, bytes], cache_dir: Path | None = None) -> dict[str, bytes]:
    """``release/...`` for each ``source/...`` notebook, through ``nbgrader generate_assignment``."""
    by_assignment: dict[str, dict[str, bytes]] = {}
    for rel, data in sources.items():
        by_assignment.setdefault(Path(rel).parts[1], {})[rel] = data
    out: dict[str, bytes] = {}
    workers = min(len(by_assignment), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for produced in pool.map(lambda item: _release_one(*item, cache_dir), sorted(by_assignment.items())):
            out.update(produced)
    return out


def _release_one(assignment: str, sources: dict[str, bytes], cache_dir: Path | None) -> dict[str, bytes]:
    """One assignment through nbgrader, or from the cache of earlier identical runs.

    The release is a pure function of the source notebooks and the nbgrader version, so
    a cached copy keyed by their hash is exactly what nbgrader would write again.
    """
    cache = cache_dir / _release_key(sources) if cache_dir else None
    if cache is not None and (cache / "done").exists():
        return {rel: (cache / rel).read_bytes() for rel in _release_paths(sources)}
    out = _run_generate_assignment(assignment, sources)
    if cache is not None:
        for rel, data in out.items():
            (cache / rel).parent.mkdir(parents=True, exist_ok=True)
            (cache / rel).write_bytes(data)
        (cache / "done").write_text("")
    return out


def _release_paths(sources: dict[str, bytes]) -> list[str]:
    return ["release/" + rel.split("/", 1)[1] for rel in sources]


def _release_key(sources: dict[str, bytes]) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(f"nbgrader {version('nbgrader')}\n".encode())
    for rel in sorted(sources):
        digest.update(rel.encode() + b"\0" + sources[rel] + b"\0")
    return digest.hexdigest()[:32]


def _run_generate_assignment(assignment: str, sources: dict[str, bytes]) -> dict[str, bytes]:
    out = {}
    with tempfile.TemporaryDirectory(prefix="mlgrader-build-") as tmp:
        course = Path(tmp)
        for rel, data in sources.items():
            (course / rel).parent.mkdir(parents=True, exist_ok=True)
            (course / rel).write_bytes(data)
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(course)!r}\n"
            f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
            + stub_config(assignment, sources)
        )
        _run_nbgrader(["generate_assignment", assignment, "--force"], course)
        for rel in sources:
            release_rel = "release/" + rel.split("/", 1)[1]
            produced = course / release_rel
            if not produced.exists():
                raise BuildError(f"nbgrader generate_assignment did not produce {release_rel}")
            out[release_rel] = _normalised_release(produced.read_bytes())
    return out


def stub_config(assignment: str, sources: dict[str, bytes]) -> str:
    """nbgrader config lines for the stubs the notebooks' headers ask for (``mlgrader.stubs``).

    nbgrader's stubs are set per course, so every notebook of an assignment must agree.
    """
    wanted = {json.dumps(nbformat.reads(data.decode(), as_version=4).metadata.get("mlgrader", {}).get("stubs", {}),
                         sort_keys=True) for data in sources.values()}
    if len(wanted) > 1:
        raise BuildError(f"the notebooks of {assignment} ask for different stubs; nbgrader uses one per assignment")
    stubs = json.loads(wanted.pop()) if wanted else {}
    lines = ""
    if "code" in stubs:
        lines += f"c.ClearSolutions.code_stub = {{'python': {stubs['code']!r}}}\n"
    if "text" in stubs:
        lines += f"c.ClearSolutions.text_stub = {stubs['text']!r}\n"
    return lines


def _normalised_release(data: bytes) -> bytes:
    # nbgrader writes with its own formatting; re-serialise so the bytes are stable.
    return notebook_bytes(nbformat.reads(data.decode(), as_version=4))


def nbgrader_env() -> dict[str, str]:
    """Environment for nbgrader: the venv's bin/ first on PATH (nbgrader runs alembic)."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def _run_nbgrader(args: list[str], course: Path) -> None:
    exe = Path(sys.executable).parent / "nbgrader"
    cmd = [str(exe) if exe.exists() else "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, env=nbgrader_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BuildError(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")

