"""Comparing values: numbers, arrays, tensors, types and shapes, with messages that reason about the
difference (:mod:`.diagnose`)."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .diagnose import difference_words, shape_cause, value_cause
from .text import _element_label, _format_number, _format_shape, _short_repr, _summarize_array


# Name of the attribute through which the grader's remote proxies reveal the fully
# qualified class names of the object they stand for (its MRO, most derived first).
PROXY_TYPE_NAMES_ATTRIBUTE = "__mlgrader_type_names__"

# Short module aliases that course material uses in type names ("np.ndarray").
_MODULE_ALIASES = (("np.", "numpy."), ("nn.", "torch.nn."), ("F.", "torch.nn.functional."))


# --------------------------------------------------------------------------- failure


class CheckFailure(AssertionError):
    """A check did not pass; the message is meant for the student.

    Attributes:
        message: the complete text (likely mistake, problem and hint), the same as ``str(exc)``.
        problem: the text without the likely mistake and the hint: what was found and expected.
        expected: short text form of what was expected, or None.
        found: short text form of what was found, or None.
        hint: what to try, or None.
        likely: the likely mistake in one sentence, or None; it comes first in the message,
            before any number, because it is what a student needs to read.

    A test may raise it itself for a condition no check covers; the grader shows its
    message like a check's. Example::

        vocabulary = {"cat": 0, "dog": 1, "emu": 2}   # from the notebook
        if sorted(vocabulary.values()) != list(range(len(vocabulary))):
            raise CheckFailure("the indices of vocabulary are not 0, 1, ..., n-1",
                               likely="an index was skipped or used twice",
                               hint="number the words in order with enumerate()")
    """

    def __init__(
        self,
        problem: str,
        *,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
        likely: str | None = None,
    ) -> None:
        self.problem = problem
        self.expected = expected
        self.found = found
        self.hint = hint
        self.likely = likely
        text = problem if not likely else f"{likely}\n{problem}"
        self.message = text if not hint else f"{text}\nHint: {hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        # Keyword-only arguments do not survive the default exception pickling.
        return (_rebuild_check_failure, (self.problem, self.expected, self.found, self.hint, self.likely))

    def with_hint(self, hint: str | None) -> CheckFailure:
        """Return a copy of this failure with ``hint`` appended to its own hint."""
        if not hint:
            return self
        return CheckFailure(self.problem, expected=self.expected, found=self.found,
                            hint=_join_hints(self.hint, hint), likely=self.likely)

    def with_likely(self, likely: str | None, hint: str | None = None) -> CheckFailure:
        """Return a copy with ``likely`` as its likely mistake (when it has none yet) and ``hint`` added."""
        if self.likely or not likely:
            return self.with_hint(hint)
        return CheckFailure(self.problem, expected=self.expected, found=self.found,
                            hint=_join_hints(self.hint, hint), likely=likely)


def _rebuild_check_failure(problem, expected, found, hint, likely=None) -> CheckFailure:
    """Unpickle a CheckFailure (see ``CheckFailure.__reduce__``)."""
    return CheckFailure(problem, expected=expected, found=found, hint=hint, likely=likely)


@contextlib.contextmanager
def added_hint(hint: str | None):
    """Add ``hint`` to a :class:`CheckFailure` raised inside: a check's own ``hint=``."""
    try:
        yield
    except CheckFailure as exc:
        if not hint:
            raise
        raise exc.with_hint(hint) from None


def _join_hints(*hints: str | None) -> str | None:
    """Join the non-empty hints into one text, or None when there are none."""
    present = [h.strip() for h in hints if h and h.strip()]
    return " ".join(present) if present else None


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


def check_shape(actual: Any, shape: int | Sequence[int | None], *, name: str = "value", hint: str | None = None) -> None:
    """Fail unless ``actual`` has ``shape``; None entries in ``shape`` match any size.

    ``actual`` is anything :func:`to_numpy` takes (a list, an array, a tensor); ``shape``
    is an int (one dimension) or a sequence. The message names the likely mistake where
    the shapes tell it (a transposed matrix, a missing or extra dimension, a broadcast
    (N, N), a reduction left out); ``hint`` is added to every failure.

    Example::

        check_shape(np.zeros((32, 10)), (None, 10), name="logits")  # any batch size, 10 classes
    """
    with added_hint(hint):
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


def check_finite(actual: Any, *, name: str = "value", hint: str | None = None) -> None:
    """Fail if ``actual`` contains NaN or infinity.

    ``actual`` is anything :func:`to_numpy` takes. The message says where the first bad
    value is and suggests the usual causes (a learning rate too large, log(0), 0/0);
    ``hint`` is added to every failure.

    Example::

        check_finite(np.array([0.5, 0.25]), name="the weights after training")
    """
    with added_hint(hint):
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


def _mistake_sentence(mistake: str | None) -> str | None:
    """The first line naming a recognised mistake, or None when there is none."""
    return f"This looks like: {mistake.rstrip('.')}." if mistake else None


