"""`make demo`: the main job end to end, as an instructor runs it at the deadline.

1. `mlgrader build`: solutions/ -> source/, release/, autograder/ and the submission targets;
2. `mlgrader grade-batch examples/submissions --assignment 01-gradient-descent --out grades`:
   a small sample class (a correct
   notebook, an unfinished one, one with a mistake, one damaged in transit), each in its
   own sandboxed kernel, the hidden tests run by the grader;
3. the score table from grades.csv, and where the class report and each student's
   feedback page are (plain HTML: open them in any browser).
"""

import csv
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "submissions"
OUT = ROOT / "grades"
ASSIGNMENT = "01-gradient-descent"
MLGRADER = str(Path(sys.executable).parent / "mlgrader")


def main() -> int:
    console = Console()
    console.print("[bold]1. mlgrader build[/] (solutions/ -> source/, release/, autograder/, classroom/)")
    subprocess.run([MLGRADER, "build"], cwd=ROOT, check=True)
    console.print(f"[bold]2. mlgrader grade-batch {SAMPLES.relative_to(ROOT)} --assignment {ASSIGNMENT} "
                  f"--out {OUT.relative_to(ROOT)}[/]")
    # exit 1 means some row could only be recorded as an error: still a result to show
    proc = subprocess.run([MLGRADER, "grade-batch", str(SAMPLES), "--assignment", ASSIGNMENT, "--out", str(OUT),
                           "--workers", "2"], cwd=ROOT)
    if proc.returncode not in (0, 1):
        return proc.returncode
    table = Table(title="3. grades.csv")
    for column in ("student", "assignment", "score", "status", "why points were lost"):
        table.add_column(column, overflow="fold")
    with (OUT / "grades.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            table.add_row(row["student"], row["assignment"], f"{row['score']} / {row['max_score']}", row["status"],
                          row["reason"][:160])
    console.print(table)
    console.print(f"Class report:    {OUT / 'report.html'}")
    console.print(f"Feedback pages:  {OUT / 'feedback'}/<student>.html")
    console.print(f"Full results:    {OUT / 'results'}/<student>.json   (the `mlgrader grade --json` object)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
