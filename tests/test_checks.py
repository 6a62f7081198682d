"""Tests for mlgrader.checks: every check passes right values and explains wrong ones."""

import pickle
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from mlgrader.checks import (
    CheckFailure,
    accuracy,
    check_accuracy,
    check_close,
    check_equal,
    check_finite,
    check_loss_curve,
    check_probabilities,
    check_shape,
    check_type,
    seed_everything,
    to_numpy,
)


def failure(check, *args, **kwargs) -> CheckFailure:
    """Run a check that must fail and return its CheckFailure."""
    with pytest.raises(CheckFailure) as info:
        check(*args, **kwargs)
    return info.value


class Proxy:
    """Stands in for the grader's remote proxy: reveals its type only through the attribute."""

    def __init__(self, *type_names):
        self.__mlgrader_type_names__ = type_names

    def __call__(self, *args):
        raise AssertionError("a check must not call the proxy")

    def __getattr__(self, attribute):
        if attribute.startswith("__"):  # like the real proxy: special names stay local
            raise AttributeError(attribute)
        raise AssertionError(f"a check must not read {attribute!r} from the proxy")


MODULE_PROXY = Proxy("torch.nn.modules.linear.Linear", "torch.nn.modules.module.Module", "builtins.object")
FUNCTION_PROXY = Proxy("builtins.function", "builtins.object")


# --------------------------------------------------------------------------- CheckFailure


def test_check_failure_is_an_assertion_error_with_a_complete_message():
    exc = CheckFailure("x is 1, expected 2.", expected="2", found="1", hint="Add one.")
    assert isinstance(exc, AssertionError)
    assert str(exc) == exc.message == "x is 1, expected 2.\nHint: Add one."
    assert (exc.expected, exc.found, exc.hint) == ("2", "1", "Add one.")


def test_check_failure_survives_pickling():
    exc = pickle.loads(pickle.dumps(CheckFailure("bad", expected="1", found="2", hint="h")))
    assert (exc.message, exc.expected, exc.found, exc.hint) == ("bad\nHint: h", "1", "2", "h")


def test_importing_checks_does_not_import_torch():
    code = "import sys, mlgrader.checks; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- to_numpy


@pytest.mark.parametrize(
    "value, expected",
    [
        (3, np.array(3)),
        (2.5, np.array(2.5)),
        (True, np.array(1)),
        ([1, 2, 3], np.array([1, 2, 3])),
        ((1.0, 2.0), np.array([1.0, 2.0])),
        (np.float32(0.5), np.array(0.5)),
        (np.array([[1, 2]], dtype=np.int8), np.array([[1, 2]])),
        ([], np.zeros(0)),
    ],
)
def test_to_numpy_converts_python_and_numpy_values(value, expected):
    result = to_numpy(value)
    np.testing.assert_array_equal(result, expected)
    assert result.dtype in (np.float64, np.int64)


