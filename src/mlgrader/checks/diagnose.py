"""Reasoning about wrong numbers: what the difference between a found and an expected value
says about the mistake behind it.

Each ``*_cause`` function looks at plain numpy arrays and returns a :class:`Diagnosis` (the
likely mistake in one sentence, which a check puts before any number) or None when the
numbers point at no known cause. The reasoning is about the numbers, not about one
exercise: a constant ratio between found and expected values, an update that is a multiple
of the expected update, a loss that falls faster than the reference from the same start, a
loss below the lowest value its kind can take. Nothing here raises or formats a whole
message; :mod:`.compare` and :mod:`.losses` do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .text import _format_number

# A found/expected ratio within this relative distance of a simple number (2, 1/2, n, -1)
# is reported as that number: the arithmetic of a real mistake is rarely exact (float32,
# several steps), and a wrong name for the cause is worse than none, so this stays small.
_RATIO_TOLERANCE = 0.08

# Losses of these kinds are never negative; a negative value names its cause.
NON_NEGATIVE_KINDS = ("cross-entropy", "nll", "mse", "squared-error", "bce")


@dataclass(frozen=True)
class Diagnosis:
    """The likely mistake behind wrong numbers."""

    likely: str  # one sentence, shown first: what probably went wrong
    hint: str | None = None  # what to try, shown after the numbers


# --------------------------------------------------------------------------- words for numbers


def simple_ratio(k: float) -> float | None:
    """``k`` rounded to the simple number it is close to (an integer, or 1/integer), else None."""
    if not math.isfinite(k) or k == 0:
        return None
    for candidate in (round(k), 1 / round(1 / k) if abs(k) < 1 else None):
        if candidate and math.isclose(k, candidate, rel_tol=_RATIO_TOLERANCE):
            return float(candidate)
    return None


def ratio_words(k: float) -> str:
    """``2`` -> "twice", ``0.5`` -> "half", ``4`` -> "4 times", ``0.25`` -> "1/4 of"."""
    simple = simple_ratio(k)
    if simple == 2:
        return "twice"
    if simple == 0.5:
        return "half"
    if simple is not None and simple >= 1:
        return f"{int(simple)} times"
    if simple is not None:
        return f"1/{round(1 / simple)} of"
    return f"{k:.3g} times"


def difference_words(a: np.ndarray, e: np.ndarray) -> str:
    """Direction and size of the difference in words: "found is above expected by 0.00232 (0.116%)"."""
    diff = a - e
    if a.ndim == 0 or a.size == 1:
        d, ref = float(diff.ravel()[0]), float(e.ravel()[0])
        direction = "above" if d > 0 else "below"
        relative = f" ({100 * abs(d) / abs(ref):.3g}%)" if ref else ""
        return f"the value found is {direction} the expected one by {_format_number(abs(d))}{relative}"
    above, below = int((diff > 0).sum()), int((diff < 0).sum())
    side = f"{above} above and {below} below the expected values" if above and below else (
        f"all {above} differing values above the expected ones" if above else f"all {below} differing values below the expected ones")
    nonzero = np.abs(e) > 1e-12
    if not nonzero.any():  # a relative difference to 0 means nothing
        return f"{side}; the largest difference is {_format_number(float(np.max(np.abs(diff))))}"
    worst = float(np.max(np.abs(diff[nonzero]) / np.abs(e[nonzero])))
    return f"{side}; the largest relative difference is {100 * worst:.3g}%"


# --------------------------------------------------------------------------- values


def _constant_factor(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> float | None:
    """The factor c with ``a == c * e`` (within tolerance), if one exists and is not 1 or 0."""
    nonzero = np.abs(e) > atol
    if nonzero.sum() < 1 or np.any(np.abs(a[~nonzero]) > atol + 1e-9):
        return None
    c = float(np.median(a[nonzero] / e[nonzero]))
    if c == 0 or math.isclose(c, 1, rel_tol=max(rtol, 1e-9)):
        return None
    if not np.allclose(a, c * e, rtol=max(rtol, 1e-6), atol=atol):
        return None
    if nonzero.sum() == 1 and (simple_ratio(c) in (None, 1.0) or abs(c) > 1000 or abs(c) < 1e-3):
        return None  # any two single numbers have a ratio: only a simple one says something
    return c


def _factor_diagnosis(c: float, what: str = "Every value") -> Diagnosis:
    """Why values are ``c`` times the expected ones."""
    simple = simple_ratio(c)
    if simple == -1:
        return Diagnosis(f"{what} has the opposite sign of the expected one: a sign error (e.g. adding the "
                         "gradient instead of subtracting it, or y - y_hat instead of y_hat - y).")
    if simple is not None and simple < 0:
        return Diagnosis(f"{what} is {ratio_words(-c)} the expected one with the opposite sign: a sign error "
                         "together with a missing or extra constant factor.")
    if simple == 2:
        return Diagnosis(f"{what} is twice the expected one: an extra factor 2 (e.g. the 2 of a squared "
                         "error counted twice) or a sum over 2 items where a mean belongs.")
    if simple == 0.5:
        return Diagnosis(f"{what} is half the expected one: a missing factor 2 (the slope of a square, d(u²)/du = 2u) "
                         "or a mean where a sum of 2 terms belongs.")
    if simple is not None and simple > 2 and simple != 1:
        n = int(simple)
        return Diagnosis(f"{what} is {n} times the expected one: a sum over {n} items where the mean belongs "
                         f"(a missing 1/{n}), or a constant such as the learning rate {n} times too large.")
    if simple is not None and simple < 1:
        n = round(1 / simple)
        return Diagnosis(f"{what} is 1/{n} of the expected one: a mean over {n} items where the sum belongs, "
                         f"or an extra division by {n}.")
    return Diagnosis(f"{what} is {c:.4g} times the expected one: a missing or extra constant factor "
                     "(a learning rate, a 1/N, a 2).")


def _update_diagnosis(a: np.ndarray, e: np.ndarray, start: np.ndarray) -> Diagnosis | None:
    """Compare the update found (a - start) with the expected update (e - start)."""
    expected_step, found_step = (e - start).ravel(), (a - start).ravel()
    norm = float(expected_step @ expected_step)
    if norm == 0:
        return None
    k = float(found_step @ expected_step) / norm
    residual = float(np.linalg.norm(found_step - k * expected_step)) / math.sqrt(norm)
    if float(np.linalg.norm(found_step)) <= 1e-3 * math.sqrt(norm):
        return Diagnosis("The values did not move from where they started: the update never happened "
                         "(no optimizer.step(), no backward(), or the new value was not stored).")
    if residual > 0.25:
        return _opposite_elements(found_step, expected_step)  # no multiple of the expected update explains it
    simple = simple_ratio(k)
    if simple == -1 or (k < 0 and simple is None):
        return Diagnosis("The update went the opposite way to the expected one: a step uphill (adding the "
                         "gradient instead of subtracting it, or maximising the loss).")
    if simple is not None and simple >= 2:
        n = int(simple)
        return Diagnosis(f"The update is {n} times the expected one, so each step was {n} times too large: a "
                         f"sum over the examples where the mean belongs, gradients piling up (no zero_grad()), "
                         f"or a learning rate {n} times too large.")
    if simple is not None and simple < 1:
        n = round(1 / simple)
        return Diagnosis(f"The update is 1/{n} of the expected one, so each step was {n} times too small: an "
                         f"extra division (a mean where the sum belongs) or a learning rate {n} times too small.")
    if k > 1 + 1e-4:
        return Diagnosis("The value went further in the expected direction than the reference run's: the steps "
                         "were larger than they should be (a sum where the mean belongs, or a larger learning "
                         "rate), so it got nearer the limit in the same number of steps. The test checks the steps "
                         "themselves, not only where they lead.")
    if 0 < k < 1 - 1e-4:
        return Diagnosis("The value moved in the expected direction but not as far as the reference run's: the "
                         "steps were smaller than they should be (an extra division, or a smaller learning rate), "
                         "or fewer steps were taken.")
    return None


def _opposite_elements(found_step: np.ndarray, expected_step: np.ndarray) -> Diagnosis | None:
    """Some values moved clearly the other way than expected: a sign error in their part of the update."""
    opposite = (found_step * expected_step < 0) & (np.abs(found_step) > 0.1 * np.abs(expected_step))
    if not opposite.any() or opposite.all():
        return None
    where = ", ".join(str(int(i)) for i in np.flatnonzero(opposite)[:5])
    return Diagnosis(f"{int(opposite.sum())} of {opposite.size} values moved the opposite way to the expected "
                     f"update (at positions {where}): a sign error in that part of the update (+= instead of -=, "
                     "or a gradient with the wrong sign).")


def _blown_up(a: np.ndarray, e: np.ndarray) -> Diagnosis | None:
    """Values orders of magnitude beyond the expected ones: an iteration that diverged."""
    scale = max(float(np.max(np.abs(e))), 1e-12)
    largest = float(np.max(np.abs(a)))
    if largest < 1e4 * scale or largest < 1e3:
        return None
    return Diagnosis(f"The values blew up (up to {_format_number(largest)} where about {_format_number(scale)} "
                     "was expected): the iteration diverged, because the steps are far too large (a learning "
                     "rate too large, a sum where the mean belongs) or go uphill.")


_STATISTICS = (("sum", np.sum), ("mean", np.mean), ("standard deviation", np.std))


def _constant_along(values: np.ndarray, reduce, axis: int) -> float | None:
    """The value ``reduce`` gives along ``axis`` when it is the same for every slice, else None."""
    with np.errstate(all="ignore"):
        reduced = reduce(values, axis=axis)
    if not np.all(np.isfinite(reduced)):
        return None
    level = float(np.median(reduced))
    if not np.allclose(reduced, level, rtol=1e-5, atol=1e-6):
        return None
    return 0.0 if abs(level) < 1e-9 else level


def _transforms(values: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The values as given, and as exp() when they look like log-probabilities (all <= 0)."""
    forms = [("", values)]
    if values.size and float(values.max()) <= 1e-9:
        with np.errstate(all="ignore"):
            forms.append(("exp of ", np.exp(values)))
    return forms


