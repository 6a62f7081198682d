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
### BEGIN HIDDEN TESTS
import numpy as np
import torch

# Replay the mistake of never zeroing the gradients (float32, same seed and data).
ref_rs = np.random.RandomState(42)
ref_x = ref_rs.rand(100, 1)
ref_y = 1 + 2 * ref_x + .1 * ref_rs.randn(100, 1)
ref_idx = np.arange(100)
ref_rs.shuffle(ref_idx)
ref_xt = torch.from_numpy(ref_x[ref_idx[:80]]).float()
ref_yt = torch.from_numpy(ref_y[ref_idx[:80]]).float()
ref_gen = torch.Generator().manual_seed(42)
ref_a = torch.randn(1, generator=ref_gen).requires_grad_()
ref_b = torch.randn(1, generator=ref_gen).requires_grad_()
for _ in range(1000):
    ((ref_yt - (ref_a + ref_b * ref_xt)) ** 2).mean().backward()
    with torch.no_grad():
        ref_a -= 0.1 * ref_a.grad
        ref_b -= 0.1 * ref_b.grad
not_zeroed = [ref_a.item(), ref_b.item()]

found_ab = [a_t.item(), b_t.item()]
check_close(found_ab, [1.02354094, 1.96896411], rtol=0, atol=2e-4, name="(a_t, b_t) after 1000 epochs",
            mistakes={
                "the gradients were never zeroed: backward() adds to .grad, so every step used the sum "
                "of all past gradients; call a_t.grad.zero_() and b_t.grad.zero_() after each update":
                    not_zeroed,
            },
            hint="each epoch: loss.backward(), update inside torch.no_grad() with a_t -= lr * a_t.grad, "
                 "then zero the gradients")
### END HIDDEN TESTS
