"""``mlgrader new``: a new assignment's solution source and variants.toml, ready to build.

The scaffold is a complete, small assignment (one exercise, a test with public and hidden
checks, one known-wrong variant) that builds and validates as it is, with comments that
teach the format where students never see them: in the header's YAML comments (jupytext
drops them), inside the solution region and inside the hidden block. ``--from`` copies
an existing assignment instead (its solution sources, variants.toml and files/), with the
header's ``assignment:`` changed.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..bundle import HIDDEN_BEGIN, HIDDEN_END
from .errors import AuthoringError
from .solution import FILES_FOLDER

# Names end up in folders, workflow steps and shell lines (see targets/classroom.py).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEADER_ASSIGNMENT = re.compile(r"^(#\s+assignment:\s*)(\S+)(.*)$", re.MULTILINE)
VARIANTS = "variants.toml"


@dataclass(frozen=True)
class Scaffold:
    """What ``mlgrader new`` wrote (paths relative to the course root)."""

    assignment: str
    written: list[str] = field(default_factory=list)
    copied_from: str | None = None


def notebook_name(assignment: str) -> str:
    """The notebook of a new assignment: its id without a leading number, as a Python name
    ("07-knn-iris" -> "knn_iris")."""
    name = re.sub(r"^[0-9]+[-_.]*", "", assignment)
    name = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_").lower()
    return name if name and not name[0].isdigit() else "exercise"


def new_assignment(root: Path, assignment: str, copy_from: str | None = None) -> Scaffold:
    """Write ``solutions/<assignment>/``: the scaffold, or a copy of ``copy_from``.

    Raises :class:`AuthoringError` (one line) when the name is unusable, the assignment
    exists already (nothing is overwritten) or ``copy_from`` does not.
    """
    root = Path(root)
    if not _SAFE_NAME.match(assignment):
        raise AuthoringError(f"assignment name {assignment!r}: use letters, digits, '.', '-', '_'")
    folder = root / "solutions" / assignment
    if folder.exists():
        raise AuthoringError(f"{folder} already exists; choose another name (nothing was written)")
    if copy_from is not None:
        return _copy(root, folder, assignment, copy_from)
    name = notebook_name(assignment)
    folder.mkdir(parents=True)
    files = {f"{name}.py": _fill(SOLUTION_TEMPLATE, assignment, name), VARIANTS: _fill(VARIANTS_TEMPLATE, assignment, name)}
    for file_name, text in files.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return Scaffold(assignment, [f"solutions/{assignment}/{f}" for f in files])


def _fill(template: str, assignment: str, notebook: str) -> str:
    title = re.sub(r"^[0-9]+[-_.]*", "", assignment).replace("-", " ").replace("_", " ").strip().capitalize()
    return (template.replace("__ASSIGNMENT__", assignment).replace("__NOTEBOOK__", notebook)
            .replace("__TITLE__", title or assignment)
            # tokens, not the markers: tests/test_classroom.py looks for hidden-region lines in the
            # wheel that carries this module, and the markers are lines of every hidden region
            .replace("__HIDDEN_BEGIN__", HIDDEN_BEGIN).replace("__HIDDEN_END__", HIDDEN_END))


def _copy(root: Path, folder: Path, assignment: str, copy_from: str) -> Scaffold:
    source = root / "solutions" / copy_from
    if not source.is_dir():
        raise AuthoringError(f"--from {copy_from}: no such assignment in {root / 'solutions'}")
    folder.mkdir(parents=True)
    written = []
    for path in sorted(source.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        # Only the header's line: an `assignment:` elsewhere (a comment, a string) is the author's.
        header_end = text.find("\n# ---", 1)
        head, body = (text[:header_end], text[header_end:]) if header_end > 0 else ("", text)
        head = _HEADER_ASSIGNMENT.sub(lambda m: m.group(1) + assignment + m.group(3), head, count=1)
        (folder / path.name).write_text(head + body, encoding="utf-8")
        written.append(path.name)
    if (source / VARIANTS).is_file():
        shutil.copyfile(source / VARIANTS, folder / VARIANTS)
        written.append(VARIANTS)
    if (source / FILES_FOLDER).is_dir():
        shutil.copytree(source / FILES_FOLDER, folder / FILES_FOLDER)
        written.append(f"{FILES_FOLDER}/")
    return Scaffold(assignment, [f"solutions/{assignment}/{w}" for w in written], copied_from=copy_from)


SOLUTION_TEMPLATE = r'''# ---
# jupyter:
#   # Written by `mlgrader new`: the one place this exercise is written. It is a jupytext
#   # percent-format script: each cell starts with a `# %%` line, and the options after it
#   # (grade_id="...", points=N) say what the cell is. YAML comments in this header, like
#   # these, reach no notebook: notes to yourself go here.
#   #
#   # It is plain Python: run it with the course's Python (the venv mlgrader is installed
#   # in, e.g. .venv/bin/python), and every check in it must pass:
#   #   python solutions/__ASSIGNMENT__/__NOTEBOOK__.py
#   #   mlgrader build __ASSIGNMENT__       source/, release/, autograder/, classroom/
#   #   mlgrader validate __ASSIGNMENT__    solution full marks, stub zero, each variant loses points
#   #   mlgrader preview __ASSIGNMENT__     the student's notebook and a stub's feedback, side by side
#   # The format: docs/authoring.md. The checks (check_close, check_accuracy, ...): docs/checks.md.
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   mlgrader:
#     assignment: __ASSIGNMENT__  # the folder's name
#     title: __TITLE__
#     timeout: 300  # seconds the whole notebook may run when graded
# ---

# %% [markdown]
# # __TITLE__
#
# The **mean squared error** of predictions $\hat y$ against targets $y$ is
#
# $$\mathrm{MSE}(\hat y, y) = \frac{1}{n} \sum_{i=1}^{n} (\hat y_i - y_i)^2 .$$
#
# Write `mse(predictions, targets)`. It should take lists or numpy arrays and return a float.
# This notebook is worth **2 points**.

# %%
import numpy as np

# %% grade_id="mse"
def mse(predictions, targets):
    """The mean squared error of `predictions` against `targets`."""
    ### BEGIN SOLUTION
    # A cell with a solution region is an exercise: students get `# YOUR CODE HERE` and
    # `raise NotImplementedError()` in place of the region. Comments in it never reach them;
    # the lines around it (the def, the docstring) do. Markdown cells and cells without
    # options (the import above) are read-only for students.
    predictions = np.asarray(predictions, dtype=float)
    targets = np.asarray(targets, dtype=float)
    return float(np.mean((predictions - targets) ** 2))
    ### END SOLUTION


# %% grade_id="test-mse" points=2
from mlgrader.checks import check_close

__HIDDEN_BEGIN__
# points=N makes this cell a test worth N points. Students see the lines outside this
# region (the public check below, which they can run); the grader runs the whole cell in
# its own process, reading `mse` from the notebook through a narrow channel. This block
# never leaves the autograder bundle. It comes first: a test stops at its first failing
# check, and these name the mistake (`mistakes=` maps each common mistake to the value it
# would give) on data the student never saw.
import numpy as np

predictions = np.array([0.5, 2.0, -1.0, 3.0])
targets = np.array([1.0, 2.0, 1.0, 0.0])
errors = predictions - targets
check_close(mse(predictions, targets), np.mean(errors ** 2), name="mse on new data", mistakes={
    "forgot to square the errors (the mean of the differences is not the MSE)": np.mean(errors),
    "took the sum of the squared errors instead of their mean (divide by n)": np.sum(errors ** 2),
    "took the square root of the mean (that is the RMSE)": np.sqrt(np.mean(errors ** 2)),
})
__HIDDEN_END__
check_close(mse([1.0, 2.0], [1.0, 4.0]), 2.0, name="mse([1, 2], [1, 4])")
'''

VARIANTS_TEMPLATE = '''\
# Known-wrong variants of __ASSIGNMENT__: common mistakes. Each is the solution with one exercise
# cell edited; `mlgrader validate __ASSIGNMENT__` grades it and checks that it loses points in
# the tests of `lose`, with feedback that contains `message`. Add one [[variant]] per mistake
# you expect; `mlgrader validate __ASSIGNMENT__ --show NAME` prints the feedback it got.

[[variant]]
name = "no-square"                     # the case's name in validate's table
cell = "mse"                           # grade_id of the exercise cell to edit
find = "(predictions - targets) ** 2"  # text that occurs exactly once in that cell ...
replace = "(predictions - targets)"    # ... and what replaces it (or source = """...""" for the whole cell)
lose = ["test-mse"]                    # tests that must lose points
message = "forgot to square"           # text their feedback must contain (case-insensitive)
'''
