"""Energies and the descent steps the papers claim, written plainly.

Tokens are columns (Yang et al. write rows: our Y is their Yᵀ).  Every
function runs in any :class:`Arithmetic` that has ``exp`` (and, for the
Hopfield energy, a logarithm: float64, mpmath, arb balls).

- E_1(Y) = Σ_{i,j} ρ(½‖y_i − y_j‖²), ρ(z) = −e^{−z}           (Yang et al. 2022)
- mm_step: y_j ← (1 − α) y_j + α Σ_i β_ij y_i / Σ_i β_ij, β_ij = e^{−½‖y_i − y_j‖²}
  (α = 1 is the MM step; α is our damping knob for the step-size study)
- f(y) = ½ yᵀ(I − W)y − bᵀy and y ← max(y − η∇f(y), 0)
- Hopfield: E(ξ) = −lse(β, Xᵀξ) + ½ξᵀξ + β⁻¹ log N + ½M², ξ ← X softmax(βXᵀξ)
  (Ramsauer et al. 2021, eq. (2)-(3)).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import (
    Arithmetic,
    Ball,
    Float64,
    Float64Bounded,
    Multiprecision,
    _object_array,
)


def log(ar: Arithmetic, a: Any) -> Any:
    """Elementwise natural logarithm in the number systems that have one."""
    if isinstance(ar, Ball):
        return ar._with_prec(lambda: _object_array((v.log() for v in np.asarray(a).ravel()), np.shape(a)))
    if isinstance(ar, Multiprecision):
        return _object_array((ar.ctx.log(v) for v in np.asarray(a).ravel()), np.shape(a))
    if isinstance(ar, Float64) and not isinstance(ar, Float64Bounded):
        return np.log(a)
    raise TypeError(f"no logarithm in {ar.name}: the Hopfield energy needs float64, mpmath or arb")


def log_scalar(ar: Arithmetic, x: Any) -> Any:
    return log(ar, np.asarray([x], dtype=float if isinstance(ar, Float64) else object))[0]


def pairwise_half_sq(ar: Arithmetic, Y: Any) -> Any:
    """P[i, j] = ½‖y_i − y_j‖² from differences (no cancellation): (n, n)."""
    diff = Y[:, :, None] - Y[:, None, :]  # (d, n, n)
    return ar.sum(diff * diff, axis=0) * ar.const(Fraction(1, 2))


def attention_energy(ar: Arithmetic, Y: Any) -> Any:
    """E_1(Y) = −Σ_{i,j} exp(−½‖y_i − y_j‖²) (R = 0)."""
    B = ar.exp(-pairwise_half_sq(ar, Y))  # (n, n): β_ij
    return -ar.sum(ar.sum(B, axis=0), axis=0)


def mm_weights(ar: Arithmetic, Y: Any) -> Any:
    """β_ij = ρ'(½‖y_i − y_j‖²) = exp(−½‖y_i − y_j‖²): (n, n), symmetric."""
    return ar.exp(-pairwise_half_sq(ar, Y))


def mm_step(ar: Arithmetic, Y: Any, alpha: Any = 1) -> Any:
    """(1 − α) Y + α Y B D⁻¹, D = diag(Σ_i β_ij): column j is the β-normalised
    average of the tokens (i = j included)."""
    B = mm_weights(ar, Y)
    avg = ar.matmul(Y, B) / ar.sum(B, axis=0)[None, :]  # (d, n)
    if alpha == 1:
        return avg
    a = ar.const(alpha)
    return Y * (ar.const(1) - a) + avg * a


def mm_surrogate(ar: Arithmetic, Y: Any, Y0: Any) -> Any:
    """The majoriser of E_1 at Y⁰ (equal to E_1 at Y = Y⁰):
    E_1(Y⁰) + Σ β⁰_ij (½‖y_i − y_j‖² − ½‖y⁰_i − y⁰_j‖²)."""
    B0 = mm_weights(ar, Y0)
    delta = pairwise_half_sq(ar, Y) - pairwise_half_sq(ar, Y0)
    return attention_energy(ar, Y0) + ar.sum(ar.sum(B0 * delta, axis=0), axis=0)


