"""Known-wrong variants: ``solutions/<assignment>/variants.toml``, read and applied.

Each variant is one common student mistake: the solution with one exercise cell edited
(``find``/``replace``, or the cell's whole ``source``), the tests that must lose points
(``lose``) and a phrase the feedback of one of them must contain (``message``). ``needs``
marks a mistake that only shows on a machine with (``gpu``) or without (``no-gpu``) a
CUDA GPU. See docs/authoring.md.
"""

from __future__ import annotations

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


NEEDS = ("gpu", "no-gpu")


def load_variants(path: Path) -> list[Variant]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise VariantError(f"{path}: {exc}") from None
    variants = []
    for number, item in enumerate(data.get("variant", []), start=1):
        try:
            variant = Variant(
                name=item["name"], cell=item["cell"], lose=tuple(item["lose"]),
                message=item.get("message", ""), notebook=item.get("notebook"),
                find=item.get("find"), replace=item.get("replace"), source=item.get("source"),
                needs=item.get("needs"),
            )
        except KeyError as exc:
            raise VariantError(f"{path}: variant {number} lacks {exc}") from None
        if variant.source is None and (variant.find is None or variant.replace is None):
            raise VariantError(f"{path}: variant {variant.name} needs find and replace, or source")
        if variant.needs not in (None, *NEEDS):
            raise VariantError(f"{path}: variant {variant.name}: needs must be one of {', '.join(NEEDS)}")
        variants.append(variant)
    return variants


def apply_variant(nb: nbformat.NotebookNode, variant: Variant) -> nbformat.NotebookNode:
    """A copy of the solution notebook with the variant's edit made."""
    edited = nbformat.from_dict(nb)
    cells = [c for c in edited.cells if grade_id_of(c) == variant.cell]
    if len(cells) != 1:
        raise VariantError(f"variant {variant.name}: no single cell with grade_id {variant.cell!r}")
    cell = cells[0]
    if variant.source is not None:
        cell.source = variant.source
    else:
        count = cell.source.count(variant.find)
        if count != 1:
            raise VariantError(f"variant {variant.name}: the text to find occurs {count} times in cell {variant.cell}")
        cell.source = cell.source.replace(variant.find, variant.replace)
    return edited

