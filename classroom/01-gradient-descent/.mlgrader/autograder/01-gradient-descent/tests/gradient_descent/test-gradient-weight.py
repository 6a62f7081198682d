from mlgrader.checks import check_close, check_loss_curve

check_loss_curve(losses, name="losses", min_length=50)
check_close(w_learned, 3.0, atol=1e-3, name="the learned weight")
