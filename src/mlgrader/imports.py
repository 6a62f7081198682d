"""Keeping slow optional imports out of the grader's processes.

jsonschema (imported by nbformat) imports checkers for string formats ("iri", "duration",
"color", ...) that no notebook schema uses: nbformat validates without a format checker.
One of them, rfc3987_syntax, compiles a grammar when imported: 1.0-1.2 s of every process
that reads a notebook here (a third of a `mlgrader grade`, and most of a batch's process
server's start); isoduration brings in arrow; the others were 40 ms more.

Importing this module skips them, before anything imports nbformat: the command line
imports it first, and the batch's process server, which only imports the modules named in
its preload list, gets it as the first of them. The student's kernel never imports it.
"""

from __future__ import annotations

import sys

FORMAT_ONLY_MODULES = ("rfc3987_syntax", "isoduration", "rfc3986_validator", "rfc3339_validator", "uri_template",
                       "webcolors", "fqdn")


def skip_slow_optional_imports() -> None:
    """Make jsonschema's optional format checkers unimportable in this process.

    jsonschema skips a format checker whose module cannot be imported; None in
    sys.modules makes the import fail. A module already imported is left as it is.
    """
    for name in FORMAT_ONLY_MODULES:
        sys.modules.setdefault(name, None)


skip_slow_optional_imports()
