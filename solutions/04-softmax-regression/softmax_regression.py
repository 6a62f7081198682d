# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   mlgrader:
#     assignment: 04-softmax-regression
#     title: Softmax regression from scratch
# ---

# %% [markdown]
# # Softmax regression from scratch
#
# *Logistic regression is a neural network*: one linear layer followed by a softmax. In this
# notebook you write every piece of it yourself and train it to recognise hand-written
# digits:
#
# 1. `softmax` and `log_softmax`, **numerically stable** and over the **right axis**;
# 2. the **cross-entropy** loss, from logits;
# 3. a logistic-regression `nn.Module` with hand-made `nn.Parameter` weights (no `nn.Linear`);
# 4. a hand-written mini-batch **training loop**, and an honest accuracy on held-out images.
#
# **This notebook is worth 14 points**: softmax 3, log-softmax 2, cross-entropy 3,
# model 2, training and test accuracy 4. The checks you can see are quick sanity tests;
# the autograder also runs hidden checks (large logits, other shapes, its own copy of the
# test images).
#
# Write your code in place of each `# YOUR CODE HERE` / `raise NotImplementedError()` and
# keep the names the cells ask for. Use PyTorch operations (`torch.exp`, `torch.log`,
# `.max`, `.sum`, indexing), not `torch.softmax`, `F.log_softmax` or `F.cross_entropy`:
# the point is to build them.

# %%
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

# %% [markdown]
# ## Part 1: softmax (3 points)
#
# A classifier with $C$ classes outputs one score per class, the *logits*
# $z = (z_1, \dots, z_C)$. The **softmax** turns them into probabilities:
#
# $$ \operatorname{softmax}(z)_j = \frac{e^{z_j}}{\sum_{k=1}^{C} e^{z_k}} , \qquad j = 1, \dots, C . $$
#
# Every entry is positive and they sum to 1; the largest logit gets the largest probability.
#
# **Which axis?** A batch of logits has shape `(N, C)`: one row per example, one column per
# class. The sum runs over the classes of *one example*, i.e. along the last dimension
# (`dim=-1`), so that every row sums to 1. Summing along `dim=0` would mix different
# examples of the batch.
#
# **Overflow.** In float32, $e^{89}$ is already infinite, so logits of a few hundred give
# `inf / inf = nan`. The cure is an identity: subtracting the same constant $c$ from every
# logit does not change the softmax,
#
# $$ \frac{e^{z_j - c}}{\sum_k e^{z_k - c}} = \frac{e^{-c}\, e^{z_j}}{e^{-c} \sum_k e^{z_k}}
#    = \operatorname{softmax}(z)_j . $$
#
# With $c = \max_k z_k$ the largest exponent is $e^0 = 1$: nothing overflows, and the
# denominator is at least 1.
#
# An earlier version of this course wrote the softmax inside a model as
#
# ```python
# torch.exp(x) / (1 + torch.exp(x).sum(dim=0))
# ```
#
# It has two bugs: the `1 +` makes every row sum to less than 1, and `dim=0` sums over
# the batch instead of over the classes (and it overflows for large logits too).
#
# **Your task.** Write `softmax(z)` for a tensor `z` of any shape, normalising over the
# last dimension: a 1-D tensor of `C` logits, a batch `(N, C)`, or more dimensions. Subtract
# the maximum along that dimension first (`z.max(dim=-1, keepdim=True).values`;
# `keepdim=True` keeps the axis so that the result broadcasts against `z`).

# %% grade_id="softmax"
def softmax(z):
    """Softmax of the logits z over the last dimension, numerically stable."""
    ### BEGIN SOLUTION
    shifted = z - z.max(dim=-1, keepdim=True).values
    exp = torch.exp(shifted)
    return exp / exp.sum(dim=-1, keepdim=True)
    ### END SOLUTION


print(softmax(torch.tensor([1.0, 2.0, 3.0])))
print(softmax(torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])))

