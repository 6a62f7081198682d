"""Torch's one-time start-up, done in the process that batch workers are forked from.

Importing this module runs :func:`warm_torch`. It exists to be named in the process
server's preload list (:func:`mlgrader.batch.run.worker_preload`), after torch: the first
convolution, backward pass and Adam step of a process initialise about 80 MB of kernels,
tables and caches that are read-only afterwards. Done once in the server, every worker
forked from it shares them copy-on-write; done in each worker, each pays them privately
(measured: a forked worker replaying 06's three Adam steps keeps 9 MB instead of 120 MB).

Nothing here sees a submission: it runs before any worker exists, on random tensors.
"""

from __future__ import annotations

from .memory import return_freed_memory


def warm_torch() -> None:
    """Run the operations hidden tests use most, once, on one thread.

    One thread, because a process that has started OpenMP's thread team cannot safely
    fork: the workers forked from this one would hang in their first parallel region. The
    thread count is put back afterwards; a worker starts its own team when it needs one.
    """
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(0)
        images = torch.rand(4, 1, 28, 28, generator=generator)
        labels = torch.tensor([0, 1, 2, 3])
        conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        linear = torch.nn.Linear(4 * 14 * 14, 10)
        optimizer = torch.optim.Adam([*conv.parameters(), *linear.parameters()], lr=1e-3)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=2)
        for _ in range(2):
            optimizer.zero_grad()
            hidden = F.max_pool2d(F.relu(conv(images)), 2).flatten(1)
            loss = F.cross_entropy(linear(hidden), labels)
            loss.backward()
            optimizer.step()
            schedule.step()
        with torch.no_grad():
            linear(hidden).softmax(1).argmax(1)
    finally:
        torch.set_num_threads(threads)
    return_freed_memory()  # the warm-up's own tensors: only what stays is worth sharing


warm_torch()
