# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   mlgrader:
#     assignment: 03-neural-networks
#     title: "Neural networks: broadcasting, a classifier and a curve fitter"
# ---

# %% [markdown]
# # Neural networks from the ground up
#
# A *neural network* is a flexible function built from *layers*. A layer is a matrix
# multiplication (linear) followed by a simple non-linear function, the *activation*.
# In this notebook you build the pieces and then two small networks:
#
# 1. **broadcasting** and **matrix multiplication**, the arithmetic every layer runs on;
# 2. a **binary classifier** with a sigmoid output, trained with binary cross-entropy;
# 3. a small **multi-layer perceptron** (MLP) that learns the parabola $y = x^2$.
#
# **This notebook is worth 13 points**: standardize 2, matmul 3, classifier training 2,
# classifier accuracy 3, parabola 3. The checks you can see are quick sanity tests; the
# autograder also runs hidden checks on inputs you have not seen (other shapes, fresh data
# drawn from the same distribution, points between your training points).
#
# Write your code in place of each `# YOUR CODE HERE` / `raise NotImplementedError()` and
# keep the names the cells ask for.

# %%
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.datasets import make_blobs

# %% [markdown]
# ## Part 1: broadcasting and matrix multiplication
#
# ### Element-wise operations and broadcasting
#
# Arithmetic and comparison operators (`+ - * / > < ==`) work *element-wise* on arrays of
# the same shape, in numpy and PyTorch alike:

# %%
a = np.array([10, 6, -4])
b = np.array([2, 8, 7])
print(a + b, a < b)

# %% [markdown]
# When the shapes differ, the smaller array is **broadcast**: repeated along the missing
# axes, without actually copying it. `a > 0` compares every entry with 0; `m + c` adds
# the vector `c` to every row of the matrix `m`:

# %%
m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
c = np.array([10, 20, 30])
print(a > 0)
print(m + c)                       # c is added to each row
print(m + np.expand_dims(c, 1))    # c as a column (3, 1): added to each column

# %% [markdown]
# **The rules.** Line the shapes up from the right (the *trailing* axes). Two sizes are
# compatible when they are equal or one of them is 1; a missing axis counts as 1. The
# result takes the larger size on every axis.
#
# ```
# Image  (3-d array): 256 x 256 x 3
# Scale  (1-d array):             3
# Result (3-d array): 256 x 256 x 3
# ```
#
# `x[:, None]` (or `np.expand_dims(x, 1)`) inserts an axis of size 1, which is how you
# choose the axis a vector is broadcast along.
#
# ### Exercise: standardize the features (2 points)
#
# Models train better when every feature (column) has mean 0 and standard deviation 1:
#
# $$ \tilde X_{ij} = \frac{X_{ij} - \mu_j}{\sigma_j}, \qquad
#    \mu_j = \frac1n \sum_{i=1}^{n} X_{ij}, \qquad
#    \sigma_j = \sqrt{\frac1n \sum_{i=1}^{n} (X_{ij} - \mu_j)^2} . $$
#
# Write `standardize(X)` for a numpy array `X` of shape `(n, d)` (rows are examples,
# columns are features) in one line, with broadcasting and no loop. Use numpy's
# `mean` and `std` (which divides by $n$) along the right axis.

# %% grade_id="standardize"
def standardize(X):
    """Return X with each column shifted to mean 0 and scaled to standard deviation 1."""
    ### BEGIN SOLUTION
    return (X - X.mean(axis=0)) / X.std(axis=0)
    ### END SOLUTION


print(standardize(np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])))

# %% grade_id="standardize-check" points=2
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

# %% [markdown]
# ### Matrix multiplication is broadcasting plus a sum
#
# For $A$ of shape $(n, k)$ and $B$ of shape $(k, m)$ the product $C = AB$ has shape
# $(n, m)$ and entries
#
# $$ C_{ij} = \sum_{l=1}^{k} A_{il} B_{lj} . $$
#
# From a machine-learning point of view each column $j$ of $C$ is a new *feature*: a
# weighted sum of the input columns, with the weights in column $j$ of $B$. numpy writes
# the product `A @ B` (or `np.matmul`), PyTorch `A @ B` (or `torch.matmul`).
#
# `m * c` is **not** a matrix product (it multiplies element-wise, broadcasting `c`
# over the rows), but adding up each row of it gives `m @ c`:

# %%
n = np.array([[10, 40], [20, 0], [30, -5]])
print(m @ c, (m * c).sum(axis=1))
print(m @ n)
print((m * n[:, 0]).sum(axis=1), (m * n[:, 1]).sum(axis=1))   # the two columns of m @ n

