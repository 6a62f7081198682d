"""The ``mlgrader`` command: parses arguments, calls one function, prints.

This is the only module that prints or chooses an exit status. Exit status: 0 success
(for ``grade``: a grade was produced, however low); 1 the command ran and found a problem
(stale build, failed validation, a batch with errors, a grade whose --summary file could
not be written); 2 bad input or usage (no such file
or assignment, unreadable bundle, a broken variants.toml).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .imports import skip_slow_optional_imports

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
SANDBOX_HELP = "default: bubblewrap where it works, else subprocess ($MLGRADER_SANDBOX)"


def _error(command: str, message: object) -> None:
    print(f"mlgrader {command}: {message}", file=sys.stderr)


def _config(args):
    from .config import GradingConfig

    return GradingConfig.from_env(sandbox=getattr(args, "sandbox", None))


class _ProgressBar:
    """A rich progress bar on stderr (the :class:`mlgrader.batch.executors.Progress` of the
    command line), silent when stderr is not a terminal."""

    def __init__(self, verb: str):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        console = Console(stderr=True)
        rate = TextColumn("{task.fields[rate]}")
        self._progress = Progress(TextColumn(verb), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), rate,
                                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                  # labels come from folder names and variants: never rich markup
                                  TextColumn("{task.description}", markup=False), console=console,
                                  transient=True, disable=not console.is_terminal)
        self._task = None

    def __enter__(self) -> "_ProgressBar":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def start(self, total: int) -> None:
        self._task = self._progress.add_task("", total=total, rate="")
        self._started = time.monotonic()

    def advance(self, label: str) -> None:
        if self._task is not None:
            done = self._progress.tasks[0].completed + 1
            per_hour = 3600 * done / max(time.monotonic() - self._started, 1e-9)
            self._progress.update(self._task, advance=1, description=label, rate=f"{per_hour:,.0f}/h")


class _CtrlC:
    """Ctrl-C as a flag that long jobs check where they can stop cleanly; a second press interrupts at once.

    A KeyboardInterrupt raised wherever the signal lands can be swallowed (in a weakref
    callback, say) or tear a file in half; the batch checks the flag between grades instead.
    """

    def __enter__(self):
        self._pressed = threading.Event()
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self._pressed.is_set

    def _handle(self, number, frame) -> None:
        self._pressed.set()
        signal.signal(signal.SIGINT, self._previous)

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self._previous)


# --- build -----------------------------------------------------------------------------------


def _cmd_build(args) -> int:
    from .authoring.build import build
    from .authoring.errors import AuthoringError, BuildError

    try:
        report = build(Path(args.root), args.assignments or None, check=args.check)
    except AuthoringError as exc:
        _error("build", exc)
        return EXIT_USAGE
    except BuildError as exc:
        _error("build", exc)
        return EXIT_PROBLEM
    if args.json:
        print(json.dumps(report.__dict__, indent=1))
    if args.check and report.stale:
        print("mlgrader build --check: stale generated files (run `mlgrader build`):", file=sys.stderr)
        for rel in report.stale:
            print(f"  {rel}", file=sys.stderr)
        return EXIT_PROBLEM
    if args.verbose and not args.json:
        for rel in report.written:
            print(f"wrote {rel}")
        for rel in report.removed:
            print(f"removed {rel}")
    if not (args.quiet or args.json):
        for line in report.summary_lines():
            print(line)
    return EXIT_OK


# --- grade -----------------------------------------------------------------------------------


def _cmd_grade(args) -> int:
    from .bundle import BundleError
    from .config import ConfigError
    from .grading import grade_folder, grade_notebook
    from .sandbox.limits import SandboxError

    submission = Path(args.submission)
    grade = grade_folder if submission.is_dir() else grade_notebook
    try:
        result = grade(submission, args.assignment, Path(args.autograder), _config(args))
    except (BundleError, SandboxError, ConfigError) as exc:
        _error("grade", exc)
        return EXIT_USAGE
    fmt = "json" if args.json else args.format
    if fmt == "json":
        print(result.to_json())
    elif fmt == "gradescope":
        print(json.dumps(result.to_gradescope(), indent=1))
    elif fmt == "classroom":
        print(result.classroom_value())
    elif fmt == "markdown":
        print(result.to_markdown(), end="")
    else:
        print(result.summary_text())
    if args.feedback:
        from .report import write_feedback

        write_feedback(result, Path(args.feedback))
    if args.summary:
        # Appended, not replaced: a job summary collects every notebook of the run.
        try:
            with open(args.summary, "a", encoding="utf-8") as summary:
                summary.write(result.to_markdown() + "\n")
        except OSError as exc:  # the grade was printed; say why the summary is missing
            _error("grade", f"could not append the summary to {args.summary}: {exc.strerror or exc}")
            return EXIT_PROBLEM
    return EXIT_OK


# --- check ---------------------------------------------------------------------------------


def _cmd_check(args) -> int:
    from .bundle import BundleError
    from .config import ConfigError
    from .grading.public_checks import check_notebook
    from .results import feedback_text
    from .sandbox.limits import SandboxError

    try:
        checked = check_notebook(Path(args.notebook), args.assignment, _config(args))
    except (BundleError, SandboxError, ConfigError) as exc:
        _error("check", exc)
        return EXIT_USAGE
    if args.json:
        print(checked.result.to_json())
        return EXIT_OK
    print(feedback_text(checked.result))
    print(f"public checks only ({checked.bundles}): the final grade also runs hidden tests")
    return EXIT_OK


# --- validate --------------------------------------------------------------------------------


def _cmd_validate(args) -> int:
    from .authoring.errors import AuthoringError
    from .config import ConfigError
    from .validate import StaleBuildError, VariantError, validate
    from .validate.report import show_text

    try:
        with _ProgressBar("validating") as progress:
            report = validate(Path(args.root), args.assignments or None, _config(args),
                              autograder_dir=Path(args.root) / "autograder", progress=progress, only=args.show,
                              mutants=args.mutants)
    except StaleBuildError as exc:
        _error("validate", exc)
        return EXIT_PROBLEM
    except (VariantError, ConfigError, AuthoringError) as exc:
        _error("validate", exc)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    elif args.show:
        print("\n\n".join(show_text(case) for case in report.cases))
    else:
        _print_validation_table(report)
    return EXIT_OK if report.ok else EXIT_PROBLEM


def _print_validation_table(report) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .validate.report import TABLE_WIDTH, detail_lines, table_rows

    rows, details = table_rows(report)
    table = Table(title="mlgrader validate", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for column in ("assignment", "notebook", "case", "score", "ok"):
        table.add_column(column, overflow="fold")
    style = {"yes": "[green]yes[/]", "NO": "[red]NO[/]", "skip": "[yellow]skip[/]", "survived": "[red]survived[/]"}
    for r in rows:  # names come from folders and variants.toml: never rich markup
        table.add_row(escape(r.assignment), escape(r.notebook), escape(r.case), r.score,
                      f"{style[r.verdict]} {escape(r.note)}".rstrip())
    terminal = Console()
    console = Console(width=min(terminal.width, TABLE_WIDTH) if terminal.is_terminal else TABLE_WIDTH)
    console.print(table)
    # Details are plain text below the table (no markup: they quote student-facing messages),
    # whole: a terminal wraps them, a CI log keeps each on its lines.
    for line in detail_lines(details):
        print(line)
    if details:
        print("the whole feedback of one case: mlgrader validate ASSIGNMENT --show CASE (solution, stub, a variant)")


# --- grade-batch -----------------------------------------------------------------------------


def _cmd_grade_batch(args) -> int:
    """Exit 0 when every submission got a grade (even 0), 1 when some could only be recorded
    as errors (or the gradebook could not be written), 2 on bad arguments."""
    from .batch import BatchOptions, BatchUsageError, run_batch
    from .batch.run import summary_lines
    from .config import ConfigError

    def emit(row) -> None:
        if args.json:
            print(json.dumps(row.json_record()), flush=True)

    try:
        with _CtrlC() as pressed, _ProgressBar("grading") as progress:
            options = BatchOptions(paths=tuple(args.paths), out=Path(args.out), autograder=Path(args.autograder),
                                   assignment=args.assignment, workers=args.workers, scheduler=args.scheduler,
                                   config=_config(args), use_cache=not args.no_cache, force=args.force,
                                   should_stop=pressed, roster=_path(args.roster),
                                   course_config=_path(args.course_config),
                                   classroom_grades=tuple(Path(p) for p in args.classroom_grades),
                                   templates=Path(args.templates) if args.templates else None,
                                   student=args.student, gradebook=args.gradebook)
            report = run_batch(options, emit, progress)
    except (BatchUsageError, ConfigError) as exc:
        _error("grade-batch", exc)
        return EXIT_USAGE
    rows = report.rows
    stream = sys.stderr if args.json else sys.stdout  # with --json, stdout carries only the JSON lines
    for line in summary_lines(report, options.out):
        print(line, file=stream)
    if report.gradebook_error:
        _error("grade-batch", report.gradebook_error)
        return EXIT_PROBLEM
    if report.gradebook is not None:
        written = report.gradebook
        print(f"recorded {written.recorded} grades in {args.gradebook}"
              + (f"; points graders gave read back for {written.manual_rows}" if written.manual_rows else ""),
              file=stream)
        if written.formgrader_copies:
            print(f"formgrader shows {len(written.formgrader_copies)} notebooks from the course's autograded/",
                  file=stream)
    return EXIT_PROBLEM if any(r.status != "graded" for r in rows) else EXIT_OK


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


# --- export ----------------------------------------------------------------------------------

EXPORT_DESCRIPTION = """\
Write a file an LMS imports from the last `grade-batch` in a grades folder: one total per
student and assignment (all its notebooks, after late penalties; manual points from
--gradebook in place of the autograder's; a test awaiting a grader counts 0 and is named
in the warnings; nothing handed in leaves the cell empty, which the LMS leaves as it was).

