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
### BEGIN HIDDEN TESTS
from mlgrader.checks import CheckFailure

ref_rng = np.random.default_rng(7)
for ref_n, ref_k, ref_m in [(4, 3, 2), (2, 3, 4), (1, 5, 3), (3, 4, 1), (1, 1, 1), (6, 6, 6), (5, 1, 7), (16, 9, 11)]:
    ref_A = ref_rng.normal(size=(ref_n, ref_k))
    ref_B = ref_rng.normal(size=(ref_k, ref_m))
    ref_what = f"matmul(A, B) for A of shape {(ref_n, ref_k)} and B of shape {(ref_k, ref_m)}"
    try:
        ref_C = matmul(ref_A, ref_B)
    except Exception as exc:
        raise CheckFailure(
            f"{ref_what} raised {type(exc).__name__}: {exc}. Make A of shape (n, k, 1) and B of shape "
            "(1, k, m) so that they broadcast to (n, k, m), then sum over axis 1 (the shared k).") from None
    ref_mistakes = {}
    if ref_k == ref_m:
        ref_mistakes["multiplied by the transpose of B (A @ B.T)"] = ref_A @ ref_B.T
    if ref_n == ref_k:
        ref_mistakes["multiplied by the transpose of A (A.T @ B)"] = ref_A.T @ ref_B
    check_shape(ref_C, (ref_n, ref_m), name=ref_what)
    check_close(ref_C, ref_A @ ref_B, rtol=1e-9, atol=1e-9, name=ref_what, mistakes=ref_mistakes)
### END HIDDEN TESTS