def _wrong_axis(a: np.ndarray, e: np.ndarray) -> Diagnosis | None:
    """A normalisation the expected values have along one axis (rows summing to 1, columns with
    mean 0 and standard deviation 1) that the values found lack, or have along another axis."""
    if a.ndim < 2 or a.shape != e.shape:
        return None
    for (label, ex), (_, found) in zip(_transforms(e), _transforms(a)):
        for stat, reduce in _STATISTICS:
            for axis in range(e.ndim):
                level = _constant_along(ex, reduce, axis) if e.shape[axis] >= 2 else None
                slices = e.size // e.shape[axis]
                # One slice is constant trivially; a sum of exactly 1 (probabilities) still means something.
                if level is None or (slices < 2 and not (stat == "sum" and math.isclose(level, 1.0))) or \
                        (stat == "sum" and level == 0.0):
                    continue
                diagnosis = _axis_diagnosis(found, reduce, axis, level, f"the {stat} of {label}the values")
                if diagnosis is not None:
                    return diagnosis
    return None


def _axis_diagnosis(found: np.ndarray, reduce, axis: int, level: float, what: str) -> Diagnosis | None:
    """Why values that should have ``what`` equal to ``level`` along ``axis`` are wrong, or None."""
    if _constant_along(found, reduce, axis) is not None:
        if "sum" not in what:
            return None  # the same centring or scaling: says nothing about the difference
        return Diagnosis(f"{what[0].upper()}{what[1:]} along axis {axis} is {_format_number(level)} in every slice, "
                         "as expected, yet the values differ: what is computed before normalising differs (e.g. "
                         "a shift such as the max taken over the wrong axis, or a different formula).")
    others = [k for k in range(found.ndim) if k != axis and found.shape[k] >= 2
              and (other := _constant_along(found, reduce, k)) is not None
              and math.isclose(other, level, rel_tol=1e-4, abs_tol=1e-6)]
    if others:
        return Diagnosis(f"The values are normalised along the wrong axis: {what} is {_format_number(level)} along "
                         f"axis {others[0]}, where it should be so along axis {axis} (axis=/dim={others[0]} where "
                         f"{axis} belongs, or -1 for the last axis).")
    return Diagnosis(f"{what[0].upper()}{what[1:]} along axis {axis} should be {_format_number(level)} in every slice, "
                     "as in the expected values, but it varies: that reduction or normalisation is missing, or taken "
                     "over another axis.")


