import torch
from mlgrader.checks import check_loss_curve, check_shape

check_shape(pnet(torch.zeros(5, 1)), (5, 1), name="pnet(x) for x of shape (5, 1)")
check_loss_curve(parabola_losses, name="parabola_losses", min_length=1000)
### BEGIN HIDDEN TESTS
import numpy as np
from mlgrader.checks import CheckFailure

# 997 points of [-5, 5], almost all of them between the training points.
ref_grid = torch.linspace(-5, 5, 997).unsqueeze(1)
ref_x = ref_grid.reshape(-1).double().numpy()
ref_true = ref_x ** 2
ref_pred = pnet(ref_grid).detach().reshape(-1).double().numpy()
ref_line = np.polyval(np.polyfit(ref_x, ref_pred, 1), ref_x)   # best straight line through pnet
if np.abs(ref_pred - ref_line).max() < 1e-3 * max(1.0, np.abs(ref_pred).max()):
    raise CheckFailure(
        "pnet computes a straight line: without a non-linear activation between the linear layers "
        "the whole network is linear and cannot bend into a parabola. Put nn.ReLU() between them.")
ref_mse = float(np.mean((ref_pred - ref_true) ** 2))
if not ref_mse < 0.05:
    raise CheckFailure(
        f"pnet's mean squared error on 997 points of [-5, 5] is {ref_mse:.4g}, expected below 0.05. "
        "Check that every epoch zeroes the gradients, calls loss.backward() and optimizer.step(), "
        "and that the network has a ReLU between its layers.")
check_loss_curve(parabola_losses, name="parabola_losses", min_length=1000, final_below=0.05)
### END HIDDEN TESTS
