# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   mlgrader:
#     assignment: 02-linear-regression
#     title: Linear regression, five ways
# ---

# %% [markdown]
# # Linear regression, five ways
#
# We fit the straight line $\hat y = a + b x$ to noisy data five times, each time handing
# more of the work to a library:
#
# 1. gradient descent written by hand in **numpy** (you derive the gradients);
# 2. **scikit-learn**'s `LinearRegression` (closed form, no training loop);
# 3. **PyTorch autograd**: PyTorch computes the gradients, you apply the update;
# 4. **`torch.optim.SGD`** with **`nn.MSELoss`**: PyTorch applies the update too;
# 5. an **`nn.Linear`** model trained with **Adam**, recording the loss of every epoch.
#
# All five should find (almost) the same line. That is the point: a neural-network
# library is a very general way of doing what you already know from statistics.
#
# **This notebook is worth 13 points**: 3 + 2 + 3 + 2 + 3, one graded check after each part.
# Each check you can see is only a quick sanity test; the autograder runs stronger hidden
# checks on your results (exact values with tolerances, inputs you never saw).
#
# Run the cells in order. Replace each `# YOUR CODE HERE` / `raise NotImplementedError()`
# with your code, and keep the variable names the cells ask for.

# %%
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.linear_model import LinearRegression

# %% [markdown]
# ## The data
#
# We draw 100 points from $y = 1 + 2x + \varepsilon$ with $x \sim U(0, 1)$ and noise
# $\varepsilon \sim \mathcal N(0, 0.1^2)$, shuffle them and keep 80 for training and 20 for
# validation. So the answer we hope to recover is $a \approx 1$, $b \approx 2$.
#
# This cell is read-only: every result below depends on exactly this data.

# %%
# set the random seed
np.random.seed(42)
x = np.random.rand(100, 1)
y = 1 + 2 * x + .1 * np.random.randn(100, 1)

# shuffle the data
idx = np.arange(100)
np.random.shuffle(idx)

# divide the data into training and validation sets
train_idx = idx[:80]
val_idx = idx[80:]
x_train, y_train = x[train_idx], y[train_idx]
x_val, y_val = x[val_idx], y[val_idx]

print(x_train.shape, y_train.shape, x_val.shape, y_val.shape)

# %% [markdown]
# ## Part 1: gradient descent in numpy (3 points)
#
# For a line $\hat y_i = a + b x_i$ the *loss* is the mean squared error over the $N$
# training points:
#
# $$
# E(a, b) = \frac{1}{N} \sum_{i=1}^{N} (y_i - \hat y_i)^2 = \frac{1}{N} \sum_{i=1}^{N} (y_i - a - b x_i)^2 .
# $$
#
# The chain rule gives its gradients:
#
# $$
# \frac{\partial E}{\partial a} = -\frac{2}{N} \sum_{i=1}^{N} (y_i - \hat y_i),
# \qquad
# \frac{\partial E}{\partial b} = -\frac{2}{N} \sum_{i=1}^{N} x_i \, (y_i - \hat y_i).
# $$
#
# Gradient descent walks downhill, against the gradient, with a learning rate $\eta$:
#
# $$
# a \leftarrow a - \eta \frac{\partial E}{\partial a},
# \qquad
# b \leftarrow b - \eta \frac{\partial E}{\partial b}.
# $$
#
# Using all $N$ points for every step is *batch* gradient descent (one point per step
# would be *stochastic*, a few points *mini-batch*).
#
# **Your task.** Complete the body of the loop. In each epoch:
#
# 1. predict `yhat` from the current `a` and `b` on `x_train`;
# 2. compute the error `y_train - yhat` and the MSE loss, and append the loss (a float)
#    to `np_losses`;
# 3. compute the two gradients with the formulas above (`.mean()` does the $\frac1N\sum$);
# 4. update `a` and `b`.
#
# Only use `x_train` and `y_train`: the validation points are for later.

# %% grade_id="numpy-gd"
# random starting point
np.random.seed(42)
a = np.random.randn(1)
b = np.random.randn(1)
print("start:", a, b)

lr = 0.1        # learning rate (eta)
n_epochs = 1000

np_losses = []
for epoch in range(n_epochs):
    ### BEGIN SOLUTION
    # current prediction
    yhat = a + b * x_train
    # error and loss (MSE)
    error = y_train - yhat
    loss = (error ** 2).mean()
    np_losses.append(float(loss))
    # gradients
    a_grad = -2 * error.mean()
    b_grad = -2 * (x_train * error).mean()
    # step against the gradient
    a = a - lr * a_grad
    b = b - lr * b_grad
    ### END SOLUTION

print("end:  ", a, b)

# %% grade_id="numpy-gd-check" points=3
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