formats:
  canvas  Canvas's gradebook CSV, for Grades > Import: Student, ID, SIS User ID,
          SIS Login ID, Section, one column per assignment ("<title> (<canvas id>)" when
          mlgrader.toml gives the Canvas id, so that the import updates that assignment),
          and a Points Possible row.
  moodle  Moodle's grade import CSV, for Grades > Import > CSV file: one identifier
          column (Email address, or ID number with --moodle-id idnumber) to map to that
          user field, and one column per assignment to map to a grade item.
  csv     A wide CSV for spreadsheets and scripts: one row per student; per assignment the
          final total, max, raw score, penalty, lateness, submission time, status and
          pending count, then one column per test.
"""


def _cmd_export(args) -> int:
    from .batch import BatchUsageError
    from .batch.exports import ExportOptions, export

    try:
        written = export(ExportOptions(args.format, Path(args.grades), _path(args.out), _path(args.roster),
                                       _path(args.course_config), Path(args.autograder), tuple(args.assignment or ()),
                                       args.moodle_id, args.gradebook))
    except BatchUsageError as exc:
        _error("export", exc)
        return EXIT_USAGE
    print(f"wrote {written.path} ({written.format}): {written.students} student{'s' if written.students != 1 else ''}, "
          f"{', '.join(written.assignments) or 'no assignments'}")
    for warning in written.warnings:
        print(f"  warning  {warning}", file=sys.stderr)
    return EXIT_OK


# --- import ----------------------------------------------------------------------------------


def _cmd_import(args) -> int:
    """Exit 0 when everything was written, 1 when something cannot be carried (nothing written), 2 on bad usage."""
    from .authoring.importing.model import ImportUsageError
    from .authoring.importing.run import import_course

    try:
        report = import_course([Path(p) for p in args.paths], args.assignment, Path(args.root))
    except ImportUsageError as exc:
        _error("import", exc)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    if not report.ok:
        for problem in report.problems:
            _error("import", f"not carried: {problem.line()}")
        print(f"mlgrader import: nothing was written ({len(report.problems)} problem"
              f"{'s' if len(report.problems) != 1 else ''})", file=sys.stderr)
        return EXIT_PROBLEM
    if not args.json:
        for nb in report.notebooks:
            print(f"imported {nb['from']} ({report.format}) -> solutions/{nb['assignment']}/{nb['notebook']}.py: "
                  f"{nb['automatic_points']:g} points by tests, {nb['staff_points']:g} by staff")
        for note in report.notes:
            print(f"  note: {note}")
        assignments = sorted({nb["assignment"] for nb in report.notebooks})
        print(f"next: mlgrader build {' '.join(assignments)} && mlgrader validate {' '.join(assignments)}")
    return EXIT_OK


# --- preview ---------------------------------------------------------------------------------


def _cmd_preview(args) -> int:
    from .authoring.errors import AuthoringError
    from .bundle import BundleError
    from .config import ConfigError
    from .sandbox.limits import SandboxError
    from .validate import StaleBuildError
    from .validate.preview import preview

    try:
        made = preview(Path(args.root), args.assignment, _path(args.out), _config(args))
    except StaleBuildError as exc:
        _error("preview", exc)
        return EXIT_PROBLEM
    except (AuthoringError, BundleError, SandboxError, ConfigError) as exc:
        _error("preview", exc)
        return EXIT_USAGE
    for pair in made.pairs:
        print(f"{made.assignment}/{pair.notebook}: release {made.folder / pair.release}, "
              f"stub's feedback {made.folder / pair.feedback} ({pair.score})")
    print(f"side by side: {made.index}")
    return EXIT_OK


# --- new -------------------------------------------------------------------------------------


def _cmd_new(args) -> int:
    from .authoring.errors import AuthoringError
    from .authoring.scaffold import new_assignment

    try:
        made = new_assignment(Path(args.root), args.assignment, args.copy_from)
    except AuthoringError as exc:
        _error("new", exc)
        return EXIT_USAGE
    for rel in made.written:
        print(f"wrote {rel}" + (f" (from {made.copied_from})" if made.copied_from else ""))
    print(f"next: mlgrader build {made.assignment} && mlgrader validate {made.assignment}")
    return EXIT_OK


# --- the parser ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mlgrader",
        description="Autograded exercises and tamper-proof grading for machine-learning courses.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="solutions/ -> source/ -> release/ -> autograder/",
                       description="Generate nbgrader source notebooks, student releases (through "
                                   "nbgrader generate_assignment) and autograder bundles from solutions/.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 and name each stale file")
    p.add_argument("--root", default=".", help="course directory (default: .)")
    p.add_argument("--json", action="store_true", help="print what was written or is stale as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="name each file written")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("validate", help="prove each assignment's tests",
                       description="Grade each solution (must score full marks), each student release "
                                   "(every graded test must fail) and each known-wrong variant (must lose "
                                   "points with the expected message); print a table.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--root", default=".", help="course directory (default: .)")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None, help=SANDBOX_HELP)
    p.add_argument("--json", action="store_true",
                   help="print the results as JSON (each case's whole detail and grade, messages unclipped)")
    p.add_argument("--show", metavar="CASE",
                   help="grade only this case (solution, stub, or a variant's name) and print the whole "
                        "feedback a student would get for it")
    p.add_argument("--mutants", action="store_true",
                   help="also grade automatic mutants of every solution region (one typical mistake each) "
                        "and list the survivors; each assignment must kill 90%% of its applicable mutants")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("grade", help="grade one notebook",
                       description="Grade one submitted notebook in a sandboxed kernel. Exit 0 whenever "
                                   "a grade was produced, however low.")
    p.add_argument("submission", metavar="SUBMISSION.ipynb",
                   help="a notebook, or a folder holding one (as on Gradescope): the notebook named as in "
                        "the bundle is graded, else the only one carrying the assignment's metadata")
    p.add_argument("--assignment", help="default: read from the notebook's metadata")
    p.add_argument("--autograder", default="autograder", help="folder of bundles (default: ./autograder)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--format", choices=["text", "json", "gradescope", "classroom", "markdown"], default="text",
                   help="gradescope: Gradescope's results.json (hidden tests shown after the due date); "
                        "classroom: base64 of GitHub Classroom's result JSON (the reporter's <ID>_RESULTS); "
                        "markdown: a table for a job summary")
    p.add_argument("--feedback", metavar="FILE.html", help="also write HTML feedback for the student")
    p.add_argument("--summary", metavar="FILE.md",
                   help="also append the markdown table to FILE.md (e.g. $GITHUB_STEP_SUMMARY)")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None, help=SANDBOX_HELP)
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("check", help="run a notebook's public checks, as a student's run does",
                       description="Grade a notebook with the public checks only (the tests students see, no "
                                   "hidden test), in the same sandbox and with the same messages as grading. The "
                                   "public bundle is .mlgrader/autograder in the notebook's folder or above (a "
                                   "student's repository), else classroom/<assignment>/.mlgrader/autograder of the "
                                   "course. Exit 0 whenever a grade was produced, however low.")
    p.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    p.add_argument("--assignment", help="default: read from the notebook's metadata")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object (as grade --json)")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None, help=SANDBOX_HELP)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("grade-batch", help="grade many notebooks in parallel",
                       description="Grade every notebook under the given folders or globs; write "
                                   "grades.csv and per-student feedback.")
    p.add_argument("paths", nargs="+", metavar="DIR_OR_GLOB")
    p.add_argument("--assignment", help="default: read from each notebook's metadata")
    p.add_argument("--autograder", default="autograder", help="folder of bundles (default: ./autograder)")
    p.add_argument("--workers", type=int, default=None, help="parallel graders (default: one more than the CPUs)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", default="grades", help="output folder (default: ./grades)")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None, help=SANDBOX_HELP)
    p.add_argument("--json", action="store_true", help="print every result as JSON lines")
    p.add_argument("--no-cache", dest="no_cache", action="store_true", help="neither read nor write the resume cache")
    p.add_argument("--force", action="store_true", help="regrade everything, then refresh the cache")
    p.add_argument("--gradebook", metavar="DB_URL",
                   help="also record grades, submission times, due dates and late penalties in an nbgrader "
                        "gradebook, e.g. sqlite:///gradebook.db")
    p.add_argument("--roster", metavar="CSV",
                   help="class list: GitHub Classroom's roster export or id,name,email,login (default: the "
                        "course config's roster)")
    p.add_argument("--course-config", dest="course_config", metavar="TOML",
                   help="deadlines, late policies, extensions (default: mlgrader.toml beside the autograder folder)")
    p.add_argument("--templates", metavar="DIR",
                   help="the course's classroom/ folder, whose templates the students' repositories came from: "
                        "grades.csv's tamper column names what a repository changed of the workflow, the "
                        "requirements, the wheel, the public bundle or read-only cells (default: classroom/ "
                        "beside the autograder folder)")
    p.add_argument("--classroom-grades", dest="classroom_grades", metavar="CSV", action="append", default=[],
                   help="GitHub Classroom's grades CSV (gh classroom assignment-grades): its submission times "
                        "(repeatable)")
    p.add_argument("--student", metavar="ID",
                   help="regrade this student only (roster id, login or folder name); keep everyone else's "
                        "grades from the last batch in --out")
    p.set_defaults(func=_cmd_grade_batch)

    p = sub.add_parser("export", help="write a file an LMS imports (Canvas, Moodle, a wide CSV)",
                       description=EXPORT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--format", required=True, choices=["canvas", "moodle", "csv"], help="see formats above")
    p.add_argument("--grades", default="grades", help="the grade-batch --out folder (default: ./grades)")
    p.add_argument("--out", metavar="FILE", help="default: canvas.csv, moodle.csv or wide.csv in the grades folder")
    p.add_argument("--roster", metavar="CSV", help="default: the roster the batch used")
    p.add_argument("--course-config", dest="course_config", metavar="TOML",
                   help="assignment titles and Canvas ids (default: mlgrader.toml beside the autograder folder)")
    p.add_argument("--autograder", default="autograder", help="folder of bundles (default: ./autograder)")
    p.add_argument("--assignment", action="append", metavar="ID", help="only these assignments (repeatable)")
    p.add_argument("--moodle-id", dest="moodle_id", choices=["email", "idnumber"], default="email",
                   help="moodle: the identifier column (default: email)")
    p.add_argument("--gradebook", metavar="DB_URL",
                   help="count the manual scores graders entered in this nbgrader gradebook (formgrader)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("preview", help="the student's view: the release notebook beside a stub's feedback",
                       description="Write into one folder the release notebook(s) of ASSIGNMENT (.ipynb, and .html "
                                   "where nbconvert is installed), the HTML feedback an untouched release notebook "
                                   "gets when graded, and index.html with the two side by side; print where. "
                                   "Refuses (exit 1) a build older than its solution sources.")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--root", default=".", help="course directory (default: .)")
    p.add_argument("--out", metavar="DIR", help="default: .mlgrader-cache/preview/ASSIGNMENT in the course")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None, help=SANDBOX_HELP)
    p.set_defaults(func=_cmd_preview)

    p = sub.add_parser("new", help="start an assignment: solutions/ASSIGNMENT/ that builds and validates",
                       description="Write solutions/ASSIGNMENT/<notebook>.py and variants.toml: one exercise, a "
                                   "test with public and hidden checks, one known-wrong variant, with comments that "
                                   "teach the format. They build and validate as they are. Refuses (exit 2) when "
                                   "solutions/ASSIGNMENT exists.")
    p.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment id, e.g. 07-knn (letters, digits, . - _)")
    p.add_argument("--from", dest="copy_from", metavar="EXISTING",
                   help="copy this assignment's solution sources, variants.toml and files/ instead")
    p.add_argument("--root", default=".", help="course directory (default: .)")
    p.set_defaults(func=_cmd_new)

    try:
        from .authoring.importing import FORMAT_HELP  # a few constants: no heavy import at start
    except ModuleNotFoundError:  # a course's wheel, without the instructor's commands
        FORMAT_HELP = "nbgrader or otter-grader"

    p = sub.add_parser("import", help="an nbgrader or otter-grader assignment -> solutions/",
                       description="Turn nbgrader source notebooks (a notebook, or a source/<assignment>/ folder) "
                                   "or otter-grader master notebooks into solutions/<assignment>/<notebook>.py, "
                                   "manually graded answers and the files beside the notebooks included. The "
                                   f"format is told per notebook: {FORMAT_HELP}. Anything that cannot be carried "
                                   "is named with its notebook and cell, and then nothing is written (exit 1).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a notebook, or a folder of notebooks")
    p.add_argument("--assignment", help="assignment id (default: nbgrader's folder name; otter's config name, "
                                        "else the master's folder name)")
    p.add_argument("--root", default=".", help="course directory to write solutions/ in (default: .)")
    p.add_argument("--json", action="store_true", help="print what was imported (or why not) as JSON")
    p.set_defaults(func=_cmd_import)
    return top


def _exit_without_teardown(code: int) -> None:
    """End a finished single grade at once, output flushed.

    Its kernel is stopped and its folders removed before the grade is printed; what is left
    is the interpreter's own teardown (a garbage collection over ~600 modules, then each
    module's dict): 0.1-0.2 s of every `mlgrader grade`, a tenth of it, in a student's CI.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    skip_slow_optional_imports()  # before anything imports nbformat (see mlgrader.imports)
    try:
        args = parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
    except KeyboardInterrupt:
        print("mlgrader: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        # A full install has every module of mlgrader; one missing is a package that a
        # course's wheel leaves out (see mlgrader.authoring.targets.wheel.INSTRUCTOR_ONLY).
        if not (exc.name or "").startswith("mlgrader."):
            raise
        print(f"mlgrader: `{args.command}` is an instructor's command; this mlgrader was installed from a "
              "course's wheel, which carries only what students and graders run (install mlgrader from its "
              "repository to build, import or validate assignments)", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `mlgrader ... | head` closed our stdout: stop quietly, as Unix tools do, and keep
        # Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    if args.func is _cmd_grade and argv is None:  # the command itself, not a caller of main()
        _exit_without_teardown(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
