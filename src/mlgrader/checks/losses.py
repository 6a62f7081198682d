"""Loss curves: finite, long enough, going down, ending low; and compared with a reference run."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .compare import CheckFailure, added_hint, _author_array, to_numpy
from .diagnose import NON_NEGATIVE_KINDS, trajectory_cause
from .text import _format_number, _format_shape, _summarize_array

# The kinds of loss check_loss_curve knows; those that cannot be negative are in NON_NEGATIVE_KINDS.
KNOWN_KINDS = (*NON_NEGATIVE_KINDS, "other")

# Share of the loss curve averaged at each end, so that SGD noise in single steps
# does not decide whether training went down.
_LOSS_WINDOW_FRACTION = 0.1

# A relative change of the loss smaller than this is reported as "barely changed".
_LOSS_BARELY_CHANGED = 0.01

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
    name: str = "loss history", hint: str | None = None,
    min_length: int = 2,
    final_below: float | None = None,
    decreasing: bool = True,
    tolerance: float = 0.0,
    expected: Any = None,
    kind: str | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    monotonic: bool = False,
) -> None:
    """Fail unless ``losses`` (one number per step/epoch) looks like successful training.

    Checks, in order: every loss is finite; a loss of a ``kind`` that cannot be negative
    ("cross-entropy", "nll", "mse", "squared-error", "bce") is not; there are at least
    ``min_length`` values; the curve equals ``expected`` (a reference run's losses, within
    ``rtol``/``atol``) if given; with ``decreasing``, the curve goes down (mean of the last
    10% of values below the mean of the first 10%, by at least ``tolerance`` times the
    starting level, and the last value below the first), so that single noisy SGD steps do
    not decide; and the last value is below ``final_below`` if given. ``losses`` may be a
    list of floats or of 0-d tensors (``losses.append(loss)`` without ``.item()``), an array
    or a tensor. With ``monotonic`` (full-batch gradient descent with a safe step size, whose
    loss can only go down) no step may raise the loss at all. ``hint`` is added to every
    failure.

    A failure starts with the likely mistake read from the trajectory
    (:func:`mlgrader.checks.diagnose.trajectory_cause`): NaN or inf, a negative
    cross-entropy (NLLLoss on raw logits), a loss that never moves (no step), one that rises
    (a step uphill), and, against ``expected``, steps N times too large (a sum instead of a
    mean), losses N times too large, a curve shifted by one step, a different first loss.

    Example::

        losses = [2.3, 1.1, 0.7, 0.5, 0.42, 0.4]   # one per epoch
        check_loss_curve(losses, name="the training loss", min_length=5, final_below=0.5, kind="cross-entropy")
        check_loss_curve([1.0, 0.5, 0.25], expected=[1.0, 0.5, 0.25], monotonic=True, name="full-batch loss")
    """
    with added_hint(hint):
        if tolerance < 0 or min_length < 0:
            raise ValueError("check_loss_curve: tolerance and min_length must not be negative")
        if kind is not None and kind not in KNOWN_KINDS:
            raise ValueError(f"check_loss_curve: kind must be one of {', '.join(KNOWN_KINDS)}, got {kind!r}")
        values = _loss_values(losses, name)
        reference = None if expected is None else _loss_values(_author_array(expected, f"expected {name}"), f"expected {name}")
        try:
            _check_curve(values, reference, name=name, min_length=min_length, final_below=final_below,
                         decreasing=decreasing, tolerance=tolerance, kind=kind, rtol=rtol, atol=atol)
            if monotonic:
                _check_monotonic(values, name)
        except CheckFailure as exc:
            cause = trajectory_cause(values, reference, kind=kind, rtol=rtol, atol=atol)
            raise (exc.with_likely(cause.likely, cause.hint) if cause else exc) from None


def _check_curve(values: np.ndarray, reference: np.ndarray | None, *, name: str, min_length: int,
                 final_below: float | None, decreasing: bool, tolerance: float, kind: str | None,
                 rtol: float, atol: float) -> None:
    """check_loss_curve's checks in order, without the likely mistake: raise the first failure."""
    non_finite = ~np.isfinite(values)
    if non_finite.any():
        step = int(np.argmax(non_finite))
        raise CheckFailure(
            f"{name}: the loss diverged, it is {_format_number(values[step])} at step {step} of {len(values)}.",
            expected="finite losses",
            found=_summarize_array(values),
            hint="Is the learning rate too large? Otherwise look for log(0) or a division by zero in the loss.",
        )
    if kind in NON_NEGATIVE_KINDS and values.min() < 0:
        step = int(np.argmax(values < 0))
        raise CheckFailure(
            f"{name}: the loss is {_format_number(values[step])} at step {step}; a {kind} loss is never below 0.",
            expected="losses >= 0",
            found=_summarize_array(values),
        )
    if len(values) < min_length:
        raise CheckFailure(
            f"{name} has {len(values)} value{'s' if len(values) != 1 else ''}, expected at least {min_length}.",
            expected=f"at least {min_length} values",
            found=str(len(values)),
            hint="Record the loss at every step, inside the training loop.",
        )
    if reference is not None:
        _compare_with_reference(values, reference, name, rtol, atol)
    if decreasing and len(values) >= 2:
        _check_loss_trend(values, name, tolerance)
    if final_below is not None and not values[-1] < final_below:
        raise CheckFailure(
            f"{name}: the final loss is {_format_number(values[-1])}, expected below {_format_number(final_below)}.",
            expected=f"below {_format_number(final_below)}",
            found=_format_number(values[-1]),
            hint="Train for more steps, or tune the learning rate.",
        )


def _compare_with_reference(values: np.ndarray, reference: np.ndarray, name: str, rtol: float, atol: float) -> None:
    """Fail unless the curve is the reference run's, step by step."""
    if values.shape != reference.shape:
        raise CheckFailure(
            f"{name} has {len(values)} values, expected {len(reference)} (one per step of the reference run).",
            expected=f"{len(reference)} values",
            found=str(len(values)),
            hint="Record exactly one loss per step (per batch), inside the loop.",
        )
    close = np.isclose(values, reference, rtol=rtol, atol=atol)
    if close.all():
        return
    first = int(np.argmin(close))
    raise CheckFailure(
        f"{name}: {int((~close).sum())} of {len(values)} losses differ from the reference run's; the first at "
        f"step {first}: expected {_format_number(reference[first])}, found {_format_number(values[first])} "
        f"(tolerance: rtol={rtol:g}, atol={atol:g}).",
        expected=_summarize_array(reference),
        found=_summarize_array(values),
    )


def _check_monotonic(values: np.ndarray, name: str) -> None:
    """Fail at the first step that raised the loss (beyond float noise)."""
    scale = max(float(np.max(np.abs(values))), 1e-12)
    rises = np.flatnonzero(np.diff(values) > 1e-6 * scale)
    if not rises.size:
        return
    step = int(rises[0]) + 1
    raise CheckFailure(
        f"{name}: the loss rose at step {step}, from {_format_number(values[step - 1])} to "
        f"{_format_number(values[step])} ({len(rises)} step{'s' if len(rises) != 1 else ''} raised it in all).",
        expected="a loss that goes down at every step",
        found=_summarize_array(values),
        likely="The loss went up although every step sees the whole data set with a small learning rate, "
               "which can only lower it: the gradients are not zeroed between steps (backward() adds them up, "
               "so the steps keep growing and overshoot), or the learning rate is too large.",
        hint="Call optimizer.zero_grad() (or zero each .grad) once per step, before or after the update.")