# %% [markdown]
# ## Part 2: scikit-learn (2 points)
#
# Least squares has a closed-form solution, so scikit-learn does not need a training loop:
# `LinearRegression().fit(X, y)` solves for the best line directly. Its `intercept_` is our
# $a$ and its `coef_` our $b$ (as arrays, because it supports many features and targets).
#
# **Your task.** Fit `linr` on the training split, then store
#
# * `sk_intercept` and `sk_slope`: the fitted $a$ and $b$ as Python floats;
# * `val_mse`: the mean squared error of `linr`'s predictions on the **validation** split,
#   $\frac{1}{20}\sum_{i \in \text{val}} (y_i - \hat y_i)^2$, as a float.
#
# The validation error tells us how well the line does on points it was not fitted to.

# %% grade_id="sklearn-fit"
linr = LinearRegression()
### BEGIN SOLUTION
linr.fit(x_train, y_train)
sk_intercept = float(linr.intercept_[0])
sk_slope = float(linr.coef_[0, 0])
val_mse = float(np.mean((y_val - linr.predict(x_val)) ** 2))
### END SOLUTION
print(f"intercept {sk_intercept:.8f}  slope {sk_slope:.8f}  validation MSE {val_mse:.5f}")

# %% grade_id="sklearn-check" points=2
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

# %% [markdown]
# ## Part 3: PyTorch autograd (3 points)
#
# PyTorch *tensors* are numpy-like arrays that can remember how they were computed. Create a
# tensor with `requires_grad=True`, compute a scalar `loss` from it, call `loss.backward()`,
# and PyTorch fills in `tensor.grad` with $\partial\,\text{loss} / \partial\,\text{tensor}$:
# no more deriving gradients by hand.
#
# Two rules come with it:
#
# * **update inside `torch.no_grad()`**: the update step itself must not be recorded as part
#   of the model's computation, and in-place changes (`a_t -= ...`) of a leaf tensor that
#   requires gradients are only allowed there;
# * **zero the gradients after each update**: `backward()` *adds* to `.grad`, so without
#   `a_t.grad.zero_()` every step would use the sum of all past gradients.
#
# First, the data as float32 tensors (read-only cell):

# %%
x_train_tensor = torch.from_numpy(x_train).float()
y_train_tensor = torch.from_numpy(y_train).float()
print(type(x_train), type(x_train_tensor), x_train_tensor.dtype, x_train_tensor.shape)

# %% [markdown]
# **Your task.** Complete the loop: predict, compute the MSE `loss`, call `loss.backward()`,
# update `a_t` and `b_t` in place inside `with torch.no_grad():` (`a_t -= lr * a_t.grad`),
# then zero both gradients.

# %% grade_id="autograd-loop"
torch.manual_seed(42)
a_t = torch.randn(1, requires_grad=True, dtype=torch.float)
b_t = torch.randn(1, requires_grad=True, dtype=torch.float)

for epoch in range(n_epochs):
    ### BEGIN SOLUTION
    yhat = a_t + b_t * x_train_tensor
    error = y_train_tensor - yhat
    loss = (error ** 2).mean()
    # autograd fills a_t.grad and b_t.grad
    loss.backward()
    with torch.no_grad():
        a_t -= lr * a_t.grad
        b_t -= lr * b_t.grad
    # backward() accumulates, so clear the gradients for the next epoch
    a_t.grad.zero_()
    b_t.grad.zero_()
    ### END SOLUTION

print(a_t, b_t)

# %% grade_id="autograd-check" points=3
import torch
from mlgrader.checks import CheckFailure, check_shape, check_close

check_shape(a_t, (1,), name="a_t")
check_shape(b_t, (1,), name="b_t")
if not (a_t.requires_grad and b_t.requires_grad):
    raise CheckFailure("a_t and b_t no longer require gradients: update them in place "
                       "(a_t -= lr * a_t.grad) inside torch.no_grad(), do not create new tensors")
if a_t.grad is not None and float(a_t.grad.abs().max()) > 1e-2:
    raise CheckFailure(
        f"a_t.grad is {a_t.grad.tolist()} after training: the gradients were never zeroed, so they "
        "pile up across epochs (backward() adds to .grad). Zero them after each update with "
        "a_t.grad.zero_() and b_t.grad.zero_().")
start = torch.Generator().manual_seed(42)  # where a_t and b_t began: tells no step from a wrong one
start = [torch.randn(1, generator=start).item(), torch.randn(1, generator=start).item()]
check_close([a_t.item(), b_t.item()], [1.0, 2.0], atol=0.1, start=start, name="(a_t, b_t) after training")
### BEGIN HIDDEN TESTS
import numpy as np
import torch

