import torch
from mlgrader.checks import check_close, check_shape

torch.manual_seed(0)
check_shape(FashionCNN()(torch.randn(5, 1, 28, 28)), (5, 10), name="FashionCNN()(a batch of 5 images)")
