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
