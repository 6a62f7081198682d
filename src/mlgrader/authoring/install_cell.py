"""The build's first cell of every notebook, which makes mlgrader importable from its wheel.

Its own module (no heavy imports) because both the notebooks step and the targets need the
wheel's file name: the notebook names the file the student repository carries.
"""

from __future__ import annotations

import mlgrader

WHEEL_TAG = "py3-none-any"


def wheel_name() -> str:
    return f"mlgrader-{mlgrader.__version__}-{WHEEL_TAG}.whl"


def install_cell_source() -> str:
    """The first cell of every notebook: import mlgrader from the wheel next to the notebook.

    A pure-Python wheel is a zip that Python imports from directly, so this needs no pip:
    nothing is installed (an nbgrader autograde or an instructor's course environment is left
    as it was, and a student's wheel cannot outlive their own kernel), it works offline, and
    the carried wheel comes first on ``sys.path``, ahead of any older mlgrader. The checks
    need only numpy. Without the file (Colab before the upload) an installed mlgrader, if
    any, is used. Grading never runs this cell (:data:`mlgrader.bundle.INSTALL_KIND`).
    """
    name = wheel_name()
    return (
        "# Run this cell first. It lets Python import mlgrader (the checks used below) straight\n"
        f"# from the file {name} next to this notebook; nothing is installed.\n"
        "# On Colab: upload that file from your repository first (README.md says how).\n"
        f'import os, sys; sys.path.insert(0, os.path.abspath("{name}"))'
    )
