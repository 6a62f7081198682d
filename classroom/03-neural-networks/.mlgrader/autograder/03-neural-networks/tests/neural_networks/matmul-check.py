import numpy as np
from mlgrader.checks import check_close, check_shape

ref_P = np.array([[1.0, 2.0], [3.0, 4.0]])
ref_Q = np.array([[5.0, 6.0], [7.0, 8.0]])
check_close(matmul(ref_P, ref_Q), ref_P @ ref_Q, name="matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]])",
            mistakes={"multiplied by the transpose of B (A @ B.T): sum over the axis the two share": ref_P @ ref_Q.T,
                      "multiplied element-wise (A * B) instead of taking the matrix product": ref_P * ref_Q,
                      "multiplied in the wrong order (B @ A)": ref_Q @ ref_P,
                      "summed the broadcast product over the wrong axis: sum over axis 1, the one A and B share":
                          ref_P.sum(axis=0)[:, None] * ref_Q})
check_shape(matmul(m, n), (3, 2), name="matmul(m, n)")
check_close(matmul(m, n), m @ n, name="matmul(m, n)")
