import torch
from mlgrader.checks import check_close, check_shape

torch.manual_seed(0)
check_shape(FashionCNN()(torch.randn(5, 1, 28, 28)), (5, 10), name="FashionCNN()(a batch of 5 images)")
### BEGIN HIDDEN TESTS
import torch.nn as nn
import torch.nn.functional as F
from mlgrader.checks import check_equal


class Reference(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x, relu=True):
        act = F.relu if relu else (lambda t: t)
        x = F.max_pool2d(act(self.conv1(x)), 2)
        x = F.max_pool2d(act(self.conv2(x)), 2)
        return self.fc2(act(self.fc1(x.flatten(1))))


student = FashionCNN()
shapes = {k: tuple(v.shape) for k, v in student.state_dict().items()}
reference = Reference()
check_equal(shapes, {k: tuple(v.shape) for k, v in reference.state_dict().items()},
            name="FashionCNN's parameters (names and shapes)",
            hint="conv1, conv2, fc1, fc2 exactly as in the table: the grader loads your weights by these names")
student.load_state_dict(reference.state_dict())
torch.manual_seed(3)
images = torch.randn(7, 1, 28, 28)
with torch.no_grad():
    expected = reference(images)
    without_relu = reference(images, relu=False)
check_close(student(images), expected, rtol=1e-4, atol=1e-5, name="FashionCNN's logits on 7 new images",
            mistakes={"a ReLU is missing: without non-linearities the layers collapse into one linear map":
                      without_relu})
### END HIDDEN TESTS
