"""An nbgrader course's ``nbgrader_config.py``: what of it shapes the assignments, and whether it can be carried.

nbgrader reads the file as Python (traitlets), so it is loaded the same way. Only the
settings that change what ``generate_assignment`` makes or what ``autograde`` scores
matter to an import:

- carried: the region delimiters (``ClearSolutions``, ``ClearHiddenTests``,
  ``ClearMarkScheme``), the stubs students get in place of solutions, a header and footer
  notebook (``IncludeHeaderFooter``);
- refused (a :class:`~mlgrader.authoring.importing.model.Problem`): custom preprocessors,
  cells kept from overwriting, regions outside the cells nbgrader checks, other locking,
  kernel arguments, and any option of those classes that this module does not know;
- not needed: everything about the course directory, the exchange, feedback, exports and
  formgrader (mlgrader grades with its own limits; those settings keep working for nbgrader).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .model import Problem

CONFIG_FILE = "nbgrader_config.py"


@dataclass
class Settings:
    """What an import needs from a course's nbgrader configuration."""

    solution: tuple[str, str] = ("BEGIN SOLUTION", "END SOLUTION")
    hidden: tuple[str, str] = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    mark_scheme: tuple[str, str] = ("BEGIN MARK SCHEME", "END MARK SCHEME")
    stubs: dict[str, str] = field(default_factory=dict)  # code / text, when not nbgrader's defaults
    header: Path | None = None
    footer: Path | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# Options of the classes that shape assignments: how each is handled.
_CARRIED = {
    ("ClearSolutions", "begin_solution_delimeter"), ("ClearSolutions", "end_solution_delimeter"),
    ("ClearSolutions", "code_stub"), ("ClearSolutions", "text_stub"),
    ("ClearHiddenTests", "begin_test_delimeter"), ("ClearHiddenTests", "end_test_delimeter"),
    ("ClearMarkScheme", "begin_mark_scheme_delimeter"), ("ClearMarkScheme", "end_mark_scheme_delimeter"),
    ("IncludeHeaderFooter", "header"), ("IncludeHeaderFooter", "footer"),
}
_HARMLESS = {
    ("GenerateAssignment", "create_assignment"), ("GenerateAssignment", "no_database"),
    ("GenerateAssignment", "force"), ("Autograde", "create_student"), ("Autograde", "force"),
    ("ClearMarkScheme", "check_attachment_leakage"),
}
# Time limits and retries of nbgrader's executor: mlgrader's own limits apply instead.
_NOT_NEEDED = {"timeout", "interrupt_on_timeout", "execute_retries", "iopub_timeout", "startup_timeout",
               "raise_on_iopub_timeout", "timeout_func"}
_WHY_REFUSED = {
    "preprocessors": "custom preprocessors change what nbgrader makes or scores, and mlgrader cannot run them",
    "sanitize_preprocessors": "custom preprocessors change what nbgrader makes or scores, and mlgrader cannot run them",
    "autograde_preprocessors": "custom preprocessors change what nbgrader makes or scores, and mlgrader cannot run them",
    "exclude_overwriting": "cells kept from being restored cannot be carried: mlgrader restores every read-only cell",
    "enforce_metadata": "regions outside nbgrader's solution, test and task cells cannot be carried",
    "extra_arguments": "kernel arguments cannot be carried: the sandboxed kernel starts as mlgrader starts it",
}
# Classes whose options shape assignments (the rest manage the course, the exchange, feedback).
_SHAPING = {"GenerateAssignment", "Autograde", "ClearSolutions", "ClearHiddenTests", "ClearMarkScheme",
            "IncludeHeaderFooter", "LockCells", "Execute", "ExecutePreprocessor", "OverwriteCells",
            "OverwriteKernelspec", "SaveAutoGrades", "CheckCellMetadata"}


def find_config(folder: Path) -> Path | None:
    """The nbgrader_config.py of the course a source folder belongs to (``<course>/source/<assignment>/``)."""
    folder = Path(folder).resolve()
    candidates = [folder, folder.parent.parent] if folder.parent.name == "source" else [folder, folder.parent]
    return next((c / CONFIG_FILE for c in candidates if (c / CONFIG_FILE).is_file()), None)


def read_settings(folder: Path) -> Settings:
    """The settings of the course holding ``folder`` (nbgrader's defaults without a config file)."""
    settings = Settings()
    path = find_config(folder)
    if path is None:
        return settings
    try:
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    except Exception as exc:  # the file is Python: anything can go wrong in it
        settings.problems.append(Problem(str(path), "", f"cannot be read ({type(exc).__name__}: {exc})"))
        return settings
    for section in sorted(config):
        if section not in _SHAPING or not hasattr(config[section], "items"):
            continue
        for option, value in sorted(config[section].items()):
            _apply(settings, path, section, option, value)
    return settings


def _apply(settings: Settings, path: Path, section: str, option: str, value) -> None:
    where = f"c.{section}.{option}"
    if (section, option) in _CARRIED:
        _carry(settings, path, section, option, value)
    elif (section, option) in _HARMLESS or section == "OverwriteKernelspec":
        return
    elif section in ("Execute", "ExecutePreprocessor") and option in _NOT_NEEDED:
        settings.notes.append(f"{path.name}: {where} is not carried: mlgrader's own time limits apply "
                              "(60 s per cell, 900 s per notebook, unless the solution header says otherwise)")
    elif section == "LockCells" and _is_lockcells_default(option, value):
        return
    else:
        why = _WHY_REFUSED.get(option, "mlgrader does not know what this option changes, so it cannot carry it")
        settings.problems.append(Problem(str(path), "", f"{where} = {value!r} is not carried: {why}"))


def _is_lockcells_default(option: str, value) -> bool:
    defaults = {"lock_solution_cells": True, "lock_grade_cells": True, "lock_readonly_cells": True,
                "lock_all_cells": False}
    return option in defaults and value == defaults[option]


def _carry(settings: Settings, path: Path, section: str, option: str, value) -> None:
    if option.startswith(("begin_", "end_")):
        if not isinstance(value, str) or not value.strip():
            settings.problems.append(Problem(str(path), "", f"c.{section}.{option} must be a non-empty string"))
            return
        attribute = {"ClearSolutions": "solution", "ClearHiddenTests": "hidden", "ClearMarkScheme": "mark_scheme"}[section]
        begin, end = getattr(settings, attribute)
        setattr(settings, attribute, (value, end) if option.startswith("begin_") else (begin, value))
    elif option == "code_stub":
        stub = value.get("python") if isinstance(value, dict) else value
        if isinstance(stub, str):
            settings.stubs["code"] = stub
    elif option == "text_stub" and isinstance(value, str):
        settings.stubs["text"] = value
    elif option in ("header", "footer") and value:
        course = path.parent
        notebook = (course / str(value)).resolve()
        if not notebook.is_file():
            settings.problems.append(Problem(str(path), "", f"c.IncludeHeaderFooter.{option} names {value}, "
                                                            "which does not exist"))
            return
        setattr(settings, option, notebook)
