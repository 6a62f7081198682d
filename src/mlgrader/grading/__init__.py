"""Grading one submission: read it, plan it, run it in a sandbox, judge it in this process.

:func:`grade_notebook` (in :mod:`~mlgrader.grading.notebook`) is the entry point; see there
for the steps and the modules that do them. :func:`grade_folder` (in
:mod:`~mlgrader.grading.folder`) first chooses the notebook in a folder of uploaded files.
"""

from .folder import grade_folder
from .notebook import grade_notebook

__all__ = ["grade_folder", "grade_notebook"]
