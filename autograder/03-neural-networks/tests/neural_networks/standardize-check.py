import numpy as np
from mlgrader.checks import check_close

ref_S = np.array([[1.0, 10.0], [3.0, 30.0]])
check_close(standardize(ref_S), [[-1.0, -1.0], [1.0, 1.0]], name="standardize([[1, 10], [3, 30]])",
            mistakes={"standardized each row (axis=1) instead of each column (axis=0)":
                          [[-1.0, 1.0], [-1.0, 1.0]],
                      "used the mean and std of the whole array instead of one per column":
                          (ref_S - ref_S.mean()) / ref_S.std()})
### BEGIN HIDDEN TESTS
from mlgrader.checks import CheckFailure

ref_rng = np.random.default_rng(2024)
for ref_shape in [(50, 3), (7, 7), (2, 5), (200, 1)]:
    ref_X = ref_rng.normal(loc=ref_rng.uniform(-10, 10, ref_shape[1]),
                           scale=ref_rng.uniform(0.5, 20, ref_shape[1]), size=ref_shape)
    try:
        ref_out = standardize(ref_X)
    except Exception as exc:
        raise CheckFailure(
            f"standardize raised {type(exc).__name__}: {exc} for an input of shape {ref_shape}. "
            "The mean and std of each column have shape (d,), which broadcasts against (n, d): "
            "reduce with axis=0.") from None
    ref_mean, ref_std = ref_X.mean(axis=0), ref_X.std(axis=0)
    ref_mistakes = {
        "used the mean and std of the whole array instead of one per column":
            (ref_X - ref_X.mean()) / ref_X.std(),
        "used the sample standard deviation (ddof=1); use np.std's default, ddof=0":
            (ref_X - ref_mean) / ref_X.std(axis=0, ddof=1),
        "only subtracted the mean; also divide by the standard deviation": ref_X - ref_mean,
    }
    if ref_shape[1] > 1:
        ref_mistakes["standardized each row (axis=1) instead of each column (axis=0)"] = (
            (ref_X - ref_X.mean(axis=1, keepdims=True)) / ref_X.std(axis=1, keepdims=True))
    check_close(ref_out, (ref_X - ref_mean) / ref_std, rtol=1e-6, atol=1e-9,
                name=f"standardize(X) for X of shape {ref_shape}", mistakes=ref_mistakes)
### END HIDDEN TESTS
