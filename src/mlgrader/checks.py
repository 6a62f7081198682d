"""Checks that exercise tests use: tolerant comparisons, loss curves, accuracy, seeding.

Every check raises :class:`CheckFailure` (an ``AssertionError``) with a message written
for the student: what was expected, what was found, and the likely mistake.

The same code runs in two places:

* in the trusted grader process, where the values a test reads from the notebook are
  plain copies (python scalars, lists, numpy arrays, CPU torch tensors) or remote
  proxies for everything else (functions, models), and
* in the student's own notebook, where tensors may live on CUDA or MPS.

So nothing here knows about processes or kernels, and nothing relies on ``isinstance``
of notebook objects beyond numbers, arrays and tensors. ``torch`` is never imported
just to look at a value: a tensor can only exist once torch has been imported, so
``sys.modules`` tells us whether a value can be one. Only :func:`seed_everything`
imports torch itself.

Mistakes by the *test author* (a bad ``threshold``, an ``expected`` value that is not
numeric) raise ``ValueError``/``TypeError`` instead, so they are never blamed on the
student.

Every check takes ``name=``: what its message calls the value (``"xs"``,
``"df(x) on an array"``), so that the student knows which of their values is wrong. A
test stops at its first failing check, and that check's message is the test's feedback.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .seeding import seed_everything

__all__ = (
    "CheckFailure",
    "accuracy",
    "check_accuracy",
    "check_close",
    "check_equal",
    "check_finite",
    "check_loss_curve",
    "check_probabilities",
    "check_shape",
    "check_type",
    "seed_everything",
    "to_numpy",
)

# Name of the attribute through which the grader's remote proxies reveal the fully
# qualified class names of the object they stand for (its MRO, most derived first).
PROXY_TYPE_NAMES_ATTRIBUTE = "__mlgrader_type_names__"

# Short module aliases that course material uses in type names ("np.ndarray").
_MODULE_ALIASES = (("np.", "numpy."), ("nn.", "torch.nn."), ("F.", "torch.nn.functional."))

# Entries closer to 1 than this count as "sums to 1" in check_probabilities.
_PROBABILITY_ATOL = 1e-5

# Share of the loss curve averaged at each end, so that SGD noise in single steps
# does not decide whether training went down.
_LOSS_WINDOW_FRACTION = 0.1

# A relative change of the loss smaller than this is reported as "barely changed".
_LOSS_BARELY_CHANGED = 0.01


# --------------------------------------------------------------------------- failure


class CheckFailure(AssertionError):
    """A check did not pass; the message is meant for the student.

    Attributes:
        message: the complete text (problem and hint), the same as ``str(exc)``.
        problem: the text without the hint.
        expected: short text form of what was expected, or None.
        found: short text form of what was found, or None.
        hint: the likely mistake and what to try, or None.

    A test may raise it itself for a condition no check covers; the grader shows its
    message like a check's. Example::

        history = [0.9, 0.5, 0.3, 0.2, 0.15, 0.12, 0.1, 0.09, 0.08, 0.08]   # from the notebook
        if len(history) != 10:
            raise CheckFailure(f"history has {len(history)} entries, expected one per epoch (10)",
                               hint="append the loss once per epoch, after the inner loop")
    """

    def __init__(
        self,
        problem: str,
        *,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.expected = expected
        self.found = found
        self.hint = hint
        self.message = problem if not hint else f"{problem}\nHint: {hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        # Keyword-only arguments do not survive the default exception pickling.
        return (_rebuild_check_failure, (self.problem, self.expected, self.found, self.hint))

    def with_hint(self, hint: str | None) -> CheckFailure:
        """Return a copy of this failure with ``hint`` appended to its own hint."""
        if not hint:
            return self
        return CheckFailure(
            self.problem, expected=self.expected, found=self.found, hint=_join_hints(self.hint, hint)
        )


def _rebuild_check_failure(problem, expected, found, hint) -> CheckFailure:
    """Unpickle a CheckFailure (see ``CheckFailure.__reduce__``)."""
    return CheckFailure(problem, expected=expected, found=found, hint=hint)


def _join_hints(*hints: str | None) -> str | None:
    """Join the non-empty hints into one text, or None when there are none."""
    present = [h.strip() for h in hints if h and h.strip()]
    return " ".join(present) if present else None


# --------------------------------------------------------------------------- text forms


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


# --------------------------------------------------------------------------- type names


def _loaded_torch():
    """The torch module if something already imported it, else None (never imports it)."""
    return sys.modules.get("torch")


def _is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor, without importing torch."""
    torch = _loaded_torch()
    return torch is not None and isinstance(value, torch.Tensor)


def _proxy_type_names(value: Any) -> tuple[str, ...] | None:
    """The qualified class names a grader proxy reports, or None for a real object."""
    try:
        names = getattr(value, PROXY_TYPE_NAMES_ATTRIBUTE, None)
    except Exception:  # an odd __getattr__ must not break a check
        return None
    if isinstance(names, (tuple, list)) and names and all(isinstance(n, str) for n in names):
        return tuple(names)
    return None


def _type_names(value: Any) -> tuple[str, ...]:
    """Fully qualified names of the classes of ``value``, most derived first."""
    names = _proxy_type_names(value)
    if names is not None:
        return names
    return tuple(f"{cls.__module__}.{cls.__qualname__}" for cls in type(value).__mro__)


def _pretty_type_name(qualified: str) -> str:
    """``builtins.float`` -> ``float``; other names stay fully qualified."""
    if qualified.startswith("builtins."):
        return qualified[len("builtins.") :]
    return qualified


