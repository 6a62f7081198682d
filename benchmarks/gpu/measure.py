"""Measure the FashionMNIST assignments (05, 06) on this machine: training and grading.

For each assignment the solution notebook plays a student who completed it:

1. **train**: the notebook runs top to bottom in a plain Jupyter kernel (as in the
   student's own Jupyter) in a fresh folder; it trains, prints its test accuracy and saves
   its weights next to itself. We record the wall time, the training times and accuracies
   it printed, and the device it picked.
2. **grade, saved weights**: ``mlgrader grade`` of that folder (the saved weights are
   copied into the sandbox, so the notebook loads instead of training): the fast path.
3. **grade, retrain**: the same notebook without its weights, so the training cell runs
   again inside the sandbox, under the cell's time limit.

``--grade DIR`` grades folders made by an earlier run instead (e.g. a GPU-trained
submission on a CPU). ``--seed-loop`` also times one epoch of the lessons' original
loop (torchvision FashionMNIST, ``DataLoader(batch_size=10)``, a linear model, SGD).

Results go to ``--out`` as ``results.jsonl`` (one object per measurement) and a table on
stdout. See benchmarks/gpu.md for the commands that produced the committed numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = {"05-fashion-mnist-gpu": "fashion_mnist_gpu", "06-cnn": "cnn"}


def machine_description() -> dict:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"python": platform.python_version(), "torch": torch.__version__, "gpu": gpu,
            "threads": torch.get_num_threads()}


def printed_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
    return "".join(parts)


def parse_training_output(text: str) -> dict:
    """The training times, accuracies and device a solution notebook printed."""
    device = re.search(r"training on (\w+)", text)
    accuracy_lines = [line for line in text.splitlines() if "test accuracy" in line]
    accuracies = [float(x) for line in accuracy_lines for x in re.findall(r"\d\.\d{3}", line)]
    return {"device": device.group(1) if device else None,
            "train_seconds": [float(x) for x in re.findall(r"trained in ([\d.]+) s", text)],
            "test_accuracy": accuracies}


def train_submission(assignment: str, folder: Path) -> dict:
    """Run the solution notebook in ``folder`` like a student would; keep it and its weights."""
    notebook = ASSIGNMENTS[assignment]
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(ROOT / "source" / assignment / f"{notebook}.ipynb", as_version=4)
    started = time.perf_counter()
    error = None
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    except CellExecutionError as exc:  # recorded, and the submission is still graded
        error = str(exc).strip().splitlines()[-1][:300]
    seconds = time.perf_counter() - started
    nbformat.write(nb, folder / f"{notebook}.ipynb")
    return {"step": "train", "notebook_seconds": round(seconds, 2), "error": error,
            **parse_training_output(printed_text(nb))}


def grade_submission(assignment: str, folder: Path, keep_weights: bool) -> dict:
    """``mlgrader grade`` of the notebook in ``folder``, with or without its saved weights."""
    from mlgrader.grading import grade_notebook

    notebook = ASSIGNMENTS[assignment]
    source = folder
    if not keep_weights:
        source = folder.parent / f"{folder.name}-noweights"
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir()
        shutil.copy(folder / f"{notebook}.ipynb", source)
    started = time.perf_counter()
    result = grade_notebook(source / f"{notebook}.ipynb", assignment, ROOT / "autograder")
    seconds = time.perf_counter() - started
    failed = {t.name: t.output.splitlines()[0] if t.output else t.status
              for t in result.tests if t.status != "passed"}
    return {"step": "grade saved weights" if keep_weights else "grade retrain",
            "score": result.score, "max_score": result.max_score, "grade_seconds": round(seconds, 2),
            "sandbox": result.sandbox, "failed": failed}


def seed_loop_epoch() -> dict:
    """One epoch of the lessons' loop: torchvision dataset, batches of 10, SGD, per-item ToTensor."""
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader
    from torchvision.datasets import FashionMNIST
    from torchvision.transforms import ToTensor

    from mlgrader.data import prepare_torchvision_root

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    root = prepare_torchvision_root(Path("/tmp/mlgrader-seed-loop"))
    train = FashionMNIST(root=str(root), train=True, download=False, transform=ToTensor())
    loader = DataLoader(train, batch_size=10, shuffle=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return {"step": "seed loop, 1 epoch", "epoch_seconds": round(time.perf_counter() - started, 2),
            "device": device.type}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for results.jsonl and submissions")
    parser.add_argument("--label", required=True, help="a name for this machine setup, e.g. h100 or cpu2")
    parser.add_argument("--assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--grade", type=Path, help="grade the submission folders under DIR instead of training")
    parser.add_argument("--seed-loop", action="store_true", help="also time one epoch of the lessons' loop")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    machine = machine_description()
    print(json.dumps(machine), flush=True)
    rows = []
    for assignment in args.assignments:
        if args.grade:
            folder = args.grade / assignment
            steps = [lambda: grade_submission(assignment, folder, keep_weights=True)]
        else:
            folder = args.out / args.label / assignment
            steps = [lambda: train_submission(assignment, folder),
                     lambda: grade_submission(assignment, folder, keep_weights=True),
                     lambda: grade_submission(assignment, folder, keep_weights=False)]
        for step in steps:
            row = {"label": args.label, "assignment": assignment, **machine, **step()}
            if args.grade:
                row["graded_folder"] = str(args.grade)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.seed_loop:
        row = {"label": args.label, **machine, **seed_loop_epoch()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(args.out / "results.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