def test_to_numpy_converts_tensors_with_grad_half_precision_and_lists_of_them():
    w = torch.tensor([1.5, -2.0], requires_grad=True)
    assert to_numpy(w * 2).tolist() == [3.0, -4.0]
    assert to_numpy(torch.tensor([0.1], dtype=torch.float16)).dtype == np.float64
    assert to_numpy(torch.tensor([1.0, 2.0], dtype=torch.bfloat16)).tolist() == [1.0, 2.0]
    assert to_numpy([(w**2).sum(), w.sum()]).tolist() == [6.25, -0.5]
    assert to_numpy(torch.tensor([True, False])).tolist() == [1, 0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_to_numpy_and_check_close_read_cuda_tensors():
    w = torch.ones(3, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    assert to_numpy(w * 2).tolist() == [2.0, 2.0, 2.0]
    check_close([w.sum()], [3.0])


def test_to_numpy_rejects_meta_tensors():
    assert "'meta' device" in str(failure(to_numpy, torch.zeros(2, device="meta")))


def test_to_numpy_returns_a_copy():
    original = np.zeros(3)
    to_numpy(original)[0] = 1
    assert original[0] == 0


def test_to_numpy_of_none_asks_about_a_missing_return():
    exc = failure(to_numpy, None, name="result")
    assert "result is None" in str(exc)
    assert "did you forget to return a value?" in str(exc).lower()


@pytest.mark.parametrize(
    "value, words",
    [
        ("0.5", "str"),
        (len, "forget to call"),
        (FUNCTION_PROXY, "forget to call"),
        (MODULE_PROXY, "torch.nn.modules.linear.Linear object"),
        ((x for x in [1]), "list("),
        ([1.0, None], "value[1] is None"),
        ([[1, 2], [3]], "ragged"),
        ({"a": 1}, "expected numbers"),
    ],
)
def test_to_numpy_rejects_non_numbers_clearly(value, words):
    assert words in str(failure(to_numpy, value))


# --------------------------------------------------------------------------- check_close

GOOD_ITERATES = 0.8 ** np.arange(11)
WRONG_SIGN = {"added the gradient instead of subtracting it (wrong sign)": 1.2 ** np.arange(11)}


@pytest.mark.parametrize(
    "actual, expected",
    [
        (0.1 + 0.2, 0.3),
        ([1, 2, 3], np.array([1.0, 2.0, 3.0])),
        (torch.tensor([1.0, 2.0], dtype=torch.float16), [1.0, 2.0]),
        (torch.tensor(0.5, requires_grad=True), 0.5),
        (np.float32(1 / 3), 1 / 3),  # float32 rounding is within rtol
        (torch.tensor([0.25]), 0.25),  # one element vs a scalar
        ([float("nan"), 1.0], [float("nan"), 1.0]),
    ],
)
def test_check_close_passes_on_equal_values_whatever_their_type(actual, expected):
    check_close(actual, expected)


def test_check_close_reports_first_difference_and_max_difference():
    actual = GOOD_ITERATES.copy()
    actual[[3, 7]] += [0.01, 0.5]
    message = str(failure(check_close, actual, GOOD_ITERATES, name="xs"))
    assert "2 of 11 elements differ" in message
    assert "first difference at xs[3]: expected 0.512, found 0.522" in message
    assert "max abs difference 0.5 at xs[7]" in message


def test_check_close_names_a_known_mistake():
    xs = [1.0]
    for _ in range(10):
        xs.append(xs[-1] + 0.1 * 2 * xs[-1])
    exc = failure(check_close, xs, GOOD_ITERATES, name="xs", mistakes=WRONG_SIGN)
    assert "This looks like: added the gradient instead of subtracting it (wrong sign)." in str(exc)
    assert exc.found.startswith("shape (11,)")


def test_check_close_names_a_known_mistake_with_another_shape():
    mistakes = {"the starting value is missing": GOOD_ITERATES[1:]}
    message = str(failure(check_close, GOOD_ITERATES[1:], GOOD_ITERATES, name="xs", mistakes=mistakes))
    assert "xs has shape (10,), expected (11,)." in message
    assert "This looks like: the starting value is missing." in message


def test_check_close_does_not_claim_an_unmatched_mistake():
    message = str(failure(check_close, GOOD_ITERATES + 1, GOOD_ITERATES, mistakes=WRONG_SIGN))
    assert "This looks like" not in message


def test_check_close_shape_mismatch_mentions_off_by_one():
    exc = failure(check_close, np.zeros(10), np.zeros(11), name="xs")
    assert exc.problem == "xs has shape (10,), expected (11,)."
    assert "off by one" in exc.hint
    assert (exc.expected, exc.found) == ("(11,)", "(10,)")


def test_check_close_shape_mismatch_mentions_transposed():
    exc = failure(check_close, torch.zeros(3, 5), np.zeros((5, 3)), name="W")
    assert "W has shape (3, 5), expected (5, 3)." in str(exc)
    assert "transposed" in exc.hint


def test_check_close_shape_mismatch_mentions_extra_axis_and_last_value_only():
    assert "axes of length 1" in str(failure(check_close, np.zeros((4, 1)), np.zeros(4)))
    assert "only the last value" in str(failure(check_close, 0.1, GOOD_ITERATES))


def test_check_close_reports_nan_as_divergence():
    actual = GOOD_ITERATES.copy()
    actual[5:] = np.nan
    exc = failure(check_close, actual, GOOD_ITERATES, name="xs")
    assert "xs contains nan at xs[5]" in str(exc)
    assert "6 of 11 elements are NaN or infinite" in str(exc)
    assert "diverged: learning rate too large?" in str(exc)


def test_check_close_reports_inf_in_a_tensor():
    assert "contains inf" in str(failure(check_close, torch.tensor(float("inf")), 1.0))


def test_check_close_recognises_sign_and_constant_factor():
    assert "opposite sign" in str(failure(check_close, [-1.0, -2.0], [1.0, 2.0]))
    assert "half the expected" in str(failure(check_close, [0.5, 1.0, 1.5], [1.0, 2.0, 3.0]))
    assert "shifted by one" in str(failure(check_close, GOOD_ITERATES[[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]], GOOD_ITERATES))


def test_check_close_scalar_message_and_author_hint():
    exc = failure(check_close, 0.5, 0.25, name="loss", hint="Average over the batch.")
    assert exc.problem.startswith("loss: found 0.5, expected 0.25; the value found is above the expected one by 0.25 (100%).")
    assert exc.likely.startswith("The value is twice the expected one")
    assert str(exc).endswith("Hint: Average over the batch.")


def test_check_close_appends_author_hint_to_conversion_failures():
    exc = failure(check_close, None, 1.0, name="loss", hint="Return the loss.")
    assert "forget to return" in str(exc) and str(exc).endswith("Return the loss.")


def test_check_close_respects_tolerances():
    check_close(1.001, 1.0, rtol=1e-2)
    check_close(1e-9, 0.0)
    failure(check_close, 1.001, 1.0)


def test_check_close_blames_the_author_for_a_non_numeric_expected_value():
    with pytest.raises(TypeError, match="misconfigured"):
        check_close(1.0, None)


# --------------------------------------------------------------------------- shape, finite


def test_check_shape_with_wildcards_and_tensors():
    check_shape(torch.zeros(8, 3), (None, 3))
    check_shape([1, 2, 3], 3)
    check_shape(np.zeros((2, 3)), [2, 3])
    exc = failure(check_shape, np.zeros((3, 8)), (8, 3), name="X")
    assert exc.problem == "X has shape (3, 8), expected (8, 3)."
    assert "transposed" in exc.hint
    assert "expected (any, 3)" in str(failure(check_shape, np.zeros((8, 4)), (None, 3)))
    assert "reshape" in str(failure(check_shape, np.zeros(6), (2, 3)))


def test_check_finite():
    check_finite([1.0, 2.0])
    check_finite(torch.ones(3, requires_grad=True))
    exc = failure(check_finite, np.array([[1.0, np.inf]]), name="W")
    assert "W contains inf at W[0, 1]" in str(exc)
    assert "learning rate too large" in exc.hint


# --------------------------------------------------------------------------- check_equal


def test_check_equal():
    check_equal(3, 3)
    check_equal("cat", "cat")
    check_equal((1, 2), (1, 2))
    check_equal(np.int64(4), 4)
    check_equal(torch.tensor([1, 2]), [1, 2])
    assert "is 'Cat', expected 'cat'" in str(failure(check_equal, "Cat", "cat", name="label"))
    assert "upper/lower case" in str(failure(check_equal, "Cat", "cat"))
    assert "first difference at t[1]" in str(failure(check_equal, (1, 3), (1, 2), name="t"))
    assert "is a list, expected a tuple" in str(failure(check_equal, [1, 2], (1, 2)))
    assert "forget to return" in str(failure(check_equal, None, 3))
    assert "a[2]" in str(failure(check_equal, np.array([0, 1, 2]), np.array([0, 1, 3]), name="a"))
    assert str(failure(check_equal, 2, 3, hint="Count again.")).endswith("Hint: Count again.")


# --------------------------------------------------------------------------- check_type


@pytest.mark.parametrize(
    "value, typename",
    [
        (torch.nn.Linear(2, 1), "torch.nn.Module"),
        (torch.nn.Linear(2, 1), "nn.Module"),
        (torch.nn.Linear(2, 1), "Module"),
        (torch.nn.Linear(2, 1), "torch.nn.modules.linear.Linear"),
        (torch.nn.Parameter(torch.zeros(1)), "torch.Tensor"),
        (np.zeros(2), "numpy.ndarray"),
        (np.zeros(2), "np.ndarray"),
        (1.5, "float"),
        (np.float64(1.5), "float"),
        (3, "int"),
        ([1], "list"),
        (len, "callable"),
        (torch.nn.Linear(2, 1), "callable"),
        (3, ("float", "int")),
        (MODULE_PROXY, "torch.nn.Module"),
        (MODULE_PROXY, "Linear"),
        (MODULE_PROXY, "callable"),
        (FUNCTION_PROXY, "callable"),
    ],
)
def test_check_type_accepts(value, typename):
    check_type(value, typename)


@pytest.mark.parametrize(
    "value, typename, words",
    [
        (3.0, "torch.nn.Module", "model should be a torch.nn.Module, but it is a float (3)."),
        (MODULE_PROXY, "numpy.ndarray", "but it is a torch.nn.modules.linear.Linear object"),
        (FUNCTION_PROXY, "torch.nn.Module", "forget to call"),
        (torch.nn.Linear, "torch.nn.Module", "class itself"),
        (None, "callable", "forget to return"),
        (3, "callable", "something callable"),
        (True, "int", "an int, but it is a bool"),
        (torch.tensor(1.0), "float", ".item()"),
        (torch.zeros(2), "numpy.ndarray", ".numpy()"),
        (np.zeros(2), "torch.Tensor", "torch.from_numpy"),
        ([1.0], "numpy.ndarray", "np.array"),
    ],
)
def test_check_type_rejects_with_a_hint(value, typename, words):
    exc = failure(check_type, value, typename, name="model")
    assert words in str(exc)
    assert exc.expected is not None and exc.found is not None


# --------------------------------------------------------------------------- loss curves


def noisy_decreasing_losses(steps=200, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    return list(np.exp(-np.arange(steps) / 50) * (1 + noise * rng.standard_normal(steps)) + 0.05)


def test_check_loss_curve_passes_on_noisy_sgd_and_lists_of_tensors():
    losses = noisy_decreasing_losses()
    assert any(b > a for a, b in zip(losses, losses[1:]))  # really noisy
    check_loss_curve(losses, final_below=0.5)
    check_loss_curve(torch.tensor(losses))
    w = torch.tensor(2.0, requires_grad=True)
    check_loss_curve([(w * s) ** 2 for s in (1.0, 0.5, 0.25)])  # losses.append(loss) without .item()
    check_loss_curve(np.array([[1.0], [0.5]]))
    check_loss_curve([1.0, 1.0, 2.0], decreasing=False)


def test_check_loss_curve_reports_divergence():
    exc = failure(check_loss_curve, [1.0, 5.0, float("nan")])
    assert "the loss diverged" in str(exc) and "step 2" in str(exc)
    assert "learning rate too large?" in str(exc)


def test_check_loss_curve_reports_a_flat_curve():
    exc = failure(check_loss_curve, [0.693] * 20)
    assert "the loss never changed" in str(exc)
    assert "is the optimizer stepping" in str(exc).lower() and "gradients computed" in str(exc)


def test_check_loss_curve_reports_a_barely_changing_curve():
    assert "barely changed" in str(failure(check_loss_curve, [1.0, 1.001, 0.999, 1.0005]))


def test_check_loss_curve_reports_a_rising_curve():
    exc = failure(check_loss_curve, np.linspace(1.0, 3.0, 30))
    assert "the loss increased" in str(exc)
    assert "wrong sign in the update" in str(exc) and "learning rate too large" in str(exc)


def test_check_loss_curve_reports_down_then_up():
    exc = failure(check_loss_curve, [1.0, 0.3, 0.1, 0.4, 0.9, 1.5])
    assert "went down to 0.1 at step 2, then increased again" in str(exc)
    assert "zero_grad" in str(exc)


def test_check_loss_curve_last_value_must_be_below_the_first():
    losses = list(np.linspace(1.0, 0.1, 40)) + [1.05]
    assert "the last loss (1.05) is not below the first (1)" in str(failure(check_loss_curve, losses))


def test_check_loss_curve_tolerance_and_final_below():
    check_loss_curve(np.linspace(1.0, 0.4, 50), tolerance=0.5)
    assert "went down only" in str(failure(check_loss_curve, np.linspace(1.0, 0.9, 50), tolerance=0.5))
    exc = failure(check_loss_curve, np.linspace(1.0, 0.2, 50), final_below=0.1)
    assert "the final loss is 0.2, expected below 0.1" in str(exc)


def test_check_loss_curve_reports_wrong_lengths_and_shapes():
    assert "has 1 value, expected at least 2" in str(failure(check_loss_curve, [0.5]))
    assert "has 0 values" in str(failure(check_loss_curve, []))
    assert "single number" in str(failure(check_loss_curve, 0.5))
    assert ".mean()" in str(failure(check_loss_curve, np.ones((5, 4))))
    assert "forget to return" in str(failure(check_loss_curve, None))


# --------------------------------------------------------------------------- accuracy

LABELS = np.array([0, 1, 2, 1, 0])


def test_accuracy_of_indices_and_scores():
    assert accuracy([0, 1, 2, 1, 1], LABELS) == pytest.approx(0.8)
    logits = torch.eye(3)[[0, 1, 2, 1, 0]] * 5 - 1
    assert accuracy(logits.requires_grad_(), torch.tensor(LABELS)) == 1.0
    assert accuracy(np.array([0.0, 1.0]), [0, 0]) == 0.5


def test_accuracy_rejects_mismatched_inputs():
    assert "has 4 entries but there are 5 labels" in str(failure(accuracy, [0, 1, 2, 1], LABELS))
    assert "predictions has shape (3, 5), expected (5, any)." in str(failure(accuracy, np.zeros((3, 5)), LABELS))
    assert "threshold the scores" in str(failure(accuracy, np.zeros((5, 1)), LABELS))
    assert "not class indices" in str(failure(accuracy, [0.2, 0.7, 0.1, 0.3, 0.9], LABELS))
    assert "no examples" in str(failure(accuracy, [], []))


def test_check_accuracy():
    assert check_accuracy([0, 1, 2, 1, 1], LABELS, threshold=0.8) is None  # nbgrader: no value left behind
    exc = failure(check_accuracy, [0, 1, 2, 0, 2], LABELS, threshold=0.9)
    assert exc.problem == "accuracy is 60.0% (3 of 5 correct), expected at least 90.0%."
    assert (exc.expected, exc.found) == ("at least 90.0%", "60.0%")
    assert "predicts class 0 for every example" in str(failure(check_accuracy, [0] * 5, LABELS, threshold=0.5))
    assert "89.99%" in str(failure(check_accuracy, [1] * 8999 + [0] * 1001, [1] * 10000, threshold=0.9))
    with pytest.raises(ValueError):
        check_accuracy([0], [0], threshold=90)


def test_check_accuracy_of_an_untrained_model_blames_no_training_and_takes_a_hint():
    labels = np.arange(100) % 10
    wrong = (labels + 1) % 10 * (np.arange(100) % 3 > 0)
    trained = str(failure(check_accuracy, wrong, labels, threshold=0.5))
    assert "trained model" in trained
    knn = str(failure(check_accuracy, wrong, labels, threshold=0.5, trained=False, hint="vote among the k nearest"))
    assert "chance level for 10 classes" in knn and "trained" not in knn and "learning rate" not in knn
    assert knn.endswith("Hint: That is about chance level for 10 classes: are the predictions in the same order "
                        "as the labels? vote among the k nearest")
    middling = str(failure(check_accuracy, [0, 1, 2, 0, 2], LABELS, threshold=0.9, trained=False))
    assert "Hint" not in middling  # nothing the predictions tell, and no training to blame


def test_every_check_adds_its_hint_to_its_own_message():
    cases = [(check_shape, (np.zeros((3, 2)), (2, 3))), (check_finite, (np.array([np.nan]),)),
             (check_type, ([1], "numpy.ndarray")), (check_probabilities, (np.array([[0.5, 0.6]]),)),
             (check_loss_curve, ([1.0, 2.0, 3.0],)), (check_equal, (1, 2)), (check_close, (1.0, 2.0))]
    for check, args in cases:
        plain = str(failure(check, *args))
        hinted = str(failure(check, *args, hint="see section 2"))
        assert hinted.startswith(plain.split("\nHint: ")[0]) and hinted.endswith("see section 2"), check.__name__


def test_check_accuracy_mentions_chance_level():
    labels = np.arange(100) % 10
    exc = failure(check_accuracy, (labels + 1) % 10 * (np.arange(100) % 3 > 0), labels, threshold=0.5)
    assert "chance level for 10 classes" in str(exc)


# --------------------------------------------------------------------------- probabilities


def test_check_probabilities_accepts_softmax_outputs():
    check_probabilities(torch.softmax(torch.randn(4, 3), dim=1))
    check_probabilities(torch.softmax(torch.randn(4, 3), dim=0), axis=0)
    check_probabilities([0.25, 0.75])


def test_check_probabilities_reports_the_wrong_axis():
    exc = failure(check_probabilities, torch.softmax(torch.randn(4, 3), dim=0), name="p")
    assert "normalised over the wrong axis" in str(exc)
    assert "sums to 1 along axis 0 instead of axis 1" in str(exc)


def test_check_probabilities_reports_logits_log_probabilities_and_sigmoid():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, -3.0]])
    assert "logits" in str(failure(check_probabilities, logits))
    assert "log-probabilities" in str(failure(check_probabilities, torch.log_softmax(logits, dim=1)))
    exc = failure(check_probabilities, torch.sigmoid(logits), name="p")
    assert "do not sum to 1 along axis 1: p[0, :] sums to" in str(exc)
    assert "sigmoid" in str(exc)


