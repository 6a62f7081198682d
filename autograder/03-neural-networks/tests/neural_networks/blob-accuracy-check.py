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
### BEGIN HIDDEN TESTS
import numpy as np
from sklearn.datasets import make_blobs as ref_make_blobs

# Fresh points from the same two clouds: same centers, another random state.
_, _, ref_centers = ref_make_blobs(centers=2, center_box=(-3, 3), random_state=22, return_centers=True)
ref_X, ref_y = ref_make_blobs(n_samples=4000, centers=ref_centers, random_state=2024)
ref_new_probs = clf(torch.tensor(ref_X, dtype=torch.float32)).detach()
ref_new_labels = predict_labels(ref_new_probs)
check_equal(ref_new_labels.reshape(-1).tolist(), (ref_new_probs.reshape(-1) > 0.5).long().tolist(),
            name="predict_labels on new points", hint="predict 1 exactly where p > 0.5")
check_accuracy(ref_new_labels, ref_y, threshold=0.85, name="accuracy on 4000 new points")
### END HIDDEN TESTS
