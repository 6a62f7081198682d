"""The class list: who the students are, and whose each submission is (``grade-batch --roster``).

Two CSV layouts are read, told apart by their header (names case-insensitive, in any order,
other columns ignored):

- **GitHub Classroom's roster export** (``classroom_roster.csv``): ``identifier``,
  ``github_username``, ``github_id``, ``name``. The identifier (what the instructor listed:
  a student number or an email) is the student id; ``github_username`` is the login the
  student's repositories (``<assignment>-<login>``) are named after. A student who never
  linked a GitHub account has an empty username and can still be listed as missing.
- **A plain class list**: ``id``, ``name``, ``email``, ``login`` (the GitHub login or the folder
  name a student's submissions are found under), and optionally ``first_name``,
  ``last_name``, ``section``, ``canvas_id`` (Canvas's numeric user ID) and
  ``sis_login_id``, which the LMS exports use.

A name the layout found (an nbgrader student folder, a GitHub login, a file or folder
name) belongs to a student when it is, ignoring case, that student's id, login, GitHub
username or email. A name taken from a file or folder name (``dave-hw1.ipynb``,
``Dave_Smith/``) also matches the student whose id, login or GitHub username starts or ends
it, separated by ``-``, ``_``, ``.`` or a space; the longest such key wins, and a tie
matches no one (said so), rather than guessing between two students.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import BatchUsageError

CLASSROOM_COLUMNS = ("identifier", "github_username", "github_id", "name")
PLAIN_COLUMNS = ("id", "name", "email", "login")
OPTIONAL_COLUMNS = ("first_name", "last_name", "section", "canvas_id", "sis_login_id")
_SEPARATORS = "-_. "


class RosterError(BatchUsageError):
    """A roster file that cannot be read as one of the two layouts (exit status 2)."""


@dataclass(frozen=True)
class Student:
    """One line of the roster."""

    id: str
    name: str = ""
    email: str = ""
    login: str = ""  # GitHub login or folder name
    github_id: str = ""
    first_name: str = ""
    last_name: str = ""
    section: str = ""
    canvas_id: str = ""
    sis_login_id: str = ""
    line: int = 0  # in the roster file, for messages

    @property
    def keys(self) -> tuple[str, ...]:
        """What a layout name may equal (lower case)."""
        return tuple(dict.fromkeys(k.lower() for k in (self.id, self.login, self.email) if k))

    @property
    def loose_keys(self) -> tuple[str, ...]:
        """What may start or end a file or folder name."""
        return tuple(dict.fromkeys(k.lower() for k in (self.id, self.login) if k))

    def split_name(self) -> tuple[str, str]:
        """(first, last): the roster's own columns, else the name split before its last word."""
        if self.first_name or self.last_name:
            return self.first_name, self.last_name
        words = self.name.split()
        return (" ".join(words[:-1]), words[-1]) if len(words) > 1 else ("", self.name.strip())

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_json(cls, data: dict) -> "Student":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Match:
    """Who a layout name belongs to: a student, or no one and why."""

    student: Student | None
    note: str = ""  # why no one (ambiguous), or how a loose match was made


@dataclass(frozen=True)
class Roster:
    students: tuple[Student, ...]
    path: str = ""
    layout: str = ""  # classroom | plain
    _by_key: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for student in self.students:
            for key in student.keys:
                self._by_key[key] = student

    def match(self, name: str, loose: bool = False) -> Match:
        """The student ``name`` belongs to (see the module docstring); ``loose`` for file and folder names."""
        exact = self._by_key.get(name.lower())
        if exact is not None or not loose:
            return Match(exact)
        return self._loose_match(name.lower())

    def _loose_match(self, name: str) -> Match:
        found: dict[int, set[Student]] = {}
        for student in self.students:
            for key in student.loose_keys:
                if _starts_or_ends(name, key):
                    found.setdefault(len(key), set()).add(student)
        if not found:
            return Match(None)
        best = found[max(found)]
        if len(best) > 1:
            ids = ", ".join(sorted(s.id for s in best))
            return Match(None, f"{name!r} could be any of {ids}")
        student = next(iter(best))
        return Match(student, f"{name!r} read as {student.id}")

    def find(self, text: str) -> Student | None:
        """The student whose id, login or email is ``text`` (``--student``)."""
        return self._by_key.get(text.lower())


def _starts_or_ends(name: str, key: str) -> bool:
    if len(name) <= len(key):
        return False
    return ((name.startswith(key) and name[len(key)] in _SEPARATORS)
            or (name.endswith(key) and name[-len(key) - 1] in _SEPARATORS))


# --- reading ----------------------------------------------------------------------------------


def read_roster(path: Path) -> Roster:
    """Read a roster CSV (either layout); raise :class:`RosterError` with the line at fault."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise RosterError(f"roster {path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"roster {path}: not a UTF-8 CSV file ({exc})") from None
    if not rows:
        raise RosterError(f"roster {path} is empty")
    header = [h.strip().lower() for h in rows[0]]
    layout = _layout(path, header)
    students = [_student(path, layout, dict(zip(header, row)), number)
                for number, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    _check_unique(path, students)
    return Roster(tuple(students), str(path), layout)


def _layout(path: Path, header: list[str]) -> str:
    if {"identifier", "github_username"} <= set(header):
        return "classroom"
    if "id" in header:
        return "plain"
    raise RosterError(f"roster {path}: header {','.join(header)!r} is neither GitHub Classroom's "
                      f"({','.join(CLASSROOM_COLUMNS)}) nor a plain class list ({','.join(PLAIN_COLUMNS)})")


def _student(path: Path, layout: str, row: dict[str, str], number: int) -> Student:
    value = {k: (v or "").strip() for k, v in row.items() if k}
    if layout == "classroom":
        identifier = value.get("identifier", "")
        fields = {"id": identifier, "login": value.get("github_username", ""), "github_id": value.get("github_id", ""),
                  "email": identifier if "@" in identifier else ""}
    else:
        fields = {"id": value.get("id", ""), "email": value.get("email", ""), "login": value.get("login", "")}
    fields.update({k: value.get(k, "") for k in ("name", *OPTIONAL_COLUMNS)})
    if not fields["id"]:
        column = "identifier" if layout == "classroom" else "id"
        raise RosterError(f"roster {path} line {number}: no {column}")
    if fields["email"] and not re.fullmatch(r"[^@\s]+@[^@\s]+", fields["email"]):
        raise RosterError(f"roster {path} line {number}: {fields['email']!r} is not an email address")
    return Student(line=number, **fields)


def _check_unique(path: Path, students: list[Student]) -> None:
    seen: dict[str, Student] = {}
    for student in students:
        for key in student.keys:
            other = seen.setdefault(key, student)
            if other is not student:
                raise RosterError(f"roster {path} line {student.line}: {key!r} is already line {other.line}'s "
                                  "(ids, logins and emails must each name one student)")
