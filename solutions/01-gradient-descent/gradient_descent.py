# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   mlgrader:
#     assignment: 01-gradient-descent
#     title: Gradient descent from scratch
#     timeout: 300
# ---

# %% [markdown]
# # Gradient descent from scratch
#
# Training a neural network is, at heart, one idea repeated millions of times: look at
# the slope of the error and take a small step downhill. In this notebook you write that
# idea yourself, first on a parabola and then to *learn* the weight of $f(x) = 3x$ from
# examples.
#
# | exercise | points |
# |---|---|
# | 1. the derivative of $x^2$ | 1 |
# | 2. the gradient-descent loop | 2 |
# | 3. learning a weight by nudging | 2 |
# | 4. learning a weight with its gradient | 3 |
# | **total** | **8** |
#
# Run every cell from top to bottom. The cells marked *tests* check your work; passing
# them locally is a good sign, and the autograder adds hidden checks of its own.

# %%
import numpy as np

# %% [markdown]
# ## 1. Walking downhill on $f(x) = x^2$
#
# The tangent line at a point is a good local picture of the function. Its slope is the
# derivative; for $f(x) = x^2$ that is
#
# $$f'(x) = 2x .$$
#
# Write `df(x)`, the derivative of $f$. It should work for a number and for a numpy array.

# %%
def f(x):
    return x ** 2


# %% grade_id="derivative"
def df(x):
    """The derivative of f(x) = x**2 at x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


# %% grade_id="test-derivative" points=1
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


# %% [markdown]
# ## 2. The gradient-descent loop
#
# Starting at $x_0 = 1$, gradient descent repeats
#
# $$x_n = x_{n-1} - \alpha\, f'(x_{n-1})$$
#
# with learning rate $\alpha = 0.1$. By hand: $1 - 0.1 \cdot 2 = 0.8$, then
# $0.8 - 0.1 \cdot 1.6 = 0.64$.
#
# Complete the loop so that `xs` holds the starting point and the 10 iterates after it
# (11 numbers). Use your `df`.

# %% grade_id="gd-loop"
alpha = 0.1
xs = [1.0]
for i in range(10):
    ### BEGIN SOLUTION
    xs.append(xs[-1] - alpha * df(xs[-1]))
    ### END SOLUTION
xs = np.array(xs)

# %% grade_id="test-gd-loop" points=2
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


# %% [markdown]
# Did we find the minimum? Each step multiplies $x$ by $1 - 2\alpha = 0.8$, so $x_n = 0.8^n$
# creeps towards $0$, where the slope vanishes. (Try $\alpha = 1.1$ and watch it diverge.)
#
# ## 3. Learning a weight by nudging
#
# Now the machine *learns* something. We want the weight $w$ in $f(x) = w\,x$ from one
# example, $x = 3$ and $y = 9$. The simplest learning rule has no calculus at all:
#
# 1. predict $\hat y = w\,x$ and measure the error $e = \hat y - y$;
# 2. if $|e| \le$ `tol`, stop: we found a good weight;
# 3. otherwise nudge: $w \leftarrow w - $ `step` if $e > 0$ (prediction too big), else
#    $w \leftarrow w + $ `step`;
# 4. repeat, at most `max_iters` times.
#
# Write `nudge_weight` so that it returns the final weight.

# %% grade_id="nudge"
def nudge_weight(w, x, y, step=0.05, tol=0.1, max_iters=90):
    """Learn w in y = w * x by nudging w up or down by `step`."""
    ### BEGIN SOLUTION
    for _ in range(max_iters):
        error = w * x - y
        if abs(error) <= tol:
            break
        if error > 0:
            w -= step
        else:
            w += step
    return w
    ### END SOLUTION


w_nudged = nudge_weight(0.5, x=3.0, y=9.0)
print(f"learned w = {w_nudged:.2f}")

# %% grade_id="test-nudge" points=2
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


# %% [markdown]
# Nudging by a fixed amount never lands exactly on $w = 3$: it stops when it is
# "close enough". The gradient tells us not only *which way* to go but *how far*.
#
# ## 4. Learning a weight with its gradient
#
# Take three examples of $f(x) = 3x$: $x = (1, 3, 5)$, $y = (3, 9, 15)$, and the mean
# squared error
#
# $$L(w) = \frac{1}{n}\sum_i (w x_i - y_i)^2, \qquad
#   \frac{dL}{dw} = \frac{2}{n}\sum_i (w x_i - y_i)\, x_i .$$
#
# Write `train_weight`: starting from `w`, take `epochs` gradient steps
# $w \leftarrow w - \alpha\, \frac{dL}{dw}$ and record the loss **before** each step in
# `losses`. Return `(w, losses)`, with `losses` a list of `epochs` floats.

# %% grade_id="gradient-weight"
def train_weight(x, y, w=0.5, lr=0.01, epochs=50):
    """Fit w in y = w * x by gradient descent on the mean squared error."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    losses = []
    ### BEGIN SOLUTION
    for _ in range(epochs):
        error = w * x - y
        losses.append(float(np.mean(error ** 2)))
        grad = 2 * np.mean(error * x)
        w = w - lr * grad
    ### END SOLUTION
    return w, losses


w_learned, losses = train_weight([1, 3, 5], [3, 9, 15])
print(f"learned w = {w_learned:.4f}, final loss = {losses[-1]:.2e}")

# %% grade_id="test-gradient-weight" points=3
from mlgrader.checks import check_close, check_loss_curve

### BEGIN HIDDEN TESTS
import numpy as np

def reference(x, y, w, lr, epochs):
    x, y = np.asarray(x, float), np.asarray(y, float)
    history = []
    for _ in range(epochs):
        err = w * x - y
        history.append(float(np.mean(err ** 2)))
        w = w - lr * 2 * np.mean(err * x)
    return w, history

def without_x(x, y, w, lr, epochs):
    x, y = np.asarray(x, float), np.asarray(y, float)
    for _ in range(epochs):
        w = w - lr * 2 * np.mean(w * x - y)
    return w

x_new, y_new = [-2.0, 0.5, 1.0, 4.0], [4.0, -1.0, -2.0, -8.0]   # f(x) = -2x
w_ref, losses_ref = reference(x_new, y_new, 1.0, 0.02, 30)
w_got, losses_got = train_weight(x_new, y_new, w=1.0, lr=0.02, epochs=30)
check_close(w_got, w_ref, rtol=1e-6, start=1.0, name="the weight learned on new data", mistakes={
    "forgot the factor x_i in the gradient (dL/dw = 2/n * sum((w x_i - y_i) * x_i))":
        without_x(x_new, y_new, 1.0, 0.02, 30),
    "wrong sign: stepped uphill (w + lr * grad); the update must subtract the gradient":
        reference(x_new, y_new, 1.0, -0.02, 30)[0],
})
check_close(losses_got, losses_ref, rtol=1e-6, name="the loss history on new data", mistakes={
    "recorded the loss after the step instead of before it": reference(x_new, y_new, 1.0, 0.02, 31)[1][1:],
})
check_loss_curve(losses_got, name="the loss history on new data", final_below=1e-3)
### END HIDDEN TESTS
check_loss_curve(losses, name="losses", min_length=50)
check_close(w_learned, 3.0, atol=1e-3, name="the learned weight")

