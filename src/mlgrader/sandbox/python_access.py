"""Where the grader's Python lives, and whether the sandbox user can reach it.

The kernel runs the grader's own interpreter and packages (and its ``mlgrader``). Both modes
need to know which folders those are: bubblewrap binds them read-only, Landlock allows
them, and the fallback mode as root must reach those that other users cannot enter.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from .limits import SandboxError

FALLBACK_FIX = ("install bubblewrap (namespaces hide the host), run the grader as a non-root user, "
                "or install Python where other users can read it")


def grader_source() -> str:
    """The folder that holds the grader's own ``mlgrader`` package."""
    import mlgrader

    return str(Path(mlgrader.__file__).resolve().parent.parent)


def python_roots() -> list[str]:
    """Folders the kernel needs to read: the interpreter, its packages, mlgrader itself."""
    roots = {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix), grader_source()}
    for entry in sys.path:
        if entry and "-packages" in entry and os.path.isdir(entry):
            roots.add(entry)
    return sorted(r for r in roots if os.path.isdir(r))


def world_traversable(path: str) -> bool:
    """Whether any user may walk down to ``path`` (every folder on the way has o+x)."""
    for folder in [Path(path), *Path(path).parents]:
        try:
            if not folder.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


# --- a hidden Python in the fallback mode ----------------------------------------------------
#
# The fallback kernel runs as the sandbox user too, but the grader's Python may live where
# other users cannot go (a pyenv under /root, mode 0700). Measured on such a host: copying
# the interpreter and its packages is not realistic (torch alone is gigabytes), and the
# operator's permissions are not ours to change. What works: the limiter, still root,
# opens those folders and keeps the descriptors across exec (it becomes the kernel, same
# pid); a path through /proc/<kernel pid>/fd/<n> reaches a folder with only the components
# below it checked. A small virtual environment (the shim) whose interpreter and packages
# are such paths gives the kernel a normal sys.prefix, site-packages and sys.executable, for
# the processes it starts as well (they use the kernel's descriptors while it lives). They
# can read what the folder's own permissions allow and walk up to its outermost readable
# parent (/root/.pyenv), never into the folder that hid it. Where this cannot work, grading
# stops with FALLBACK_FIX: student code never runs as root.




def hidden_python_roots() -> list[str]:
    """The Python folders other users cannot reach by their paths (outermost ones only)."""
    candidates = {os.path.realpath(p) for p in python_roots()}
    candidates.add(os.path.dirname(os.path.realpath(sys.executable)))
    libdir = sysconfig.get_config_var("LIBDIR")  # a shared libpython
    if libdir and os.path.isdir(libdir):
        candidates.add(os.path.realpath(libdir))
    hidden = sorted(p for p in candidates if not world_traversable(p))
    return [p for p in hidden if not any(p.startswith(q.rstrip("/") + "/") for q in hidden)]


def check_reachable(folder: Path) -> None:
    """Refuse (SandboxError) a scratch folder the fallback sandbox user could not enter."""
    if not world_traversable(str(folder.parent)):
        raise SandboxError(f"the fallback sandbox user cannot reach {folder.parent}; set TMPDIR to a folder "
                           f"other users can enter, or {FALLBACK_FIX}")


def check_proc() -> None:
    """Refuse (SandboxError) to run a hidden Python for the sandbox user without /proc to reach it."""
    if not Path(f"/proc/{os.getpid()}/fd").is_dir():
        raise SandboxError("the fallback sandbox needs /proc to reach the Python installation, which other "
                           f"users cannot read; not grading as root: {FALLBACK_FIX}")
