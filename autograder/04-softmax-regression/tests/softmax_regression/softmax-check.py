import torch
from mlgrader.checks import CheckFailure, check_close, check_probabilities

ref_z = torch.tensor([1.0, 2.0, 3.0])
ref_shifted = torch.exp(ref_z - ref_z.max())
check_close(softmax(ref_z), [0.09003057, 0.24472847, 0.66524096], atol=1e-6, name="softmax([1, 2, 3])",
            mistakes={"added 1 to the denominator: the probabilities must sum to exactly 1":
                          torch.exp(ref_z) / (1 + torch.exp(ref_z).sum()),
                      "added 1 to the denominator (after subtracting the max): the probabilities must "
                      "sum to exactly 1": ref_shifted / (1 + ref_shifted.sum())})
ref_big = softmax(torch.tensor([1000.0, 1001.0]))
if not torch.isfinite(ref_big).all():
    raise CheckFailure(
        f"softmax([1000, 1001]) gave {ref_big.tolist()}: exp(1000) overflows to inf and inf / inf is nan. "
        "Subtract the maximum logit before exponentiating (z - z.max(dim=-1, keepdim=True).values); "
        "it does not change the result.")
check_close(ref_big, [0.26894142, 0.73105858], atol=1e-6, name="softmax([1000, 1001])")
### BEGIN HIDDEN TESTS
ref_gen = torch.Generator().manual_seed(4)
ref_batch = torch.randn(4, 3, generator=ref_gen) * 2
check_close(softmax(ref_batch), torch.softmax(ref_batch, dim=-1), atol=1e-6, name="softmax(z) for z of shape (4, 3)",
            mistakes={
                "this is the old lesson's softmax, exp(x) / (1 + exp(x).sum(dim=0)): it adds 1 to the "
                "denominator and sums over the batch (dim=0) instead of over the classes (dim=-1)":
                    torch.exp(ref_batch) / (1 + torch.exp(ref_batch).sum(dim=0)),
                "normalised over the wrong axis (dim=0, the batch): each row, one example's "
                "scores over the classes, must sum to 1; use dim=-1":
                    torch.softmax(ref_batch, dim=0),
                "added 1 to the denominator: the probabilities must sum to exactly 1":
                    torch.exp(ref_batch) / (1 + torch.exp(ref_batch).sum(dim=-1, keepdim=True)),
            })
for ref_shape in [(5, 7), (1, 4), (3, 1), (2, 3, 4), (6,), (1,)]:
    ref_in = torch.randn(*ref_shape, generator=ref_gen) * 3
    ref_out = softmax(ref_in)
    check_probabilities(ref_out, axis=-1, name=f"softmax(z) for z of shape {ref_shape}")
    check_close(ref_out, torch.softmax(ref_in, dim=-1), atol=1e-6, name=f"softmax(z) for z of shape {ref_shape}")
ref_large = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0], [-500.0, -500.0, -501.0]])
ref_large_out = softmax(ref_large)
if not torch.isfinite(ref_large_out).all():
    raise CheckFailure(
        f"softmax returned nan or inf for logits around +-1000: {ref_large_out.tolist()}. exp overflows "
        "(or every exp underflows to 0 and you divide 0 by 0). Subtract the row maximum first.")
check_close(ref_large_out, torch.softmax(ref_large, dim=-1), atol=1e-6, name="softmax of large logits")
### END HIDDEN TESTS
