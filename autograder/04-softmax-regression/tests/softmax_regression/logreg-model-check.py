import torch
from mlgrader.checks import CheckFailure, check_shape, check_type

ref_model = LogReg()
check_type(ref_model, "torch.nn.Module", name="LogReg()")
ref_state = ref_model.state_dict()
if not ref_state:
    raise CheckFailure(
        "LogReg() has no parameters: model.parameters() and model.state_dict() are empty. Wrap the "
        "tensors in nn.Parameter(...) when you assign them to self.weight and self.bias, or the "
        "optimizer will not see them.")
check_shape(ref_state["weight"], (64, 10), name="LogReg().weight")
check_shape(ref_state["bias"], (10,), name="LogReg().bias")
check_shape(ref_model(torch.zeros(3, 64)), (3, 10), name="LogReg()(x) for x of shape (3, 64)")
### BEGIN HIDDEN TESTS
if sorted(ref_state) != ["bias", "weight"]:
    raise CheckFailure(
        f"LogReg() has the parameters {sorted(ref_state)}, expected exactly weight and bias. Create "
        "them yourself with nn.Parameter instead of using nn.Linear.")
ref_small = LogReg(5, 3).state_dict()
check_shape(ref_small["weight"], (5, 3), name="LogReg(5, 3).weight")
check_shape(ref_small["bias"], (3,), name="LogReg(5, 3).bias")
if float(ref_state["weight"].abs().max()) > 1.0:
    raise CheckFailure("the initial weights are large (up to "
                       f"{float(ref_state['weight'].abs().max()):.3g}): scale them, torch.randn(n_in, n_out) / n_in")
### END HIDDEN TESTS
