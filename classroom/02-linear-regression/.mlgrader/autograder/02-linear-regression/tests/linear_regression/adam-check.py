from mlgrader.checks import check_loss_curve

check_loss_curve(losses, name="losses", min_length=300)
