"""Training settings for 06's CNN (same architecture), timed on this machine: batch size,
OneCycleLR and cuDNN autotuning. One JSON line per run; see benchmarks/gpu.md."""
import sys, time, json, torch, torch.nn as nn, torch.nn.functional as F
from mlgrader.data import fashion_mnist_tensors
class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1); self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128); self.fc2 = nn.Linear(128, 10)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2); x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if dev.type == "cpu": torch.set_num_threads(2)
X, y = fashion_mnist_tensors("train", device=dev); Xt, yt = fashion_mnist_tensors("test", device=dev)
def run(seed, epochs, bs, lr, onecycle, bench):
    torch.backends.cudnn.benchmark = bench
    torch.manual_seed(seed); m = FashionCNN().to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    steps = epochs * ((len(X) + bs - 1) // bs)
    sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps) if onecycle else None
    t = time.perf_counter(); m.train()
    for e in range(epochs):
        order = torch.randperm(len(X), device=dev)
        for s in range(0, len(X), bs):
            b = order[s:s+bs]; opt.zero_grad(); loss = F.cross_entropy(m(X[b]), y[b]); loss.backward(); opt.step()
            if sch: sch.step()
    loss.item(); secs = time.perf_counter() - t
    m.eval()
    with torch.no_grad(): acc = sum((m(Xt[i:i+1000]).argmax(1) == yt[i:i+1000]).sum().item() for i in range(0, len(Xt), 1000)) / len(Xt)
    print(json.dumps(dict(dev=dev.type, seed=seed, epochs=epochs, bs=bs, lr=lr, onecycle=onecycle, bench=bench, secs=round(secs,2), acc=acc)), flush=True)
configs = [(3,128,2e-3,False,False),(3,256,5e-3,True,False),(2,256,5e-3,True,False)]
if dev.type == "cuda": configs += [(3,256,5e-3,True,True),(3,128,2e-3,False,True)]
for c in configs:
    for seed in ([0,1] if dev.type=="cpu" else [0]):
        run(seed, *c)
