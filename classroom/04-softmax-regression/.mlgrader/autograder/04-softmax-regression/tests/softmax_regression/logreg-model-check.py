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
