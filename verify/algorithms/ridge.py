"""Ridge regression, written plainly: the closed form and the Sherman–Morrison recurrence.

Both run in any field-like Arithmetic (divisions by pivots that are nonzero:
over the reals λI + XᵀX is positive definite and every Sherman–Morrison pivot
1 + xᵀA⁻¹x >= 1; in GF(p) a pivot vanishes with probability at most its degree / p)."""

from __future__ import annotations

from typing import Any

from transformer_proofs.constructions.arithmetic import Arithmetic


def inverse(ar: Arithmetic, A: Any) -> Any:
    """A⁻¹ by Gauss–Jordan elimination without pivoting (A symmetric positive definite, or generic in GF(p))."""
    d = A.shape[0]
    rows = [A[i:i + 1, :] for i in range(d)]
    inv = [ar.eye(d)[i:i + 1, :] for i in range(d)]
    for i in range(d):
        p = rows[i][:, i:i + 1]  # (1, 1) pivot
        rows[i], inv[i] = rows[i] / p, inv[i] / p
        for k in range(d):
            if k != i:
                f = rows[k][:, i:i + 1]
                rows[k], inv[k] = rows[k] - f * rows[i], inv[k] - f * inv[i]
    return ar.concat(inv, axis=0)


def ridge_closed_form(ar: Arithmetic, X: Any, y: Any, lam: Any) -> tuple[Any, Any]:
    """((λI + XᵀX)⁻¹, w = (λI + XᵀX)⁻¹ Xᵀ y); X (n, d), y (n, 1), λ a scalar of ``ar``."""
    d = X.shape[1]
    A_inv = inverse(ar, ar.eye(d) * lam + ar.matmul(ar.T(X), X))
    return A_inv, ar.matmul(A_inv, ar.matmul(ar.T(X), y))


def sherman_morrison(ar: Arithmetic, X: Any, y: Any, lam: Any) -> tuple[Any, Any]:
    """The same by rank-one updates A_i⁻¹ = A_{i-1}⁻¹ - (A_{i-1}⁻¹x)(xᵀA_{i-1}⁻¹)/(1 + xᵀA_{i-1}⁻¹x), A_0⁻¹ = I/λ."""
    d = X.shape[1]
    A_inv, b = ar.eye(d) / lam, ar.zeros((d, 1))
    for i in range(X.shape[0]):
        x = ar.T(X[i:i + 1, :])  # (d, 1)
        u = ar.matmul(A_inv, x)
        A_inv = A_inv - ar.matmul(u, ar.T(u)) / (ar.matmul(ar.T(x), u) + ar.eye(1))
        b = b + x * y[i:i + 1, :]
    return A_inv, ar.matmul(A_inv, b)
