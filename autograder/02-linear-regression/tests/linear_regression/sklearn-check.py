from mlgrader.checks import check_close

check_close([sk_intercept, sk_slope], [1.0, 2.0], atol=0.1, name="(sk_intercept, sk_slope)")
check_close(val_mse, 0.01, atol=0.01, name="val_mse", hint="the noise has variance 0.1**2 = 0.01")
### BEGIN HIDDEN TESTS
import numpy as np

ref_rs = np.random.RandomState(42)
ref_x = ref_rs.rand(100, 1)
ref_y = 1 + 2 * ref_x + .1 * ref_rs.randn(100, 1)
ref_idx = np.arange(100)
ref_rs.shuffle(ref_idx)
ref_tr, ref_va = ref_idx[:80], ref_idx[80:]


def least_squares(xs, ys):
    design = np.hstack([np.ones_like(xs), xs])
    return np.linalg.lstsq(design, ys, rcond=None)[0].ravel()  # [intercept, slope]


ref_ab = least_squares(ref_x[ref_tr], ref_y[ref_tr])
check_close([sk_intercept, sk_slope], ref_ab, rtol=0, atol=1e-6, name="(sk_intercept, sk_slope)",
            mistakes={
                "fitted on all 100 points instead of the training split": least_squares(ref_x, ref_y),
                "fitted on the validation split instead of the training split":
                    least_squares(ref_x[ref_va], ref_y[ref_va]),
                "swapped the intercept and the slope": ref_ab[::-1],
            })
# The fitted model itself, on inputs the notebook never saw.
ref_inputs = np.array([[-1.0], [0.0], [0.25], [3.0]])
check_close(np.asarray(linr.predict(ref_inputs)).ravel(), ref_ab[0] + ref_ab[1] * ref_inputs.ravel(),
            atol=1e-6, name="linr.predict on new inputs", hint="fit linr on (x_train, y_train)")
ref_pred = lambda rows: ref_ab[0] + ref_ab[1] * ref_x[rows]
check_close(val_mse, np.mean((ref_y[ref_va] - ref_pred(ref_va)) ** 2), rtol=1e-6, name="val_mse",
            mistakes={
                "evaluated on the training set instead of the validation set":
                    np.mean((ref_y[ref_tr] - ref_pred(ref_tr)) ** 2),
                "took the root of the mean squared error (RMSE), not the MSE":
                    np.sqrt(np.mean((ref_y[ref_va] - ref_pred(ref_va)) ** 2)),
                "summed the squared errors instead of averaging them":
                    np.sum((ref_y[ref_va] - ref_pred(ref_va)) ** 2),
            })
### END HIDDEN TESTS
