"""Due dates and late policies: the written form (header, manifest, mlgrader.toml) and the arithmetic."""

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from mlgrader.authoring.autograder import autograder_bundles
from mlgrader.authoring.errors import AuthoringError
from mlgrader.authoring.solution import read_solution
from mlgrader.batch.course import CourseConfigError, read_course_config
from mlgrader.batch.layouts import Submission
from mlgrader.batch.lateness import student_deadline
from mlgrader.bundle import BundleError, bundle_hash, load_bundle
from mlgrader.deadlines import DeadlineError, LatePolicy, assess, parse_deadline, parse_policy

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01-gradient-descent"
BERLIN = "Europe/Berlin"
DUE = {"due": "2026-10-01T23:59", "timezone": BERLIN}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def deadline(**late):
    return parse_deadline({**DUE, "late": late} if late else DUE, "test")


@pytest.mark.parametrize("late, submitted, score, penalty, flag", [
    ({"policy": "per-day", "percent": 10}, "2026-10-01T23:59:00+02:00", 8, 0.0, ""),  # on the minute: on time
    ({"policy": "per-day", "percent": 10}, "2026-10-02T00:00:01+02:00", 8, 0.8, ""),  # one second: one started day
    ({"policy": "per-day", "percent": 10}, "2026-10-03T00:00:00+02:00", 8, 1.6, ""),  # a day and a minute: two
    ({"policy": "per-day", "percent": 10, "grace": "15m"}, "2026-10-02T00:10:00+02:00", 8, 0.0, "forgiven"),
    ({"policy": "per-day", "percent": 10, "grace": "15m"}, "2026-10-02T00:20:00+02:00", 8, 0.8, ""),
    ({"policy": "per-hour", "percent": 5}, "2026-10-02T02:30:00+02:00", 8, 1.2, ""),  # 2 h 31 min: 3 hours
    ({"policy": "per-day", "percent": 10}, "2026-10-05T00:00:00+02:00", 2, 2.0, ""),  # never more than scored
    ({"policy": "per-day", "percent": 10, "cutoff": "2d"}, "2026-10-04T00:00:00+02:00", 8, 8.0, "zeroed"),
    ({"policy": "cutoff", "cutoff": "2026-10-03T12:00"}, "2026-10-03T11:00:00+02:00", 8, 0.0, ""),
    ({"policy": "cutoff", "cutoff": "2026-10-03T12:00"}, "2026-10-03T12:01:00+02:00", 8, 8.0, "zeroed"),
    ({"policy": "none"}, "2026-10-09T00:00:00+02:00", 8, 0.0, ""),
])
def test_penalties_follow_the_policy(late, submitted, score, penalty, flag):
    d = deadline(**late)
    lateness = assess(d, d.late, at(submitted), score, 8)
    assert lateness.penalty == pytest.approx(penalty)
    assert lateness.forgiven == (flag == "forgiven") and lateness.zeroed == (flag == "zeroed")
    assert lateness.late == (at(submitted) > d.due)
    if lateness.late:
        assert "late" in lateness.note


def test_the_due_date_is_wall_time_in_its_zone_across_daylight_saving():
    winter = parse_deadline({"due": "2026-12-01T23:59", "timezone": BERLIN}, "t")
    summer = parse_deadline(DUE, "t")
    assert winter.due.utcoffset() == dt.timedelta(hours=1) and summer.due.utcoffset() == dt.timedelta(hours=2)
    offset = parse_deadline({"due": "2026-10-01T21:59Z"}, "t")
    assert offset.due == summer.due and offset.timezone == "UTC"


def test_extensions_move_the_due_date_and_an_absolute_cutoff_never_comes_before_it():
    d = deadline(policy="cutoff", cutoff="2026-10-02T23:59")
    later = d.extended("3d", "ext")
    assert later.due == d.due + dt.timedelta(days=3)
    assert d.extended("2026-10-05T12:00", "ext").due == at("2026-10-05T12:00:00+02:00")
    assert assess(later, later.late, at("2026-10-04T12:00:00+02:00"), 8, 8).penalty == 0  # before the extended due
    assert later.cutoff_at(later.late) == later.due


