from mlgrader.checks import check_close

assert abs(w_nudged * 3.0 - 9.0) <= 0.1, (
    f"with w = {w_nudged:.3f} the prediction 3 * w = {3 * w_nudged:.3f} is not within 0.1 of 9")
