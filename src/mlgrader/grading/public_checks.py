"""``mlgrader check NOTEBOOK``: the public checks only, graded as a student's run grades them.

A student's repository (``classroom/<a>/``, copied) carries the *public* bundle in
``.mlgrader/autograder/``: the bundle layout with every test cut to its public part. This
module finds that bundle for a notebook and grades the notebook with it through
:func:`~mlgrader.grading.notebook.grade_notebook`: the same sandbox, the same messages,
and no hidden test, because the public bundle holds none. It never falls back to a
course's real ``autograder/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..bundle import BundleError
from ..config import GradingConfig
from ..results import GradeResult
from .notebook import grade_notebook
from .submission import peek_identity

# Where a student template keeps its public bundle (authoring/targets/classroom.py writes it
# there; tests/test_new_assignment.py checks that the two agree).
PUBLIC_BUNDLES = ".mlgrader/autograder"
CLASSROOM = "classroom"


@dataclass(frozen=True)
class PublicCheck:
    result: GradeResult
    bundles: Path  # the public bundle folder that graded it


def public_bundles_for(notebook: Path, assignment: str | None = None) -> Path | None:
    """The folder of public bundles that grades ``notebook``: ``.mlgrader/autograder`` in its
    folder or a folder above (a student's repository), else, in a course (a notebook in
    ``release/<a>/``, say), ``classroom/<a>/.mlgrader/autograder`` of the course."""
    notebook = Path(notebook).resolve()
    assignment = assignment or peek_identity(notebook)[0]
    for folder in notebook.parents:
        if (folder / PUBLIC_BUNDLES).is_dir():
            return folder / PUBLIC_BUNDLES
        course = folder / CLASSROOM / str(assignment) / PUBLIC_BUNDLES
        if assignment and course.is_dir():
            return course
    return None


def check_notebook(notebook: Path, assignment: str | None = None, config: GradingConfig | None = None) -> PublicCheck:
    """Grade ``notebook`` with the public checks of its assignment.

    Raises :class:`~mlgrader.bundle.BundleError` when no public bundle can be found (or, as
    in ``mlgrader grade``, when the notebook's assignment cannot be told).
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise BundleError(f"{notebook}: no such notebook")
    bundles = public_bundles_for(notebook, assignment)
    if bundles is None:
        raise BundleError(f"{notebook}: no public checks found (no {PUBLIC_BUNDLES}/ in its folder or above, no "
                          f"{CLASSROOM}/<assignment>/{PUBLIC_BUNDLES}/ of a built course); run it in your "
                          "assignment's repository, or `mlgrader build` the course")
    return PublicCheck(grade_notebook(notebook, assignment, bundles, config), bundles)
