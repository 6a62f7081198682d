### BEGIN HIDDEN TESTS
import torch
import torch.nn as nn
from mlgrader.checks import check_close
from mlgrader.data import fashion_mnist_tensors

# A dropout network with fixed weights: in eval mode its accuracy is deterministic.
torch.manual_seed(1)
reference = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
xs, ys = fashion_mnist_tensors("test", count=3000)
probe = make_mlp().to("cuda" if torch.cuda.is_available() else "cpu")  # data stays on the CPU
probe.load_state_dict(reference.state_dict())
reference.eval()
with torch.no_grad():
    expected = (reference(xs).argmax(1) == ys).float().mean().item()
got = evaluate(probe, xs, ys)
check_close(got, expected, atol=2e-3, name="evaluate(model, X, y) on a network with dropout", mistakes={
    "returned the error rate instead of the accuracy": 1 - expected,
}, hint="this network has dropout: if model.eval() is not called before measuring, dropout stays on "
        "and the predictions are random")
### END HIDDEN TESTS
from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("test", count=100)
accuracy = evaluate(make_linear(), sample_x, sample_y)
assert 0.0 <= accuracy <= 1.0, f"an accuracy is a fraction between 0 and 1, got {accuracy}"
