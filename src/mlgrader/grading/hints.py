"""Short, specific words for what went wrong around the tests: dead kernels, GPUs, leftovers."""

from __future__ import annotations


def leftovers_note(count: int) -> str:
    if count == 1:
        return "1 process the notebook started was still running after grading; it was killed"
    return f"{count} processes the notebook started were still running after grading; they were killed"


def death_cause(run) -> str:
    """Why a kernel died, as far as the grader knows: it stopped a flood, or the usual suspects."""
    if run.error_name == "OutputFlood":
        return run.error_value
    return "os._exit, a crash or the memory limit"


def gpu_hint(error_text: str) -> str | None:
    """A clear word for the usual reason a GPU notebook fails on a CPU grader."""
    text = error_text.lower()
    if "deserialize object on a cuda device" in text:
        return ("a file saved on a GPU was loaded without map_location: use "
                "torch.load(path, map_location=device, weights_only=True)")
    if any(s in text for s in ("torch not compiled with cuda", "no nvidia driver", "no cuda gpus",
                               "found no nvidia", "cuda driver initialization failed")):
        return ("the notebook asks for a CUDA GPU but this grader has none: choose the device with "
                "torch.cuda.is_available() and use .to(device) instead of .cuda()")
    if "expected all tensors to be on the same device" in text:
        return ("tensors on two devices met in one operation: move inputs and labels to the model's "
                "device with .to(device) before using them together")
    return None

