"""Where a fresh process's first seconds on the GPU go, for 06's CNN: CUDA context, data
upload, the first convolution (cuDNN loads its kernels lazily), then the 3-epoch training.
One JSON line; see benchmarks/gpu.md."""

import json
import time

t0 = time.perf_counter()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mlgrader.data import fashion_mnist_tensors  # noqa: E402

marks = {"import torch": time.perf_counter() - t0}


def mark(name, start):
    torch.cuda.synchronize()
    marks[name] = round(time.perf_counter() - start, 3)


start = time.perf_counter()
torch.zeros(1, device="cuda")
mark("CUDA context", start)
start = time.perf_counter()
X, y = fashion_mnist_tensors("train", device="cuda")
mark("data to GPU", start)
conv = torch.nn.Conv2d(1, 16, 3, padding=1).cuda()
start = time.perf_counter()
conv(X[:256]).sum().backward()
mark("first conv forward+backward", start)
start = time.perf_counter()
conv(X[:256]).sum().backward()
mark("second conv forward+backward", start)
start = time.perf_counter()
opt = torch.optim.Adam(conv.parameters())
opt.step()
mark("first Adam step", start)
marks["import torch"] = round(marks["import torch"], 3)
print(json.dumps(marks))
