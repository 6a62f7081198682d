from mlgrader.checks import check_close, check_shape

### BEGIN HIDDEN TESTS
import numpy as np

def iterate(step, n=10):
    out = [1.0]
    for _ in range(n):
        out.append(step(out[-1]))
    return np.array(out)

expected = 0.8 ** np.arange(11)
check_close(xs, expected, name="xs", mistakes={
    "added the gradient instead of subtracting it (wrong sign: step downhill, x - alpha * f'(x))": 1.2 ** np.arange(11),
    "used f'(x) = x instead of 2x": 0.9 ** np.arange(11),
    "stepped by the function value f(x) instead of the slope f'(x)": iterate(lambda x: x - 0.1 * x ** 2),
    "collected only 10 iterates after the start but overwrote the start": iterate(lambda x: 0.8 * x, 11)[1:],
})
assert abs(xs[-1]) < 0.11, f"after 10 steps x should be close to the minimum 0, got {xs[-1]:.4f}"
### END HIDDEN TESTS
check_shape(xs, (11,), name="xs")
check_close(xs[:3], [1.0, 0.8, 0.64], name="the first three iterates")
