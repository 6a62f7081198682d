import torch
from mlgrader.checks import check_loss_curve

### BEGIN HIDDEN TESTS
import torch.nn as nn
import torch.nn.functional as F
from mlgrader.checks import check_close
from mlgrader.data import fashion_mnist_tensors

# Three full-batch steps from the student's own initial weights, replayed here: a full
# batch makes the shuffled order irrelevant, so the two runs see the same data.
xs, ys = fashion_mnist_tensors("train", count=128)  # only the images used: not a copy of all 60000
probe = FashionCNN()
start = {k: v.detach().cpu().clone() for k, v in probe.state_dict().items()}
got_losses = train(probe, xs, ys, epochs=3, batch_size=128)
got = {k: v.detach().cpu() for k, v in probe.state_dict().items()}


class Replay(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


reference = Replay()
reference.load_state_dict(start)
opt = torch.optim.Adam(reference.parameters(), lr=5e-3)
schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=3)
losses_ref = []
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(reference(xs), ys)
    loss.backward()
    opt.step()
    schedule.step()
    losses_ref.append(loss.item())
check_loss_curve(got_losses, expected=losses_ref, rtol=1e-3, atol=1e-4, kind="cross-entropy", decreasing=False,
                 name="the losses train() returned")
check_close(got["fc2.weight"], reference.state_dict()["fc2.weight"], rtol=1e-3, atol=1e-4,
            start=start["fc2.weight"], name="fc2.weight after three steps")
### END HIDDEN TESTS
from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("train", count=2048)
check_loss_curve(train(FashionCNN(), sample_x, sample_y, epochs=1, batch_size=128),
                 name="losses of a short run", min_length=16, kind="cross-entropy")
