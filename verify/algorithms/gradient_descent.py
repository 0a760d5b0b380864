"""The algorithms the papers claim, written plainly (no transformer).

Each runs in any :class:`constructions.arithmetic.Arithmetic`, so the same
reference is compared with the same forward pass in float64, exactly, in a
prime field or symbolically.  Vectors are columns: shape (d, 1).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from transformer_proofs.constructions.arithmetic import Arithmetic


def least_squares_gradient(ar: Arithmetic, X: Any, y: Any, w: Any) -> Any:
    """∇R(w) for R(w) = (1/2n) Σ_i (<w, x_i> - y_i)² = (1/2n)||Xw - y||²:
    (1/n) Xᵀ (X w - y).  X (n, d), y (n, 1), w (d, 1) -> (d, 1)."""
    n = X.shape[-2]  # (.., n, d): batch axes allowed
    residual = ar.matmul(X, w) - y  # (n, 1)
    return ar.matmul(ar.T(X), residual) * ar.const(Fraction(1, n))


def gradient_descent(ar: Arithmetic, X: Any, y: Any, etas: Sequence[Any], w_0: Any) -> list[Any]:
    """Iterates w_0, w_1, ..., w_L of w <- w - η_ℓ ∇R(w) (η_ℓ scalars of ``ar``)."""
    ws = [w_0]
    for eta in etas:
        ws.append(ws[-1] - least_squares_gradient(ar, X, y, ws[-1]) * eta)
    return ws


def preconditioned_gradient_descent(ar: Arithmetic, X: Any, y: Any, As: Sequence[Any], w_0: Any) -> list[Any]:
    """Iterates of w <- w - A_ℓ ∇R(w) (A_ℓ arrays of ``ar``)."""
    ws = [w_0]
    for A in As:
        ws.append(ws[-1] - ar.matmul(A, least_squares_gradient(ar, X, y, ws[-1])))
    return ws


def ridge_gradient_descent(ar: Arithmetic, X: Any, y: Any, etas: Sequence[Any], lam: Any, w_0: Any) -> list[Any]:
    """Iterates of w <- w - η_ℓ (∇R(w) + λ w) (ridge regression)."""
    ws = [w_0]
    for eta in etas:
        w = ws[-1]
        ws.append(w - (least_squares_gradient(ar, X, y, w) + w * lam) * eta)
    return ws