# %% grade_id="softmax-check" points=3
import torch
from mlgrader.checks import CheckFailure, check_close, check_probabilities

ref_z = torch.tensor([1.0, 2.0, 3.0])
ref_shifted = torch.exp(ref_z - ref_z.max())
check_close(softmax(ref_z), [0.09003057, 0.24472847, 0.66524096], atol=1e-6, name="softmax([1, 2, 3])",
            mistakes={"added 1 to the denominator: the probabilities must sum to exactly 1":
                          torch.exp(ref_z) / (1 + torch.exp(ref_z).sum()),
                      "added 1 to the denominator (after subtracting the max): the probabilities must "
                      "sum to exactly 1": ref_shifted / (1 + ref_shifted.sum())})
ref_big = softmax(torch.tensor([1000.0, 1001.0]))
if not torch.isfinite(ref_big).all():
    raise CheckFailure(
        f"softmax([1000, 1001]) gave {ref_big.tolist()}: exp(1000) overflows to inf and inf / inf is nan. "
        "Subtract the maximum logit before exponentiating (z - z.max(dim=-1, keepdim=True).values); "
        "it does not change the result.")
check_close(ref_big, [0.26894142, 0.73105858], atol=1e-6, name="softmax([1000, 1001])")
### BEGIN HIDDEN TESTS
ref_gen = torch.Generator().manual_seed(4)
ref_batch = torch.randn(4, 3, generator=ref_gen) * 2
check_close(softmax(ref_batch), torch.softmax(ref_batch, dim=-1), atol=1e-6, name="softmax(z) for z of shape (4, 3)",
            mistakes={
                "this is the old lesson's softmax, exp(x) / (1 + exp(x).sum(dim=0)): it adds 1 to the "
                "denominator and sums over the batch (dim=0) instead of over the classes (dim=-1)":
                    torch.exp(ref_batch) / (1 + torch.exp(ref_batch).sum(dim=0)),
                "normalised over the wrong axis (dim=0, the batch): each row, one example's "
                "scores over the classes, must sum to 1; use dim=-1":
                    torch.softmax(ref_batch, dim=0),
                "added 1 to the denominator: the probabilities must sum to exactly 1":
                    torch.exp(ref_batch) / (1 + torch.exp(ref_batch).sum(dim=-1, keepdim=True)),
            })
for ref_shape in [(5, 7), (1, 4), (3, 1), (2, 3, 4), (6,), (1,)]:
    ref_in = torch.randn(*ref_shape, generator=ref_gen) * 3
    ref_out = softmax(ref_in)
    check_probabilities(ref_out, axis=-1, name=f"softmax(z) for z of shape {ref_shape}")
    check_close(ref_out, torch.softmax(ref_in, dim=-1), atol=1e-6, name=f"softmax(z) for z of shape {ref_shape}")
ref_large = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0], [-500.0, -500.0, -501.0]])
ref_large_out = softmax(ref_large)
if not torch.isfinite(ref_large_out).all():
    raise CheckFailure(
        f"softmax returned nan or inf for logits around +-1000: {ref_large_out.tolist()}. exp overflows "
        "(or every exp underflows to 0 and you divide 0 by 0). Subtract the row maximum first.")
check_close(ref_large_out, torch.softmax(ref_large, dim=-1), atol=1e-6, name="softmax of large logits")
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: log-softmax (2 points)
#
# Training needs the *logarithm* of the probabilities. Computing `torch.log(softmax(z))`
# fails for confident predictions: a probability like $e^{-1000}$ underflows to 0 and
# $\log 0 = -\infty$. Take the log of the stable formula instead; with $c = \max_k z_k$,
#
# $$ \log \operatorname{softmax}(z)_j = (z_j - c) - \log \sum_{k=1}^{C} e^{z_k - c} . $$
#
# The second term is the famous *log-sum-exp*; every exponent in it is at most 0, and the
# sum is at least 1, so its log is finite.
#
# **Your task.** Write `log_softmax(z)` over the last dimension with this formula, for
# any shape, as in Part 1.

