import numpy as np
from mlgrader.checks import CheckFailure, check_shape, check_close

check_shape(a, (1,), name="a")
check_shape(b, (1,), name="b")
if not np.all(np.isfinite([a[0], b[0]])) or max(abs(a[0]), abs(b[0])) > 1e3:
    raise CheckFailure(
        f"gradient descent diverged: a = {a[0]:.3g}, b = {b[0]:.3g}. Each step must go against the "
        "gradient (a = a - lr * a_grad) and the learning rate must stay lr = 0.1: a wrong sign, or "
        "a learning rate that is too large, makes the parameters blow up.")
check_close([a[0], b[0]], [1.0, 2.0], atol=0.1, name="(a, b) after training",
            hint="the data was made with a = 1 and b = 2")
### BEGIN HIDDEN TESTS
from mlgrader.checks import check_loss_curve

# Rebuild the data and replay gradient descent here, with and without typical mistakes.
ref_rs = np.random.RandomState(42)
ref_x = ref_rs.rand(100, 1)
ref_y = 1 + 2 * ref_x + .1 * ref_rs.randn(100, 1)
ref_idx = np.arange(100)
ref_rs.shuffle(ref_idx)
ref_xt, ref_yt = ref_x[ref_idx[:80]], ref_y[ref_idx[:80]]


def replay_gd(xs, ys, sign=-1.0, factor=2.0):
    init = np.random.RandomState(42)
    ra, rb = init.randn(1), init.randn(1)
    for _ in range(1000):
        err = ys - (ra + rb * xs)
        ra, rb = ra + sign * 0.1 * (-factor * err.mean()), rb + sign * 0.1 * (-factor * (xs * err).mean())
    return np.concatenate([ra, rb])


found = np.concatenate([np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()])
# The values printed by the original lesson (batch gradient descent, lr 0.1, 1000 epochs).
check_close(found, [1.02354094, 1.96896411], rtol=0, atol=1e-6, name="(a, b) after 1000 epochs",
            mistakes={
                "trained on all 100 points (x, y) instead of the training split (x_train, y_train)":
                    replay_gd(ref_x, ref_y),
                "the gradients miss the factor 2 from the derivative of the square":
                    replay_gd(ref_xt, ref_yt, factor=1.0),
            },
            hint="follow the update a = a - lr * dE/da exactly, once per epoch, on x_train and y_train")
check_loss_curve(np_losses, name="np_losses", min_length=1000, final_below=0.00805, decreasing=True)
check_close(len(np_losses), 1000, name="len(np_losses)", hint="append the loss once per epoch")
ref_init = np.random.RandomState(42)
ref_a0, ref_b0 = ref_init.randn(1), ref_init.randn(1)
ref_loss0 = float(((ref_yt - (ref_a0 + ref_b0 * ref_xt)) ** 2).mean())
check_close(np_losses[0], ref_loss0, rtol=1e-6, name="np_losses[0] (loss at the starting point)",
            hint="compute the loss from the prediction of the current a and b, before updating them")
### END HIDDEN TESTS
