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
### BEGIN HIDDEN TESTS
ref_gen = torch.Generator().manual_seed(5)
ref_batch = torch.randn(4, 3, generator=ref_gen) * 2
check_close(log_softmax(ref_batch), torch.log_softmax(ref_batch, dim=-1), atol=1e-5,
            name="log_softmax(z) for z of shape (4, 3)",
            mistakes={"normalised over the wrong axis (dim=0, the batch); use dim=-1":
                      torch.log_softmax(ref_batch, dim=0)})
for ref_shape in [(5, 7), (1, 4), (3, 1), (2, 3, 4), (6,)]:
    ref_in = torch.randn(*ref_shape, generator=ref_gen) * 3
    check_close(log_softmax(ref_in), torch.log_softmax(ref_in, dim=-1), atol=1e-5,
                name=f"log_softmax(z) for z of shape {ref_shape}")
ref_large = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0], [-500.0, -500.0, -501.0]])
check_close(log_softmax(ref_large), torch.log_softmax(ref_large, dim=-1), atol=1e-3,
            name="log_softmax of large logits",
            hint="subtract the row maximum, and take the log of the sum of exponentials, not of softmax")
### END HIDDEN TESTS
