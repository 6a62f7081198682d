from mlgrader.checks import CheckFailure, check_loss_curve

ref_train_probs = clf(X_blobs_t).detach()
if float(ref_train_probs.min()) == float(ref_train_probs.max()):
    raise CheckFailure(
        f"clf(x) is {float(ref_train_probs.min()):.4g} for every point, so nothing can be learned. "
        "(A softmax over a single output is always 1: for one output unit use torch.sigmoid.)")
check_loss_curve(clf_losses, name="clf_losses", min_length=100)
### BEGIN HIDDEN TESTS
# Full-batch gradient descent with lr 0.1: the loss can only go down, at every step.
check_loss_curve(clf_losses, name="clf_losses", min_length=100, final_below=0.2, monotonic=True)
### END HIDDEN TESTS