# %% [markdown]
# ### Exercise: `matmul` without `@` (3 points)
#
# The last line computed one column of $AB$ at a time. Do all columns at once: give `A`
# an axis for $j$ and `B` an axis for $i$ so that their product has shape $(n, k, m)$ with
# entries $A_{il} B_{lj}$, then sum over the middle axis $l$.
#
# Write `matmul(A, B)` for numpy arrays `A` of shape `(n, k)` and `B` of shape `(k, m)`,
# returning an array of shape `(n, m)`. Use broadcasting and `.sum`; do not use `@`,
# `np.matmul`, `np.dot`, `np.einsum` or a Python loop. It must work for any sizes,
# including a single row (`n = 1`) or a single column (`m = 1`).

# %% grade_id="matmul"
def matmul(A, B):
    """Matrix product of A (n, k) and B (k, m), using broadcasting only."""
    ### BEGIN SOLUTION
    return (A[:, :, None] * B[None, :, :]).sum(axis=1)
    ### END SOLUTION

# %% grade_id="matmul-check" points=3
import numpy as np
from mlgrader.checks import check_close, check_shape

ref_P = np.array([[1.0, 2.0], [3.0, 4.0]])
ref_Q = np.array([[5.0, 6.0], [7.0, 8.0]])
check_close(matmul(ref_P, ref_Q), ref_P @ ref_Q, name="matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]])",
            mistakes={"multiplied by the transpose of B (A @ B.T): sum over the axis the two share": ref_P @ ref_Q.T,
                      "multiplied element-wise (A * B) instead of taking the matrix product": ref_P * ref_Q,
                      "multiplied in the wrong order (B @ A)": ref_Q @ ref_P,
                      "summed the broadcast product over the wrong axis: sum over axis 1, the one A and B share":
                          ref_P.sum(axis=0)[:, None] * ref_Q})
check_shape(matmul(m, n), (3, 2), name="matmul(m, n)")
check_close(matmul(m, n), m @ n, name="matmul(m, n)")
### BEGIN HIDDEN TESTS
from mlgrader.checks import CheckFailure

