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
