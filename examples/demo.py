"""`make demo`: build the course, grade the sample submissions, print a score table.

Each sample in examples/submissions/ goes through the real command a CI job would run,
`mlgrader grade --json`, in a sandboxed kernel.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "submissions"
ASSIGNMENT = "01-gradient-descent"
MLGRADER = str(Path(sys.executable).parent / "mlgrader")


def main() -> int:
    console = Console(stderr=True)
    with console.status("mlgrader build"):
        subprocess.run([MLGRADER, "build"], cwd=ROOT, check=True)
    table = Table(title=f"Sample submissions of {ASSIGNMENT}")
    for column in ("submission", "score", "tests", "seconds", "notes"):
        table.add_column(column)
    for sample in sorted(SAMPLES.glob("*.ipynb")):
        started = time.monotonic()
        with console.status(f"grading {sample.name}"):
            proc = subprocess.run([MLGRADER, "grade", str(sample), "--assignment", ASSIGNMENT, "--json"],
                                  cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            table.add_row(sample.name, "-", "-", "-", proc.stderr.strip())
            continue
        result = json.loads(proc.stdout)
        tests = " ".join(f"{t['name']}:{t['status']}" for t in result["tests"])
        notes = "; ".join(result.get("messages", []))[:100]
        table.add_row(sample.name, f"{result['score']:g} / {result['max_score']:g}", tests,
                      f"{time.monotonic() - started:.1f}", notes)
    Console(width=max(Console().width, 160)).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
