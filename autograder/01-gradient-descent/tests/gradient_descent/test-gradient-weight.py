from mlgrader.checks import check_close, check_loss_curve

### BEGIN HIDDEN TESTS
import numpy as np

def reference(x, y, w, lr, epochs):
    x, y = np.asarray(x, float), np.asarray(y, float)
    history = []
    for _ in range(epochs):
        err = w * x - y
        history.append(float(np.mean(err ** 2)))
        w = w - lr * 2 * np.mean(err * x)
    return w, history

def without_x(x, y, w, lr, epochs):
    x, y = np.asarray(x, float), np.asarray(y, float)
    for _ in range(epochs):
        w = w - lr * 2 * np.mean(w * x - y)
    return w

x_new, y_new = [-2.0, 0.5, 1.0, 4.0], [4.0, -1.0, -2.0, -8.0]   # f(x) = -2x
w_ref, losses_ref = reference(x_new, y_new, 1.0, 0.02, 30)
w_got, losses_got = train_weight(x_new, y_new, w=1.0, lr=0.02, epochs=30)
check_close(w_got, w_ref, rtol=1e-6, start=1.0, name="the weight learned on new data", mistakes={
    "forgot the factor x_i in the gradient (dL/dw = 2/n * sum((w x_i - y_i) * x_i))":
        without_x(x_new, y_new, 1.0, 0.02, 30),
    "wrong sign: stepped uphill (w + lr * grad); the update must subtract the gradient":
        reference(x_new, y_new, 1.0, -0.02, 30)[0],
})
check_close(losses_got, losses_ref, rtol=1e-6, name="the loss history on new data", mistakes={
    "recorded the loss after the step instead of before it": reference(x_new, y_new, 1.0, 0.02, 31)[1][1:],
})
check_loss_curve(losses_got, name="the loss history on new data", final_below=1e-3)
### END HIDDEN TESTS
check_loss_curve(losses, name="losses", min_length=50)
check_close(w_learned, 3.0, atol=1e-3, name="the learned weight")
