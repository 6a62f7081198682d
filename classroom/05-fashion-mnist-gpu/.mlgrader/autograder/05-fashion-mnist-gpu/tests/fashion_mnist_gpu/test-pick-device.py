import torch
from mlgrader.checks import check_equal, check_type

check_type(device, "torch.device", name="device")
