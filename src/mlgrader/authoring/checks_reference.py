"""docs/checks.md, the reference of :mod:`mlgrader.checks`, made from its docstrings.

Whatever ``mlgrader.checks`` exports (its ``__all__``, else its public names defined under
``mlgrader.checks``, whether that is a module or a package) gets a section: the signature,
then the docstring turned into Markdown (````code```` into `code`, ``:func:`x``` into `x`,
``Example::`` blocks into fenced Python, indented ``name: text`` items into a list).
``scripts/checks_reference.py`` writes the file; ``tests/test_checks_reference.py`` fails
when a public name has no docstring, a parameter is not named in its docstring, a check
has no example, or the file is not what this module makes.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass

MODULE = "mlgrader.checks"
DOC_PATH = "docs/checks.md"
GENERATOR = "scripts/checks_reference.py"

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):\s+(.*)$")


@dataclass(frozen=True)
class Entry:
    """One public name of the checks: what the reference says of it."""

    name: str
    kind: str  # function | class
    signature: str
    doc: str  # the docstring, cleaned (inspect.getdoc), "" when there is none
    parameters: tuple[str, ...]  # the names a caller passes (none for a class)


def public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        # a package's public names are those its own modules define, not what it imported
        names = [n for n in dir(module) if not n.startswith("_")
                 and str(getattr(getattr(module, n), "__module__", "")).startswith(module.__name__)]
    return sorted(names, key=lambda n: (not n.startswith("check_"), n.lower()))


def entries(module_name: str = MODULE) -> list[Entry]:
    module = importlib.import_module(module_name)
    return [_entry(name, getattr(module, name)) for name in public_names(module)]


def _entry(name: str, obj) -> Entry:
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj):
        bases = ", ".join(b.__name__ for b in obj.__bases__ if b is not object)
        return Entry(name, "class", f"class {name}({bases})" if bases else f"class {name}", doc, ())
    signature = inspect.signature(obj)
    params = tuple(p.name for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
    return Entry(name, "function", f"{name}{_signature_text(signature)}", doc, params)


def _signature_text(signature: inspect.Signature) -> str:
    """The signature with annotations as written (``from __future__ import annotations`` keeps
    them as strings, which inspect would quote)."""
    parts, star_done = [], False
    for p in signature.parameters.values():
        if p.kind == p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind == p.VAR_POSITIONAL:
            star_done = True
        text = ("*" if p.kind == p.VAR_POSITIONAL else "**" if p.kind == p.VAR_KEYWORD else "") + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
        parts.append(text)
    out = f"({', '.join(parts)})"
    if signature.return_annotation is not signature.empty:
        out += f" -> {_annotation(signature.return_annotation)}"
    return out


def _annotation(annotation) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def markdown(doc: str) -> str:
    """A docstring as Markdown: literals and roles as code, ``Example::`` blocks fenced,
    indented ``name: text`` items (an ``Attributes:`` section) as a list."""
    out: list[str] = []
    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            head = line.rstrip()[:-2].rstrip()
            out.append(_inline(head + ":") if head else "")
            block, i = _indented_block(lines, i + 1)
            out += ["", "```python", *block, "```", ""]
            continue
        if line.startswith(" ") and line.strip():
            block, i = _indented_block(lines, i)
            if out and out[-1].startswith(("* ", "- ")):  # the rest of a list item: Markdown's continuation
                out += ["  " + b for b in block]
            else:  # a list of its own, apart from the paragraphs around it
                out += ["", *_items(block), ""]
            continue
        out.append(_inline(line))
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _indented_block(lines: list[str], start: int) -> tuple[list[str], int]:
    """The indented lines from ``start`` (blank lines inside kept), dedented; the next index."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    block = []
    while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
        block.append(lines[i])
        i += 1
    while block and not block[-1].strip():
        block.pop()
    indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
    return [b[indent:] for b in block], i


def _items(block: list[str]) -> list[str]:
    out: list[str] = []
    for line in block:
        match = _ITEM.match(line.strip())
        if match:
            out.append(f"- `{match.group(1)}`: {_inline(match.group(2))}")
        elif out:
            out[-1] += " " + _inline(line.strip())
        else:
            out.append(_inline(line.strip()))
    return out


def _inline(text: str) -> str:
    return _LITERAL.sub(r"`\1`", _ROLE.sub(r"`\1`", text))


def render(module_name: str = MODULE) -> str:
    """The whole of docs/checks.md."""
    module = importlib.import_module(module_name)
    items = entries(module_name)
    parts = [f"# `{module_name}`: the checks tests use",
             "",
             f"<!-- Made by `python {GENERATOR}` from the docstrings of {module_name}; do not edit it here: "
             "edit the docstrings and run that again (tests/test_checks_reference.py checks it is current). -->",
             "",
             markdown(inspect.getdoc(module) or ""),
             "",
             "| name | what it is |",
             "|---|---|"]
    parts += [f"| [`{e.name}`](#{e.name.lower()}) | {_inline(_first_sentence(e.doc))} |" for e in items]
    for e in items:
        parts += ["", f"## {e.name}", "", "```python", e.signature, "```", "", markdown(e.doc)]
    return "\n".join(parts).rstrip() + "\n"


def _first_sentence(doc: str) -> str:
    first = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    return first.replace("|", "\\|")
