"""Short text forms of numbers, shapes and arrays for check messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _format_number(x: Any) -> str:
    """Short text of one number: integers exactly, floats to 6 significant digits."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, (bool, int)):
        return str(x)
    if isinstance(x, (float, complex)):
        return format(x, ".6g")
    return repr(x)


def _format_shape(shape: Sequence[int | None]) -> str:
    """Shape as python writes a tuple, with ``any`` for wildcard (None) entries."""
    parts = ["any" if d is None else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _summarize_array(a: np.ndarray) -> str:
    """Short one-line text of an array: its shape and its first and last values."""
    if a.ndim == 0:
        return _format_number(a.item())
    formatter = {"float_kind": lambda v: format(v, ".6g"), "complex_kind": lambda v: format(v, ".6g")}
    text = np.array2string(a, separator=", ", threshold=8, edgeitems=3, formatter=formatter, max_line_width=10**6)
    text = " ".join(text.split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"shape {_format_shape(a.shape)}: {text}"


def _element_label(name: str, index: tuple[int, ...]) -> str:
    """How the element at ``index`` of ``name`` is written in python: ``xs[3]``."""
    if not index:
        return name
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def _short_repr(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


