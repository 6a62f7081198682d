"""Draft capstone: a linear model and an MLP 784-256-10 on FashionMNIST, data kept on the device.

Measures the training budget of the two models (see RESULTS.md next to this file):

    python benchmarks/drafts/fashion_linear_mlp.py                      # recommended configs
    python benchmarks/drafts/fashion_linear_mlp.py --threads 1 --seeds 0 1 2 --json

The whole training set lives in one tensor on the device (cuda > mps > cpu); each epoch
shuffles it with torch.randperm and slices big mini-batches: no DataLoader, no per-sample
Python work, which is what makes FashionMNIST trainable in seconds on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from torch import nn

from mlgrader.data import fashion_mnist_tensors

# Recommended configurations (measured in RESULTS.md).
CONFIGS = {
    "linear": dict(epochs=5, batch=256, lr=1e-3, optimizer="adam", schedule="none"),
    "mlp": dict(epochs=4, batch=256, lr=1e-3, optimizer="adam", schedule="none"),
}


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


def make_model(name: str) -> nn.Module:
    """The linear model (784 -> 10) or the MLP 784-256-10."""
    if name == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    raise ValueError(name)


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
def accuracy(model, x, y, batch: int = 4096) -> float:
    """Test accuracy, evaluated in large batches."""
    model.eval()
    correct = sum((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
                  for i in range(0, len(x), batch))
    return correct / len(x)


def run(name: str, seed: int, data, device, **cfg) -> dict:
    """Train one model with one seed; returns a result row."""
    (x_train, y_train), (x_test, y_test) = data
    torch.manual_seed(seed)
    model = make_model(name).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, cpu0, busy0 = time.perf_counter(), time.process_time(), machine_busy_seconds()
    losses = train(model, x_train, y_train, seed=seed, **cfg)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    others = max(0.0, machine_busy_seconds() - busy0 - cpu) / seconds  # cores used by others
    return dict(model=name, threads=torch.get_num_threads(), seed=seed, device=str(device),
                seconds=round(seconds, 2), cpu_seconds=round(cpu, 2),
                others_cores=round(others, 2), test_accuracy=round(accuracy(model, x_test, y_test), 4),
                final_loss=round(losses[-1], 4), **cfg)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
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
    for name in args.models:
        cfg = dict(CONFIGS[name])
        for key in ("epochs", "batch", "lr", "optimizer", "schedule"):
            if getattr(args, key) is not None:
                cfg[key] = getattr(args, key)
        for seed in args.seeds:
            row = run(name, seed, data, device, **cfg)
            print(json.dumps(row) if args.json else
                  f"{name:6s} seed={seed} {cfg} {row['seconds']:6.2f}s acc={row['test_accuracy']:.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
