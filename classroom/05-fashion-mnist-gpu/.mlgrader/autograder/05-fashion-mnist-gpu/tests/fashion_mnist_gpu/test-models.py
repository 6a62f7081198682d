from mlgrader.checks import check_equal

shapes = {k: tuple(v.shape) for k, v in make_linear().state_dict().items()}
check_equal(shapes, {"1.weight": (10, 784), "1.bias": (10,)}, name="make_linear() parameter shapes")