@pytest.mark.parametrize("options, message", [
    ({"due": "2026-10-01"}, "a date without a time"),
    ({"due": "2026-10-01T23:59"}, "has no time zone"),
    ({"due": "tomorrow", "timezone": "UTC"}, "is not a date-time"),
    ({"due": "2026-10-01T23:59", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({**DUE, "late": {"policy": "per-week"}}, "late policy 'per-week' is not one of"),
    ({**DUE, "late": {"policy": "per-day"}}, "needs percent between 0 and 100"),
    ({**DUE, "late": {"policy": "per-day", "percent": 10, "grace": "soon"}}, "'soon' is not a duration"),
    ({**DUE, "late": {"policy": "cutoff"}}, "policy cutoff needs cutoff"),
    ({**DUE, "late": {"policy": "none", "cutoff": "1d"}}, "policy none takes no cutoff"),
    ({**DUE, "late": {"policy": "none", "penalty": 3}}, "unknown late option(s) penalty"),
    ({"late": {"policy": "none"}}, "late needs a due date"),
])
def test_bad_deadlines_say_what_is_wrong(options, message):
    with pytest.raises(DeadlineError, match=None) as caught:
        parse_deadline(options, "solutions/x.py: header")
    assert message in str(caught.value) and str(caught.value).startswith("solutions/x.py: header")


def test_a_policy_round_trips_through_its_written_form():
    policy = parse_policy({"policy": "per-hour", "percent": 2.5, "grace": "1h30m", "cutoff": "2d"}, "t")
    assert policy == LatePolicy("per-hour", 2.5, dt.timedelta(minutes=90), "2d")
    assert parse_policy(policy.to_json(), "t") == policy
    assert "2.5% of the points per started hour late" in policy.describe()


# --- the header, the bundle, the course config ------------------------------------------------


def solution_with(tmp_path: Path, header: str) -> Path:
    source = (ROOT / "solutions" / ASSIGNMENT / "gradient_descent.py").read_text()
    marker = f"#     assignment: {ASSIGNMENT}\n"
    assert marker in source
    path = tmp_path / "solutions" / ASSIGNMENT / "gradient_descent.py"
    path.parent.mkdir(parents=True)
    path.write_text(source.replace(marker, marker + header))
    return path


def test_the_header_due_date_reaches_the_bundle_and_grading_reads_it_from_there(tmp_path):
    path = solution_with(tmp_path, '#     due: "2026-10-01T23:59"\n#     timezone: Europe/Berlin\n'
                                   "#     late: {policy: per-day, percent: 10, grace: 15m}\n")
    spec = read_solution(path)
    assert spec.deadline.due == at("2026-10-01T23:59:00+02:00")
    files = autograder_bundles([spec])
    manifest = json.loads(files[f"autograder/{ASSIGNMENT}/manifest.json"])
    assert manifest["deadline"] == {"due": "2026-10-01T23:59:00", "timezone": BERLIN,
                                    "late": {"policy": "per-day", "percent": 10, "grace": "15m"}}
    bundle_dir = tmp_path / "autograder" / ASSIGNMENT
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    shutil.rmtree(tmp_path / "solutions")  # grading needs no solutions/
    bundle = load_bundle(bundle_dir)
    assert bundle.deadline == spec.deadline


def test_a_new_due_date_does_not_invalidate_grades(tmp_path):
    bundle_dir = tmp_path / ASSIGNMENT
    shutil.copytree(ROOT / "autograder" / ASSIGNMENT, bundle_dir)
    before = bundle_hash(bundle_dir)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    (bundle_dir / "manifest.json").write_text(json.dumps({**manifest, "deadline": DUE}, indent=1, sort_keys=True) + "\n")
    assert load_bundle(bundle_dir).deadline.timezone == BERLIN
    assert bundle_hash(bundle_dir) == before  # penalties are worked out again each batch; grades stay
    (bundle_dir / "manifest.json").write_text(json.dumps({**manifest, "deadline": {"due": "someday"}}))
    with pytest.raises(BundleError, match="deadline: due"):
        load_bundle(bundle_dir)


def test_a_bad_header_deadline_fails_the_build_naming_the_file(tmp_path):
    path = solution_with(tmp_path, '#     due: "2026-10-01"\n')
    with pytest.raises(AuthoringError, match=r"gradient_descent.py:\d+: header: due: 2026-10-01 is a date without a time"):
        read_solution(path)


def config(tmp_path: Path, text: str):
    path = tmp_path / "mlgrader.toml"
    path.write_text(text)
    return read_course_config(path)


def test_course_config_overrides_the_header_and_extends_one_student(tmp_path):
    bundle = load_bundle(ROOT / "autograder" / ASSIGNMENT)
    header = parse_deadline({**DUE, "late": {"policy": "per-day", "percent": 10}}, "header")
    bundle = type(bundle)(bundle.assignment, bundle.notebooks, bundle.seed, bundle.path, header)
    course = config(tmp_path, 'timezone = "Europe/Berlin"\n[late]\npolicy = "per-hour"\npercent = 1\n'
                              f'[assignments."{ASSIGNMENT}"]\nextensions = {{s042 = "2d"}}\n')
    alice = Submission(Path("a.ipynb"), "alice")
    resolved = student_deadline(ASSIGNMENT, bundle, course, alice)
    assert (resolved.deadline.due, resolved.policy.policy, resolved.source) == (header.due, "per-day", "solution header")
    extended = student_deadline(ASSIGNMENT, bundle, course, Submission(Path("b.ipynb"), "S042"))
    assert extended.deadline.due == header.due + dt.timedelta(days=2) and extended.original_due == header.due
    assert "extended for s042" in extended.source
    moved = config(tmp_path, f'timezone = "UTC"\n[assignments."{ASSIGNMENT}"]\ndue = 2026-10-02T12:00:00\n')
    resolved = student_deadline(ASSIGNMENT, bundle, moved, alice)
    assert resolved.deadline.due == at("2026-10-02T12:00:00+00:00") and resolved.source.endswith("mlgrader.toml")
    assert resolved.policy.policy == "per-day"  # the header's policy still applies to the moved date
    assert student_deadline(ASSIGNMENT, None, read_course_config(None), alice) is None


@pytest.mark.parametrize("text, message", [
    ("timezon = 'UTC'\n", "unknown key(s) timezon"),
    ("timezone = 'Berlin'\n", "timezone: unknown time zone 'Berlin'"),
    ("[late]\npolicy = 'per-day'\n", "[late]: policy per-day needs percent"),
    ("[assignments.x]\ndue = '2026-10-01T23:59'\n", "has no time zone"),
    ("[assignments.x]\ndue = '2026-10-01T23:59Z'\nextensions = {bob = 'next week'}\n", "extensions.bob"),
    ("[assignments.x]\ncanvas = 1\n", "unknown key(s) assignments.\"x\".canvas"),
    ("timezone = \n", "not valid TOML"),
])
def test_a_bad_course_config_names_the_file_and_the_key(tmp_path, text, message):
    with pytest.raises(CourseConfigError) as caught:
        config(tmp_path, text)
    assert message in str(caught.value) and str(tmp_path / "mlgrader.toml") in str(caught.value)
