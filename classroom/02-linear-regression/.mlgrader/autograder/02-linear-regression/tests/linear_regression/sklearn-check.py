from mlgrader.checks import check_close

check_close([sk_intercept, sk_slope], [1.0, 2.0], atol=0.1, name="(sk_intercept, sk_slope)")
check_close(val_mse, 0.01, atol=0.01, name="val_mse", hint="the noise has variance 0.1**2 = 0.01")
