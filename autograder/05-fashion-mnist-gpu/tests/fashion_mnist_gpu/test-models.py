from mlgrader.checks import check_equal

shapes = {k: tuple(v.shape) for k, v in make_linear().state_dict().items()}
check_equal(shapes, {"1.weight": (10, 784), "1.bias": (10,)}, name="make_linear() parameter shapes")
### BEGIN HIDDEN TESTS
mlp_shapes = {k: tuple(v.shape) for k, v in make_mlp().state_dict().items()}
check_equal(mlp_shapes, {"1.weight": (256, 784), "1.bias": (256,), "4.weight": (10, 256), "4.bias": (10,)},
            name="make_mlp() parameter shapes",
            hint="Flatten, Linear(784, 256), ReLU, Dropout(0.2), Linear(256, 10), in this order")
### END HIDDEN TESTS
