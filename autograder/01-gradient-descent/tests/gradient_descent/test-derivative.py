from mlgrader.checks import check_close

### BEGIN HIDDEN TESTS
import numpy as np

points = np.array([-3.0, -0.5, 0.0, 0.25, 7.0])
check_close(df(points), 2 * points, name="df(x) on an array", mistakes={
    "returned x instead of 2x (the derivative of x**2 is 2x)": points,
    "returned x**2, the function itself, not its slope": points ** 2,
    "wrong sign: the derivative of x**2 is +2x": -2 * points,
})
### END HIDDEN TESTS
check_close(df(1.0), 2.0, name="df(1.0)")
