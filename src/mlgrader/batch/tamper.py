"""Tamper flags: what a student changed in a repository that came from the course's template.

A GitHub Classroom repository (``<assignment>-<login>/``) started as the template that
``mlgrader build`` wrote in ``classroom/<assignment>/``. The instructor's copy of that
template's ``.mlgrader/template.json`` (never the student's copy, which the student
controls) lists the sha256 of the files a student must not change: the workflow, the
requirements, the wheel and the public bundle. Each one that differs or is missing, and each
workflow added, is a flag; so is each read-only code cell of a notebook (setup code, the
public checks of a test) whose source differs from the template's release notebook, or that
is gone. Grading never trusts those files anyway (the grader uses its own bundle and restores
read-only cells): a flag tells the instructor that someone tried, and what.

Files are read without following links and up to a size: a student's repository is as
untrusted as the notebook in it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE_MANIFEST = ".mlgrader/template.json"
WORKFLOWS = ".github/workflows"
INSTALL_CELL = "mlgrader-install"  # the first cell students may edit (Colab), never flagged
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Template:
    """One assignment's template as the course built it."""

    assignment: str
    protected: dict[str, str]  # repository path -> sha256
    locked_cells: dict[str, dict[str, str]] = field(default_factory=dict)  # notebook file -> grade id -> source


def read_templates(classroom: Path) -> dict[str, Template]:
    """The templates under the course's ``classroom/`` folder, by assignment (none: {})."""
    templates = {}
    for manifest in sorted(Path(classroom).glob(f"*/{TEMPLATE_MANIFEST}")):
        folder = manifest.parent.parent
        try:
            data = json.loads(manifest.read_text())
            templates[data["assignment"]] = Template(
                data["assignment"], {str(k): str(v) for k, v in data["protected"].items()},
                {name: _locked_code_cells(folder / name) for name in data.get("notebooks", [])})
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a template the course cannot read flags nothing
    return templates


def _locked_code_cells(notebook: Path) -> dict[str, str]:
    try:
        cells = json.loads(notebook.read_text()).get("cells", [])
    except (OSError, ValueError):
        return {}
    return {gid: _source(cell) for cell in cells if (gid := _locked_code_id(cell))}


def _locked_code_id(cell: object) -> str | None:
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    meta = (cell.get("metadata") or {}).get("nbgrader") or {}
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) and meta.get("locked") and gid != INSTALL_CELL else None


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def tamper_flags(repository: Path, notebook: Path, template: Template) -> tuple[str, ...]:
    """What differs between the student's repository and the template, one short line each."""
    flags = []
    for rel, expected in sorted(template.protected.items()):
        found = _digest(repository / rel)
        if found is None:
            flags.append(f"{rel} deleted")
        elif found != expected:
            flags.append(f"{rel} {'changed' if found != 'link' else 'replaced by a link'}")
    known = {rel for rel in template.protected if rel.startswith(WORKFLOWS + "/")}
    flags += [f"{rel} added" for rel in _workflows(repository) if rel not in known]
    flags += _cell_flags(notebook, template.locked_cells.get(notebook.name, {}))
    return tuple(flags)


def _digest(path: Path) -> str | None:
    """sha256 of a plain file, "link" for a symbolic link, None when there is nothing."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:
        return "link" if path.is_symlink() else "unreadable"
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return "not a file"
        return hashlib.sha256(handle.read(MAX_FILE_BYTES + 1)).hexdigest()


def _workflows(repository: Path) -> list[str]:
    folder = repository / WORKFLOWS
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(f"{WORKFLOWS}/{p.name}" for p in folder.iterdir() if p.suffix in (".yml", ".yaml"))


def _cell_flags(notebook: Path, locked: dict[str, str]) -> list[str]:
    if not locked:
        return []
    try:
        if notebook.stat().st_size > MAX_FILE_BYTES:
            return []
        cells = json.loads(notebook.read_bytes()).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []  # an unreadable notebook is graded 0 with its own reason
    found: dict[str, str] = {}
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            gid = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
            if isinstance(gid, str) and gid in locked:
                found.setdefault(gid, _source(cell))
    flags = []
    for gid, source in locked.items():
        if gid not in found:
            flags.append(f"read-only cell {gid} deleted")
        elif found[gid] != source:
            flags.append(f"read-only cell {gid} changed")
    return flags
