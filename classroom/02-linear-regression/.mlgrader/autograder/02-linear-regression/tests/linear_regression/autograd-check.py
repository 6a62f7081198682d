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
