"""Write docs/checks.md, the reference of mlgrader.checks, from its docstrings.

    python scripts/checks_reference.py           write docs/checks.md
    python scripts/checks_reference.py --check   exit 1 when docs/checks.md is not current

The rendering is mlgrader.authoring.checks_reference's; run this after editing a docstring.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # this checkout's mlgrader, before any installed one

from mlgrader.authoring.checks_reference import DOC_PATH, render  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the file is not current")
    args = parser.parse_args()
    path, text = ROOT / DOC_PATH, render()
    if args.check:
        current = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"{DOC_PATH}: {'up to date' if current else 'stale: run python scripts/checks_reference.py'}")
        return 0 if current else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
