"""The ``mlgrader`` command: parses arguments, calls one function, prints.

Exit status: 0 success (for ``grade``: a grade was produced, however low); 1 the command
ran and found a problem (stale build, failed validation, a batch with errors); 2 bad
input or usage (no such file or assignment, unreadable bundle).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def _cmd_build(args) -> int:
    from .authoring import AuthoringError
    from .build import BuildError, build

    try:
        report = build(Path(args.root), args.assignments or None, check=args.check)
    except (AuthoringError, BuildError) as exc:
        print(f"mlgrader build: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, AuthoringError) else EXIT_PROBLEM
    if args.json:
        print(json.dumps(report.__dict__, indent=1))
    if args.check:
        if report.stale:
            print("mlgrader build --check: stale generated files (run `mlgrader build`):", file=sys.stderr)
            for rel in report.stale:
                print(f"  {rel}", file=sys.stderr)
            return EXIT_PROBLEM
        return EXIT_OK
    if args.verbose:
        for rel in report.written:
            print(f"wrote {rel}")
        for rel in report.removed:
            print(f"removed {rel}")
    return EXIT_OK


def _cmd_grade(args) -> int:
    from .bundle import BundleError
    from .grade import SubmissionError, grade_notebook
    from .sandbox import SandboxError

    try:
        result = grade_notebook(Path(args.submission), args.assignment, Path(args.autograder), mode=args.sandbox)
    except (SubmissionError, BundleError, SandboxError) as exc:
        print(f"mlgrader grade: {exc}", file=sys.stderr)
        return EXIT_USAGE
    fmt = "json" if args.json else args.format
    if fmt == "json":
        print(result.to_json())
    elif fmt == "gradescope":
        print(json.dumps(result.to_gradescope(), indent=1))
    else:
        print(result.summary_text())
    if args.feedback:
        from .report import write_feedback

        write_feedback(result, Path(args.feedback))
    return EXIT_OK


def _cmd_validate(args) -> int:
    from .validate import print_table, validate

    report = validate(Path(args.root), args.assignments or None, mode=args.sandbox,
                      autograder_dir=Path(args.root) / "autograder")
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print_table(report)
    return EXIT_OK if report.ok else EXIT_PROBLEM


def _cmd_grade_batch(args) -> int:
    from .batch import grade_batch

    return grade_batch(args)


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
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("validate", help="prove each assignment's tests",
                       description="Grade each solution (must score full marks), each student release "
                                   "(every graded test must fail) and each known-wrong variant (must lose "
                                   "points with the expected message); print a table.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--root", default=".", help="course directory (default: .)")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("grade", help="grade one notebook",
                       description="Grade one submitted notebook in a sandboxed kernel. Exit 0 whenever "
                                   "a grade was produced, however low.")
    p.add_argument("submission", metavar="SUBMISSION.ipynb")
    p.add_argument("--assignment", help="default: read from the notebook's metadata")
    p.add_argument("--autograder", default="autograder", help="folder of bundles (default: ./autograder)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--format", choices=["text", "json", "gradescope"], default="text")
    p.add_argument("--feedback", metavar="FILE.html", help="also write HTML feedback for the student")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None,
                   help="default: bubblewrap where it works, else subprocess ($MLGRADER_SANDBOX)")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("grade-batch", help="grade many notebooks in parallel",
                       description="Grade every notebook under the given folders or globs; write "
                                   "grades.csv and per-student feedback.")
    p.add_argument("paths", nargs="+", metavar="DIR_OR_GLOB")
    p.add_argument("--assignment", help="default: read from each notebook's metadata")
    p.add_argument("--autograder", default="autograder", help="folder of bundles (default: ./autograder)")
    p.add_argument("--workers", type=int, default=None, help="parallel graders (default: CPU count)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", default="grades", help="output folder (default: ./grades)")
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "subprocess"], default=None)
    p.add_argument("--json", action="store_true", help="print every result as JSON lines")
    p.add_argument("--no-cache", dest="no_cache", action="store_true", help="neither read nor write the resume cache")
    p.add_argument("--force", action="store_true", help="regrade everything, then refresh the cache")
    p.add_argument("--gradebook", metavar="DB_URL",
                   help="also record grades in an nbgrader gradebook, e.g. sqlite:///gradebook.db")
    p.set_defaults(func=_cmd_grade_batch)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("mlgrader: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
