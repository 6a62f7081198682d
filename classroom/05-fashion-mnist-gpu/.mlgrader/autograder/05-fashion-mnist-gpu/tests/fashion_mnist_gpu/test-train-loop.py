import torch
from mlgrader.checks import check_close, check_loss_curve

from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("train", count=4096)
check_loss_curve(train(make_linear(), sample_x, sample_y, epochs=2, batch_size=256),
                 name="losses of a short run", min_length=32, kind="cross-entropy")
