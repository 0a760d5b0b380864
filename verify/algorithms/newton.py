"""Iterative Newton (Newton–Schulz) for least squares, and GD to compare with.

Fu, Chen, Jia, Sharan (2023/24), arXiv:2310.17086, §5: S = XᵀX, M_0 = αS,
M_{k+1} = 2M_k - M_k S M_k, ŵ_k = M_k Xᵀ y.  With E_k = I - M_k S one has
E_{k+1} = E_k² exactly, so E_k = (I - αS²)^{2^k}: M_k -> S⁺ iff every nonzero
eigenvalue λ of S has |1 - αλ²| < 1, i.e. 0 < α < 2/λ_max² = 2/‖SSᵀ‖₂.  The
paper's α = 2/‖SSᵀ‖₂ is the boundary itself (1 - αλ_max² = -1).

The exact iterations run in any Arithmetic; the float64 helpers below (step
sizes, least-squares targets, error curves) validate their inputs and raise
a clear error on a step size outside the convergent region, a singular XᵀX or
a negative iteration count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic


class StepSizeError(ValueError):
    """A step size outside the region where the iteration converges."""


class SingularDesignError(ValueError):
    """XᵀX is singular: the least-squares solution is not unique."""


def _check_k(k: Any) -> None:
    if not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"the number of Newton iterations k must be an integer >= 0, got {k!r}")


def newton_schulz(ar: Arithmetic, S: Any, alpha: Any, k: int) -> list[Any]:
    """[M_0, ..., M_k] with M_0 = αS, M_{j+1} = 2M_j - M_j S M_j."""
    _check_k(k)
    Ms = [S * alpha]
    for _ in range(k):
        M = Ms[-1]
        Ms.append(M * ar.const(2) - ar.matmul(ar.matmul(M, S), M))
    return Ms


def newton_prediction(ar: Arithmetic, X: Any, y: Any, x_q: Any, alpha: Any, k: int) -> Any:
    """x_qᵀ M_k Xᵀ y (a (1, 1) array); X (n, d), y (n, 1), x_q (d, 1)."""
    S = ar.matmul(ar.T(X), X)
    M = newton_schulz(ar, S, alpha, k)[-1]
    return ar.matmul(ar.matmul(ar.T(x_q), M), ar.matmul(ar.T(X), y))


def newton_residual(ar: Arithmetic, S: Any, alpha: Any, k: int) -> list[Any]:
    """[E_0, ..., E_k], E_j = I - M_j S."""
    I = ar.eye(S.shape[0])
    return [I - ar.matmul(M, S) for M in newton_schulz(ar, S, alpha, k)]


# ---------------------------------------------------------------------------
# float64: step sizes, targets, error curves
# ---------------------------------------------------------------------------


def gram(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty (n, d) matrix, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf")
    return X.T @ X


def spectrum(S: np.ndarray, rtol: float | None = None) -> tuple[float, float, int]:
    """(λ_max, λ_min over the nonzero eigenvalues, rank) of symmetric PSD S;
    eigenvalues below rtol·λ_max (default d·u) count as zero."""
    lam = np.linalg.eigvalsh(S)
    lmax = float(lam[-1])
    if lmax <= 0:
        raise SingularDesignError("XᵀX = 0: no information in the prompt")
    tol = (rtol if rtol is not None else S.shape[0] * np.finfo(float).eps) * lmax
    nz = lam[lam > tol]
    return lmax, float(nz[0]), int(nz.size)


def spectral_fuzz(S: np.ndarray) -> float:
    """Relative uncertainty of αλ² computed from float64 eigenvalues of S.

    eigvalsh is backward stable: each computed λ is within c·d·u·λ_max of an
    eigenvalue of S (Weyl), with c a small constant (we take c = 4); squaring
    doubles the relative error at λ_max.  So αλ_max² is known to within
    8·d·u relatively: closer than that to the edge 2 is "at the edge"."""
    return 8 * S.shape[0] * np.finfo(float).eps / 2


def printed_alpha(S: np.ndarray) -> float:
    """The paper's α = 2/‖SSᵀ‖₂ (= 2/λ_max²: the edge of convergence)."""
    return 2.0 / float(np.linalg.norm(S @ S.T, 2))


def safe_alpha(S: np.ndarray) -> float:
    """Our corrected choice α = 1/‖SSᵀ‖₂ (half the printed value): E_0 = I - αS²
    has eigenvalues in [0, 1 - 1/κ(S)²]."""
    return 1.0 / float(np.linalg.norm(S @ S.T, 2))


def optimal_alpha(S: np.ndarray) -> float:
    """α = 2/(λ_max² + λ_min²): the smallest ‖E_0‖₂ = (κ² - 1)/(κ² + 1)."""
    lmax, lmin, _ = spectrum(S)
    return 2.0 / (lmax**2 + lmin**2)


def check_newton_alpha(S: np.ndarray, alpha: float) -> float:
    """Return ‖E_0‖₂ = max |1 - αλ²| over the nonzero eigenvalues, or raise
    StepSizeError when it is >= 1 (no convergence)."""
    if not np.isfinite(alpha) or alpha <= 0:
        raise StepSizeError(f"Newton step α = {alpha!r} must be a finite positive number")
    lmax, lmin, _ = spectrum(S)
    rho = max(abs(1 - alpha * lmax**2), abs(1 - alpha * lmin**2))
    edge = 2.0 / lmax**2
    fuzz = spectral_fuzz(S)
    if rho >= 1 - 2 * fuzz:
        where = ("exactly at the edge 2/‖SSᵀ‖₂ (the paper's α): the top eigendirection has 1 - αλ_max² = -1, "
                 "so E_k keeps the eigenvalue 1 there and M_k never reaches S⁺"
                 if abs(alpha - edge) <= 2 * fuzz * edge else
                 f"outside (0, 2/‖SSᵀ‖₂) = (0, {edge:.6g}): ‖I - αS²‖₂ = {rho:.6g} >= 1, Newton diverges")
        raise StepSizeError(f"Newton step α = {alpha:.6g} is {where}")
    return rho


