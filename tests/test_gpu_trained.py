"""Submissions trained on an NVIDIA H100 grade on this CPU-only machine with full marks.

tests/fixtures/gpu-trained/ holds the 05 and 06 solutions as a student would hand them in
after running them on a GPU (benchmarks/gpu/device_run.sh made them; benchmarks/gpu.md has
the numbers): the executed notebook, whose outputs say it trained on cuda, and the
safetensors weights it saved. (06's cells were brought to its 12-point layout, where the
training loop is an exercise, after that run: its weights and printed outputs are the
H100's, from the same model and the same loop.) The grader has no GPU here, so the kernel re-runs the
notebook on the CPU, loads the GPU-trained weights and the hidden tests measure them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, grade_json

FIXTURES = ROOT / "tests" / "fixtures" / "gpu-trained"
CASES = [("05-fashion-mnist-gpu", "fashion_mnist_gpu", 13.0), ("06-cnn", "cnn", 12.0)]


def _printed(nb) -> str:
    return "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("assignment, notebook, max_score", CASES)
def test_gpu_trained_submission_scores_full_marks_on_cpu(tmp_path, assignment, notebook, max_score):
    folder = tmp_path / assignment
    shutil.copytree(FIXTURES / assignment, folder)
    path = folder / f"{notebook}.ipynb"
    assert "training on cuda" in _printed(nbformat.read(path, as_version=4))  # really GPU-trained

    result = grade_json(path)

    assert result["assignment"] == assignment
    assert result["score"] == result["max_score"] == max_score, [
        (t["name"], t["output"][:200]) for t in result["tests"] if t["status"] != "passed"]


@pytest.mark.slow
def test_gpu_trained_weights_are_what_is_graded(tmp_path):
    # Swap in a fresh (untrained) linear model's weights: the accuracy test must notice,
    # so the full marks above come from the GPU-trained files, not from retraining.
    import torch
    from safetensors.torch import save_file

    folder = tmp_path / "05"
    shutil.copytree(FIXTURES / "05-fashion-mnist-gpu", folder)
    torch.manual_seed(0)
    untrained = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    save_file({k: v.contiguous() for k, v in untrained.state_dict().items()}, folder / "fashion_linear.safetensors")

    result = grade_json(folder / "fashion_mnist_gpu.ipynb")

    tests = {t["name"]: t for t in result["tests"]}
    assert tests["test-linear-accuracy"]["score"] == 0
    assert "accuracy" in tests["test-linear-accuracy"]["output"]
    assert tests["test-mlp-accuracy"]["score"] == tests["test-mlp-accuracy"]["max_score"]