def _with_article(noun: str) -> str:
    """``noun`` with "a" or "an" in front."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _describe(value: Any) -> str:
    """A few words saying what ``value`` is: ``a function``, ``a list of 3 items``."""
    if value is None:
        return "None"
    names = _type_names(value)
    kind = _pretty_type_name(names[0])
    if _is_function_like(names):
        function_name = getattr(value, "__qualname__", None) if _proxy_type_names(value) is None else None
        return f"a function ({function_name})" if isinstance(function_name, str) else "a function"
    if _proxy_type_names(value) is not None:
        return f"{_with_article(kind)} object"
    if isinstance(value, bool):
        return f"a bool ({value})"
    if isinstance(value, (int, float, complex, np.number)):
        return f"a {kind} ({_format_number(value)})"
    if isinstance(value, str):
        return f"a str ({_short_repr(value, 60)})"
    if isinstance(value, np.ndarray) or _is_tensor(value):
        return f"a {kind} of shape {_format_shape(tuple(value.shape))}"
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {kind} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__} itself"
    return _with_article(kind)


def _is_function_like(names: Sequence[str]) -> bool:
    """Whether the most derived class in ``names`` is a kind of function."""
    function_types = {
        "builtins.function",
        "builtins.method",
        "builtins.builtin_function_or_method",
        "functools.partial",
    }
    return names[0] in function_types


# --------------------------------------------------------------------------- to_numpy


def to_numpy(value: Any, *, name: str = "value") -> np.ndarray:
    """Return ``value`` as a new numpy array: float64, int64 (also for bools) or complex128.

    Accepts python numbers, (nested) lists and tuples of them or of arrays/tensors,
    numpy arrays and scalars, and torch tensors on any device, with ``requires_grad``
    or in half precision. Raises :class:`CheckFailure` for anything that is not
    numeric (None, text, functions, models), naming ``name`` in the message.

    Example::

        to_numpy([[1, 2], [3, 4]], name="matrix")   # array([[1, 2], [3, 4]]), int64
    """
    if value is None:
        raise CheckFailure(
            f"{name} is None, expected numbers.",
            found="None",
            hint="Did you forget to return a value? (Or to assign the variable?)",
        )
    proxy_names = _proxy_type_names(value)
    if proxy_names is not None:
        raise _not_numeric_failure(value, proxy_names, name)
    if _is_tensor(value):
        return _tensor_to_numpy(value, name)
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            flat = _sequence_to_numpy(list(value.ravel()), name)
            return flat.reshape(value.shape + flat.shape[1:])
        return _with_standard_dtype(value, name)
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return _with_standard_dtype(np.asarray(value), name)
    if isinstance(value, (str, bytes)):
        raise _not_numeric_failure(value, _type_names(value), name)
    if isinstance(value, (list, tuple)):
        return _sequence_to_numpy(value, name)
    return _other_to_numpy(value, name)


def _not_numeric_failure(value: Any, names: Sequence[str], name: str) -> CheckFailure:
    """The failure for a value that cannot be numbers, with a hint fitting its type."""
    found = _pretty_type_name(names[0])
    is_proxy = _proxy_type_names(value) is not None
    if _is_function_like(names):
        hint = "Did you forget to call it, e.g. f(x) instead of f?"
    elif names[0] in ("builtins.generator", "builtins.map", "builtins.filter", "builtins.zip"):
        hint = "Turn it into a list first, e.g. list(...)."
    elif isinstance(value, (str, bytes)):
        hint = "Return the number itself, not its text (no str() or f-string around it)."
    elif any(n.startswith("torch.nn.") for n in names) or (callable(value) and not is_proxy):
        hint = "Did you mean to call it on the input (e.g. model(x)) and use the result?"
    else:
        hint = None
    return CheckFailure(f"{name} is {_describe(value)}, expected numbers.", found=found, hint=hint)


def _tensor_to_numpy(tensor: Any, name: str) -> np.ndarray:
    """A tensor on any device, with any dtype or grad, as a standard numpy array."""
    torch = _loaded_torch()
    if tensor.device.type == "meta":
        raise CheckFailure(f"{name} is a tensor on the 'meta' device, which holds no values.", found="meta tensor")
    try:
        t = tensor.detach()
        if t.is_quantized:
            t = t.dequantize()
        if t.layout != torch.strided:  # sparse tensors
            t = t.to_dense()
        # Move to the CPU before changing the dtype: MPS has no float64.
        t = t.to("cpu")
        if t.is_complex():
            t = t.to(torch.complex128)
        elif t.is_floating_point():  # float16 and bfloat16 have no (common) numpy twin
            t = t.to(torch.float64)
        elif t.dtype == torch.bool:
            t = t.to(torch.int64)
        arr = t.numpy(force=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CheckFailure(
            f"{name} is a {tensor.dtype} tensor on {tensor.device} that cannot be read as numbers ({exc}).",
            found=f"{tensor.dtype} tensor",
        ) from None
    return _with_standard_dtype(arr, name)


def _with_standard_dtype(arr: np.ndarray, name: str) -> np.ndarray:
    """Copy ``arr`` as float64, int64 or complex128, or fail if it is not numeric."""
    kind = arr.dtype.kind
    if kind == "f":
        return np.array(arr, dtype=np.float64)
    if kind in "iub":
        return np.array(arr, dtype=np.int64)
    if kind == "c":
        return np.array(arr, dtype=np.complex128)
    if kind in "US":
        example = f" ({_short_repr(arr.ravel()[0])})" if arr.size else ""
        raise CheckFailure(
            f"{name} contains text{example}, expected numbers.",
            found=f"{arr.dtype} array",
            hint="Store the numbers themselves, not their string form.",
        )
    try:  # e.g. ml_dtypes' bfloat16 arrays
        return np.array(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailure(f"{name} has dtype {arr.dtype}, expected numbers.", found=str(arr.dtype)) from None


def _needs_elementwise_conversion(item: Any) -> bool:
    """Items numpy cannot convert in bulk: tensors (CUDA, requires_grad) and proxies."""
    if isinstance(item, (int, float, complex, np.generic)):
        return False
    return _is_tensor(item) or _proxy_type_names(item) is not None


def _sequence_to_numpy(seq: Sequence[Any], name: str) -> np.ndarray:
    """A (nested) list or tuple of numbers, arrays or tensors as one array."""
    if len(seq) == 0:
        return np.zeros(0, dtype=np.float64)
    if not any(_needs_elementwise_conversion(item) for item in seq):
        try:
            arr = np.asarray(seq)
        except (TypeError, ValueError):  # ragged, or items numpy cannot read
            arr = None
        if arr is not None and arr.dtype.kind != "O":
            return _with_standard_dtype(arr, name)
    # Slow path, item by item: converts tensors and names the first bad item.
    parts = [to_numpy(item, name=f"{name}[{i}]") for i, item in enumerate(seq)]
    for i, part in enumerate(parts):
        if part.shape != parts[0].shape:
            raise CheckFailure(
                f"{name} is ragged: {name}[0] has shape {_format_shape(parts[0].shape)} "
                f"but {name}[{i}] has shape {_format_shape(part.shape)}.",
                hint="All items must have the same length to form an array.",
            )
    return _with_standard_dtype(np.stack(parts), name)


def _other_to_numpy(value: Any, name: str) -> np.ndarray:
    """Objects numpy may understand (``__array__``, ``__float__``), else a failure."""
    names = _type_names(value)
    if callable(value) and not hasattr(value, "__array__"):
        raise _not_numeric_failure(value, names, name)
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    if arr is not None and arr.dtype.kind != "O":
        return _with_standard_dtype(arr, name)
    try:
        return np.asarray(float(value))  # Decimal, Fraction, sympy numbers
    except Exception:
        raise _not_numeric_failure(value, names, name) from None


def _author_array(value: Any, what: str) -> np.ndarray:
    """``to_numpy`` for values the test author supplies: failures are TypeErrors."""
    try:
        return to_numpy(value, name=what)
    except CheckFailure as exc:
        raise TypeError(f"check misconfigured: {exc.problem}") from None


# --------------------------------------------------------------------------- shapes


def _shape_matches(found: tuple[int, ...], expected: Sequence[int | None]) -> bool:
    """Whether ``found`` fits ``expected``, where None matches any size."""
    return len(found) == len(expected) and all(e is None or f == e for f, e in zip(found, expected))


def _shape_mistake_hint(found: tuple[int, ...], expected: Sequence[int | None]) -> str | None:
    """Name the likely mistake behind a shape mismatch, or None when none is obvious."""
    if found == () and len(expected) > 0:
        return "Found a single number where an array was expected: did you keep only the last value instead of all of them?"
    if len(expected) == 0 and found != ():
        return "Expected a single number: reduce the array (e.g. .sum() or .mean()) or pick one element."
    if len(found) == len(expected):
        if len(found) >= 2 and _shape_matches(found[::-1], expected):
            return "The shape is transposed: did you swap rows and columns (e.g. a missing .T, or the operands of a matrix product in the wrong order)?"
        different = [i for i, (f, e) in enumerate(zip(found, expected)) if e is not None and f != e]
        if len(different) == 1 and abs(found[different[0]] - expected[different[0]]) == 1:
            axis = different[0]
            what = "length" if len(found) == 1 else f"size along axis {axis}"
            return (
                f"The {what} is off by one ({found[axis]} instead of {expected[axis]}): "
                "check the loop bounds / range(...), and whether the starting value is included."
            )
    squeezed_found = tuple(d for d in found if d != 1)
    squeezed_expected = tuple(d for d in expected if d != 1)
    if squeezed_found == squeezed_expected or _shape_matches(squeezed_found, squeezed_expected):
        return "Only axes of length 1 differ: use .squeeze(), .reshape(...) or keepdims to fix the number of axes."
    if None not in expected and math.prod(found) == math.prod(expected):
        return "Same number of elements arranged differently: check your reshape / view."
    return None


def _shape_failure(name: str, found: tuple[int, ...], expected: Sequence[int | None], extra: str = "") -> CheckFailure:
    """The failure for a wrong shape, with the likely mistake as hint."""
    return CheckFailure(
        f"{name} has shape {_format_shape(found)}, expected {_format_shape(expected)}.{extra}",
        expected=_format_shape(expected),
        found=_format_shape(found),
        hint=_shape_mistake_hint(found, expected),
    )


def _shape_of(value: Any, name: str) -> tuple[int, ...]:
    """Shape of ``value`` without copying arrays and tensors."""
    if isinstance(value, np.ndarray) or _is_tensor(value):
        return tuple(int(d) for d in value.shape)
    return to_numpy(value, name=name).shape


def check_shape(actual: Any, shape: int | Sequence[int | None], *, name: str = "value") -> None:
    """Fail unless ``actual`` has ``shape``; None entries in ``shape`` match any size.

    ``actual`` is anything :func:`to_numpy` takes (a list, an array, a tensor); ``shape``
    is an int (one dimension) or a sequence. The message names the likely mistake where
    the shapes tell it (a transposed matrix, a missing or extra dimension).

    Example::

        check_shape(np.zeros((32, 10)), (None, 10), name="logits")  # any batch size, 10 classes
    """
    expected = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(d is None or isinstance(d, (int, np.integer)) for d in expected):
        raise ValueError(f"check_shape: shape must hold ints or None, got {shape!r}")
    found = _shape_of(actual, name)
    if not _shape_matches(found, expected):
        raise _shape_failure(name, found, expected)


# --------------------------------------------------------------------------- finite


def _non_finite_failure(name: str, a: np.ndarray, bad: np.ndarray, expected: np.ndarray | None = None) -> CheckFailure:
    """The failure for NaN/inf at the positions ``bad`` of ``a``."""
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if a.ndim else ()
    value = _format_number(a[first])
    where = _element_label(name, first)
    text = f"{name} contains {value} at {where}"
    if expected is not None:
        text += f" where {_format_number(expected[first])} was expected"
    count = int(bad.sum())
    if a.size > 1:
        text += f" ({count} of {a.size} elements are NaN or infinite)"
    return CheckFailure(
        text + ".",
        expected="finite numbers" if expected is None else _summarize_array(expected),
        found=_summarize_array(a),
        hint="The computation diverged: learning rate too large? Or an invalid operation such as log(0), 0/0 or sqrt of a negative number.",
    )


def check_finite(actual: Any, *, name: str = "value") -> None:
    """Fail if ``actual`` contains NaN or infinity.

    ``actual`` is anything :func:`to_numpy` takes. The message says where the first bad
    value is and suggests the usual causes (a learning rate too large, log(0), 0/0).

    Example::

        check_finite(np.array([0.5, 0.25]), name="the weights after training")
    """
    a = to_numpy(actual, name=name)
    bad = ~np.isfinite(a)
    if bad.any():
        raise _non_finite_failure(name, a, bad)


# --------------------------------------------------------------------------- close


def _comparable(a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The two arrays ready for elementwise comparison, or None if their shapes differ.

    A single number compares equal to a one-element array (``loss`` vs ``loss.reshape(1)``):
    that difference rarely matters and check_shape exists when it does.
    """
    if a.shape == e.shape:
        return a, e
    if a.size == 1 and e.size == 1:
        return a.reshape(()), e.reshape(())
    return None