# %% grade_id="log-softmax"
def log_softmax(z):
    """log(softmax(z)) over the last dimension, computed with the log-sum-exp trick."""
    ### BEGIN SOLUTION
    shifted = z - z.max(dim=-1, keepdim=True).values
    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))
    ### END SOLUTION


print(log_softmax(torch.tensor([1.0, 2.0, 3.0])))
print(log_softmax(torch.tensor([[1000.0, 0.0, -1000.0]])))

# %% grade_id="log-softmax-check" points=2
import torch
from mlgrader.checks import CheckFailure, check_close

check_close(log_softmax(torch.tensor([1.0, 2.0, 3.0])), [-2.40760596, -1.40760596, -0.40760596], atol=1e-5,
            name="log_softmax([1, 2, 3])")
ref_conf = log_softmax(torch.tensor([[1000.0, 0.0, -1000.0]]))
if not torch.isfinite(ref_conf).all():
    raise CheckFailure(
        f"log_softmax([[1000, 0, -1000]]) gave {ref_conf.tolist()}: a probability like exp(-1000) "
        "underflows to 0 and log(0) = -inf. Do not take torch.log(softmax(z)); compute "
        "(z - c) - log(sum(exp(z - c))) with c the row maximum.")
check_close(ref_conf, [[0.0, -1000.0, -2000.0]], atol=1e-3, name="log_softmax([[1000, 0, -1000]])",
            mistakes={"normalised over the wrong axis (dim=0, the batch): for a batch of shape (N, C) "
                      "each row must be normalised over its C classes; use dim=-1": [[0.0, 0.0, 0.0]]})
### BEGIN HIDDEN TESTS
ref_gen = torch.Generator().manual_seed(5)
ref_batch = torch.randn(4, 3, generator=ref_gen) * 2
check_close(log_softmax(ref_batch), torch.log_softmax(ref_batch, dim=-1), atol=1e-5,
            name="log_softmax(z) for z of shape (4, 3)",
            mistakes={"normalised over the wrong axis (dim=0, the batch); use dim=-1":
                      torch.log_softmax(ref_batch, dim=0)})
for ref_shape in [(5, 7), (1, 4), (3, 1), (2, 3, 4), (6,)]:
    ref_in = torch.randn(*ref_shape, generator=ref_gen) * 3
    check_close(log_softmax(ref_in), torch.log_softmax(ref_in, dim=-1), atol=1e-5,
                name=f"log_softmax(z) for z of shape {ref_shape}")
ref_large = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0], [-500.0, -500.0, -501.0]])
check_close(log_softmax(ref_large), torch.log_softmax(ref_large, dim=-1), atol=1e-3,
            name="log_softmax of large logits",
            hint="subtract the row maximum, and take the log of the sum of exponentials, not of softmax")
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: cross-entropy (3 points)
#
# For an example with logits $z_i$ and true class $y_i$, the model's probability of the truth
# is $\operatorname{softmax}(z_i)_{y_i}$. Training maximises these probabilities, or
# equivalently minimises the mean **negative log-likelihood**, the *cross-entropy*:
#
# $$ \mathcal{L} = -\frac{1}{N} \sum_{i=1}^{N} \log \operatorname{softmax}(z_i)_{y_i} . $$
#
# A perfect, confident model has $\mathcal L = 0$; a model that spreads its bets evenly over
# $C$ classes has $\mathcal L = \log C$ (2.30 for 10 digits).
#
# To pick one entry per row, index with two tensors: `log_probs[torch.arange(N), targets]`
# returns `log_probs[0, targets[0]], log_probs[1, targets[1]], ...`.
#
# **Your task.** Write `cross_entropy(logits, targets)` for logits of shape `(N, C)` and
# integer class labels `targets` of shape `(N,)` (dtype `torch.long`), returning a scalar
# tensor. Use your `log_softmax`.

