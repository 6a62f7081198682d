from mlgrader.checks import check_close, check_shape

check_shape(xs, (11,), name="xs")
check_close(xs[:3], [1.0, 0.8, 0.64], name="the first three iterates")
