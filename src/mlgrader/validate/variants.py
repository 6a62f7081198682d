"""Known-wrong variants: ``solutions/<assignment>/variants.toml``, read and applied.

Each variant is one common student mistake: the solution with one exercise cell edited
(``find``/``replace``, or the cell's whole ``source``), the tests that must lose points
(``lose``) and a phrase the feedback of one of them must contain (``message``). ``needs``
marks a mistake that only shows on a machine with (``gpu``) or without (``no-gpu``) a
CUDA GPU. See docs/authoring.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..grading.submission import grade_id_of


class VariantError(ValueError):
    """variants.toml is malformed or does not fit the solution."""


@dataclass(frozen=True)
class Variant:
    name: str
    cell: str
    lose: tuple[str, ...]
    message: str = ""
    notebook: str | None = None
    find: str | None = None
    replace: str | None = None
    source: str | None = None
    needs: str | None = None  # "gpu" or "no-gpu": the mistake only shows on such a machine
    where: str = ""  # "path/variants.toml:LINE" of its [[variant]] header: errors name it
    find_where: str = ""  # the same for its find = line, where an unfound text is reported

    @property
    def label(self) -> str:
        """What an error about this variant starts with: its file and line, and its name."""
        return f"{self.where}: variant {self.name}" if self.where else f"variant {self.name}"


NEEDS = ("gpu", "no-gpu")
_VARIANT_HEADER = re.compile(r"^\s*\[\[\s*variant\s*\]\]")
_TOML_LINE = re.compile(r"\(at line (\d+)")


def _header_lines(text: str) -> list[int]:
    """The 1-based line of each ``[[variant]]`` header, in order (the order tomllib reads them)."""
    return [number for number, line in enumerate(text.splitlines(), start=1) if _VARIANT_HEADER.match(line)]


def load_variants(path: Path) -> list[Variant]:
    """The variants of ``path`` (none when it does not exist); raises :class:`VariantError`
    with one line that starts ``file:line:``."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _TOML_LINE.search(str(exc))
        raise VariantError(f"{path}:{line.group(1) if line else 1}: not valid TOML: {exc}") from None
    items = data.get("variant", [])
    lines = _header_lines(text)
    if len(lines) != len(items):  # [[variant]] written some other way: name the file only
        return [_variant(item, str(path), str(path), number) for number, item in enumerate(items, start=1)]
    ends = [*lines[1:], len(text.splitlines()) + 1]
    return [_variant(item, f"{path}:{line}", f"{path}:{_key_line(text, 'find', line, end) or line}", number)
            for number, (item, line, end) in enumerate(zip(items, lines, ends), start=1)]


def _key_line(text: str, key: str, start: int, end: int) -> int | None:
    """The line of ``key = ...`` between lines ``start`` and ``end`` (1-based, end excluded)."""
    pattern = re.compile(rf"^\s*{key}\s*=")
    return next((n for n, line in enumerate(text.splitlines()[start - 1:end - 1], start=start) if pattern.match(line)),
                None)


def _variant(item: dict, where: str, find_where: str, number: int) -> Variant:
    try:
        variant = Variant(
            name=item["name"], cell=item["cell"], lose=tuple(item["lose"]),
            message=item.get("message", ""), notebook=item.get("notebook"),
            find=item.get("find"), replace=item.get("replace"), source=item.get("source"),
            needs=item.get("needs"), where=where, find_where=find_where,
        )
    except KeyError as exc:
        raise VariantError(f"{where}: variant {number} lacks {exc}") from None
    if variant.source is None and (variant.find is None or variant.replace is None):
        raise VariantError(f"{variant.label}: needs find and replace, or source")
    if variant.needs not in (None, *NEEDS):
        raise VariantError(f"{variant.label}: needs must be one of {', '.join(NEEDS)}")
    return variant


def apply_variant(nb: nbformat.NotebookNode, variant: Variant) -> nbformat.NotebookNode:
    """A copy of the solution notebook with the variant's edit made."""
    edited = nbformat.from_dict(nb)
    cells = [c for c in edited.cells if grade_id_of(c) == variant.cell]
    if len(cells) != 1:
        raise VariantError(f"{variant.label}: no single cell with grade_id {variant.cell!r}")
    cell = cells[0]
    if variant.source is not None:
        cell.source = variant.source
    else:
        count = cell.source.count(variant.find)
        if count != 1:
            at = f"{variant.find_where}: variant {variant.name}" if variant.find_where else variant.label
            raise VariantError(f"{at}: the text to find occurs {count} times in cell {variant.cell}")
        cell.source = cell.source.replace(variant.find, variant.replace)
    return edited

