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
### BEGIN HIDDEN TESTS
ref_pred = torch.tensor([[0.5], [1.5], [-2.0]])
ref_target = torch.tensor([[1.0], [1.0], [1.0]])
check_close(loss_fn(ref_pred, ref_target), ((ref_pred - ref_target) ** 2).mean(), rtol=1e-6,
            name="loss_fn on new inputs",
            mistakes={"loss_fn sums the squared errors (reduction='sum'); use the mean":
                      ((ref_pred - ref_target) ** 2).sum()})
check_close([a_sgd.item(), b_sgd.item()], [1.02354094, 1.96896411], rtol=0, atol=2e-4,
            name="(a_sgd, b_sgd) after 1000 epochs",
            hint="one optimizer.step() per epoch with lr = 0.1, and optimizer.zero_grad() every epoch: "
                 "without it the gradients of all past epochs add up")
### END HIDDEN TESTS
