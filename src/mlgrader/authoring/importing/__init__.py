"""``mlgrader import``: an nbgrader or otter-grader course becomes solution sources.

:func:`~mlgrader.authoring.importing.run.import_course` finds the notebooks the paths name, tells their format
(:func:`~mlgrader.authoring.importing.run.detect_format`), reads them (:mod:`~mlgrader.authoring.importing.nbgrader`,
:mod:`~mlgrader.authoring.importing.otter`) and writes ``solutions/<assignment>/`` all at
once, or nothing (:mod:`~mlgrader.authoring.importing.writer`). After it, ``mlgrader build``,
``validate``, ``grade`` and ``grade-batch`` work on the course as on any other.

How the format is told, per notebook:

- **nbgrader**: some cell carries nbgrader's cell metadata (``metadata.nbgrader``: grade
  ids, points, solution/grade/locked/task flags), as nbgrader's "Create Assignment" toolbar
  writes it;
- **otter**: a raw cell starts with ``# ASSIGNMENT CONFIG`` or ``# BEGIN QUESTION`` (otter's
  format v1, also fenced as ```` ```otter ```` in Markdown), or a Markdown cell holds a fenced
  block starting ``BEGIN ASSIGNMENT`` / ``BEGIN QUESTION`` (format v0).

A notebook with both, or neither, is refused: the format must be clear.
"""

# Imports nothing, so that the command line's --help can say this without loading the importers.
FORMAT_HELP = ("nbgrader: a cell has nbgrader metadata (metadata.nbgrader); otter: a raw cell starts with "
               "'# ASSIGNMENT CONFIG' or '# BEGIN QUESTION' (v1), or a Markdown cell holds a fenced "
               "'BEGIN QUESTION' / 'BEGIN ASSIGNMENT' block (v0)")
