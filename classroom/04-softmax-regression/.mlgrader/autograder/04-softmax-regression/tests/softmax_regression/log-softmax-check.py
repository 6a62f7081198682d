import torch
from mlgrader.checks import CheckFailure, check_close

check_close(log_softmax(torch.tensor([1.0, 2.0, 3.0])), [-2.40760596, -1.40760596, -0.40760596], atol=1e-5,
            name="log_softmax([1, 2, 3])")
ref_conf = log_softmax(torch.tensor([[1000.0, 0.0, -1000.0]]))
if not torch.isfinite(ref_conf).all():
    raise CheckFailure(
        f"log_softmax([[1000, 0, -1000]]) gave {ref_conf.tolist()}: a probability like exp(-1000) "
        "underflows to 0 and log(0) = -inf. Do not take torch.log(softmax(z)); compute "
        "(z - c) - log(sum(exp(z - c))) with c the row maximum.")
check_close(ref_conf, [[0.0, -1000.0, -2000.0]], atol=1e-3, name="log_softmax([[1000, 0, -1000]])",
            mistakes={"normalised over the wrong axis (dim=0, the batch): for a batch of shape (N, C) "
                      "each row must be normalised over its C classes; use dim=-1": [[0.0, 0.0, 0.0]]})
