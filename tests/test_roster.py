"""The roster: both CSV layouts, matching layout names to students, and its errors."""

import shutil
from pathlib import Path

import pytest

from mlgrader.batch.layouts import collect_submissions, layout_name
from mlgrader.batch.roster import RosterError, read_roster

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01-gradient-descent"
KNOWN = {ASSIGNMENT: ("gradient_descent",), "02-linear-regression": ("linear_regression",)}
CLASSROOM = ("identifier,github_username,github_id,name\n"
             "ada@uni.example,ada-l,1001,Ada Lovelace\n"
             "s2002,GraceH,1002,Grace Hopper\n"
             "s2003,,,Never Linked\n")
PLAIN = ("id,name,email,login,section,canvas_id\n"
         "s001,Dave Smith,dave@uni.example,dave,A,77\n"
         "s002,David Jones,dj@uni.example,davidj,B,78\n"
         "s003,Eve Adams,eve@uni.example,eve,A,79\n")


def roster(tmp_path: Path, text: str, name: str = "roster.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_roster(path)


def test_github_classrooms_roster_export_is_read(tmp_path):
    r = roster(tmp_path, "\ufeff" + CLASSROOM)  # a spreadsheet's byte-order mark is fine
    assert r.layout == "classroom" and [s.id for s in r.students] == ["ada@uni.example", "s2002", "s2003"]
    ada = r.match("ADA-L").student
    assert (ada.login, ada.github_id, ada.email, ada.split_name()) == ("ada-l", "1001", "ada@uni.example",
                                                                      ("Ada", "Lovelace"))
    assert r.match("graceh").student.id == "s2002"  # GitHub logins ignore case
    assert r.find("s2003").name == "Never Linked"  # listed, though no repository will match


def test_a_plain_class_list_is_read(tmp_path):
    r = roster(tmp_path, PLAIN)
    dave = r.match("dave").student
    assert (dave.id, dave.email, dave.section, dave.canvas_id) == ("s001", "dave@uni.example", "A", "77")
    assert r.match("eve@uni.example").student.id == "s003" and r.match("S003").student.id == "s003"
    assert r.match("mallory").student is None


@pytest.mark.parametrize("name, student, note", [
    ("dave-hw1", "s001", "read as s001"),
    ("hw1_dave", "s001", "read as s001"),
    ("davidj-final", "s002", "read as s002"),
    ("eve.dave", "s001", "read as s001"),  # the longest key that starts or ends the name wins
    ("dave", "s001", ""),
    ("davey", None, ""),  # a longer word is not the login
    ("s003-dave", None, "could be any of s001, s003"),  # two students' keys, as long: no guess
])
def test_file_and_folder_names_match_loosely(tmp_path, name, student, note):
    match = roster(tmp_path, PLAIN).match(name, loose=True)
    assert (match.student.id if match.student else None) == student
    assert note in match.note


def test_a_flat_file_becomes_its_roster_student(tmp_path):
    r = roster(tmp_path, PLAIN)
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(ROOT / "release" / ASSIGNMENT / "gradient_descent.ipynb", flat / "dave-hw1.ipynb")
    shutil.copy(ROOT / "release" / ASSIGNMENT / "gradient_descent.ipynb", flat / f"{ASSIGNMENT}-eve.ipynb")
    shutil.copy(ROOT / "release" / ASSIGNMENT / "gradient_descent.ipynb", flat / "zed.ipynb")
    subs = {s.path.name: s for s in collect_submissions([str(flat)], KNOWN, roster=r)}
    assert (subs["dave-hw1.ipynb"].student, subs["dave-hw1.ipynb"].on_roster) == ("s001", True)
    assert subs["dave-hw1.ipynb"].layout_student == "dave-hw1"
    assert (subs[f"{ASSIGNMENT}-eve.ipynb"].student, subs[f"{ASSIGNMENT}-eve.ipynb"].layout_assignment) == \
        ("s003", ASSIGNMENT)
    assert (subs["zed.ipynb"].student, subs["zed.ipynb"].on_roster) == ("zed", False)
    without = {s.path.name: s.student for s in collect_submissions([str(flat)], KNOWN)}
    assert without == {"dave-hw1.ipynb": "dave-hw1", f"{ASSIGNMENT}-eve.ipynb": "eve", "zed.ipynb": "zed"}


@pytest.mark.parametrize("path, expected", [
    ("flat/alice-gradient_descent.ipynb", ("alice", ASSIGNMENT, "file")),
    ("flat/01-gradient-descent-bob.ipynb", ("bob", ASSIGNMENT, "file")),
    ("flat/carol_02-linear-regression.ipynb", ("carol", "02-linear-regression", "file")),
    ("repos/01-gradient-descent-dan/gradient_descent.ipynb", ("dan", ASSIGNMENT, "classroom")),
    ("course/submitted/erin/01-gradient-descent/x.ipynb", ("erin", ASSIGNMENT, "nbgrader")),
])
def test_layout_names_tell_the_rule(path, expected):
    name = layout_name(Path("/data") / path, KNOWN)
    assert (name.student, name.assignment, name.rule) == expected


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("student,grade\nx,1\n", "neither GitHub Classroom's"),
    ("id,name,email,login\n,No Id,,\n", "line 2: no id"),
    ("identifier,github_username,github_id,name\n,octo,1,X\n", "line 2: no identifier"),
    ("id,name,email,login\ns1,A,a@x.org,alice\ns2,B,b@x.org,ALICE\n", "line 3: 'alice' is already line 2's"),
    ("id,name,email,login\ns1,A,not-an-email,alice\n", "'not-an-email' is not an email address"),
])
def test_a_bad_roster_names_the_line(tmp_path, text, message):
    with pytest.raises(RosterError) as caught:
        roster(tmp_path, text)
    assert message in str(caught.value)


def test_an_unreadable_roster_is_a_usage_error(tmp_path):
    with pytest.raises(RosterError, match="cannot be read"):
        read_roster(tmp_path / "missing.csv")
    (tmp_path / "latin1.csv").write_bytes("id,name\ns1,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(RosterError, match="not a UTF-8 CSV"):
        read_roster(tmp_path / "latin1.csv")