def _mismatch_failure(name: str, a: np.ndarray, e: np.ndarray, close: np.ndarray, rtol: float, atol: float,
                      mistake: str | None, start: np.ndarray | None) -> CheckFailure:
    """The failure for finite values that differ: the likely mistake, then direction, size and where."""
    diff = np.abs(a - e)
    diff = np.where(close, 0.0, diff)
    first = tuple(int(i) for i in np.argwhere(~close)[0]) if a.ndim else ()
    worst = np.unravel_index(int(np.argmax(diff)), a.shape) if a.ndim else ()
    count = int((~close).sum())
    if a.ndim == 0:
        lines = [f"{name}: found {_format_number(a.item())}, expected {_format_number(e.item())}; "
                 f"{difference_words(a, e)}."]
    else:
        lines = [
            f"{name}: {count} of {a.size} elements differ from the expected values "
            f"({difference_words(a[~close], e[~close])}).",
            f"  first difference at {_element_label(name, first)}: expected {_format_number(e[first])}, found {_format_number(a[first])}",
            f"  max abs difference {_format_number(diff[worst])} at {_element_label(name, worst)}: "
            f"expected {_format_number(e[worst])}, found {_format_number(a[worst])}",
        ]
    lines.append(f"  (tolerance: rtol={rtol:g}, atol={atol:g})")
    diagnosis = None if mistake else value_cause(a, e, rtol=rtol, atol=atol, start=start)
    return CheckFailure(
        "\n".join(lines),
        expected=_summarize_array(e),
        found=_summarize_array(a),
        hint=diagnosis.hint if diagnosis else None,
        likely=_mistake_sentence(mistake) or (diagnosis.likely if diagnosis else None),
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
    start: Any = None,
) -> None:
    """Fail unless ``actual`` equals ``expected`` within ``|a - e| <= atol + rtol * |e|``.

    Works for numbers, sequences, arrays and tensors alike, whatever their device or
    dtype. ``actual`` is the student's value and ``expected`` the right one; their shapes
    must match. ``rtol`` (relative, default 1e-5) and ``atol`` (absolute, default 1e-8) are
    the tolerances, as in ``numpy.isclose``; the message states them. ``mistakes`` maps a
    description of a common mistake to the (wrong) value that mistake produces; when
    ``actual`` matches one (within the same tolerances), the message names it ("This looks
    like: ..."). ``hint`` is added to every failure.

    Otherwise the message reasons about the numbers (:mod:`mlgrader.checks.diagnose`), the
    likely mistake first: a constant ratio (a sum instead of a mean, a missing factor 2, a
    sign flip), transposed or shifted values, a constant offset, a missing reduction, all
    zeros. ``start`` is the value an iterative computation began from (the weights before
    the training steps): with it, the update found is compared with the update expected,
    which names a step N times too large, a step uphill or no step at all.

    Example::

        steps = np.cumsum([0.5, 0.25, 0.125])   # the student's values
        check_close(steps, np.array([0.5, 0.75, 0.875]), name="steps", mistakes={
            "returned the increments, not their running sum": np.array([0.5, 0.25, 0.125]),
        }, hint="each value adds the next increment to the one before")
        w0 = np.zeros(3)   # the weights before two gradient steps
        check_close(np.array([0.2, 0.4, 0.6]), np.array([0.2, 0.4, 0.6]), start=w0, name="w after two steps")
    """
    try:
        _compare_close(actual, expected, rtol=rtol, atol=atol, name=name, mistakes=mistakes, start=start)
    except CheckFailure as exc:
        raise exc.with_hint(hint) from None


def _compare_close(actual, expected, *, rtol, atol, name, mistakes, start=None) -> None:
    """check_close without the author's hint: raise the first failure found."""
    e_raw = _author_array(expected, f"expected value of {name}")
    a_raw = to_numpy(actual, name=name)
    pair = _comparable(a_raw, e_raw)
    if pair is None:
        mistake = _matching_mistake(a_raw, mistakes, rtol, atol)
        cause = None if mistake else shape_cause(a_raw, e_raw)
        failure = _shape_failure(name, a_raw.shape, e_raw.shape)
        raise failure.with_likely(_mistake_sentence(mistake) or (cause.likely if cause else None))
    a, e = (_as_comparable_numbers(x) for x in pair)
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    mistake = _matching_mistake(a, mistakes, rtol, atol)
    non_finite = ~np.isfinite(a) & ~close
    if non_finite.any():
        raise _non_finite_failure(name, a, non_finite, e).with_likely(_mistake_sentence(mistake))
    raise _mismatch_failure(name, a, e, close, rtol, atol, mistake, _start_values(start, a, name))


def _start_values(start: Any, a: np.ndarray, name: str) -> np.ndarray | None:
    """The author's ``start`` as an array shaped like ``a``, or None (absent, or another size)."""
    if start is None:
        return None
    values = _as_comparable_numbers(_author_array(start, f"start value of {name}"))
    return values.reshape(a.shape) if values.size == a.size else None


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


def check_type(value: Any, typename: str | Sequence[str], *, name: str = "value", hint: str | None = None) -> None:
    """Fail unless ``value`` is an instance of the class ``typename`` names.

    ``typename`` is a qualified name (``"torch.nn.Module"``, ``"numpy.ndarray"``), a short
    one (``"Module"``, ``"float"``, ``"list"``), ``"callable"`` for anything callable, or a
    tuple of such names (any may match). Works on the grader's remote proxies, which
    report their classes through ``__mlgrader_type_names__``; never use ``isinstance``
    on notebook objects in tests. ``hint`` is added to every failure.

    Example::

        check_type(np.zeros(3), "numpy.ndarray", name="weights")
        check_type(np.exp, "callable", name="softmax")   # a test would pass the notebook's function
        # check_type(model, "torch.nn.Module", name="model") for a model, proxy or not
    """
    with added_hint(hint):
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


