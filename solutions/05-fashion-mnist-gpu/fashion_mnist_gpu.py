# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   mlgrader:
#     assignment: 05-fashion-mnist-gpu
#     title: Train FashionMNIST on the GPU
#     timeout: 600
#     artifacts:
#     - fashion_linear.safetensors
#     - fashion_mlp.safetensors
# ---

# %% [markdown]
# # Train FashionMNIST on the GPU
#
# FashionMNIST has 70,000 grey 28×28 pictures of clothes in 10 classes (T-shirt, trouser,
# pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot). You will train a linear
# model and a small neural network on it, on whatever accelerator your machine has.
#
# The classic loop feeds the data through a `DataLoader` ten images at a time. On an H100
# that takes ~6 s per epoch, because the GPU spends its time waiting for Python. The
# whole data set is only 190 MB as float32, so we do better: **put all of it on the device
# once** and cut batches out of it by indexing. An MLP then trains in about 2 s on a GPU,
# and in seconds on a laptop CPU too.
#
# | exercise | points |
# |---|---|
# | 1. choose the device | 1 |
# | 2. the two models | 2 |
# | 3. the training loop | 3 |
# | 4. evaluation | 2 |
# | 5. linear model reaches 80 % test accuracy | 2 |
# | 6. MLP reaches 84 % test accuracy | 3 |
# | **total** | **13** |
#
# **Grading.** The autograder runs on a CPU-only machine. It reads the weights you save
# (`fashion_linear.safetensors`, `fashion_mlp.safetensors`) and measures their accuracy on
# test data it owns. If you commit those files next to the notebook, the notebook reuses
# them instead of training again; without them, it trains (about a minute on a CPU).

# %%
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from mlgrader.data import FASHION_CLASSES, fashion_mnist_tensors

torch.manual_seed(0)

# %% [markdown]
# ## 1. Choose the device
#
# PyTorch runs on NVIDIA GPUs (`cuda`), on Apple silicon (`mps`) and on the CPU. Write
# `pick_device()`: return `torch.device("cuda")` when `torch.cuda.is_available()`, else
# `torch.device("mps")` when `torch.backends.mps.is_available()`, else `torch.device("cpu")`.
# Never hard-code `.cuda()`: the same notebook must run on a machine without a GPU.

# %% grade_id="pick-device"
def pick_device():
    """The fastest device this machine has: cuda, then mps, then cpu."""
    ### BEGIN SOLUTION
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
    ### END SOLUTION


device = pick_device()
print("training on", device)

# %% grade_id="test-pick-device" points=1
import torch
from mlgrader.checks import check_equal, check_type

check_type(device, "torch.device", name="device")
### BEGIN HIDDEN TESTS
expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
check_equal(pick_device().type, expected, name="pick_device().type",
            hint="check torch.cuda.is_available() first, then torch.backends.mps.is_available(), else the CPU")
### END HIDDEN TESTS

# %% [markdown]
# ## The data, on the device
#
# `fashion_mnist_tensors` gives float32 images of shape (N, 1, 28, 28), scaled to [0, 1]
# and normalised with the training set's mean and standard deviation, and int64 labels.
# We move them to the device once.

# %%
X_train, y_train = fashion_mnist_tensors("train", device=device)
X_test, y_test = fashion_mnist_tensors("test", device=device)
print(X_train.shape, X_train.device, "classes:", ", ".join(FASHION_CLASSES))

# %% [markdown]
# ## 2. Two models
#
# * `make_linear()`: multinomial logistic regression, $\text{logits} = W x + b$ on the
#   784 flattened pixels: `nn.Sequential(nn.Flatten(), nn.Linear(784, 10))`.
# * `make_mlp()`: one hidden layer of 256 ReLU units with dropout 0.2 before the output:
#   `Flatten → Linear(784, 256) → ReLU → Dropout(0.2) → Linear(256, 10)`.
#
# Both return logits (no softmax: `F.cross_entropy` applies log-softmax itself). Keep
# exactly this layout: the grader rebuilds it to load your weights.

# %% grade_id="models"
def make_linear():
    ### BEGIN SOLUTION
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    ### END SOLUTION


def make_mlp():
    ### BEGIN SOLUTION
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    ### END SOLUTION


# %% grade_id="test-models" points=2
from mlgrader.checks import check_equal

shapes = {k: tuple(v.shape) for k, v in make_linear().state_dict().items()}
check_equal(shapes, {"1.weight": (10, 784), "1.bias": (10,)}, name="make_linear() parameter shapes")
### BEGIN HIDDEN TESTS
mlp_shapes = {k: tuple(v.shape) for k, v in make_mlp().state_dict().items()}
check_equal(mlp_shapes, {"1.weight": (256, 784), "1.bias": (256,), "4.weight": (10, 256), "4.bias": (10,)},
            name="make_mlp() parameter shapes",
            hint="Flatten, Linear(784, 256), ReLU, Dropout(0.2), Linear(256, 10), in this order")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The training loop
