# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   mlgrader:
#     assignment: 06-cnn
#     title: A convolutional network for FashionMNIST
#     timeout: 900
#     artifacts:
#     - fashion_cnn.safetensors
# ---

# %% [markdown]
# # A convolutional network for FashionMNIST
#
# The MLP of the last assignment sees an image as 784 unrelated numbers: move a sneaker
# by two pixels and it is a different input. A **convolution** slides one small filter
# over the whole image, so a feature (an edge, a sole, a collar) is detected wherever it
# is, with a handful of weights. Stacking convolutions and pooling, a small network
# reaches about 90 % on FashionMNIST. (The lesson did this on CIFAR-10, which is not
# available offline here; FashionMNIST works the same way.)
#
# | exercise | points |
# |---|---|
# | 1. the size of a convolution's output | 2 |
# | 2. the network | 3 |
# | 3. the training loop | 3 |
# | 4. test accuracy of at least 88 % | 4 |
# | **total** | **12** |
#
# As in assignment 05, the grader measures the weights you save in
# `fashion_cnn.safetensors` on its own test data, on a CPU; commit the file to skip
# retraining there (training takes under a minute on a laptop CPU, seconds on a GPU).

# %%
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from mlgrader.data import fashion_mnist_tensors

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available()
                      else "mps" if torch.backends.mps.is_available() else "cpu")
X_train, y_train = fashion_mnist_tensors("train", device=device)
X_test, y_test = fashion_mnist_tensors("test", device=device)
print("training on", device, "with", len(X_train), "images")

# %% [markdown]
# ## 1. How big is a convolution's output?
#
# A filter of size $k$ slid with stride $s$ over an input of size $n$ padded with $p$
# zeros on each side fits
#
# $$n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1$$
#
# times. A 3×3 filter with padding 1 and stride 1 keeps 28 → 28; a 2×2 max-pool with
# stride 2 halves it, 28 → 14. Write `conv_output_size(n, kernel, padding=0, stride=1)`.

