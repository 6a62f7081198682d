"""What an import reads a course into, before it becomes solution sources.

Both readers (:mod:`~mlgrader.authoring.importing.nbgrader`,
:mod:`~mlgrader.authoring.importing.otter`) turn a notebook into an
:class:`ImportedNotebook`: cells already in mlgrader's kinds (docs/authoring.md), the
files that travel with it, and notes on what was carried with a change. What cannot be
carried is a :class:`Problem` naming the notebook and the cell; an import with any
problem writes nothing (:mod:`~mlgrader.authoring.importing.writer`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path


class ImportUsageError(ValueError):
    """The command line cannot be acted on: no such file, not a notebook, a format not recognised."""


@dataclass(frozen=True)
class Problem:
    """Something an import cannot carry: where (notebook, cell) and why."""

    notebook: str  # the file imported (or nbgrader_config.py)
    cell: str  # "cell 7 (grade id squares)", or "" for the whole notebook
    message: str

    def line(self) -> str:
        where = f"{self.notebook}: {self.cell}" if self.cell else self.notebook
        return f"{where}: {self.message}"


@dataclass
class ImportedCell:
    """One cell in mlgrader's authoring kinds (see :class:`mlgrader.authoring.solution.CellSpec`)."""

    kind: str  # markdown | editable | setup | exercise | test | manual | task
    source: str
    cell_type: str = "code"  # code | markdown
    grade_id: str | None = None
    points: float = 0.0
    helper: bool = False
    rubric: str | None = None
    match: str | None = None  # tests: the other tool's cell that stands for this test (grader.check("q1"))

    def options(self) -> dict:
        """The cell's options in the solution source (``# %% grade_id="..." points=2 ...``)."""
        options: dict = {}
        if self.grade_id is not None:
            options["grade_id"] = self.grade_id
        if self.kind in ("test", "manual", "task"):
            options["points"] = int(self.points) if float(self.points).is_integer() else self.points
        if self.kind == "manual":
            options["manual"] = True
        if self.kind == "task":
            options["task"] = True
        if self.kind == "editable":
            options["locked"] = False
        if self.helper:
            options["helper"] = True
        if self.rubric:
            options["rubric"] = self.rubric
        if self.match:
            options["match"] = self.match
        return options


@dataclass
class ImportedNotebook:
    """A notebook read from another tool, ready to be written as ``solutions/<id>/<name>.py``."""

    name: str  # the notebook's file name without .ipynb (students' files keep matching it)
    origin: Path  # the file it was read from
    assignment: str  # the assignment id it belongs to
    cells: list[ImportedCell]
    kernelspec: dict
    files: dict[str, Path] = field(default_factory=dict)  # path beside the notebook -> the file to copy
    stubs: dict[str, str] = field(default_factory=dict)  # release placeholders, when not nbgrader's own
    notes: list[str] = field(default_factory=list)  # what was carried with a change, for the report

    def header(self) -> dict:
        """The ``mlgrader:`` options of the solution header."""
        options: dict = {"assignment": self.assignment}
        if self.files:
            options["files"] = sorted(self.files)
        if self.stubs:
            options["stubs"] = dict(sorted(self.stubs.items()))
        return options


@dataclass
class ImportReport:
    """What an import did, or (problems) why it wrote nothing."""

    format: str = ""  # nbgrader | otter
    written: list[str] = field(default_factory=list)  # paths under the course root
    notebooks: list[dict] = field(default_factory=list)  # per notebook: name, assignment, cells by kind, points
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        data = asdict(self)
        data["problems"] = [p.line() for p in self.problems]
        data["ok"] = self.ok
        return data


def cell_label(number: int, grade_id: str | None = None) -> str:
    """How a problem names a cell: its position in the notebook (1-based) and its grade id."""
    return f"cell {number}" + (f" (grade id {grade_id})" if grade_id else "")
