from mlgrader.checks import check_loss_curve

check_loss_curve(losses, name="losses", min_length=300)
### BEGIN HIDDEN TESTS
import torch
from mlgrader.checks import CheckFailure, check_close

state = model.state_dict()
if "bias" not in state:
    raise CheckFailure("model has no bias: the line y = a + b x needs its intercept a, "
                       "so keep nn.Linear(1, 1) with its default bias=True")
if max(losses) > 2 * losses[0]:
    raise CheckFailure(
        f"the training loss climbs from {losses[0]:.3g} up to {max(losses):.3g}. The usual cause: "
        "the gradients are never zeroed (call optimizer.zero_grad() every epoch), so they pile up "
        "across epochs; a learning rate that is too large does the same.")
check_close(losses[0], 0.72559679, rtol=1e-4, name="losses[0]",
            hint="append loss.item() once per epoch, starting with the first epoch, from the model "
                 "created right after torch.manual_seed(42)")
check_loss_curve(losses, name="losses", min_length=300, final_below=0.0085, decreasing=True)
check_close(state["weight"].reshape(-1), [1.96896411], atol=2e-3, name="model.weight (slope b)")
check_close(state["bias"].reshape(-1), [1.02354094], atol=2e-3, name="model.bias (intercept a)")
ref_inputs = torch.tensor([[-1.0], [0.0], [0.5], [2.0]])
check_close(model(ref_inputs).detach().reshape(-1), 1.02354094 + 1.96896411 * ref_inputs.reshape(-1),
            atol=5e-3, name="model(x) on new inputs")
### END HIDDEN TESTS