def test_check_probabilities_reports_nan_and_scalars():
    assert "contains nan" in str(failure(check_probabilities, [float("nan"), 1.0]))
    assert "single number" in str(failure(check_probabilities, 1.0))
    assert "no axis 1" in str(failure(check_probabilities, [0.5, 0.5], axis=1))


# --------------------------------------------------------------------------- seeding


def test_seed_everything_makes_random_numbers_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    assert seed_everything(7) == 7
    first = draw()
    seed_everything(7)
    assert draw() == first
    assert seed_everything() == 0
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_fit_weights_names_the_file_and_layout_when_weights_do_not_fit():
    from mlgrader.artifacts import fit_weights

    saved = torch.nn.Linear(784, 10).state_dict()
    model = fit_weights(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)),
                        {f"1.{k}": v for k, v in saved.items()}, "w.safetensors", "Flatten + Linear(784, 10)")
    assert not model.training and torch.equal(model[1].weight, saved["weight"])
    with pytest.raises(AssertionError, match=r"w\.safetensors does not fit Flatten \+ Linear\(784, 10\)"):
        fit_weights(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)), saved,
                    "w.safetensors", "Flatten + Linear(784, 10)")


# --- reasoning about the numbers (mlgrader.checks.diagnose) -----------------------------------

def _fit_weight(x, y, w, lr, epochs, loss_reduce, grad_reduce):
    """Gradient descent on w in y = w x: the loss and the gradient each reduced as given (mean or sum)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    history = []
    for _ in range(epochs):
        err = w * x - y
        history.append(float(loss_reduce(err ** 2)))
        w = w - lr * 2 * grad_reduce(err * x)
    return w, history


X_NEW, Y_NEW = [-2.0, 0.5, 1.0, 4.0], [4.0, -1.0, -2.0, -8.0]


def test_a_gradient_that_sums_instead_of_averaging_is_named_from_the_loss_curve():
    _, reference = _fit_weight(X_NEW, Y_NEW, 1.0, 0.02, 30, np.mean, np.mean)
    _, summed = _fit_weight(X_NEW, Y_NEW, 1.0, 0.02, 30, np.mean, np.sum)
    exc = failure(check_loss_curve, summed, expected=reference, rtol=1e-6, name="losses")
    assert exc.likely.startswith("From the same start the loss falls as if each step were 4 times too large")
    assert str(exc).splitlines()[0] == exc.likely and "sum" in exc.likely  # the mistake comes before the numbers


def test_a_loss_that_sums_is_named_at_its_first_value():
    _, reference = _fit_weight(X_NEW, Y_NEW, 1.0, 0.02, 30, np.mean, np.mean)
    _, summed = _fit_weight(X_NEW, Y_NEW, 1.0, 0.02, 30, np.sum, np.sum)
    exc = failure(check_loss_curve, summed, expected=reference, rtol=1e-6)
    assert "4 times the expected" in exc.likely and "mean" in exc.likely


def test_a_weight_that_converged_faster_is_explained_not_blamed_on_the_reference():
    w_ref, _ = _fit_weight(X_NEW, Y_NEW, 1.0, 0.02, 30, np.mean, np.mean)
    w_sum, _ = _fit_weight(X_NEW, Y_NEW, 1.0, 0.02, 30, np.mean, np.sum)
    exc = failure(check_close, w_sum, w_ref, rtol=1e-6, start=1.0, name="the weight")
    assert "steps were larger" in exc.likely
    assert "the weight: found -2" in exc.problem and "below the expected one" in exc.problem


def test_an_update_n_times_too_large_uphill_or_missing_is_named_with_start():
    start = np.array([1.0, -2.0, 0.5])
    step = np.array([0.1, 0.3, -0.2])
    assert "3 times the expected" in failure(check_close, start - 3 * step, start - step, start=start).likely
    assert "opposite way" in failure(check_close, start + step, start - step, start=start).likely
    assert "did not move" in failure(check_close, start, start - step, start=start).likely


def test_nll_loss_on_raw_logits_is_named_from_a_negative_cross_entropy():
    torch.manual_seed(0)
    x, y = torch.randn(256, 20), torch.randint(0, 5, (256,))
    w = (0.01 * torch.randn(5, 20)).requires_grad_(True)
    losses = []
    for _ in range(5):
        w.grad = None
        loss = torch.nn.NLLLoss()(x @ w.T, y)  # raw logits: no log_softmax
        loss.backward()
        losses.append(loss.item())
        with torch.no_grad():
            w -= 0.5 * w.grad
    exc = failure(check_loss_curve, losses, kind="cross-entropy")
    assert exc.likely.startswith("A cross-entropy loss is never negative") and "NLLLoss" in exc.likely
    assert "log_softmax" in exc.hint


def test_loss_curves_that_never_move_rise_or_diverge_name_their_cause():
    assert "no step" in failure(check_loss_curve, [2.0] * 5).likely
    assert "uphill" in failure(check_loss_curve, [1.0, 1.5, 2.5, 4.0]).likely
    assert "diverged" in failure(check_loss_curve, [1.0, 3.0, float("nan")]).likely
    assert "shifted by one" in failure(check_loss_curve, [3.0, 2.0, 1.5, 1.2], expected=[4.0, 3.0, 2.0, 1.5]).likely


def test_shape_mistakes_are_read_from_the_values():
    values = np.array([1.0, 2.0, 6.0])
    assert "missing mean" in failure(check_close, values, 3.0).likely
    assert "broadcasting" in failure(check_close, np.ones((4, 4)), np.ones(4)).likely
    assert "transposed" in failure(check_close, np.arange(6.0).reshape(2, 3).T, np.arange(6.0).reshape(2, 3)).likely


def test_messages_say_the_weights_differ_without_a_verb_that_disagrees():
    exc = failure(check_close, np.ones(3), np.zeros(3) + 2, name="the weights")
    assert "does not match" not in str(exc) and "the weights: 3 of 3 elements differ" in exc.problem


def test_a_normalisation_over_the_wrong_axis_is_read_from_the_values():
    z = np.random.default_rng(0).normal(size=(4, 3))
    softmax = lambda v, axis: np.exp(v) / np.exp(v).sum(axis=axis, keepdims=True)  # noqa: E731
    assert "normalised along the wrong axis" in failure(check_close, softmax(z, 0), softmax(z, 1)).likely
    shifted = z - z.max(axis=0, keepdims=True)  # a max shift over the wrong axis: rows still sum to 1
    assert "before normalising" in failure(check_close, softmax(shifted, 1) ** 1.1 / (softmax(shifted, 1) ** 1.1).sum(1, keepdims=True),
                                           softmax(z, 1)).likely
    X = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 5.0]])
    centred_rows = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=0)
    assert "mean of the values along axis 0 should be 0" in failure(check_close, centred_rows, (X - X.mean(0)) / X.std(0)).likely


def test_monotonic_loss_curves_name_gradients_that_pile_up():
    exc = failure(check_loss_curve, [1.0, 0.8, 0.6, 0.65, 0.4], monotonic=True, name="clf_losses")
    assert "rose at step 3" in exc.problem and "not zeroed" in exc.likely
    check_loss_curve([1.0, 0.8, 0.6, 0.5], monotonic=True)


def test_values_that_blow_up_are_called_divergence():
    assert "diverged" in failure(check_close, [1.0, 5e12, -3e30], [1.0, 0.8, 0.64]).likely