def _as_comparable_numbers(arr: np.ndarray) -> np.ndarray:
    """``arr`` as float (or complex), so that differences of ints and bools work."""
    return arr if arr.dtype.kind in "fc" else arr.astype(np.float64)


def _is_close_to(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> bool:
    pair = _comparable(a, e)
    if pair is None:
        return False
    return bool(np.allclose(_as_comparable_numbers(pair[0]), _as_comparable_numbers(pair[1]), rtol=rtol, atol=atol, equal_nan=True))


def _matching_mistake(a: np.ndarray, mistakes: Mapping[str, Any] | None, rtol: float, atol: float) -> str | None:
    """The description of the first known mistake whose value ``a`` matches, or None."""
    for description, wrong_value in (mistakes or {}).items():
        wrong = _author_array(wrong_value, f"mistakes[{description!r}]")
        if _is_close_to(a, wrong, rtol, atol):
            return description
    return None


def _looks_like(mistake: str | None) -> str:
    """The line naming a recognised mistake, or "" when there is none."""
    return f"\nThis looks like: {mistake.rstrip('.')}." if mistake else ""


def _value_mistake_hint(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> str | None:
    """Recognise common patterns in wrong values: sign, constant factor, shift, zeros."""
    if np.iscomplexobj(a) or np.iscomplexobj(e):
        return None
    e_nonzero = np.abs(e) > atol
    if not e_nonzero.any():
        return None
    if np.allclose(a, -e, rtol=rtol, atol=atol):
        return "The values have the opposite sign: a sign error (e.g. adding the gradient instead of subtracting it)?"
    if not np.any(a):
        return "The values are all zero: was the result actually computed and stored?"
    if e_nonzero.sum() >= 2:
        factor = float(np.median(a[e_nonzero] / e[e_nonzero]))
        if factor != 0 and not math.isclose(factor, 1, rel_tol=rtol) and np.allclose(a, factor * e, rtol=rtol, atol=atol):
            return (
                f"Every value is {factor:.4g} times the expected one: a missing or extra constant factor "
                "(e.g. sum instead of mean, a forgotten 1/N or 2, or the learning rate)?"
            )
    if a.ndim == 1 and a.size >= 3:
        if np.allclose(a[1:], e[:-1], rtol=rtol, atol=atol) or np.allclose(a[:-1], e[1:], rtol=rtol, atol=atol):
            return "The values are shifted by one position: off by one in the indexing (e.g. storing the value before instead of after the update)?"
    return None


def _mismatch_failure(name: str, a: np.ndarray, e: np.ndarray, close: np.ndarray, rtol: float, atol: float, mistake: str | None) -> CheckFailure:
    """The failure for finite values that differ: first and largest difference."""
    diff = np.abs(a - e)
    diff = np.where(close, 0.0, diff)
    first = tuple(int(i) for i in np.argwhere(~close)[0]) if a.ndim else ()
    worst = np.unravel_index(int(np.argmax(diff)), a.shape) if a.ndim else ()
    count = int((~close).sum())
    if a.ndim == 0:
        lines = [f"{name} is {_format_number(a.item())}, expected {_format_number(e.item())} (difference {_format_number(diff.item())})."]
    else:
        lines = [
            f"{name} does not match the expected values: {count} of {a.size} elements differ.",
            f"  first difference at {_element_label(name, first)}: expected {_format_number(e[first])}, found {_format_number(a[first])}",
            f"  max abs difference {_format_number(diff[worst])} at {_element_label(name, worst)}: "
            f"expected {_format_number(e[worst])}, found {_format_number(a[worst])}",
        ]
    lines.append(f"  (tolerance: rtol={rtol:g}, atol={atol:g})")
    hint = None if mistake else _value_mistake_hint(a, e, rtol, atol)
    return CheckFailure(
        "\n".join(lines) + _looks_like(mistake),
        expected=_summarize_array(e),
        found=_summarize_array(a),
        hint=hint,
    )


def check_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    name: str = "value",
    mistakes: Mapping[str, Any] | None = None,
    hint: str | None = None,
) -> None:
    """Fail unless ``actual`` equals ``expected`` within ``|a - e| <= atol + rtol * |e|``.

    Works for numbers, sequences, arrays and tensors alike, whatever their device or
    dtype. ``actual`` is the student's value and ``expected`` the right one; their shapes
    must match. ``rtol`` (relative, default 1e-5) and ``atol`` (absolute, default 1e-8) are
    the tolerances, as in ``numpy.isclose``; the message states them. ``mistakes`` maps a
    description of a common mistake to the (wrong) value that mistake produces; when
    ``actual`` matches one (within the same tolerances), the message names it ("This looks
    like: ..."). Otherwise the message may say what the values suggest on its own: the
    opposite sign, all zeros, a constant factor, a shift by one. ``hint`` is added to
    every failure.

    Example::

        xs = 0.8 ** np.arange(11)   # the student's iterates
        check_close(xs, 0.8 ** np.arange(11), name="xs", mistakes={
            "added the gradient instead of subtracting it (wrong sign)": 1.2 ** np.arange(11),
        }, hint="x_n = x_(n-1) - alpha * f'(x_(n-1))")
    """
    try:
        _compare_close(actual, expected, rtol=rtol, atol=atol, name=name, mistakes=mistakes)
    except CheckFailure as exc:
        raise exc.with_hint(hint) from None


def _compare_close(actual, expected, *, rtol, atol, name, mistakes) -> None:
    """check_close without the author's hint: raise the first failure found."""
    e_raw = _author_array(expected, f"expected value of {name}")
    a_raw = to_numpy(actual, name=name)
    pair = _comparable(a_raw, e_raw)
    if pair is None:
        mistake = _matching_mistake(a_raw, mistakes, rtol, atol)
        raise _shape_failure(name, a_raw.shape, e_raw.shape, _looks_like(mistake))
    a, e = (_as_comparable_numbers(x) for x in pair)
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    mistake = _matching_mistake(a, mistakes, rtol, atol)
    non_finite = ~np.isfinite(a) & ~close
    if non_finite.any():
        failure = _non_finite_failure(name, a, non_finite, e)
        raise CheckFailure(failure.problem + _looks_like(mistake), expected=failure.expected, found=failure.found, hint=failure.hint)
    raise _mismatch_failure(name, a, e, close, rtol, atol, mistake)


# --------------------------------------------------------------------------- equal


def _first_sequence_difference(actual: Sequence[Any], expected: Sequence[Any]) -> int | None:
    """Index of the first differing item of two sequences, or None."""
    for i, (x, y) in enumerate(zip(actual, expected)):
        if not _plain_equal(x, y):
            return i
    return None


def _plain_equal(x: Any, y: Any) -> bool:
    """``x == y`` as a bool, treating comparisons that fail or are ambiguous as unequal."""
    try:
        return bool(x == y)
    except Exception:
        return False


def _text_hint(actual: str, expected: str) -> str | None:
    if actual.strip() == expected.strip():
        return "The text differs only in leading/trailing whitespace."
    if actual.lower() == expected.lower():
        return "The text differs only in upper/lower case."
    return None


def check_equal(actual: Any, expected: Any, *, name: str = "value", hint: str | None = None) -> None:
    """Fail unless ``actual == expected`` exactly (ints, strings, tuples, arrays, tensors).

    ``actual`` is the student's value, ``expected`` the right one; no tolerance (use
    :func:`check_close` for floats). Arrays and tensors must have the same shape and
    values. Text that differs only in case or surrounding whitespace is said so; ``hint``
    is added to every failure.

    Example::

        predicted_class = int(np.argmax([0.1, 0.2, 0.1, 0.6]))   # the student's value
        check_equal(predicted_class, 3, name="the predicted class", hint="argmax over the last axis")
    """
    try:
        _compare_equal(actual, expected, name)
    except CheckFailure as exc:
        raise exc.with_hint(hint) from None


def _compare_equal(actual: Any, expected: Any, name: str) -> None:
    """check_equal without the author's hint."""
    if any(isinstance(v, np.ndarray) or _is_tensor(v) for v in (actual, expected)):
        _compare_arrays_exactly(actual, expected, name)
        return
    if _plain_equal(actual, expected):
        return
    found, wanted = _short_repr(actual), _short_repr(expected)
    if actual is None:
        raise CheckFailure(f"{name} is None, expected {wanted}.", expected=wanted, found="None", hint="Did you forget to return a value?")
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        if type(actual) is not type(expected) and list(actual) == list(expected):
            raise CheckFailure(
                f"{name} has the right items but is a {type(actual).__name__}, expected a {type(expected).__name__}.",
                expected=wanted,
                found=found,
                hint=f"Convert it with {type(expected).__name__}(...).",
            )
        if len(actual) != len(expected):
            raise CheckFailure(f"{name} has {len(actual)} items, expected {len(expected)}: {name} is {found}, expected {wanted}.", expected=wanted, found=found)
        i = _first_sequence_difference(actual, expected)
        if i is not None:
            raise CheckFailure(
                f"{name} is {found}, expected {wanted}: first difference at {name}[{i}], "
                f"expected {_short_repr(expected[i])}, found {_short_repr(actual[i])}.",
                expected=wanted,
                found=found,
            )
    text_hint = _text_hint(actual, expected) if isinstance(actual, str) and isinstance(expected, str) else None
    raise CheckFailure(f"{name} is {found}, expected {wanted}.", expected=wanted, found=found, hint=text_hint)


def _compare_arrays_exactly(actual: Any, expected: Any, name: str) -> None:
    """Exact elementwise equality of arrays or tensors, with shape check."""
    e = _author_array(expected, f"expected value of {name}")
    a = to_numpy(actual, name=name)
    if a.shape != e.shape:
        raise _shape_failure(name, a.shape, e.shape)
    equal = a == e
    if equal.all():
        return
    first = tuple(int(i) for i in np.argwhere(~equal)[0]) if a.ndim else ()
    raise CheckFailure(
        f"{name} differs from the expected values in {int((~equal).sum())} of {a.size} elements: "
        f"first at {_element_label(name, first)}, expected {_format_number(e[first])}, found {_format_number(a[first])}.",
        expected=_summarize_array(e),
        found=_summarize_array(a),
    )


# --------------------------------------------------------------------------- types


def _normalise_type_name(typename: str) -> str:
    """Expand module aliases: ``np.ndarray`` -> ``numpy.ndarray``."""
    typename = typename.strip()
    for alias, module in _MODULE_ALIASES:
        if typename.startswith(alias):
            return module + typename[len(alias) :]
    return typename


def _class_name_matches(qualified: str, wanted: str) -> bool:
    """Whether the class ``qualified`` (``module.qualname``) is what ``wanted`` names.

    ``wanted`` may be the exact name, a short class name (``Module``), or a public
    re-export (``torch.nn.Module`` for ``torch.nn.modules.module.Module``).
    """
    if qualified == wanted:
        return True
    class_name = qualified.rsplit(".", 1)[-1]
    if "." not in wanted:
        return class_name == wanted
    prefix, wanted_class = wanted.rsplit(".", 1)
    return class_name == wanted_class and qualified.startswith(prefix + ".")


def _type_matches(names: Sequence[str], wanted: str) -> bool:
    """Whether any class in ``names`` is the type ``wanted`` names."""
    if wanted in ("int", "builtins.int") and names[0] in ("builtins.bool", "numpy.bool", "numpy.bool_"):
        return False  # True is an int to python, but almost never the int a test wants
    return any(_class_name_matches(qualified, wanted) for qualified in names)


def _type_hint(value: Any, names: Sequence[str], wanted: Sequence[str]) -> str | None:
    """The likely mistake behind returning a ``names[0]`` where ``wanted`` was expected."""
    found = names[0]
    if value is None:
        return "Did you forget to return a value? (Or to assign the variable?)"
    if found in ("builtins.bool", "numpy.bool", "numpy.bool_") and any(w in ("int", "builtins.int") for w in wanted):
        return "A comparison gives True/False; count or convert with int(...) or sum(...)."
    if found == "builtins.type":
        return "Did you pass the class itself instead of an instance? Create one, e.g. MyModel()."
    if "callable" in wanted:
        return "Pass the function itself, without calling it (f, not f(...))."
    if _is_function_like(names):
        return "Did you forget to call it?"
    if any(w in ("float", "int", "builtins.float", "builtins.int") for w in wanted):
        if any(n in ("torch.Tensor", "numpy.ndarray") for n in names) or found.startswith("numpy."):
            return "Convert it to a python number with .item() (or float(...) / int(...))."
    if any(_class_name_matches("numpy.ndarray", w) for w in wanted) and "torch.Tensor" in names:
        return "Convert the tensor with .detach().cpu().numpy()."
    if any(_class_name_matches("torch.Tensor", w) for w in wanted):
        if "numpy.ndarray" in names or found in ("builtins.list", "builtins.tuple"):
            return "Convert it with torch.tensor(...) or torch.from_numpy(...)."
    if any(_class_name_matches("numpy.ndarray", w) for w in wanted) and found in ("builtins.list", "builtins.tuple"):
        return "Convert it with np.array(...)."
    return None


def check_type(value: Any, typename: str | Sequence[str], *, name: str = "value") -> None:
    """Fail unless ``value`` is an instance of the class ``typename`` names.

    ``typename`` is a qualified name (``"torch.nn.Module"``, ``"numpy.ndarray"``), a short
    one (``"Module"``, ``"float"``, ``"list"``), ``"callable"`` for anything callable, or a
    tuple of such names (any may match). Works on the grader's remote proxies, which
    report their classes through ``__mlgrader_type_names__``; never use ``isinstance``
    on notebook objects in tests.

    Example::

        check_type(np.zeros(3), "numpy.ndarray", name="weights")
        check_type(np.exp, "callable", name="softmax")   # a test would pass the notebook's function
        # check_type(model, "torch.nn.Module", name="model") for a model, proxy or not
    """
    wanted = (typename,) if isinstance(typename, str) else tuple(typename)
    wanted = tuple(_normalise_type_name(w) for w in wanted)
    if not wanted:
        raise ValueError("check_type: typename must name at least one type")
    if "callable" in wanted and value is not None and callable(value):
        return
    names = _type_names(value)
    if any(_type_matches(names, w) for w in wanted if w != "callable"):
        return
    expected_text = " or ".join("something callable" if w == "callable" else _with_article(w) for w in wanted)
    raise CheckFailure(
        f"{name} should be {expected_text}, but it is {_describe(value)}.",
        expected=expected_text,
        found=_pretty_type_name(names[0]),
        hint=_type_hint(value, names, wanted),
    )


# --------------------------------------------------------------------------- loss curves


def _loss_values(losses: Any, name: str) -> np.ndarray:
    """The losses as a 1-D float array; fails for a single number or per-example losses."""
    values = to_numpy(losses, name=name)
    if np.iscomplexobj(values):
        raise CheckFailure(f"{name} contains complex numbers, expected real loss values.")
    if values.ndim == 0:
        raise CheckFailure(
            f"{name} is a single number ({_format_number(values.item())}), expected one loss per step.",
            expected="a sequence of losses",
            found=_format_number(values.item()),
            hint="Append the loss to a list inside the training loop (e.g. losses.append(loss.item())).",
        )
    if values.ndim > 1:
        if sum(d != 1 for d in values.shape) > 1:
            raise CheckFailure(
                f"{name} has shape {_format_shape(values.shape)}, expected one number per step.",
                found=_format_shape(values.shape),
                hint="Each loss should be a single number: reduce the per-example losses with .mean() before storing them.",
            )
        values = values.ravel()
    return values.astype(np.float64)


def _window_means(values: np.ndarray) -> tuple[float, float, int]:
    """Means of the first and last 10% of the curve (at least one value each), and that count."""
    window = max(1, math.ceil(_LOSS_WINDOW_FRACTION * len(values)))
    return float(values[:window].mean()), float(values[-window:].mean()), window


def _check_loss_trend(values: np.ndarray, name: str, tolerance: float) -> None:
    """Fail unless the curve goes down overall and ends below where it started."""
    head, tail, window = _window_means(values)
    scale = max(abs(head), abs(tail), 1e-12)
    averaged = f" (averages of the first and last {window} values)" if window > 1 else ""
    start_end = f"from {_format_number(head)} at the start to {_format_number(tail)} at the end{averaged}"
    if float(values.max() - values.min()) <= 1e-12 * scale:
        raise CheckFailure(
            f"{name}: the loss never changed, it stays at {_format_number(values[0])} for all {len(values)} steps.",
            expected="a decreasing loss",
            found=_summarize_array(values),
            hint="Is the optimizer stepping (optimizer.step())? Are gradients computed (loss.backward()) for parameters that require grad?",
        )
    required_drop = tolerance * abs(head)
    if tail < head - required_drop and values[-1] < values[0]:
        return
    found = _summarize_array(values)
    if tail >= head and abs(tail - head) <= _LOSS_BARELY_CHANGED * scale:
        raise CheckFailure(
            f"{name}: the loss barely changed, {start_end}.",
            expected="a decreasing loss",
            found=found,
            hint="Is the optimizer stepping (optimizer.step()) on the model's parameters? Are gradients computed (loss.backward())? Or is the learning rate far too small?",
        )
    if tail >= head:
        lowest = int(np.argmin(values))
        if values[lowest] < head - 0.1 * abs(head):
            problem = (
                f"{name}: the loss went down to {_format_number(values[lowest])} at step {lowest}, "
                f"then increased again; overall it went {start_end}."
            )
            hint = "The loss increased: learning rate too large (overshooting), or gradients not zeroed between steps (optimizer.zero_grad())?"
        else:
            problem = f"{name}: the loss increased, {start_end}."
            hint = "The loss increased: wrong sign in the update (adding the gradient instead of subtracting it), or learning rate too large?"
        raise CheckFailure(problem, expected="a decreasing loss", found=found, hint=hint)
    if tail >= head - required_drop:
        drop = (head - tail) / abs(head) if head else float("inf")
        raise CheckFailure(
            f"{name}: the loss went down only {drop:.1%}, {start_end}; expected a drop of at least {tolerance:.1%}.",
            expected=f"a drop of at least {tolerance:.1%}",
            found=found,
            hint="Train for more steps, or use a larger learning rate.",
        )
    raise CheckFailure(
        f"{name}: the last loss ({_format_number(values[-1])}) is not below the first ({_format_number(values[0])}), "
        "although the loss went down on average.",
        expected="last loss below the first",
        found=found,
        hint="The loss rose again at the end: learning rate too large, or gradients not zeroed between steps (optimizer.zero_grad())?",
    )


def check_loss_curve(
    losses: Any,
    *,
    name: str = "loss history",
    min_length: int = 2,
    final_below: float | None = None,
    decreasing: bool = True,
    tolerance: float = 0.0,
) -> None:
    """Fail unless ``losses`` (one number per step/epoch) looks like successful training.

    Checks, in order: every loss is finite; there are at least ``min_length`` values;
    with ``decreasing``, the curve goes down (mean of the last 10% of values below the
    mean of the first 10%, by at least ``tolerance`` times the starting level, and the
    last value below the first), so that single noisy SGD steps do not decide; and the
    last value is below ``final_below`` if given. ``losses`` may be a list of floats or
    of 0-d tensors (``losses.append(loss)`` without ``.item()``), an array or a tensor.

    Example::

        losses = [2.3, 1.1, 0.7, 0.5, 0.42, 0.4]   # one per epoch
        check_loss_curve(losses, name="the training loss", min_length=5, final_below=0.5)
    """
    if tolerance < 0 or min_length < 0:
        raise ValueError("check_loss_curve: tolerance and min_length must not be negative")
    values = _loss_values(losses, name)
    non_finite = ~np.isfinite(values)
    if non_finite.any():
        step = int(np.argmax(non_finite))
        raise CheckFailure(
            f"{name}: the loss diverged, it is {_format_number(values[step])} at step {step} of {len(values)}.",
            expected="finite losses",
            found=_summarize_array(values),
            hint="Is the learning rate too large? Otherwise look for log(0) or a division by zero in the loss.",
        )
    if len(values) < min_length:
        raise CheckFailure(
            f"{name} has {len(values)} value{'s' if len(values) != 1 else ''}, expected at least {min_length}.",
            expected=f"at least {min_length} values",
            found=str(len(values)),
            hint="Record the loss at every step, inside the training loop.",
        )
    if decreasing and len(values) >= 2:
        _check_loss_trend(values, name, tolerance)
    if final_below is not None and not values[-1] < final_below:
        raise CheckFailure(
            f"{name}: the final loss is {_format_number(values[-1])}, expected below {_format_number(final_below)}.",
            expected=f"below {_format_number(final_below)}",
            found=_format_number(values[-1]),
            hint="Train for more steps, or tune the learning rate.",
        )


# --------------------------------------------------------------------------- accuracy


def _predicted_classes(predictions: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Predicted class per example, the labels, and the number of classes if scores were given."""
    p = to_numpy(predictions, name="predictions")
    y = to_numpy(labels, name="labels")
    if y.ndim != 1:
        raise CheckFailure(f"labels has shape {_format_shape(y.shape)}, expected one class index per example (N,).", found=_format_shape(y.shape))
    n = y.shape[0]
    if np.iscomplexobj(p):
        raise CheckFailure("predictions contain complex numbers, expected class indices or scores.")
    num_classes = None
    if p.ndim == 2:
        if p.shape[1] == 1:
            raise CheckFailure(
                f"predictions has shape {_format_shape(p.shape)}: one score per example, not one per class.",
                found=_format_shape(p.shape),
                hint="For a binary classifier, threshold the scores into class indices, e.g. (p > 0.5).long().squeeze(1) (or > 0 for logits).",
            )
        if p.shape[0] != n:
            raise _shape_failure("predictions", p.shape, (n, None), f" There are {n} labels.")
        num_classes = p.shape[1]
        p = p.argmax(axis=-1)
    elif p.ndim == 1:
        if p.shape[0] != n:
            raise CheckFailure(
                f"predictions has {p.shape[0]} entries but there are {n} labels.",
                expected=f"{n} predictions",
                found=str(p.shape[0]),
                hint=_shape_mistake_hint(p.shape, (n,)),
            )
        if p.dtype.kind == "f" and not np.all(p == np.round(p)):
            first = int(np.argmax(p != np.round(p)))
            raise CheckFailure(
                f"predictions are not class indices: predictions[{first}] is {_format_number(p[first])}.",
                found=_summarize_array(p),
                hint="Pass class indices (e.g. scores.argmax(dim=1)) or the (N, C) scores themselves.",
            )
    else:
        raise CheckFailure(
            f"predictions has shape {_format_shape(p.shape)}, expected class indices (N,) or scores (N, C).",
            found=_format_shape(p.shape),
        )
    if n == 0:
        raise CheckFailure("there are no examples to compute an accuracy on (0 labels).")
    return p.astype(np.int64), y.astype(np.int64), num_classes


def accuracy(predictions: Any, labels: Any) -> float:
    """Fraction of examples whose predicted class equals the label.

    ``predictions`` are class indices (N,) or scores, logits or probabilities (N, C)
    (the predicted class is the argmax over the last axis); ``labels`` are (N,).

    Example::

        accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))   # 0.5
    """
    predicted, y, _ = _predicted_classes(predictions, labels)
    return float(np.mean(predicted == y))


def _format_percent_pair(x: float, y: float) -> tuple[str, str]:
    """Both fractions as percentages, with enough decimals to tell them apart."""
    for decimals in range(1, 5):
        a, b = f"{x:.{decimals}%}", f"{y:.{decimals}%}"
        if a != b:
            break
    return a, b


def _accuracy_hint(predicted: np.ndarray, y: np.ndarray, num_classes: int | None, acc: float) -> str | None:
    classes = np.unique(predicted)
    if len(classes) == 1 and len(np.unique(y)) > 1:
        return (
            f"The model predicts class {int(classes[0])} for every example: did training diverge or collapse "
            "(learning rate too large?), or is the model's output ignored?"
        )
    if num_classes is None:
        num_classes = int(max(predicted.max(), y.max())) + 1
    if num_classes >= 2 and acc <= 1.5 / num_classes:
        return (
            f"That is about chance level for {num_classes} classes: is the trained model evaluated "
            "(not a fresh one), and are predictions in the same order as the labels?"
        )
    return "Train longer, tune the learning rate, or check the model architecture."


def check_accuracy(predictions: Any, labels: Any, *, threshold: float, name: str = "accuracy") -> None:
    """Fail unless ``accuracy(predictions, labels) >= threshold``.

    Returns None on purpose: nbgrader reads the value a test cell ends with as partial
    credit, so a check must not leave one behind. Use :func:`accuracy` for the number.

    ``predictions`` and ``labels`` are as for :func:`accuracy`; ``threshold`` is a
    fraction in [0, 1], compared without tolerance. The test should compute
    ``predictions`` itself on data the grader owns (a held-out set), calling the student's
    model. Its message gives both accuracies as percentages, with a built-in hint: a model
    that predicts one class for every example; an accuracy about chance level ("is the
    trained model evaluated (not a fresh one)?", said also of models that are not trained);
    else "train longer, tune the learning rate". It takes no ``hint=`` (yet).

    Example::

        logits = np.array([[2.0, 0.1], [0.3, 1.5], [1.2, 0.4]])   # model(x_test), say
        check_accuracy(logits, np.array([0, 1, 0]), threshold=0.9, name="test accuracy")
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"check_accuracy: threshold is a fraction in [0, 1], got {threshold!r}")
    predicted, y, num_classes = _predicted_classes(predictions, labels)
    correct = int(np.sum(predicted == y))
    acc = correct / len(y)
    if acc < threshold:
        found, wanted = _format_percent_pair(acc, threshold)
        raise CheckFailure(
            f"{name} is {found} ({correct} of {len(y)} correct), expected at least {wanted}.",
            expected=f"at least {wanted}",
            found=found,
            hint=_accuracy_hint(predicted, y, num_classes, acc),
        )


