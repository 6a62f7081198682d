import torch
from mlgrader.checks import check_close, check_loss_curve

### BEGIN HIDDEN TESTS
import torch.nn.functional as F
from mlgrader.checks import check_equal
from mlgrader.data import fashion_mnist_tensors

# Two full-batch SGD steps from the student's own initial weights, replayed here. Where
# the grader has a GPU the model lives there and the data stays on the CPU, as in a
# student's notebook: train() must move every batch, images and labels, to the model.
xs, ys = fashion_mnist_tensors("train", count=512)
probe = make_linear().to("cuda" if torch.cuda.is_available() else "cpu")
start = {k: v.detach().cpu().clone() for k, v in probe.state_dict().items()}
got_losses = train(probe, xs, ys, epochs=2, batch_size=512, lr=0.5, optimizer="sgd")
got = {k: v.detach().cpu() for k, v in probe.state_dict().items()}

def replay(weights, steps, zero_grad=True, sign=1.0):
    w = weights["1.weight"].clone().requires_grad_(True)
    b = weights["1.bias"].clone().requires_grad_(True)
    history = []
    for _ in range(steps):
        if zero_grad:
            w.grad = b.grad = None
        loss = F.cross_entropy(xs.flatten(1) @ w.T + b, ys)
        loss.backward()
        history.append(loss.item())
        with torch.no_grad():
            w -= sign * 0.5 * w.grad
            b -= sign * 0.5 * b.grad
    return w.detach(), b.detach(), history

w_ref, b_ref, losses_ref = replay(start, 2)
w_acc, _, _ = replay(start, 2, zero_grad=False)
w_up, _, _ = replay(start, 2, sign=-1.0)
# train() must switch training mode on: evaluate() leaves a model in eval mode, and the MLP
# would then train without its dropout (the linear model's numbers cannot show it, its flag can).
mode_probe = make_linear()
mode_probe.eval()
train(mode_probe, xs[:8], ys[:8], epochs=0, batch_size=8, optimizer="sgd")
check_equal(mode_probe.training, True, name="model.training after train()",
            hint="call model.train() at the start of train(): evaluate() switched the model to eval mode, "
                 "and dropout must be on while training")
# The losses first: a negative cross-entropy names NLLLoss on raw logits, which the
# weights alone only show as "different".
check_loss_curve(got_losses, expected=losses_ref, rtol=1e-3, kind="cross-entropy", decreasing=False,
                 name="the losses train() returned")
check_close(got["1.weight"], w_ref, rtol=1e-3, atol=1e-5, start=start["1.weight"], name="the weights after two SGD steps", mistakes={
    "gradients were not zeroed before backward(), so they piled up across steps: call opt.zero_grad()": w_acc,
    "the weights did not change: is opt.step() called after loss.backward()?": start["1.weight"],
    "stepped uphill: the loss must be minimised": w_up,
})
check_close(got_losses, losses_ref, rtol=1e-3, name="the losses train() returned",
            hint="append loss.item() once per batch, computed before the step")
### END HIDDEN TESTS
from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("train", count=4096)
check_loss_curve(train(make_linear(), sample_x, sample_y, epochs=2, batch_size=256),
                 name="losses of a short run", min_length=32, kind="cross-entropy")
