from mlgrader.artifacts import load_state_dict

weights = load_state_dict("fashion_mlp.safetensors")
### BEGIN HIDDEN TESTS
import torch
import torch.nn as nn
from mlgrader.artifacts import fit_weights
from mlgrader.checks import check_accuracy, check_close
from mlgrader.data import fashion_mnist_tensors

model = fit_weights(nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10)),
                    weights, "fashion_mlp.safetensors", "the MLP layout of exercise 2")
images, labels = fashion_mnist_tensors("test")
train_images, train_labels = fashion_mnist_tensors("train", count=10000)
with torch.no_grad():
    test_acc = (model(images).argmax(1) == labels).float().mean().item()
    train_acc = (model(train_images).argmax(1) == train_labels).float().mean().item()
check_accuracy(model(images).detach(), labels, threshold=0.84, name="the saved MLP's test accuracy")
check_close(mlp_accuracy, test_acc, atol=5e-3, name="the test accuracy your notebook reports", mistakes={
    "measured on the training set instead of the test set": train_acc,
}, hint="evaluate(mlp, X_test, y_test): held-out data the model never trained on")
### END HIDDEN TESTS
