from mlgrader.checks import check_close

### BEGIN HIDDEN TESTS
def reference(w, x, y, step=0.05, tol=0.1, max_iters=90):
    for _ in range(max_iters):
        error = w * x - y
        if abs(error) <= tol:
            break
        w = w - step if error > 0 else w + step
    return w

for args, kwargs in [((0.5, 3.0, 9.0), {}), ((4.0, 2.0, 5.0), {}), ((-1.0, 5.0, 15.0), {"step": 0.1}),
                     ((0.0, 1.0, 2.0), {"max_iters": 10})]:
    got = nudge_weight(*args, **kwargs)
    check_close(got, reference(*args, **kwargs), atol=1e-9, name=f"nudge_weight{args}", mistakes={
        "nudged in the wrong direction (when the prediction is too big, w must go down)":
            reference(args[0], args[1], args[2], step=-kwargs.get("step", 0.05),
                      max_iters=kwargs.get("max_iters", 90)),
        "ignored max_iters (the loop must stop after max_iters nudges)":
            reference(*args, **{**kwargs, "max_iters": 10_000}),
    })
### END HIDDEN TESTS
assert abs(w_nudged * 3.0 - 9.0) <= 0.1, (
    f"with w = {w_nudged:.3f} the prediction 3 * w = {3 * w_nudged:.3f} is not within 0.1 of 9")