# %% grade_id="cross-entropy"
def cross_entropy(logits, targets):
    """Mean negative log-likelihood of the true classes, from logits (N, C) and labels (N,)."""
    ### BEGIN SOLUTION
    log_probs = log_softmax(logits)
    return -log_probs[torch.arange(logits.shape[0]), targets].mean()
    ### END SOLUTION


print(cross_entropy(torch.zeros(2, 10), torch.tensor([3, 7])))   # log(10) = 2.3026

# %% grade_id="cross-entropy-check" points=3
import math
import torch
from mlgrader.checks import check_close

check_close(cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3])), math.log(4), atol=1e-5,
            name="cross_entropy(zeros(2, 4), [0, 3])",
            mistakes={"forgot the minus sign: the loss is the NEGATIVE log-likelihood": -math.log(4),
                      "summed over the examples instead of taking the mean": 2 * math.log(4),
                      "used the probabilities instead of their logarithm (log_softmax)": -0.25})
### BEGIN HIDDEN TESTS
import torch.nn.functional as F

ref_gen = torch.Generator().manual_seed(6)
ref_logits = torch.randn(17, 5, generator=ref_gen) * 2
ref_targets = torch.randint(0, 5, (17,), generator=ref_gen)
ref_logp = torch.log_softmax(ref_logits, dim=-1)
ref_picked = ref_logp[torch.arange(17), ref_targets]
check_close(cross_entropy(ref_logits, ref_targets), F.cross_entropy(ref_logits, ref_targets), atol=1e-5,
            name="cross_entropy(logits, targets) for 17 examples and 5 classes",
            mistakes={
                "forgot the minus sign: the loss is the NEGATIVE log-likelihood": ref_picked.mean(),
                "summed over the examples instead of taking the mean": -ref_picked.sum(),
                "used the probabilities instead of their logarithm (log_softmax)":
                    -torch.softmax(ref_logits, dim=-1)[torch.arange(17), ref_targets].mean(),
                "log_probs[:, targets] picks every target for every row; pick one entry per row with "
                "log_probs[torch.arange(N), targets]": -ref_logp[:, ref_targets].mean(),
                "averaged over all classes instead of picking the true class": -ref_logp.mean(),
            })
ref_one = torch.tensor([[0.5, -1.0, 2.0]])
check_close(cross_entropy(ref_one, torch.tensor([1])), F.cross_entropy(ref_one, torch.tensor([1])), atol=1e-5,
            name="cross_entropy for a batch of one example")
ref_conf = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
check_close(cross_entropy(ref_conf, torch.tensor([2, 1])), 1000.0, rtol=1e-4,
            name="cross_entropy of very confident logits",
            hint="compute it from your stable log_softmax, not from log(softmax(...))")
### END HIDDEN TESTS

# %% [markdown]
# ## Part 4: the data
#
# scikit-learn ships a small version of MNIST: 1797 hand-written digits of 8 x 8 pixels with
# 17 grey levels (0 to 16). We scale the pixels to $[0, 1]$, flatten each image into 64
# features, and keep a quarter of the images aside as a **test set** that training never
# sees (the same proportion of every digit in both parts). Read-only cell:

# %%
digits = load_digits()
X_all = digits.data / 16.0     # (1797, 64) pixel intensities in [0, 1]
y_all = digits.target          # (1797,) labels 0..9
X_train, X_test, y_train, y_test = train_test_split(
    X_all, y_all, test_size=0.25, random_state=0, stratify=y_all)

X_train_t = torch.tensor(X_train, dtype=torch.float32)
y_train_t = torch.tensor(y_train, dtype=torch.long)
X_test_t = torch.tensor(X_test, dtype=torch.float32)
y_test_t = torch.tensor(y_test, dtype=torch.long)
print(X_train_t.shape, X_test_t.shape)
print("label", y_all[0])
print("\n".join(" ".join(f"{int(v):2d}" for v in row) for row in digits.images[0]))