# %% grade_id="output-size"
def conv_output_size(n, kernel, padding=0, stride=1):
    """Output length of a convolution or pooling along one dimension."""
    ### BEGIN SOLUTION
    return (n + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


# %% grade_id="test-output-size" points=2
from mlgrader.checks import check_equal

### BEGIN HIDDEN TESTS
cases = [(32, 5, 0, 1), (7, 3, 0, 2), (14, 2, 0, 2), (224, 7, 3, 2), (10, 4, 1, 3), (5, 5, 0, 1)]
got = [conv_output_size(n, k, padding=p, stride=s) for n, k, p, s in cases]
mistakes = {
    "you forgot the + 1: the first position of the filter counts too":
        [(n + 2 * p - k) // s for n, k, p, s in cases],
    "padding is added on both sides: n + 2 * padding":
        [(n + p - k) // s + 1 for n, k, p, s in cases],
    "use floor division (//): a filter that does not fit at the end is not applied":
        [(n + 2 * p - k) / s + 1 for n, k, p, s in cases],
}
hint = next((text for text, wrong in mistakes.items() if got == wrong), None)
check_equal(got, [(n + 2 * p - k) // s + 1 for n, k, p, s in cases],
            name="conv_output_size on (n, kernel, padding, stride) = " + ", ".join(map(str, cases)), hint=hint)
### END HIDDEN TESTS
check_equal(conv_output_size(28, 3, padding=1), 28, name="conv_output_size(28, 3, padding=1)")
check_equal(conv_output_size(28, 2, stride=2), 14, name="conv_output_size(28, 2, stride=2)")

# %% [markdown]
# ## 2. The network
#
# Write `FashionCNN`, with these layers (keep their names: the grader loads your weights
# into its own copy of this layout):
#
# | layer | shape of one image after it |
# |---|---|
# | input | 1 × 28 × 28 |
# | `conv1 = nn.Conv2d(1, 16, 3, padding=1)`, ReLU, 2×2 max-pool | 16 × 14 × 14 |
# | `conv2 = nn.Conv2d(16, 32, 3, padding=1)`, ReLU, 2×2 max-pool | 32 × 7 × 7 |
# | flatten | 1568 |
# | `fc1 = nn.Linear(32 * 7 * 7, 128)`, ReLU | 128 |
# | `fc2 = nn.Linear(128, 10)` | 10 logits |
#
# Flatten with `x.flatten(1)` (keep the batch dimension) and return logits.

# %% grade_id="cnn"
class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)
        ### END SOLUTION


# %% grade_id="test-cnn" points=3
import torch
from mlgrader.checks import check_close, check_shape

torch.manual_seed(0)
check_shape(FashionCNN()(torch.randn(5, 1, 28, 28)), (5, 10), name="FashionCNN()(a batch of 5 images)")
### BEGIN HIDDEN TESTS
import torch.nn as nn
import torch.nn.functional as F
from mlgrader.checks import check_equal


class Reference(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x, relu=True):
        act = F.relu if relu else (lambda t: t)
        x = F.max_pool2d(act(self.conv1(x)), 2)
        x = F.max_pool2d(act(self.conv2(x)), 2)
        return self.fc2(act(self.fc1(x.flatten(1))))


student = FashionCNN()
shapes = {k: tuple(v.shape) for k, v in student.state_dict().items()}
reference = Reference()
check_equal(shapes, {k: tuple(v.shape) for k, v in reference.state_dict().items()},
            name="FashionCNN's parameters (names and shapes)",
            hint="conv1, conv2, fc1, fc2 exactly as in the table: the grader loads your weights by these names")
student.load_state_dict(reference.state_dict())
torch.manual_seed(3)
images = torch.randn(7, 1, 28, 28)
with torch.no_grad():
    expected = reference(images)
    without_relu = reference(images, relu=False)
check_close(student(images), expected, rtol=1e-4, atol=1e-5, name="FashionCNN's logits on 7 new images",
            mistakes={"a ReLU is missing: without non-linearities the layers collapse into one linear map":
                      without_relu})
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The training loop
#
# The loop is the one of assignment 05, with the data kept on the device, plus a
# **one-cycle learning-rate schedule**: the rate climbs from $\eta_{\max}/25$ to
# $\eta_{\max} = 5 \cdot 10^{-3}$ over the first 30 % of the steps, then anneals (cosine) to
# almost zero. The high middle phase moves fast; the low end settles into a minimum.
#
# For each batch $B$ of images $x_i$ with labels $y_i$, the model gives logits $z_i$ and the
# loss is the mean cross-entropy
#
# $$\ell = -\frac{1}{|B|}\sum_{i \in B} \log \frac{e^{z_{i,y_i}}}{\sum_c e^{z_{i,c}}}
#   = \texttt{F.cross\_entropy}(z, y),$$
#
# and one step is: zero the gradients, compute $\ell$, back-propagate ($\nabla_\theta \ell$),
# let Adam update $\theta$ with the current rate $\eta_t$, then advance the schedule
# (`schedule.step()`, once per batch, after `opt.step()`).
#
# Write the body of the batch loop of `train`: it must return the loss of every batch as a
# Python float (`loss.item()`), in order. Adam, batches of 256 and 3 epochs reach about 90 %
# test accuracy.

# %% grade_id="train-loop"
def train(model, X, y, epochs=3, batch_size=256, max_lr=5e-3):
    """Train `model` on (X, y) with Adam and a one-cycle schedule; return the loss of every batch."""
    opt = torch.optim.Adam(model.parameters(), lr=max_lr)
    steps_per_epoch = (len(X) + batch_size - 1) // batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=epochs * steps_per_epoch)
    model.train()
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(X), device=X.device)
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            ### BEGIN SOLUTION
            opt.zero_grad()
            loss = F.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            opt.step()
            schedule.step()
            losses.append(loss.item())
            ### END SOLUTION
        print(f"epoch {epoch + 1}: last batch loss {losses[-1]:.3f}")
    return losses


def evaluate(model, X, y, batch_size=1000):
    model.eval()
    with torch.no_grad():
        correct = sum((model(X[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
                      for i in range(0, len(X), batch_size))
    return correct / len(X)


# %% grade_id="test-train-loop" points=3
import torch
from mlgrader.checks import check_loss_curve

### BEGIN HIDDEN TESTS
import torch.nn as nn
import torch.nn.functional as F
from mlgrader.checks import check_close
from mlgrader.data import fashion_mnist_tensors

# Three full-batch steps from the student's own initial weights, replayed here: a full
# batch makes the shuffled order irrelevant, so the two runs see the same data.
xs, ys = fashion_mnist_tensors("train", count=128)  # only the images used: not a copy of all 60000
probe = FashionCNN()
start = {k: v.detach().cpu().clone() for k, v in probe.state_dict().items()}
got_losses = train(probe, xs, ys, epochs=3, batch_size=128)
got = {k: v.detach().cpu() for k, v in probe.state_dict().items()}


class Replay(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


reference = Replay()
reference.load_state_dict(start)
opt = torch.optim.Adam(reference.parameters(), lr=5e-3)
schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=3)
losses_ref = []
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(reference(xs), ys)
    loss.backward()
    opt.step()
    schedule.step()
    losses_ref.append(loss.item())
check_loss_curve(got_losses, expected=losses_ref, rtol=1e-3, atol=1e-4, kind="cross-entropy", decreasing=False,
                 name="the losses train() returned")
check_close(got["fc2.weight"], reference.state_dict()["fc2.weight"], rtol=1e-3, atol=1e-4,
            start=start["fc2.weight"], name="fc2.weight after three steps")
### END HIDDEN TESTS
from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("train", count=2048)
check_loss_curve(train(FashionCNN(), sample_x, sample_y, epochs=1, batch_size=128),
                 name="losses of a short run", min_length=16, kind="cross-entropy")

# %% [markdown]
# ## 4. Train it
#
# If `fashion_cnn.safetensors` is already there, e.g. because you trained on a GPU and
# committed it, it is loaded instead of trained again. Delete it to retrain.

# %% timeout=600
cnn = FashionCNN().to(device)
if os.path.exists("fashion_cnn.safetensors"):
    cnn.load_state_dict(load_file("fashion_cnn.safetensors", device=str(device)))
    print("loaded fashion_cnn.safetensors")
else:
    started = time.time()
    train(cnn, X_train, y_train)
    print(f"trained in {time.time() - started:.1f} s")
    save_file({k: v.detach().cpu().contiguous() for k, v in cnn.state_dict().items()}, "fashion_cnn.safetensors")
print(f"test accuracy {evaluate(cnn, X_test, y_test):.3f}")

# %% grade_id="test-accuracy" points=4
from mlgrader.artifacts import load_state_dict

weights = load_state_dict("fashion_cnn.safetensors")
### BEGIN HIDDEN TESTS
import torch
import torch.nn as nn
import torch.nn.functional as F
from mlgrader.artifacts import fit_weights
from mlgrader.checks import check_accuracy
from mlgrader.data import fashion_mnist_tensors


class Reference(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


model = fit_weights(Reference(), weights, "fashion_cnn.safetensors", "the layout of exercise 2")
images, labels = fashion_mnist_tensors("test")
with torch.no_grad():
    # Batches of 250 keep the grader's activations (and im2col buffers) near 60 MB.
    logits = torch.cat([model(images[i:i + 250]) for i in range(0, len(images), 250)])
check_accuracy(logits, labels, threshold=0.88, name="the saved CNN's test accuracy")
### END HIDDEN TESTS
