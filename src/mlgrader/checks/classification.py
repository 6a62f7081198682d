"""Classification: accuracy thresholds and probability checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .compare import CheckFailure, added_hint, _shape_failure, _shape_mistake_hint, check_finite, to_numpy
from .text import _element_label, _format_number, _format_shape, _summarize_array

# Entries closer to 1 than this count as "sums to 1" in check_probabilities.
_PROBABILITY_ATOL = 1e-5

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
                hint="For a binary classifier, threshold the scores into class indices, e.g. torch.where(p > 0.5, 1, 0).squeeze(1) (or > 0 for logits).",
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


def _accuracy_hint(predicted: np.ndarray, y: np.ndarray, num_classes: int | None, acc: float,
                   trained: bool) -> str | None:
    """What the predictions say about the mistake; of training only where there was training
    (a kNN or a fixed rule has no learning rate to blame)."""
    classes = np.unique(predicted)
    if len(classes) == 1 and len(np.unique(y)) > 1:
        cause = ("did training diverge or collapse (learning rate too large?), or is the model's output ignored?"
                 if trained else "is the model's output ignored, or are the predictions computed from the wrong input?")
        return f"The model predicts class {int(classes[0])} for every example: {cause}"
    if num_classes is None:
        num_classes = int(max(predicted.max(), y.max())) + 1
    if num_classes >= 2 and acc <= 1.5 / num_classes:
        question = ("is the trained model evaluated (not a fresh one), and are predictions in the same order as "
                    "the labels?" if trained else "are the predictions in the same order as the labels?")
        return f"That is about chance level for {num_classes} classes: {question}"
    return "Train longer, tune the learning rate, or check the model architecture." if trained else None


def check_accuracy(predictions: Any, labels: Any, *, threshold: float, name: str = "accuracy",
                   hint: str | None = None, trained: bool = True) -> None:
    """Fail unless ``accuracy(predictions, labels) >= threshold``.

    Returns None on purpose: nbgrader reads the value a test cell ends with as partial
    credit, so a check must not leave one behind. Use :func:`accuracy` for the number.

    ``predictions`` and ``labels`` are as for :func:`accuracy`; ``threshold`` is a
    fraction in [0, 1], compared without tolerance. The test should compute
    ``predictions`` itself on data the grader owns (a held-out set), calling the student's
    model. Its message gives both accuracies as percentages, then what the predictions
    say: one class for every example, an accuracy about chance level, and (only with
    ``trained``, the default) what training may have got wrong ("is the trained model
    evaluated (not a fresh one)?", "train longer, tune the learning rate"). Pass
    ``trained=False`` for a model without training (k-nearest neighbours, a fixed rule).
    ``hint`` is added to every failure, after the built-in one.

    Example::

        logits = np.array([[2.0, 0.1], [0.3, 1.5], [1.2, 0.4]])   # model(x_test), say
        check_accuracy(logits, np.array([0, 1, 0]), threshold=0.9, name="test accuracy")
        check_accuracy(np.array([0, 1, 1]), np.array([0, 1, 1]), threshold=0.9, name="kNN accuracy",
                       trained=False, hint="k neighbours vote; ties go to the smaller label")
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"check_accuracy: threshold is a fraction in [0, 1], got {threshold!r}")
    predicted, y, num_classes = _predicted_classes(predictions, labels)
    correct = int(np.sum(predicted == y))
    acc = correct / len(y)
    if acc < threshold:
        found, wanted = _format_percent_pair(acc, threshold)
        hints = [h for h in (_accuracy_hint(predicted, y, num_classes, acc, trained), hint) if h]
        raise CheckFailure(
            f"{name} is {found} ({correct} of {len(y)} correct), expected at least {wanted}.",
            expected=f"at least {wanted}",
            found=found,
            hint=" ".join(hints) or None,
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


def check_probabilities(p: Any, *, axis: int = -1, name: str = "probabilities", hint: str | None = None) -> None:
    """Fail unless ``p`` is finite, non-negative and sums to 1 along ``axis`` (atol 1e-5).

    ``p`` is anything :func:`to_numpy` takes, at least one-dimensional; ``axis`` is the
    axis of the classes (default the last). The message says which row is wrong and how
    (a negative entry, a sum that is not 1: logits or log-probabilities passed instead? a
    sum over the wrong axis?); ``hint`` is added to every failure.

    Example::

        check_probabilities(np.array([[0.2, 0.8], [0.5, 0.5]]), name="softmax(logits)")
    """
    with added_hint(hint):
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