# %% [markdown]
# ## Part 5: logistic regression as an `nn.Module` (2 points)
#
# Multinomial logistic regression computes one logit per class with a single linear
# layer, and the softmax turns the logits into probabilities:
#
# $$ z = x W + b, \qquad W \in \mathbb R^{64 \times 10}, \; b \in \mathbb R^{10},
#    \qquad p(y = j \mid x) = \operatorname{softmax}(z)_j . $$
#
# In PyTorch a model is a subclass of `nn.Module`: `__init__` creates the parameters,
# `forward` computes the output. Wrapping a tensor in **`nn.Parameter`** and assigning it to
# `self` *registers* it: `model.parameters()` (what the optimizer updates) and
# `model.state_dict()` (what is saved) find it automatically. A plain tensor assigned to
# `self` is invisible to both.
#
# `forward` returns the logits; the softmax is folded into the loss (`cross_entropy`) and
# the prediction is simply the class with the largest logit.
#
# **Your task.** In `__init__`, create `self.weight` of shape `(n_in, n_out)` and
# `self.bias` of shape `(n_out,)` as `nn.Parameter`s: small random weights
# (`torch.randn(n_in, n_out) / n_in`) and zero biases (`torch.zeros(n_out)`).
# Do not use `nn.Linear`.

# %% grade_id="logreg-model"
class LogReg(nn.Module):
    """Multinomial logistic regression: logits = x @ weight + bias."""

    def __init__(self, n_in=64, n_out=10):
        super().__init__()
        ### BEGIN SOLUTION
        self.weight = nn.Parameter(torch.randn(n_in, n_out) / n_in)
        self.bias = nn.Parameter(torch.zeros(n_out))
        ### END SOLUTION

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)           # flatten to (batch, n_in)
        return x @ self.weight + self.bias      # logits, (batch, n_out)


print({name: tuple(p.shape) for name, p in LogReg().named_parameters()})

# %% grade_id="logreg-model-check" points=2
import torch
from mlgrader.checks import CheckFailure, check_shape, check_type

ref_model = LogReg()
check_type(ref_model, "torch.nn.Module", name="LogReg()")
ref_state = ref_model.state_dict()
if not ref_state:
    raise CheckFailure(
        "LogReg() has no parameters: model.parameters() and model.state_dict() are empty. Wrap the "
        "tensors in nn.Parameter(...) when you assign them to self.weight and self.bias, or the "
        "optimizer will not see them.")
check_shape(ref_state["weight"], (64, 10), name="LogReg().weight")
check_shape(ref_state["bias"], (10,), name="LogReg().bias")
check_shape(ref_model(torch.zeros(3, 64)), (3, 10), name="LogReg()(x) for x of shape (3, 64)")
### BEGIN HIDDEN TESTS
if sorted(ref_state) != ["bias", "weight"]:
    raise CheckFailure(
        f"LogReg() has the parameters {sorted(ref_state)}, expected exactly weight and bias. Create "
        "them yourself with nn.Parameter instead of using nn.Linear.")
ref_small = LogReg(5, 3).state_dict()
check_shape(ref_small["weight"], (5, 3), name="LogReg(5, 3).weight")
check_shape(ref_small["bias"], (3,), name="LogReg(5, 3).bias")
if float(ref_state["weight"].abs().max()) > 1.0:
    raise CheckFailure("the initial weights are large (up to "
                       f"{float(ref_state['weight'].abs().max()):.3g}): scale them, torch.randn(n_in, n_out) / n_in")
### END HIDDEN TESTS

# %% [markdown]
# ## Part 6: training and testing (4 points)
#
# One **epoch** passes over every training image once, in a new random order, in
# **mini-batches** of 128: each step uses the gradient of the loss on one batch only, which
# is cheaper and noisier than the full gradient (stochastic gradient descent). We use the
# Adam optimizer.
#
# **Your task.** Complete the body of the inner loop for the batch `X_train_t[idx]`,
# `y_train_t[idx]`: compute the logits, the loss with *your* `cross_entropy`, zero the
# gradients, backward, step, and append `loss.item()` to `train_losses`.