# --------------------------------------------------------------------------- probabilities


def _slice_label(name: str, index: tuple[int, ...], axis: int) -> str:
    """The slice along ``axis`` at ``index`` of the other axes, as python writes it: ``p[3, :]``."""
    parts = [str(int(i)) for i in index]
    parts.insert(axis, ":")
    return f"{name}[{', '.join(parts)}]"


def _sums_to_one(p: np.ndarray, axis: int) -> bool:
    """Whether every slice of ``p`` along ``axis`` sums to 1 (atol 1e-5)."""
    return bool(np.allclose(p.sum(axis=axis), 1.0, rtol=0, atol=_PROBABILITY_ATOL))


def check_probabilities(p: Any, *, axis: int = -1, name: str = "probabilities") -> None:
    """Fail unless ``p`` is finite, non-negative and sums to 1 along ``axis`` (atol 1e-5).

    ``p`` is anything :func:`to_numpy` takes, at least one-dimensional; ``axis`` is the
    axis of the classes (default the last). The message says which row is wrong and how
    (a negative entry, a sum that is not 1: logits or log-probabilities passed instead?).

    Example::

        check_probabilities(np.array([[0.2, 0.8], [0.5, 0.5]]), name="softmax(logits)")
    """
    values = to_numpy(p, name=name)
    if values.ndim == 0:
        raise CheckFailure(f"{name} is a single number ({_format_number(values.item())}), expected an array of probabilities.")
    if not -values.ndim <= axis < values.ndim:
        raise CheckFailure(
            f"{name} has shape {_format_shape(values.shape)}, which has no axis {axis} to sum the probabilities over.",
            found=_format_shape(values.shape),
        )
    if np.iscomplexobj(values):
        raise CheckFailure(f"{name} contains complex numbers, expected probabilities.")
    values = values.astype(np.float64)
    check_finite(values, name=name)
    axis = axis % values.ndim
    if values.min() < -_PROBABILITY_ATOL:
        where = np.unravel_index(int(np.argmin(values)), values.shape)
        if _sums_to_one(np.exp(values), axis):
            hint = "These look like log-probabilities (e.g. from log_softmax): apply exp, or use softmax."
        else:
            hint = "Did you return logits / raw scores instead of applying softmax?"
        raise CheckFailure(
            f"{name} has negative entries, e.g. {_element_label(name, where)} = {_format_number(values[where])}; probabilities are never negative.",
            expected="non-negative values",
            found=_summarize_array(values),
            hint=hint,
        )
    if _sums_to_one(values, axis):
        return
    sums = values.sum(axis=axis)
    worst = np.unravel_index(int(np.argmax(np.abs(sums - 1))), sums.shape) if sums.ndim else ()
    other_axes = [ax for ax in range(values.ndim) if ax != axis and _sums_to_one(values, ax)]
    if other_axes:
        problem = f"{name} is normalised over the wrong axis: it sums to 1 along axis {other_axes[0]} instead of axis {axis}."
        hint = f"Normalise over axis {axis} (e.g. softmax(x, dim={axis}) or x / x.sum(axis={axis}, keepdims=True))."
    else:
        problem = (
            f"The entries of {name} do not sum to 1 along axis {axis}: {_slice_label(name, worst, axis)} sums to "
            f"{_format_number(sums[worst])} (sums range from {_format_number(sums.min())} to {_format_number(sums.max())})."
        )
        if values.max() <= 1:
            hint = "Did you apply a sigmoid to each entry instead of a softmax, or forget to divide by the sum?"
        else:
            hint = "These look like unnormalised scores: apply softmax, or divide by the sum."
    raise CheckFailure(problem, expected=f"sums of 1 along axis {axis}", found=_summarize_array(sums), hint=hint)
