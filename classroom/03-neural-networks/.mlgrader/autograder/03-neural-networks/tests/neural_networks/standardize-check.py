import numpy as np
from mlgrader.checks import check_close

ref_S = np.array([[1.0, 10.0], [3.0, 30.0]])
check_close(standardize(ref_S), [[-1.0, -1.0], [1.0, 1.0]], name="standardize([[1, 10], [3, 30]])",
            mistakes={"standardized each row (axis=1) instead of each column (axis=0)":
                          [[-1.0, 1.0], [-1.0, 1.0]],
                      "used the mean and std of the whole array instead of one per column":
                          (ref_S - ref_S.mean()) / ref_S.std()})
