import math
import torch
from mlgrader.checks import check_close

check_close(cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3])), math.log(4), atol=1e-5,
            name="cross_entropy(zeros(2, 4), [0, 3])",
            mistakes={"forgot the minus sign: the loss is the NEGATIVE log-likelihood": -math.log(4),
                      "summed over the examples instead of taking the mean": 2 * math.log(4),
                      "used the probabilities instead of their logarithm (log_softmax)": -0.25})
### BEGIN HIDDEN TESTS
import torch.nn.functional as F

ref_gen = torch.Generator().manual_seed(6)
ref_logits = torch.randn(17, 5, generator=ref_gen) * 2
ref_targets = torch.randint(0, 5, (17,), generator=ref_gen)
ref_logp = torch.log_softmax(ref_logits, dim=-1)
ref_picked = ref_logp[torch.arange(17), ref_targets]
check_close(cross_entropy(ref_logits, ref_targets), F.cross_entropy(ref_logits, ref_targets), atol=1e-5,
            name="cross_entropy(logits, targets) for 17 examples and 5 classes",
            mistakes={
                "forgot the minus sign: the loss is the NEGATIVE log-likelihood": ref_picked.mean(),
                "summed over the examples instead of taking the mean": -ref_picked.sum(),
                "used the probabilities instead of their logarithm (log_softmax)":
                    -torch.softmax(ref_logits, dim=-1)[torch.arange(17), ref_targets].mean(),
                "log_probs[:, targets] picks every target for every row; pick one entry per row with "
                "log_probs[torch.arange(N), targets]": -ref_logp[:, ref_targets].mean(),
                "averaged over all classes instead of picking the true class": -ref_logp.mean(),
            })
ref_one = torch.tensor([[0.5, -1.0, 2.0]])
check_close(cross_entropy(ref_one, torch.tensor([1])), F.cross_entropy(ref_one, torch.tensor([1])), atol=1e-5,
            name="cross_entropy for a batch of one example")
ref_conf = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
check_close(cross_entropy(ref_conf, torch.tensor([2, 1])), 1000.0, rtol=1e-4,
            name="cross_entropy of very confident logits",
            hint="compute it from your stable log_softmax, not from log(softmax(...))")
### END HIDDEN TESTS
