from mlgrader.checks import CheckFailure, check_loss_curve, check_close

check_loss_curve(train_losses, name="train_losses", min_length=100)
check_close(test_accuracy, 0.95, atol=0.05, name="test_accuracy")
### BEGIN HIDDEN TESTS
import torch
from sklearn.datasets import load_digits as ref_load_digits
from sklearn.model_selection import train_test_split as ref_split
from mlgrader.checks import check_accuracy

# The grader's own copy of the split: the same images as X_test, built here.
ref_digits = ref_load_digits()
ref_X_tr, ref_X_te, ref_y_tr, ref_y_te = ref_split(
    ref_digits.data / 16.0, ref_digits.target, test_size=0.25, random_state=0, stratify=ref_digits.target)
ref_logits_te = model(torch.tensor(ref_X_te, dtype=torch.float32)).detach()
ref_logits_tr = model(torch.tensor(ref_X_tr, dtype=torch.float32)).detach()
ref_acc_te = float((ref_logits_te.argmax(dim=1).numpy() == ref_y_te).mean())
ref_acc_tr = float((ref_logits_tr.argmax(dim=1).numpy() == ref_y_tr).mean())
check_accuracy(ref_logits_te, ref_y_te, threshold=0.92, name="accuracy of model on the 450 test images")
check_close(test_accuracy, ref_acc_te, atol=1e-6, name="test_accuracy",
            mistakes={"evaluated on the training set instead of the test set": ref_acc_tr,
                      "reported the error rate (1 - accuracy) instead of the accuracy": 1 - ref_acc_te,
                      "reported a percentage; store the fraction (0.95, not 95)": 100 * ref_acc_te})
check_close(test_predictions, ref_logits_te.argmax(dim=1), name="test_predictions",
            hint="the predicted class is the argmax of the logits over dim=1, for the test images")
check_loss_curve(train_losses, name="train_losses", min_length=100)
ref_tail = sum(train_losses[-10:]) / 10
if not ref_tail < 0.5:
    raise CheckFailure(f"the mean loss of the last 10 batches is {ref_tail:.3g}, expected below 0.5. "
                       "If the loss jumps around, the learning rate is too large (keep lr=0.05); also "
                       "zero the gradients every step and train on every batch of every epoch.")
### END HIDDEN TESTS