def _shifted_by_one(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> Diagnosis | None:
    if a.ndim != 1 or a.size < 3:
        return None
    if np.allclose(a[:-1], e[1:], rtol=rtol, atol=atol):
        return Diagnosis("The values are shifted by one position (each is the one expected next): each was recorded after the "
                         "update instead of before it (or the first one was skipped).")
    if np.allclose(a[1:], e[:-1], rtol=rtol, atol=atol):
        return Diagnosis("The values are shifted by one position (each is the one expected before it): each was recorded before the "
                         "update instead of after it (or an extra value was put in front).")
    return None


def _constant_offset(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> Diagnosis | None:
    if a.size < 2:
        return None
    offset = float(np.median(a - e))
    if offset == 0 or not np.allclose(a, e + offset, rtol=rtol, atol=atol):
        return None
    return Diagnosis(f"Every value is off by the same amount ({_format_number(offset)}): a missing or extra "
                     "constant term, such as a bias/intercept or a +1.")


def _transposed(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> Diagnosis | None:
    if a.ndim == 2 and a.shape == e.shape[::-1] and np.allclose(a, e.T, rtol=rtol, atol=atol):
        return Diagnosis("The values are right but transposed: rows and columns are swapped (a .T too many or "
                         "too few, or the operands of a matrix product in the wrong order).")
    return None


def _close_miss(a: np.ndarray, e: np.ndarray) -> Diagnosis | None:
    scale = np.maximum(np.abs(e), 1e-12)
    if float(np.max(np.abs(a - e) / scale)) < 0.01:
        return Diagnosis("The values are close to the expected ones but outside the tolerance: the method is "
                         "right in outline and a detail differs (the number of steps, a constant, where a value "
                         "is recorded, float32 instead of float64).")
    return None


def value_cause(a: np.ndarray, e: np.ndarray, *, rtol: float, atol: float,
                start: np.ndarray | None = None) -> Diagnosis | None:
    """The likely mistake behind finite values ``a`` that differ from ``e`` (same shape).

    ``start`` is where an iterative computation began (the weights before training): then the
    update found is compared with the update expected, which tells a step too large, a step
    uphill and no step at all apart even when the values themselves are far off.
    """
    if np.iscomplexobj(a) or np.iscomplexobj(e):
        return None
    finders: list[Callable[[], Diagnosis | None]] = [
        lambda: Diagnosis("The values are all zero: was the result actually computed and stored (or returned)?")
        if not np.any(a) and np.any(np.abs(e) > atol) else None,
    ]
    finders.append(lambda: _blown_up(a, e))
    if start is not None and start.shape == a.shape:
        finders.append(lambda: _update_diagnosis(a, e, start))
    finders += [
        lambda: (lambda c: _factor_diagnosis(c, "Every value" if a.size > 1 else "The value") if c is not None
                 else None)(_constant_factor(a, e, rtol, atol)),
        lambda: _transposed(a, e, rtol, atol),
        lambda: _wrong_axis(a, e),
        lambda: _shifted_by_one(a, e, rtol, atol),
        lambda: _constant_offset(a, e, rtol, atol),
        lambda: _close_miss(a, e),
    ]
    return _first(finders)


def _first(finders: list[Callable[[], Diagnosis | None]]) -> Diagnosis | None:
    for finder in finders:
        found = finder()
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- shapes


def shape_cause(a: np.ndarray, e: np.ndarray) -> Diagnosis | None:
    """The likely mistake behind values of the wrong shape, judged by the values too."""
    if e.size == 1 and a.size > 1 and a.dtype.kind in "fi":
        target = float(e.ravel()[0])
        if math.isclose(float(a.mean()), target, rel_tol=1e-4, abs_tol=1e-9):
            return Diagnosis("The mean of these values is the expected number: a missing mean (reduce with .mean()).")
        if math.isclose(float(a.sum()), target, rel_tol=1e-4, abs_tol=1e-9):
            return Diagnosis("The sum of these values is the expected number: a missing sum (reduce with .sum()).")
        return Diagnosis("Found an array where a single number was expected: a missing reduction (.mean() or "
                         ".sum()), or a loss per example instead of one for the batch.")
    if a.ndim == 2 and e.ndim == 2 and a.shape == e.shape[::-1] and a.dtype.kind in "fi" \
            and np.allclose(a, e.T, rtol=1e-5, atol=1e-8):
        return Diagnosis("The values are right but transposed: a missing or extra .T, or a matrix product's "
                         "operands in the wrong order.")
    if a.ndim == e.ndim + 1 and a.ndim >= 2 and a.shape[-1] == a.shape[-2] and e.shape and e.shape[-1] == a.shape[-1]:
        return Diagnosis(f"A shape {a.shape} from one of shape {e.shape}: broadcasting met an (N,) array with an "
                         "(N, 1) one; keep the reduced axis (keepdims=True) or reshape so both have the same form.")
    squeezed = tuple(d for d in a.shape if d != 1) == tuple(d for d in e.shape if d != 1)
    if squeezed:
        return Diagnosis("Only axes of length 1 differ: a missing or extra keepdims=True, .squeeze() or "
                         ".unsqueeze().")
    if a.size == e.size and a.dtype.kind in "fi" and np.allclose(np.sort(a.ravel()), np.sort(e.ravel().astype(float))):
        return Diagnosis("The right numbers in another arrangement: a reshape/view where a transpose belongs, or "
                         "the wrong order of axes.")
    return None


# --------------------------------------------------------------------------- loss curves


def _non_negative(kind: str | None, expected: np.ndarray | None) -> bool:
    if kind is not None:
        return kind in NON_NEGATIVE_KINDS
    return expected is not None and expected.size > 0 and bool(np.all(expected >= 0))


def _diverged(a: np.ndarray) -> Diagnosis | None:
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    step = int(np.argmax(bad))
    before = f" after rising to {_format_number(float(np.max(a[:step])))}" if step > 1 and a[step - 1] > a[0] else ""
    return Diagnosis(f"The loss became {_format_number(float(a[step]))} at step {step}{before}: training diverged "
                     "(a learning rate too large), or the loss overflowed (exp of large logits without "
                     "subtracting the max, log(0)).")


def _impossible_negative(a: np.ndarray, expected: np.ndarray | None, kind: str | None) -> Diagnosis | None:
    if not _non_negative(kind, expected) or a.min() >= 0:
        return None
    step = int(np.argmin(a >= 0))
    low = _format_number(float(a.min()))
    if expected is not None and expected.size and math.isclose(-a[0], expected[0], rel_tol=1e-3):
        return Diagnosis("The loss is the negative of the expected one from the first step: it is maximised, not "
                         "minimised (a minus sign in front of the loss makes every step go uphill).")
    if kind in (None, "cross-entropy", "nll"):
        return Diagnosis(
            f"A cross-entropy loss is never negative, yet this one is {_format_number(float(a[step]))} at step "
            f"{step} (lowest {low}): NLLLoss (or -x[y]) was applied to raw logits instead of log-probabilities, so "
            "training only makes the logits larger.",
            hint="Use F.cross_entropy / nn.CrossEntropyLoss on the logits, or log_softmax before NLLLoss.")
    return Diagnosis(f"This loss is never negative, yet it is {_format_number(float(a[step]))} at step {step}: a "
                     "sign error in the loss, or a loss applied to values of the wrong kind.")


def _never_changed(a: np.ndarray) -> Diagnosis | None:
    # float32 kernels (convolutions on several threads) repeat a forward pass only to ~1e-7
    if a.size < 2 or float(a.max() - a.min()) > 1e-6 * max(abs(float(a[0])), 1e-12):
        return None
    return Diagnosis("The loss never changed: no step was taken (no optimizer.step(), gradients not computed "
                     "with loss.backward(), or the update not stored).")


def _rising(a: np.ndarray, expected: np.ndarray | None) -> Diagnosis | None:
    if a.size < 2 or not a[-1] > a[0] or (expected is not None and expected.size >= 2 and expected[-1] >= expected[0]):
        return None
    if np.all(np.diff(a) > 0):
        return Diagnosis(f"The loss rose at every step, from {_format_number(float(a[0]))} to "
                         f"{_format_number(float(a[-1]))}: the update steps uphill (adding the gradient instead of "
                         "subtracting it), or the learning rate is far too large.")
    return Diagnosis(f"The loss ended higher than it started ({_format_number(float(a[0]))} -> "
                     f"{_format_number(float(a[-1]))}): a learning rate too large (overshooting), or gradients "
                     "not zeroed between steps.")


def _step_ratio(a0: float, a1: float, e0: float, e1: float) -> float | None:
    """How many times larger the first step was than the reference's, from the same starting loss.

    Near a minimum a loss is about quadratic, L = L0 * (1 - k * eta * h)**2 after one step of
    size k * eta, so sqrt(L1 / L0) = |1 - k * eta * h| tells k from the reference's eta * h.
    Both curves must be non-negative (the minimum near 0, as for a fit that can be exact).
    """
    if min(a0, a1, e0, e1) < 0 or e0 <= 0 or a0 <= 0:
        return None
    expected_contraction = 1 - math.sqrt(e1 / e0)
    if expected_contraction <= 1e-9:
        return None
    return (1 - math.sqrt(a1 / a0)) / expected_contraction


def _step_size(a: np.ndarray, e: np.ndarray | None) -> Diagnosis | None:
    if e is None or a.size < 2 or e.size < 2 or not math.isclose(a[0], e[0], rel_tol=1e-3, abs_tol=1e-9):
        return None
    for step in range(min(a.size, e.size) - 1):
        if math.isclose(a[step + 1], e[step + 1], rel_tol=1e-4, abs_tol=1e-9):
            continue
        k = _step_ratio(a[step], a[step + 1], e[step], e[step + 1]) if step == 0 else None
        if step > 0:
            return Diagnosis(f"The loss matches the expected one for the first {step + 1} values, then departs from "
                             "it: the first step is right and later ones are not (gradients piling up without "
                             "zero_grad(), a learning-rate schedule not stepped, or state carried over between "
                             "steps).")
        simple = simple_ratio(k) if k is not None else None
        if simple is not None and simple >= 2:
            n = int(simple)
            return Diagnosis(f"From the same start the loss falls as if each step were {n} times too large: a sum "
                             f"over the examples where the mean belongs (n = {n}?), or a learning rate {n} times "
                             "too large.")
        if simple is not None and simple < 1:
            n = round(1 / simple)
            return Diagnosis(f"From the same start the loss falls as if each step were {n} times too small: an "
                             f"extra 1/{n}, or a learning rate {n} times too small.")
        if k is not None and k < 0:
            return Diagnosis("From the same start the loss went up where it should go down: the step goes uphill "
                             "(a sign error in the update).")
        return None
    return None


def _different_start(a: np.ndarray, e: np.ndarray | None) -> Diagnosis | None:
    if e is None or a.size == 0 or e.size == 0 or math.isclose(a[0], e[0], rel_tol=1e-3, abs_tol=1e-9):
        return None
    ratio = a[0] / e[0] if e[0] else float("inf")
    simple = simple_ratio(ratio) if math.isfinite(ratio) else None
    if simple is not None and simple >= 2:
        n = int(simple)
        return Diagnosis(f"The very first loss, before any step, is already {n} times the expected one "
                         f"({_format_number(float(a[0]))} instead of {_format_number(float(e[0]))}): the loss sums "
                         f"over the examples where the mean belongs (n = {n}?); if the gradient sums too, every "
                         f"step is {n} times too large.")
    factor = f" ({ratio_words(ratio)} the expected)" if simple not in (None, 1.0) else ""
    return Diagnosis(f"The very first loss, before any step, is already {_format_number(float(a[0]))} instead of "
                     f"{_format_number(float(e[0]))}{factor}: the loss itself is computed differently (its formula, "
                     "a sum instead of a mean, or the inputs it is given), not only the update.")


def trajectory_cause(a: np.ndarray, expected: np.ndarray | None = None, *, kind: str | None = None,
                     rtol: float = 1e-5, atol: float = 1e-8) -> Diagnosis | None:
    """The likely mistake behind a loss curve ``a`` (one value per step), compared with ``expected`` if given.

    ``kind`` names the loss ("cross-entropy", "mse", ...): a loss that can never be negative
    and is, names its cause. Without ``kind``, a reference curve that never goes below 0
    says the same.
    """
    same_length = expected is not None and expected.shape == a.shape
    finders: list[Callable[[], Diagnosis | None]] = [
        lambda: _diverged(a),
        lambda: _impossible_negative(a, expected, kind),
        lambda: _never_changed(a),
        lambda: _rising(a, expected),
    ]
    if same_length:
        finders += [
            lambda: (lambda c: _factor_diagnosis(c, "Every loss") if c is not None else None)(
                _constant_factor(a, expected, rtol, atol)),
            lambda: _shifted_by_one(a, expected, rtol, atol),
        ]
    finders += [lambda: _step_size(a, expected), lambda: _different_start(a, expected)]
    return _first(finders)