#
# Write `train(model, X, y, epochs, batch_size, lr, optimizer)`. For each epoch, shuffle
# the indices with `torch.randperm(len(X), device=X.device)`, and for each batch of
# `batch_size` of them:
#
# 1. move the batch to the model's device (`next(model.parameters()).device`),
# 2. zero the gradients, compute $\ell = \text{cross-entropy}(\text{model}(x), y)$,
# 3. back-propagate and take an optimizer step.
#
# `optimizer` is `"sgd"` (`torch.optim.SGD`) or `"adam"` (`torch.optim.Adam`). Put the
# model in training mode first, and return the list of batch losses as Python floats.

# %% grade_id="train-loop"
def train(model, X, y, epochs=3, batch_size=256, lr=1e-3, optimizer="adam"):
    """Train `model` on (X, y); return the loss of every batch."""
    model_device = next(model.parameters()).device
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    opt = optimizers[optimizer](model.parameters(), lr=lr)
    losses = []
    ### BEGIN SOLUTION
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), device=X.device)
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            xb, yb = X[batch].to(model_device), y[batch].to(model_device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    ### END SOLUTION
    return losses


# %% grade_id="test-train-loop" points=3
import torch
from mlgrader.checks import check_close, check_loss_curve

### BEGIN HIDDEN TESTS
import torch.nn.functional as F
from mlgrader.checks import check_equal
from mlgrader.data import fashion_mnist_tensors

# Two full-batch SGD steps from the student's own initial weights, replayed here. Where
# the grader has a GPU the model lives there and the data stays on the CPU, as in a
# student's notebook: train() must move every batch, images and labels, to the model.
xs, ys = fashion_mnist_tensors("train", count=512)
probe = make_linear().to("cuda" if torch.cuda.is_available() else "cpu")
start = {k: v.detach().cpu().clone() for k, v in probe.state_dict().items()}
got_losses = train(probe, xs, ys, epochs=2, batch_size=512, lr=0.5, optimizer="sgd")
got = {k: v.detach().cpu() for k, v in probe.state_dict().items()}

def replay(weights, steps, zero_grad=True, sign=1.0):
    w = weights["1.weight"].clone().requires_grad_(True)
    b = weights["1.bias"].clone().requires_grad_(True)
    history = []
    for _ in range(steps):
        if zero_grad:
            w.grad = b.grad = None
        loss = F.cross_entropy(xs.flatten(1) @ w.T + b, ys)
        loss.backward()
        history.append(loss.item())
        with torch.no_grad():
            w -= sign * 0.5 * w.grad
            b -= sign * 0.5 * b.grad
    return w.detach(), b.detach(), history

w_ref, b_ref, losses_ref = replay(start, 2)
w_acc, _, _ = replay(start, 2, zero_grad=False)
w_up, _, _ = replay(start, 2, sign=-1.0)
# train() must switch training mode on: evaluate() leaves a model in eval mode, and the MLP
# would then train without its dropout (the linear model's numbers cannot show it, its flag can).
mode_probe = make_linear()
mode_probe.eval()
train(mode_probe, xs[:8], ys[:8], epochs=0, batch_size=8, optimizer="sgd")
check_equal(mode_probe.training, True, name="model.training after train()",
            hint="call model.train() at the start of train(): evaluate() switched the model to eval mode, "
                 "and dropout must be on while training")
# The losses first: a negative cross-entropy names NLLLoss on raw logits, which the
# weights alone only show as "different".
check_loss_curve(got_losses, expected=losses_ref, rtol=1e-3, kind="cross-entropy", decreasing=False,
                 name="the losses train() returned")
check_close(got["1.weight"], w_ref, rtol=1e-3, atol=1e-5, start=start["1.weight"], name="the weights after two SGD steps", mistakes={
    "gradients were not zeroed before backward(), so they piled up across steps: call opt.zero_grad()": w_acc,
    "the weights did not change: is opt.step() called after loss.backward()?": start["1.weight"],
    "stepped uphill: the loss must be minimised": w_up,
})
check_close(got_losses, losses_ref, rtol=1e-3, name="the losses train() returned",
            hint="append loss.item() once per batch, computed before the step")
### END HIDDEN TESTS
from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("train", count=4096)
check_loss_curve(train(make_linear(), sample_x, sample_y, epochs=2, batch_size=256),
                 name="losses of a short run", min_length=32, kind="cross-entropy")

# %% [markdown]
# ## 4. Evaluation
#
# Write `evaluate(model, X, y)`: the fraction of examples whose largest logit is the right
# class. Switch the model to evaluation mode with `model.eval()` (dropout must be off when
# we measure) and run it under `torch.no_grad()` (no graph, less memory), in batches of
# 1000 so that a small GPU does not run out of memory.

# %% grade_id="evaluate"
def evaluate(model, X, y, batch_size=1000):
    """Accuracy of `model` on (X, y), in [0, 1]."""
    model_device = next(model.parameters()).device
    correct = 0
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = X[start:start + batch_size].to(model_device)
            yb = y[start:start + batch_size].to(model_device)
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
    ### END SOLUTION
    return correct / len(X)


# %% grade_id="test-evaluate" points=2
### BEGIN HIDDEN TESTS
import torch
import torch.nn as nn
from mlgrader.checks import check_close
from mlgrader.data import fashion_mnist_tensors

# A dropout network with fixed weights: in eval mode its accuracy is deterministic.
torch.manual_seed(1)
reference = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
xs, ys = fashion_mnist_tensors("test", count=3000)
probe = make_mlp().to("cuda" if torch.cuda.is_available() else "cpu")  # data stays on the CPU
probe.load_state_dict(reference.state_dict())
reference.eval()
with torch.no_grad():
    expected = (reference(xs).argmax(1) == ys).float().mean().item()
got = evaluate(probe, xs, ys)
check_close(got, expected, atol=2e-3, name="evaluate(model, X, y) on a network with dropout", mistakes={
    "returned the error rate instead of the accuracy": 1 - expected,
}, hint="this network has dropout: if model.eval() is not called before measuring, dropout stays on "
        "and the predictions are random")
### END HIDDEN TESTS
from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("test", count=100)
accuracy = evaluate(make_linear(), sample_x, sample_y)
assert 0.0 <= accuracy <= 1.0, f"an accuracy is a fraction between 0 and 1, got {accuracy}"

# %% [markdown]
# ## 5. Train both models
#
# Linear model: SGD is slow here; Adam with learning rate $10^{-3}$, batches of 256 and 5
# epochs reaches about 83 %. The MLP: Adam, $10^{-3}$, batches of 256, 3 epochs, about 86 %.
#
# Finish the cell: measure both models on the **test** set with your `evaluate`, as
# `linear_accuracy` and `mlp_accuracy`.
#
# Each model is saved with safetensors (a plain file of tensors: loading it runs no code,
# unlike a pickle). If the file is already there, e.g. because you trained on a GPU and
# committed it, it is loaded instead of trained again. Delete it to retrain.

# %% grade_id="train-models" timeout=300
def train_or_load(model, path, **settings):
    model = model.to(device)
    if os.path.exists(path):
        model.load_state_dict(load_file(path, device=str(device)))
        print(f"loaded {path}")
        return model
    started = time.time()
    losses = train(model, X_train, y_train, **settings)
    print(f"trained in {time.time() - started:.1f} s, last batch loss {losses[-1]:.3f}")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, path)
    return model