ref_rng = np.random.default_rng(7)
for ref_n, ref_k, ref_m in [(4, 3, 2), (2, 3, 4), (1, 5, 3), (3, 4, 1), (1, 1, 1), (6, 6, 6), (5, 1, 7), (16, 9, 11)]:
    ref_A = ref_rng.normal(size=(ref_n, ref_k))
    ref_B = ref_rng.normal(size=(ref_k, ref_m))
    ref_what = f"matmul(A, B) for A of shape {(ref_n, ref_k)} and B of shape {(ref_k, ref_m)}"
    try:
        ref_C = matmul(ref_A, ref_B)
    except Exception as exc:
        raise CheckFailure(
            f"{ref_what} raised {type(exc).__name__}: {exc}. Make A of shape (n, k, 1) and B of shape "
            "(1, k, m) so that they broadcast to (n, k, m), then sum over axis 1 (the shared k).") from None
    ref_mistakes = {}
    if ref_k == ref_m:
        ref_mistakes["multiplied by the transpose of B (A @ B.T)"] = ref_A @ ref_B.T
    if ref_n == ref_k:
        ref_mistakes["multiplied by the transpose of A (A.T @ B)"] = ref_A.T @ ref_B
    check_shape(ref_C, (ref_n, ref_m), name=ref_what)
    check_close(ref_C, ref_A @ ref_B, rtol=1e-9, atol=1e-9, name=ref_what, mistakes=ref_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: a binary classifier
#
# Two clouds of points in the plane, labelled 0 and 1. We want the probability that a
# point $x \in \mathbb R^2$ belongs to class 1. A linear layer gives a score
# $z = w^\top x + b$ (any real number, also called a *logit*); the **sigmoid** squashes it
# into a probability:
#
# $$ p = \sigma(z) = \frac{1}{1 + e^{-z}} \in (0, 1). $$
#
# Training minimises the **binary cross-entropy** (BCE) between the predicted
# probabilities $p_i$ and the labels $y_i \in \{0, 1\}$:
#
# $$ \text{BCE} = -\frac{1}{n} \sum_{i=1}^{n} \Big[ y_i \log p_i + (1 - y_i) \log (1 - p_i) \Big] , $$
#
# which is small when $p_i$ is close to 1 for the points of class 1 and close to 0 for
# the others. `nn.BCELoss()` computes it from probabilities and labels of the same shape.
#
# The data (read-only cell):

# %%
X_blobs, y_blobs = make_blobs(centers=2, center_box=(-3, 3), random_state=22)
X_blobs_t = torch.tensor(X_blobs, dtype=torch.float32)   # (100, 2) features
y_blobs_t = torch.tensor(y_blobs, dtype=torch.float32)   # (100,) labels 0. or 1.
print(X_blobs_t.shape, y_blobs_t.shape, y_blobs_t[:10])

# %% [markdown]
# ### Exercise: the model
#
# Complete `forward`: it receives a batch `x` of shape `(N, 2)` and returns the
# probabilities of class 1, of shape `(N, 1)`: the linear layer followed by a sigmoid
# (`torch.sigmoid`).

# %% grade_id="blob-model"
class BlobClassifier(nn.Module):
    """p(class 1 | x) = sigmoid(w . x + b) for points x in the plane."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x):
        ### BEGIN SOLUTION
        return torch.sigmoid(self.linear(x))
        ### END SOLUTION

# %% [markdown]
# ### Exercise: from probabilities to labels
#
# The model outputs probabilities; a prediction is a label. Predict class 1 when
# $p > 0.5$ (equivalently, when the logit $z > 0$). Write `predict_labels(probs)`: from a
# tensor of probabilities of shape `(N, 1)` return a tensor of `N` labels (0 or 1,
# dtype `torch.long`), shape `(N,)`.

# %% grade_id="blob-predict"
def predict_labels(probs):
    """Labels (N,) of dtype long from probabilities (N, 1): 1 where p > 0.5, else 0."""
    ### BEGIN SOLUTION
    return (probs > 0.5).long().reshape(-1)
    ### END SOLUTION

# %% [markdown]
# ### Exercise: training (2 points)
#
# The loop is the one from the linear-regression notebook with another model and loss:
# predict, compute the BCE loss (the labels need the same shape `(N, 1)` as the
# predictions: `y_blobs_t.unsqueeze(1)`), zero the gradients, backward, step, and
# append `loss.item()` to `clf_losses`.

# %% grade_id="blob-train"
torch.manual_seed(0)
clf = BlobClassifier()
bce = nn.BCELoss()
optimizer = optim.SGD(clf.parameters(), lr=0.1)

clf_losses = []
for epoch in range(100):
    ### BEGIN SOLUTION
    probs = clf(X_blobs_t)
    loss = bce(probs, y_blobs_t.unsqueeze(1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    clf_losses.append(loss.item())
    ### END SOLUTION

train_accuracy = (predict_labels(clf(X_blobs_t)) == y_blobs_t.long()).float().mean().item()
print(f"loss {clf_losses[0]:.3f} -> {clf_losses[-1]:.3f}, training accuracy {train_accuracy:.2f}")

# %% grade_id="blob-training-check" points=2
from mlgrader.checks import CheckFailure, check_loss_curve

ref_train_probs = clf(X_blobs_t).detach()
if float(ref_train_probs.min()) == float(ref_train_probs.max()):
    raise CheckFailure(
        f"clf(x) is {float(ref_train_probs.min()):.4g} for every point, so nothing can be learned. "
        "(A softmax over a single output is always 1: for one output unit use torch.sigmoid.)")
check_loss_curve(clf_losses, name="clf_losses", min_length=100)
### BEGIN HIDDEN TESTS
# Full-batch gradient descent with lr 0.1: the loss can only go down, at every step.
check_loss_curve(clf_losses, name="clf_losses", min_length=100, final_below=0.2, monotonic=True)
### END HIDDEN TESTS

# %% [markdown]
# ### How good is it? (3 points)
#
# Accuracy on the training points says little: what matters is new points from the same
# two clouds. The autograder draws its own fresh sample and measures your classifier's
# accuracy on it. The two clouds overlap a little, so even the best possible line
# classifies about 90% of new points correctly.

# %% grade_id="blob-accuracy-check" points=3
import torch
from mlgrader.checks import CheckFailure, check_equal, check_accuracy

ref_probs = clf(X_blobs_t).detach()
if float(ref_probs.min()) < 0 or float(ref_probs.max()) > 1:
    raise CheckFailure(
        f"clf(x) returned values from {float(ref_probs.min()):.3g} to {float(ref_probs.max()):.3g}: "
        "these are scores, not probabilities. Did you forget the sigmoid in forward?")
check_equal(tuple(ref_probs.shape), (100, 1), name="clf(X_blobs_t).shape")
ref_labels = predict_labels(torch.tensor([[0.2], [0.7], [0.49], [0.51]]))
check_equal(ref_labels.tolist(), [0, 1, 0, 1], name="predict_labels([[0.2], [0.7], [0.49], [0.51]])",
            hint="class 1 where p > 0.5: the threshold is on probabilities, so it is 0.5, not 0; "
                 "return a flat tensor of shape (N,)")
check_accuracy(predict_labels(ref_probs), y_blobs_t.long(), threshold=0.95, name="training accuracy")
### BEGIN HIDDEN TESTS
import numpy as np
from sklearn.datasets import make_blobs as ref_make_blobs

# Fresh points from the same two clouds: same centers, another random state.
_, _, ref_centers = ref_make_blobs(centers=2, center_box=(-3, 3), random_state=22, return_centers=True)
ref_X, ref_y = ref_make_blobs(n_samples=4000, centers=ref_centers, random_state=2024)
ref_new_probs = clf(torch.tensor(ref_X, dtype=torch.float32)).detach()
ref_new_labels = predict_labels(ref_new_probs)
check_equal(ref_new_labels.reshape(-1).tolist(), (ref_new_probs.reshape(-1) > 0.5).long().tolist(),
            name="predict_labels on new points", hint="predict 1 exactly where p > 0.5")
check_accuracy(ref_new_labels, ref_y, threshold=0.85, name="accuracy on 4000 new points")
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: a network that learns a parabola (3 points)
#
# A straight line cannot fit $y = x^2$. Stacking linear layers does not help on its own:
# a composition of linear maps is again linear, $W_2 (W_1 x + b_1) + b_2 = W x + b$.
# The non-linear **activation** between the layers is what lets a network bend.
# With the ReLU, $\text{ReLU}(z) = \max(0, z)$, each hidden unit contributes a hinge and the
# network becomes a piecewise-linear function with as many kinks as it needs:
#
# $$ \hat y(x) = \sum_{h=1}^{H} v_h \, \max(0,\, w_h x + b_h) + c . $$
#
# We train on 101 evenly spaced points of $[-5, 5]$; the autograder then measures the
# error on points in between, which the network never saw.

# %%
X_par = torch.linspace(-5, 5, 101).unsqueeze(1)   # (101, 1)
Y_par = X_par ** 2
print(X_par.shape, Y_par.shape)

# %% [markdown]
# ### Exercise: the network
#
# Build `pnet` with `nn.Sequential`: a linear layer from 1 input to 64 hidden units, a
# ReLU, and a linear layer from 64 units to 1 output. It maps a batch of shape `(N, 1)`
# to predictions of shape `(N, 1)`.

# %% grade_id="parabola-model"
torch.manual_seed(0)
### BEGIN SOLUTION
pnet = nn.Sequential(
    nn.Linear(1, 64),
    nn.ReLU(),
    nn.Linear(64, 1),
)
### END SOLUTION
print(pnet)

# %% [markdown]
# ### Exercise: training
#
# Full-batch training with Adam on the mean squared error: each epoch predict all 101
# points, compute the loss with `mse`, zero the gradients, backward, step, and append
# `loss.item()` to `parabola_losses`. The loss should drop from about 100 to well below
# 0.01.

# %% grade_id="parabola-train"
mse = nn.MSELoss()
optimizer = optim.Adam(pnet.parameters(), lr=0.05)

parabola_losses = []
for epoch in range(1000):
    ### BEGIN SOLUTION
    loss = mse(pnet(X_par), Y_par)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    parabola_losses.append(loss.item())
    ### END SOLUTION

print(f"loss {parabola_losses[0]:.1f} -> {parabola_losses[-1]:.5f}")

# %% grade_id="parabola-check" points=3
import torch
from mlgrader.checks import check_loss_curve, check_shape

check_shape(pnet(torch.zeros(5, 1)), (5, 1), name="pnet(x) for x of shape (5, 1)")
check_loss_curve(parabola_losses, name="parabola_losses", min_length=1000)
### BEGIN HIDDEN TESTS
import numpy as np
from mlgrader.checks import CheckFailure

# 997 points of [-5, 5], almost all of them between the training points.
ref_grid = torch.linspace(-5, 5, 997).unsqueeze(1)
ref_x = ref_grid.reshape(-1).double().numpy()
ref_true = ref_x ** 2
ref_pred = pnet(ref_grid).detach().reshape(-1).double().numpy()
ref_line = np.polyval(np.polyfit(ref_x, ref_pred, 1), ref_x)   # best straight line through pnet
if np.abs(ref_pred - ref_line).max() < 1e-3 * max(1.0, np.abs(ref_pred).max()):
    raise CheckFailure(
        "pnet computes a straight line: without a non-linear activation between the linear layers "
        "the whole network is linear and cannot bend into a parabola. Put nn.ReLU() between them.")
ref_mse = float(np.mean((ref_pred - ref_true) ** 2))
if not ref_mse < 0.05:
    raise CheckFailure(
        f"pnet's mean squared error on 997 points of [-5, 5] is {ref_mse:.4g}, expected below 0.05. "
        "Check that every epoch zeroes the gradients, calls loss.backward() and optimizer.step(), "
        "and that the network has a ReLU between its layers.")
check_loss_curve(parabola_losses, name="parabola_losses", min_length=1000, final_below=0.05)
### END HIDDEN TESTS
