import torch
from mlgrader.checks import CheckFailure, check_equal, check_accuracy

ref_probs = clf(X_blobs_t).detach()
if float(ref_probs.min()) < 0 or float(ref_probs.max()) > 1:
    raise CheckFailure(
        f"clf(x) returned values from {float(ref_probs.min()):.3g} to {float(ref_probs.max()):.3g}: "
        "these are scores, not probabilities. Did you forget the sigmoid in forward?")
check_equal(tuple(ref_probs.shape), (100, 1), name="clf(X_blobs_t).shape")
ref_labels = predict_labels(torch.tensor([[0.2], [0.7], [0.49], [0.51]]))
check_equal(ref_labels.tolist(), [0, 1, 0, 1], name="predict_labels([[0.2], [0.7], [0.49], [0.51]])",
            hint="class 1 where p > 0.5: the threshold is on probabilities, so it is 0.5, not 0; "
                 "return a flat tensor of shape (N,)")
check_accuracy(predict_labels(ref_probs), y_blobs_t.long(), threshold=0.95, name="training accuracy")
