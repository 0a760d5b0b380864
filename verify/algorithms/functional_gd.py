"""Functional gradient descent in an RKHS, kernel regression, and the
remaining-error bound, written plainly (no transformer).

Cheng, Chen, Sra (2024), arXiv:2312.06528, Prop. 3.1 and §3–4:
    f_{ℓ+1}(x) = f_ℓ(x) + (η_ℓ/n) Σ_{i≤n} (y_i - f_ℓ(x_i)) K(x_i, x),  f_0 = 0.

Kernel values are held in one matrix G of shape (N, N), N = n + 1 (the n
examples, then the query): G[i, j] = K(x_i, x_j), key i, point j.  Only the
rows i ≤ n (the context keys) are used.  Everything runs in any
:class:`constructions.arithmetic.Arithmetic`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import mpmath
import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import PromptError


class KernelNotPositiveDefinite(ValueError):
    """A kernel matrix that a claim needs symmetric positive definite is not."""


class StepSizeError(ValueError):
    """A step size outside the convergent region (0, 2n/λ_max(K))."""


# ---------------------------------------------------------------------------
# kernels (independent of the engine's attention code)
# ---------------------------------------------------------------------------


def kernel_values(ar: Arithmetic, kind: Any, points: Any, n: int) -> Any:
    """G[i, j] = K(x_i, x_j) for the rows x_i of ``points`` (N, d).

    ``kind``: "linear" ⟨x,x'⟩, "relu" max(⟨x,x'⟩, 0), "exp" e^{⟨x,x'⟩},
    "softmax" e^{⟨x_i,x_j⟩} / Σ_{k≤n} e^{⟨x_k,x_j⟩} (normalised over the n
    context keys), or a callable kernel(ar, keys (d, N), queries (d, N))."""
    if callable(kind):
        return kind(ar, ar.T(points), ar.T(points))
    inner = ar.matmul(points, ar.T(points))  # (N, N): <x_i, x_j>
    if kind == "linear":
        return inner
    if kind == "relu":
        return ar.relu(inner)
    if kind == "exp":
        return ar.exp(inner)
    if kind == "softmax":
        return normalise_over_context(ar, ar.exp(inner), n)
    raise PromptError(f"unknown kernel {kind!r}")


def normalise_over_context(ar: Arithmetic, G: Any, n: int) -> Any:
    """G[i, j] / Σ_{k≤n} G[k, j]."""
    total = ar.sum(G[:n, :], axis=0)  # (N,)
    return G / total[None, :]


def rbf_kernel(ar: Arithmetic, keys: Any, queries: Any) -> Any:
    """A user kernel: e^{-|u - v|²/2} = e^{⟨u,v⟩ - |u|²/2 - |v|²/2}.
    keys (.., d, N), queries (.., d, N) -> (.., N, N)."""
    inner = ar.matmul(ar.T(keys), queries)  # (.., N, N)
    half = ar.const(Fraction(1, 2))
    sq_k = ar.sum(keys * keys, axis=-2)  # (.., N)
    sq_q = ar.sum(queries * queries, axis=-2)  # (.., N)
    return ar.exp(inner - sq_k[..., :, None] * half - sq_q[..., None, :] * half)


# ---------------------------------------------------------------------------
# functional GD
# ---------------------------------------------------------------------------


def _check_G(G: Any, n: int) -> None:
    if tuple(G.shape) != (n + 1, n + 1):
        raise PromptError(f"kernel matrix has shape {tuple(G.shape)}, expected (n+1, n+1) = ({n + 1}, {n + 1})")


def functional_gd(ar: Arithmetic, G: Any, y: Any, etas: Sequence[Any]) -> list[Any]:
    """Values (1, N) of f_0, …, f_L at the N points: f at the examples, then
    at the query.  G (N, N), y (n, 1), etas scalars of ``ar``."""
    n = y.shape[0]
    _check_G(G, n)
    fs = [ar.zeros((1, n + 1))]
    for eta in etas:
        f = fs[-1]
        residual = y - ar.T(f[:, :n])  # (n, 1): y_i - f(x_i)
        step = ar.matmul(ar.T(residual), G[:n, :])  # (1, N): Σ_i residual_i K(x_i, x_j)
        fs.append(f + step * (eta * ar.const(Fraction(1, n))))
    return fs


def weighted_kernel(ar: Arithmetic, Gs: Sequence[Any], weights: Sequence[Any]) -> Any:
    """Σ_h w_h G_h: the kernel of a multi-head layer (weights = head steps)."""
    total = None
    for G, w in zip(Gs, weights):
        term = G * w
        total = term if total is None else total + term
    return total


def multi_kernel_functional_gd(ar: Arithmetic, Gs: Sequence[Any], y: Any, head_etas: Sequence[Sequence[Any]]) -> list[Any]:
    """Functional GD with step 1 on the kernel Σ_h η_{ℓ,h} K_h in step ℓ."""
    n = y.shape[0]
    fs = [ar.zeros((1, n + 1))]
    for etas in head_etas:
        G = weighted_kernel(ar, Gs, etas)  # (N, N)
        _check_G(G, n)
        f = fs[-1]
        residual = y - ar.T(f[:, :n])  # (n, 1)
        fs.append(f + ar.matmul(ar.T(residual), G[:n, :]) * ar.const(Fraction(1, n)))
    return fs


def state_after(ar: Arithmetic, points: Any, y: Any, f: Any) -> Any:
    """The prompt state the construction should leave: x unchanged, labels
    [y_1 - f(x_1), …, y_n - f(x_n), -f(x_q)].  points (N, d), y (n, 1), f (1, N)."""
    labels = ar.concat([ar.T(y), ar.zeros((1, 1))], axis=1) - f  # (1, N)
    return ar.concat([ar.T(points), labels], axis=0)  # (d+1, N)


# ---------------------------------------------------------------------------
# closed form and kernel regression
# ---------------------------------------------------------------------------


def solve(ar: Arithmetic, A: Any, b: Any) -> Any:
    """A x = b by Gaussian elimination in ``ar`` (exact fields, mpmath).
    Pivots: the largest in absolute value when the system is ordered, else
    the first nonzero.  A singular A raises."""
    A = np.array(A, dtype=object)
    b = np.array(b, dtype=object)
    m = A.shape[0]
    if A.shape != (m, m) or b.shape[0] != m:
        raise PromptError(f"solve: A {A.shape} and b {b.shape} do not fit")
    M = np.concatenate([A, b], axis=1)
    for col in range(m):
        rows = [r for r in range(col, m) if not M[r, col] == 0]
        if not rows:
            raise ZeroDivisionError(f"singular matrix (no pivot in column {col})")
        ordered = ar.ordered and ar.evidence not in ("symbolic", "certified")
        piv = max(rows, key=lambda r: abs(M[r, col])) if ordered else rows[0]
        M[[col, piv]] = M[[piv, col]]
        for r in range(m):
            if r != col and not M[r, col] == 0:
                M[r] = M[r] - M[col] * (M[r, col] / M[col, col])
    out = np.empty((m, b.shape[1]), dtype=object)
    for r in range(m):
        for c in range(b.shape[1]):
            out[r, c] = M[r, m + c] / M[r, r]
    return out


def closed_form(ar: Arithmetic, G: Any, y: Any, etas: Sequence[Any], transpose: bool = True) -> Any:
    """f_L(x_q) = k_qᵀ (Kᵀ)⁻¹ (I - ∏_ℓ (I - η_ℓ Kᵀ/n)) y, K[i, j] = K(x_i, x_j)
    on the examples and k_q[i] = K(x_i, x_q).  Derivation: the residual
    R_ℓ = y - f_ℓ(X) obeys R_{ℓ+1} = (I - η_ℓ Kᵀ/n) R_ℓ and
    f_L(x_q) = Σ_ℓ (η_ℓ/n) k_qᵀ R_ℓ; the matrices commute (polynomials in Kᵀ),
    so Kᵀ Σ_ℓ (η_ℓ/n) ∏_{k<ℓ} (I - η_k Kᵀ/n) telescopes to I - ∏ (I - η Kᵀ/n).
    ``transpose=False`` gives the form as transcribed (K for Kᵀ), which agrees
    only when K is symmetric.  Returns (1, 1)."""
    n = y.shape[0]
    _check_G(G, n)
    K = G[:n, :n]
    Kt = ar.T(K) if transpose else K
    k_q = G[:n, n:]  # (n, 1)
    P = ar.eye(n)
    for eta in etas:
        P = ar.matmul(ar.eye(n) - Kt * (eta * ar.const(Fraction(1, n))), P)
    u = solve(ar, Kt, ar.matmul(ar.eye(n) - P, y))  # (n, 1)
    return ar.matmul(ar.T(k_q), u)


def kernel_regression(ar: Arithmetic, G: Any, y: Any) -> Any:
    """The limit k_qᵀ (Kᵀ)⁻¹ y (K symmetric: the kernel-regression predictor). (1, 1)."""
    n = y.shape[0]
    _check_G(G, n)
    return ar.matmul(ar.T(G[:n, n:]), solve(ar, ar.T(G[:n, :n]), y))


# ---------------------------------------------------------------------------
# the remaining error after L layers (symmetric positive definite K)
# ---------------------------------------------------------------------------


def spectrum(K: np.ndarray, dps: int = 40) -> list[Any]:
    """Eigenvalues of a symmetric positive definite K (mpmath, ``dps``
    digits); raises :class:`KernelNotPositiveDefinite` otherwise."""
    K = np.asarray(K, dtype=object)
    n = K.shape[0]
    if K.shape != (n, n):
        raise PromptError(f"kernel matrix must be square, got shape {K.shape}")
    ctx = mpmath.MPContext()
    ctx.dps = dps
    M = ctx.matrix([[_to_mp(ctx, v) for v in row] for row in K])
    asym = max((abs(M[i, j] - M[j, i]) for i in range(n) for j in range(n)), default=0)
    if asym > 0:
        raise KernelNotPositiveDefinite(f"kernel matrix is not symmetric (max |K - Kᵀ| = {float(asym):.3g}); "
                                        "the RKHS limit needs a symmetric positive definite K")
    E = ctx.eigsy(M, eigvals_only=True)
    lams = sorted(E[i] for i in range(n))
    if lams[0] <= 0:
        raise KernelNotPositiveDefinite(f"kernel matrix is not positive definite: λ_min = {float(lams[0]):.3g}")
    return lams


def _to_mp(ctx: Any, v: Any) -> Any:
    """An exact conversion of ints, Fractions and floats to ``ctx.mpf``."""
    if isinstance(v, Fraction):
        return ctx.mpf(v.numerator) / v.denominator
    if isinstance(v, float) and not np.isfinite(v):
        raise PromptError(f"non-finite value {v!r}")
    return ctx.mpf(v)


def check_steps(etas: Sequence[Any], n: int, lam_max: Any) -> None:
    """Every η_ℓ must lie in (0, 2n/λ_max): then |1 - η λ/n| < 1 on the spectrum."""
    hi = 2 * n / lam_max
    ctx = getattr(lam_max, "context", mpmath.mp)  # η read at the spectrum's precision, not at 53 bits
    for k, eta in enumerate(etas):
        e = _to_mp(ctx, eta)
        if not (0 < e < hi):
            raise StepSizeError(f"step η_{k} = {float(eta):.6g} is outside the convergent region "
                                f"(0, 2n/λ_max) = (0, {float(hi):.6g})")


def remaining_error_bounds(K: np.ndarray, k_q: np.ndarray, y: np.ndarray, etas: Sequence[Any],
                           dps: int = 40) -> list[float]:
    """B_L for L = 0..len(etas): |f_L(x_q) - k_qᵀ K⁻¹ y| ≤ B_L.

    With K = U Λ Uᵀ ≻ 0, f_L(x_q) - k_qᵀK⁻¹y = -k_qᵀ K⁻¹ ∏_ℓ (I - η_ℓ K/n) y, so
        |error_L| ≤ ‖K⁻¹ k_q‖₂ ‖y‖₂ ∏_{ℓ<L} ρ_ℓ,
        ρ_ℓ = max_i |1 - η_ℓ λ_i/n| = max(|1 - η_ℓ λ_min/n|, |1 - η_ℓ λ_max/n|) < 1
    for η_ℓ in (0, 2n/λ_max): the bound falls geometrically to 0."""
    K = np.asarray(K, dtype=object)
    n = K.shape[0]
    if np.shape(k_q) != (n,) or np.shape(y) != (n,):
        raise PromptError(f"k_q {np.shape(k_q)} and y {np.shape(y)} must both have n = {n} entries")
    lams = spectrum(K, dps)
    check_steps(etas, n, lams[-1])
    ctx = mpmath.MPContext()
    ctx.dps = dps
    conv = lambda v: _to_mp(ctx, v)
    M = ctx.matrix([[conv(v) for v in row] for row in K])
    u = ctx.lu_solve(M, ctx.matrix([conv(v) for v in k_q]))
    scale = ctx.norm(u, 2) * ctx.norm(ctx.matrix([conv(v) for v in y]), 2)
    bounds, prod = [float(scale)], ctx.mpf(1)
    for eta in etas:
        e = conv(eta)
        prod *= max(abs(1 - e * lams[0] / n), abs(1 - e * lams[-1] / n))
        bounds.append(float(scale * prod))
    return bounds
