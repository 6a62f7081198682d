"""Grading one submission: read it, plan it, run it in a sandbox, judge it in this process.

:func:`grade_notebook` (in :mod:`~mlgrader.grading.notebook`) is the entry point; see there
for the steps and the modules that do them.
"""

from .notebook import grade_notebook

__all__ = ["grade_notebook"]