linear = train_or_load(make_linear(), "fashion_linear.safetensors", epochs=5, batch_size=256, lr=1e-3)
mlp = train_or_load(make_mlp(), "fashion_mlp.safetensors", epochs=3, batch_size=256, lr=1e-3)
### BEGIN SOLUTION
linear_accuracy = evaluate(linear, X_test, y_test)
mlp_accuracy = evaluate(mlp, X_test, y_test)
### END SOLUTION
print(f"test accuracy: linear {linear_accuracy:.3f}, MLP {mlp_accuracy:.3f}")

# %% grade_id="test-linear-accuracy" points=2
from mlgrader.artifacts import load_state_dict

weights = load_state_dict("fashion_linear.safetensors")
### BEGIN HIDDEN TESTS
import torch
import torch.nn as nn
from mlgrader.artifacts import fit_weights
from mlgrader.checks import check_accuracy
from mlgrader.data import fashion_mnist_tensors

model = fit_weights(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), weights,
                    "fashion_linear.safetensors", "Flatten + Linear(784, 10)")
images, labels = fashion_mnist_tensors("test")
with torch.no_grad():
    logits = model(images)
check_accuracy(logits, labels, threshold=0.80, name="the saved linear model's test accuracy")
### END HIDDEN TESTS

# %% grade_id="test-mlp-accuracy" points=3
from mlgrader.artifacts import load_state_dict

weights = load_state_dict("fashion_mlp.safetensors")
### BEGIN HIDDEN TESTS
import torch
import torch.nn as nn
from mlgrader.artifacts import fit_weights
from mlgrader.checks import check_accuracy, check_close
from mlgrader.data import fashion_mnist_tensors

model = fit_weights(nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10)),
                    weights, "fashion_mlp.safetensors", "the MLP layout of exercise 2")
images, labels = fashion_mnist_tensors("test")
train_images, train_labels = fashion_mnist_tensors("train", count=10000)
with torch.no_grad():
    test_acc = (model(images).argmax(1) == labels).float().mean().item()
    train_acc = (model(train_images).argmax(1) == train_labels).float().mean().item()
check_accuracy(model(images).detach(), labels, threshold=0.84, name="the saved MLP's test accuracy")
check_close(mlp_accuracy, test_acc, atol=5e-3, name="the test accuracy your notebook reports", mistakes={
    "measured on the training set instead of the test set": train_acc,
}, hint="evaluate(mlp, X_test, y_test): held-out data the model never trained on")
### END HIDDEN TESTS
