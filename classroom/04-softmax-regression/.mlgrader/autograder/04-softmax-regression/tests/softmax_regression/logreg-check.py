from mlgrader.checks import CheckFailure, check_loss_curve, check_close

check_loss_curve(train_losses, name="train_losses", min_length=100)
check_close(test_accuracy, 0.95, atol=0.05, name="test_accuracy")
