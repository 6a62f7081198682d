"""Draft capstone: a small CNN on FashionMNIST, data kept on the device.

Measures the training budget of the CNN (see RESULTS.md next to this file):

    python benchmarks/drafts/fashion_cnn.py                             # recommended config
    python benchmarks/drafts/fashion_cnn.py --threads 1 --seeds 0 1 2 --json

Same recipe as fashion_linear_mlp.py: the whole training set in one tensor on the device
(cuda > mps > cpu), shuffled with torch.randperm each epoch and sliced into mini-batches.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from torch import nn

from mlgrader.data import fashion_mnist_tensors

# Recommended configuration (measured in RESULTS.md).
CONFIG = dict(arch="small-fc", epochs=3, batch=128, lr=5e-3, optimizer="adam", schedule="onecycle")


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used since boot (Linux), else 0."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pick_device() -> torch.device:
    """cuda > mps > cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def make_model(arch: str = "small-fc") -> nn.Module:
    """Two conv blocks (3x3 conv, ReLU, 2x2 max-pool) and a classifier head.

    small-fc: conv(1->16) 28->26, pool ->13, conv(16->32) ->11, pool ->5,
              linear 800->128, ReLU, linear 128->10              (119k parameters)
    small:    the same convolutions, linear 800->10               (13k parameters)
    tiny-fc:  conv channels 8 and 16, linear 400->64->10          (27k parameters)
    padded:   padding=1 convs, 28->14->7, linear 1568->10         (20k parameters)
    """
    c1, c2, pad, hidden = {
        "small-fc": (16, 32, 0, 128),
        "small": (16, 32, 0, 0),
        "tiny-fc": (8, 16, 0, 64),
        "padded": (16, 32, 1, 0),
    }[arch]
    side = 7 if pad else 5
    features = c2 * side * side
    head = ([nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 10)] if hidden
            else [nn.Linear(features, 10)])
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), *head,
    )


def make_optimizer(params, kind: str, lr: float):
    """Adam, or SGD with Nesterov momentum 0.9."""
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)


def train(model, x, y, *, epochs: int, batch: int, lr: float, optimizer: str, seed: int,
          schedule: str = "none"):
    """Mini-batch training on tensors already on the device; returns the per-epoch mean losses.

    schedule="onecycle" warms the learning rate up to ``lr`` and anneals it to ~0
    (torch.optim.lr_scheduler.OneCycleLR, stepped every batch); "none" keeps it constant.
    """
    opt = make_optimizer(model.parameters(), optimizer, lr)
    steps = epochs * -(-len(x) // batch)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
             if schedule == "onecycle" else None)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    losses = []
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen).to(x.device)
        total = torch.zeros((), device=x.device)
        for start in range(0, len(x), batch):
            idx = perm[start : start + batch]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.detach() * len(idx)
        losses.append(total.item() / len(x))
    return losses


@torch.no_grad()
def accuracy(model, x, y, batch: int = 2000) -> float:
    """Test accuracy, evaluated in large batches."""
    model.eval()
    correct = sum((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
                  for i in range(0, len(x), batch))
    return correct / len(x)


def run(seed: int, data, device, arch: str, **cfg) -> dict:
    """Train the CNN with one seed; returns a result row."""
    (x_train, y_train), (x_test, y_test) = data
    torch.manual_seed(seed)
    model = make_model(arch).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, cpu0, busy0 = time.perf_counter(), time.process_time(), machine_busy_seconds()
    losses = train(model, x_train, y_train, seed=seed, **cfg)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    others = max(0.0, machine_busy_seconds() - busy0 - cpu) / seconds  # cores used by others
    return dict(model=f"cnn-{arch}", threads=torch.get_num_threads(), seed=seed, device=str(device),
                seconds=round(seconds, 2), cpu_seconds=round(cpu, 2),
                others_cores=round(others, 2), test_accuracy=round(accuracy(model, x_test, y_test), 4),
                final_loss=round(losses[-1], 4), **cfg)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["small-fc", "small", "tiny-fc", "padded"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--optimizer", choices=["adam", "sgd"])
    parser.add_argument("--schedule", choices=["none", "onecycle"])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = pick_device()
    t0 = time.perf_counter()
    data = (fashion_mnist_tensors("train", device=device), fashion_mnist_tensors("test", device=device))
    load_s = time.perf_counter() - t0
    if not args.json:
        print(f"device={device} threads={args.threads} data load {load_s:.2f}s")
    cfg = dict(CONFIG)
    for key in ("arch", "epochs", "batch", "lr", "optimizer", "schedule"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    for seed in args.seeds:
        row = run(seed, data, device, **cfg)
        print(json.dumps(row) if args.json else
              f"cnn seed={seed} {cfg} {row['seconds']:6.2f}s acc={row['test_accuracy']:.4f} "
              f"loss={row['final_loss']:.4f}", flush=True)


if __name__ == "__main__":
    main()