def feedforward_energy(ar: Arithmetic, W: Any, b: Any, Y: Any) -> Any:
    """Σ_tokens ½ yᵀ(I − W) y − bᵀy; W (d, d), b (d,), Y (d, n)."""
    W, b = ar.array(W), ar.array(b)
    d = W.shape[0]
    M = ar.eye(d) - W
    quad = ar.sum(Y * ar.matmul(M, Y), axis=0) * ar.const(Fraction(1, 2))  # (n,)
    lin = ar.sum(Y * b[:, None], axis=0)  # (n,)
    return ar.sum(quad - lin, axis=0)


def pgd_step(ar: Arithmetic, W: Any, b: Any, Y: Any, eta: Any = 1) -> Any:
    """max(y − η((I − W)y − b), 0) per token (the gradient of f for symmetric W)."""
    W, b = ar.array(W), ar.array(b)
    grad = Y - ar.matmul(W, Y) - b[:, None]  # (d, n): (I − W)y − b
    return ar.relu(Y - grad * ar.const(eta))


def hopfield_half_M_sq(X: Any) -> Fraction:
    """½M² = ½ max_i ‖x_i‖², exact from exact patterns X (d, N)."""
    X = np.asarray(X, dtype=object)
    return Fraction(1, 2) * max(sum((Fraction(v) ** 2 for v in X[:, i]), Fraction(0)) for i in range(X.shape[1]))


def lse(ar: Arithmetic, beta: Any, z: Any) -> Any:
    """lse(β, z) = β⁻¹ log Σ_i exp(β z_i), z of shape (N,)."""
    b = ar.const(beta)
    zb = z * b
    shift = zb.max() if isinstance(ar, Float64) else None  # float64 only: avoid overflow
    if shift is None:
        return log_scalar(ar, ar.sum(ar.exp(zb), axis=0)) / b
    return (log_scalar(ar, ar.sum(ar.exp(zb - shift), axis=0)) + shift) / b


def hopfield_energy(ar: Arithmetic, X: Any, beta: Any, xi: Any, half_M_sq: Fraction | None = None) -> Any:
    """E(ξ) = −lse(β, Xᵀξ) + ½ξᵀξ + β⁻¹ log N + ½M²; X (d, N) exact, ξ (d,) of ``ar``."""
    N = np.asarray(X).shape[1]
    Xa = ar.array(X)
    z = ar.matmul(ar.T(Xa), xi[:, None])[:, 0]  # (N,): x_iᵀξ
    hm = hopfield_half_M_sq(X) if half_M_sq is None else half_M_sq
    log_N = log_scalar(ar, ar.const(N))
    return -lse(ar, beta, z) + ar.sum(xi * xi, axis=0) * ar.const(Fraction(1, 2)) + log_N / ar.const(beta) + ar.const(hm)


def hopfield_update(ar: Arithmetic, X: Any, beta: Any, xi: Any) -> Any:
    """ξ' = X softmax(β Xᵀ ξ): (d,)."""
    Xa = ar.array(X)
    z = ar.matmul(ar.T(Xa), xi[:, None])[:, 0] * ar.const(beta)  # (N,)
    if isinstance(ar, Float64):
        z = z - z.max()
    p = ar.exp(z)
    p = p / ar.sum(p, axis=0)
    return ar.matmul(Xa, p[:, None])[:, 0]


def hopfield_retrieval_bound(X: Any, beta: Any, xi: Any, i: int) -> tuple[float, float]:
    """(Δ̃_i, bound) in float64 for display: Δ̃_i = min_{j≠i} (x_i − x_j)ᵀξ and
    2M(N − 1)exp(−βΔ̃_i) (the checked statement uses arb)."""
    X = np.asarray(X, dtype=float)
    xi = np.asarray(xi, dtype=float)
    z = X.T @ xi
    others = np.delete(z, i)
    gap = float(z[i] - others.max())
    M = float(np.sqrt((X * X).sum(axis=0).max()))
    return gap, 2 * M * (X.shape[1] - 1) * math.exp(-float(beta) * gap)
