from mlgrader.data import fashion_mnist_tensors

sample_x, sample_y = fashion_mnist_tensors("test", count=100)
accuracy = evaluate(make_linear(), sample_x, sample_y)
assert 0.0 <= accuracy <= 1.0, f"an accuracy is a fraction between 0 and 1, got {accuracy}"
