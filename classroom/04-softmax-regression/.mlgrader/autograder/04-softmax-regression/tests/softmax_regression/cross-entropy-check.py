import math
import torch
from mlgrader.checks import check_close

check_close(cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3])), math.log(4), atol=1e-5,
            name="cross_entropy(zeros(2, 4), [0, 3])",
            mistakes={"forgot the minus sign: the loss is the NEGATIVE log-likelihood": -math.log(4),
                      "summed over the examples instead of taking the mean": 2 * math.log(4),
                      "used the probabilities instead of their logarithm (log_softmax)": -0.25})