def check_gd_step(S: np.ndarray, n: int, eta: float) -> float:
    """GD on R(w) = (1/2n)‖Xw - y‖²: contraction max |1 - ηλ/n|; raise if >= 1."""
    if not np.isfinite(eta) or eta <= 0:
        raise StepSizeError(f"GD step η = {eta!r} must be a finite positive number")
    lmax, lmin, _ = spectrum(S)
    rho = max(abs(1 - eta * lmax / n), abs(1 - eta * lmin / n))
    if rho >= 1 - spectral_fuzz(S):
        raise StepSizeError(f"GD step η = {eta:.6g} is outside (0, 2n/λ_max) = (0, {2 * n / lmax:.6g}): GD diverges")
    return rho


def least_squares_target(X: np.ndarray, y: np.ndarray, allow_singular: bool = False) -> np.ndarray:
    """w_LS = S⁻¹Xᵀy; raise SingularDesignError when XᵀX is singular unless
    ``allow_singular`` (then the minimum-norm solution S⁺Xᵀy, which is where
    Newton–Schulz converges)."""
    S = gram(X)
    d = S.shape[0]
    _, _, rank = spectrum(S)
    if rank < d and not allow_singular:
        raise SingularDesignError(
            f"XᵀX is singular (rank {rank} < d = {d}): the least-squares solution is not unique; "
            "Newton–Schulz converges to the minimum-norm solution S⁺Xᵀy (pass allow_singular=True)")
    return np.linalg.pinv(S) @ (np.asarray(X, float).T @ np.asarray(y, float))


@dataclass
class Curve:
    """Relative errors ‖w_t - w_LS‖/‖w_LS‖ of an iteration, and its status."""

    method: str
    errors: list[float]
    status: str = "converges"  # converges | diverges | stalls (printed α) | ...
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def newton_curve(X: np.ndarray, y: np.ndarray, alpha: float, k: int, strict: bool = True) -> Curve:
    """Errors of ŵ_j = M_j Xᵀy, j = 0..k, in float64.  With ``strict`` an α
    outside the convergent region raises; otherwise the curve is computed and
    labelled ``stalls``/``diverges``."""
    _check_k(k)
    S = gram(X)
    w = least_squares_target(X, y)
    status, note = "converges", ""
    try:
        rho = check_newton_alpha(S, alpha)
        note = f"‖E_0‖₂ = {rho:.6g}"
    except StepSizeError as exc:
        if strict:
            raise
        lmax = spectrum(S)[0]
        at_edge = abs(alpha * lmax**2 - 2) <= 2 * 2 * spectral_fuzz(S)
        status = "stalls at the edge (no convergence)" if at_edge else "diverges"
        note = str(exc)
    b = np.asarray(X, float).T @ np.asarray(y, float)
    M, errs = alpha * S, []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(k + 1):
            errs.append(float(np.linalg.norm(M @ b - w) / np.linalg.norm(w)))
            M = 2 * M - M @ S @ M
    return Curve("Newton", errs, status, note)


def gd_curve(X: np.ndarray, y: np.ndarray, eta: float, steps: int) -> Curve:
    """Errors of GD w <- w - η (1/n) Xᵀ(Xw - y) from w = 0, steps 0..steps."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    X = np.asarray(X, float)
    n = X.shape[0]
    S = gram(X)
    rho = check_gd_step(S, n, eta)
    w_ls = least_squares_target(X, y)
    b = X.T @ np.asarray(y, float)
    w = np.zeros(X.shape[1])
    errs = [1.0]
    norm = np.linalg.norm(w_ls)
    for _ in range(steps):
        w = w - (eta / n) * (S @ w - b)
        errs.append(float(np.linalg.norm(w - w_ls) / norm))
    return Curve("GD", errs, "converges", f"contraction {rho:.6g} per step")


def optimal_gd_step(S: np.ndarray, n: int) -> float:
    """η = 2n/(λ_max + λ_min): the best constant step, contraction (κ-1)/(κ+1)."""
    lmax, lmin, _ = spectrum(S)
    return 2.0 * n / (lmax + lmin)


def gd_steps_to_match(gd_errors: list[float], target: float) -> int | None:
    """The first GD step whose error is <= target (None if never)."""
    for t, e in enumerate(gd_errors):
        if e <= target:
            return t
    return None


def newton_iterations_bound(rho: float, eps: float) -> int:
    """Smallest k with ρ^(2^k) <= ε: ⌈log2(ln(1/ε)/ln(1/ρ))⌉ (0 if ρ <= ε)."""
    if not 0 <= rho < 1:
        raise StepSizeError(f"contraction ρ = {rho} is not in [0, 1)")
    if rho <= eps:
        return 0
    return max(0, int(np.ceil(np.log2(np.log(1 / eps) / np.log(1 / rho)))))


def conditioned_design(rng: np.random.Generator, d: int, n: int, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, Σ), Σ = U diag(λ) Uᵀ with half the λ = kappa, half 1 (random
    orthogonal U); y = X w*, w* ~ N(0, I).  Returns (X, y)."""
    if d < 1 or n < 1 or kappa < 1:
        raise ValueError(f"need d, n >= 1 and kappa >= 1, got d={d}, n={n}, kappa={kappa}")
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.array([kappa] * (d // 2) + [1.0] * (d - d // 2))
    X = rng.standard_normal((n, d)) @ np.diag(np.sqrt(lam)) @ U.T
    w = rng.standard_normal(d)
    return X, X @ w
