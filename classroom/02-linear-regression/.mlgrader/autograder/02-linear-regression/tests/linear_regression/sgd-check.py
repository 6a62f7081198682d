import torch
from mlgrader.checks import CheckFailure, check_close

if a_sgd.grad is not None and float(a_sgd.grad.abs().max()) > 1e-2:
    raise CheckFailure(
        f"a_sgd.grad is {a_sgd.grad.tolist()} after training: the gradients pile up across epochs. "
        "Call optimizer.zero_grad() every epoch (after optimizer.step()).")
check_close(loss_fn(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0])), 2.0,
            name="loss_fn([1, 2], [1, 4])", hint="loss_fn should be nn.MSELoss()",
            mistakes={"loss_fn sums the squared errors (reduction='sum') instead of averaging them": 4.0})
start = torch.Generator().manual_seed(42)  # where a_sgd and b_sgd began: tells no step from a wrong one
start = [torch.randn(1, generator=start).item(), torch.randn(1, generator=start).item()]
check_close([a_sgd.item(), b_sgd.item()], [1.0, 2.0], atol=0.1, start=start, name="(a_sgd, b_sgd) after training")