# %% grade_id="logreg-train" timeout=120
torch.manual_seed(0)
model = LogReg()
optimizer = optim.Adam(model.parameters(), lr=0.05)
batch_size = 128

train_losses = []
for epoch in range(10):
    perm = torch.randperm(len(X_train_t))          # a new random order every epoch
    for start in range(0, len(perm), batch_size):
        idx = perm[start:start + batch_size]
        ### BEGIN SOLUTION
        logits = model(X_train_t[idx])
        loss = cross_entropy(logits, y_train_t[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_losses.append(loss.item())
        ### END SOLUTION
    print(f"epoch {epoch}: loss of the last batch {train_losses[-1]:.3f}")

# %% [markdown]
# **Your task.** Measure the accuracy on the **test** set: the predicted class of each
# test image is the index of its largest logit (`argmax` over the classes); store the
# predictions in `test_predictions` (shape `(450,)`) and the fraction of correct ones, as a
# Python float, in `test_accuracy`. Expect about 95%.

# %% grade_id="logreg-eval"
with torch.no_grad():
    ### BEGIN SOLUTION
    test_predictions = model(X_test_t).argmax(dim=1)
    test_accuracy = (test_predictions == y_test_t).float().mean().item()
    ### END SOLUTION
print(f"test accuracy {test_accuracy:.3f}")

# %% grade_id="logreg-check" points=4
from mlgrader.checks import CheckFailure, check_loss_curve, check_close

check_loss_curve(train_losses, name="train_losses", min_length=100)
check_close(test_accuracy, 0.95, atol=0.05, name="test_accuracy")
### BEGIN HIDDEN TESTS
import torch
from sklearn.datasets import load_digits as ref_load_digits
from sklearn.model_selection import train_test_split as ref_split
from mlgrader.checks import check_accuracy

# The grader's own copy of the split: the same images as X_test, built here.
ref_digits = ref_load_digits()
ref_X_tr, ref_X_te, ref_y_tr, ref_y_te = ref_split(
    ref_digits.data / 16.0, ref_digits.target, test_size=0.25, random_state=0, stratify=ref_digits.target)
ref_logits_te = model(torch.tensor(ref_X_te, dtype=torch.float32)).detach()
ref_logits_tr = model(torch.tensor(ref_X_tr, dtype=torch.float32)).detach()
ref_acc_te = float((ref_logits_te.argmax(dim=1).numpy() == ref_y_te).mean())
ref_acc_tr = float((ref_logits_tr.argmax(dim=1).numpy() == ref_y_tr).mean())
check_accuracy(ref_logits_te, ref_y_te, threshold=0.92, name="accuracy of model on the 450 test images")
check_close(test_accuracy, ref_acc_te, atol=1e-6, name="test_accuracy",
            mistakes={"evaluated on the training set instead of the test set": ref_acc_tr,
                      "reported the error rate (1 - accuracy) instead of the accuracy": 1 - ref_acc_te,
                      "reported a percentage; store the fraction (0.95, not 95)": 100 * ref_acc_te})
check_close(test_predictions, ref_logits_te.argmax(dim=1), name="test_predictions",
            hint="the predicted class is the argmax of the logits over dim=1, for the test images")
check_loss_curve(train_losses, name="train_losses", min_length=100)
ref_tail = sum(train_losses[-10:]) / 10
if not ref_tail < 0.5:
    raise CheckFailure(f"the mean loss of the last 10 batches is {ref_tail:.3g}, expected below 0.5. "
                       "If the loss jumps around, the learning rate is too large (keep lr=0.05); also "
                       "zero the gradients every step and train on every batch of every epoch.")
### END HIDDEN TESTS