# Replay the mistake of never zeroing the gradients (float32, same seed and data).
ref_rs = np.random.RandomState(42)
ref_x = ref_rs.rand(100, 1)
ref_y = 1 + 2 * ref_x + .1 * ref_rs.randn(100, 1)
ref_idx = np.arange(100)
ref_rs.shuffle(ref_idx)
ref_xt = torch.from_numpy(ref_x[ref_idx[:80]]).float()
ref_yt = torch.from_numpy(ref_y[ref_idx[:80]]).float()
ref_gen = torch.Generator().manual_seed(42)
ref_a = torch.randn(1, generator=ref_gen).requires_grad_()
ref_b = torch.randn(1, generator=ref_gen).requires_grad_()
for _ in range(1000):
    ((ref_yt - (ref_a + ref_b * ref_xt)) ** 2).mean().backward()
    with torch.no_grad():
        ref_a -= 0.1 * ref_a.grad
        ref_b -= 0.1 * ref_b.grad
not_zeroed = [ref_a.item(), ref_b.item()]

found_ab = [a_t.item(), b_t.item()]
check_close(found_ab, [1.02354094, 1.96896411], rtol=0, atol=2e-4, name="(a_t, b_t) after 1000 epochs",
            mistakes={
                "the gradients were never zeroed: backward() adds to .grad, so every step used the sum "
                "of all past gradients; call a_t.grad.zero_() and b_t.grad.zero_() after each update":
                    not_zeroed,
            },
            hint="each epoch: loss.backward(), update inside torch.no_grad() with a_t -= lr * a_t.grad, "
                 "then zero the gradients")
### END HIDDEN TESTS

# %% [markdown]
# ## Part 4: `optim.SGD` and `nn.MSELoss` (2 points)
#
# Writing the update by hand gets tedious with millions of parameters. An *optimizer* does it
# for us: `optim.SGD(params, lr=lr)` keeps a list of the tensors to train, and
#
# * `optimizer.step()` applies $\theta \leftarrow \theta - \eta\, \nabla_\theta E$ to each of them;
# * `optimizer.zero_grad()` clears their gradients.
#
# Likewise, `nn.MSELoss()` is a ready-made loss: `loss_fn(prediction, target)` returns
# $\frac1N\sum_i(\text{prediction}_i - \text{target}_i)^2$.
#
# **Your task.** Create the loss function `loss_fn` and an `optim.SGD` optimizer over
# `[a_sgd, b_sgd]` with learning rate `lr`; then write the loop body: predict, compute the
# loss with `loss_fn`, backward, step, zero the gradients.

# %% grade_id="sgd-setup"
torch.manual_seed(42)
a_sgd = torch.randn(1, requires_grad=True, dtype=torch.float)
b_sgd = torch.randn(1, requires_grad=True, dtype=torch.float)

### BEGIN SOLUTION
loss_fn = nn.MSELoss(reduction="mean")
optimizer = optim.SGD([a_sgd, b_sgd], lr=lr)
### END SOLUTION

# %% grade_id="sgd-loop"
for epoch in range(n_epochs):
    ### BEGIN SOLUTION
    yhat = a_sgd + b_sgd * x_train_tensor
    loss = loss_fn(yhat, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    ### END SOLUTION

print(a_sgd, b_sgd)

# %% grade_id="sgd-check" points=2
import torch
from mlgrader.checks import CheckFailure, check_close

if a_sgd.grad is not None and float(a_sgd.grad.abs().max()) > 1e-2:
    raise CheckFailure(
        f"a_sgd.grad is {a_sgd.grad.tolist()} after training: the gradients pile up across epochs. "
        "Call optimizer.zero_grad() every epoch (after optimizer.step()).")
check_close(loss_fn(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0])), 2.0,
            name="loss_fn([1, 2], [1, 4])", hint="loss_fn should be nn.MSELoss()",
            mistakes={"loss_fn sums the squared errors (reduction='sum') instead of averaging them": 4.0})
start = torch.Generator().manual_seed(42)  # where a_sgd and b_sgd began: tells no step from a wrong one
start = [torch.randn(1, generator=start).item(), torch.randn(1, generator=start).item()]
check_close([a_sgd.item(), b_sgd.item()], [1.0, 2.0], atol=0.1, start=start, name="(a_sgd, b_sgd) after training")
### BEGIN HIDDEN TESTS
ref_pred = torch.tensor([[0.5], [1.5], [-2.0]])
ref_target = torch.tensor([[1.0], [1.0], [1.0]])
check_close(loss_fn(ref_pred, ref_target), ((ref_pred - ref_target) ** 2).mean(), rtol=1e-6,
            name="loss_fn on new inputs",
            mistakes={"loss_fn sums the squared errors (reduction='sum'); use the mean":
                      ((ref_pred - ref_target) ** 2).sum()})
