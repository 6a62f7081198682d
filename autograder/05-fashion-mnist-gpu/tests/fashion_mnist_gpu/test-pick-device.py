import torch
from mlgrader.checks import check_equal, check_type

check_type(device, "torch.device", name="device")
### BEGIN HIDDEN TESTS
expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
check_equal(pick_device().type, expected, name="pick_device().type",
            hint="check torch.cuda.is_available() first, then torch.backends.mps.is_available(), else the CPU")
### END HIDDEN TESTS