check_close([a_sgd.item(), b_sgd.item()], [1.02354094, 1.96896411], rtol=0, atol=2e-4,
            name="(a_sgd, b_sgd) after 1000 epochs",
            hint="one optimizer.step() per epoch with lr = 0.1, and optimizer.zero_grad() every epoch: "
                 "without it the gradients of all past epochs add up")
### END HIDDEN TESTS

# %% [markdown]
# ## Part 5: an `nn.Linear` model trained with Adam (3 points)
#
# Finally the way real models are written. `nn.Linear(1, 1)` holds the parameters itself
# (`weight` plays the role of $b$, `bias` of $a$) and computes $\hat y = x W^\top + \text{bias}$
# for a whole batch `x` of shape `(N, 1)`. `model.parameters()` hands them to the optimizer.
#
# We use **Adam**, which adapts the step size of every parameter from running averages of
# its gradients; it is the usual first choice for neural networks.
#
# Watching the loss is how you know training works, so we record it: after each step append
# `loss.item()` (a plain Python float, detached from the graph) to `losses`. It should fall
# quickly and level off near the noise variance, about $0.008$ on the training set.
#
# **Your task.** Write the body of the training loop: zero the gradients, predict with
# `model`, compute the loss with `mse`, backward, step, and append the loss to `losses`.

# %% grade_id="adam-loop"
torch.manual_seed(42)
model = nn.Linear(1, 1)
mse = nn.MSELoss()
optimizer = optim.Adam(model.parameters(), lr=0.05)
n_adam_epochs = 300

losses = []
for epoch in range(n_adam_epochs):
    ### BEGIN SOLUTION
    optimizer.zero_grad()
    yhat = model(x_train_tensor)
    loss = mse(yhat, y_train_tensor)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    ### END SOLUTION

print(f"first loss {losses[0]:.4f}, last loss {losses[-1]:.6f}")
print(model.state_dict())

# %% grade_id="adam-check" points=3
from mlgrader.checks import check_loss_curve

check_loss_curve(losses, name="losses", min_length=300)
### BEGIN HIDDEN TESTS
import torch
from mlgrader.checks import CheckFailure, check_close

state = model.state_dict()
if "bias" not in state:
    raise CheckFailure("model has no bias: the line y = a + b x needs its intercept a, "
                       "so keep nn.Linear(1, 1) with its default bias=True")
if max(losses) > 2 * losses[0]:
    raise CheckFailure(
        f"the training loss climbs from {losses[0]:.3g} up to {max(losses):.3g}. The usual cause: "
        "the gradients are never zeroed (call optimizer.zero_grad() every epoch), so they pile up "
        "across epochs; a learning rate that is too large does the same.")
check_close(losses[0], 0.72559679, rtol=1e-4, name="losses[0]",
            hint="append loss.item() once per epoch, starting with the first epoch, from the model "
                 "created right after torch.manual_seed(42)")
check_loss_curve(losses, name="losses", min_length=300, final_below=0.0085, decreasing=True)
check_close(state["weight"].reshape(-1), [1.96896411], atol=2e-3, name="model.weight (slope b)")
check_close(state["bias"].reshape(-1), [1.02354094], atol=2e-3, name="model.bias (intercept a)")
ref_inputs = torch.tensor([[-1.0], [0.0], [0.5], [2.0]])
check_close(model(ref_inputs).detach().reshape(-1), 1.02354094 + 1.96896411 * ref_inputs.reshape(-1),
            atol=5e-3, name="model(x) on new inputs")
### END HIDDEN TESTS

# %% [markdown]
# ## Wrap-up
#
# | method | $a$ | $b$ |
# |---|---|---|
# | numpy gradient descent | `a` | `b` |
# | scikit-learn | `sk_intercept` | `sk_slope` |
# | autograd | `a_t` | `b_t` |
# | `optim.SGD` | `a_sgd` | `b_sgd` |
# | `nn.Linear` + Adam | `model.bias` | `model.weight` |
#
# Gradient descent reaches the closed-form answer to about six decimals after 1000 epochs.
# The PyTorch versions are run in 32-bit floats, so they agree to about four.

# %%
print(f"numpy GD     a = {a[0]:.6f}  b = {b[0]:.6f}")
print(f"scikit-learn a = {sk_intercept:.6f}  b = {sk_slope:.6f}")
print(f"autograd     a = {a_t.item():.6f}  b = {b_t.item():.6f}")
print(f"optim.SGD    a = {a_sgd.item():.6f}  b = {b_sgd.item():.6f}")
print(f"nn.Linear    a = {model.bias.item():.6f}  b = {model.weight.item():.6f}")
