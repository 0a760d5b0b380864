"""Exact population losses of linear self-attention on Gaussian regression prompts.

One layer, all of (P, Q) (Ahn et al. 2023, eqs. (3)-(5)): the prediction is
ŷ = −[Z + (1/n) P Z M Zᵀ Q Z]_{d+1,n+1}.  Only P's last row p = (p_x, p_y) and
Q's first d columns Q_x = [[Q₁₁], [q₂₁ᵀ]] reach it (the query's label slot is 0):

    ŷ = −(1/n) pᵀ S Q_x x_q,   S = Σ_{i≤n} z_i z_iᵀ,  z_i = (x_i, y_i),

so the error is ŷ − y_q = x_qᵀ v − ε_q with v = −(1/n) Q_xᵀ S p − w, and

    f(P, Q) = E[(ŷ − y_q)²] = (1/n²) Σ p_a p_e (Q_x Σ Q_xᵀ)_{bc} E[S_ab S_ce]
              + (2/n) Σ (Σ Q_xᵀ)_{ja} p_b E[w_j S_ab] + tr(Σ Σ_w) + σ²,

exact from the moment tensors of :func:`~transformer_proofs.verify.population.gaussian.prompt_gram_moments`.
f is a quartic in (p, Q_x), invariant under (P, Q) → (γP, Q/γ).

L layers on the Σ⁻¹-aligned set (Ahn et al. Thm 3: w ~ N(0, Σ⁻¹), A_ℓ = a_ℓ Σ⁻¹):
by Lemma 1, w_L − w = −∏_ℓ(I − a_ℓ Σ⁻¹Ĝ) w; whitening x = Σ^{1/2}x₀ turns
Σ⁻¹Ĝ into Σ^{-1/2}Ĝ₀Σ^{1/2}, so f(a) = E tr p(Ĝ₀)², p(t) = ∏(1 − a_ℓ t), Ĝ₀ the
Gram matrix of standard Gaussians [ours]: a quadratic form in p's coefficients
with the Wishart moments M_k = E tr Ĝ₀^k as its Hankel matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any, Sequence

from flint import fmpq
from transformer_proofs.verify.population.gaussian import (
    gram_trace_moments,
    mat_mul,
    prompt_gram_moments,
    transpose,
)

Matrix = list  # list of rows


def _q(x: Any) -> fmpq:
    """A rational as python-flint's fmpq (about 6x faster than Fraction here)."""
    x = Fraction(x)
    return fmpq(x.numerator, x.denominator)


def _fraction(x: fmpq) -> Fraction:
    return Fraction(int(x.p), int(x.q))


@dataclass(frozen=True)
class OneLayerProblem:
    """x ~ N(0, Σ), w ~ N(0, Σ_w), y = ⟨x, w⟩ + N(0, σ²); n examples."""

    Sigma: Matrix
    n: int
    sigma2: Fraction = Fraction(0)
    Sigma_w: Matrix | None = None

    def __post_init__(self) -> None:
        d = len(self.Sigma)
        if d < 1 or any(len(row) != d for row in self.Sigma):
            raise ValueError(f"OneLayerProblem: Σ must be a non-empty square matrix, got {d} rows")
        if any(self.Sigma[i][j] != self.Sigma[j][i] for i in range(d) for j in range(d)):
            raise ValueError("OneLayerProblem: Σ must be symmetric")
        if self.n < 1:
            raise ValueError(f"OneLayerProblem: need n >= 1 examples, got n = {self.n}")
        if self.sigma2 < 0:
            raise ValueError(f"OneLayerProblem: the noise variance must be >= 0, got {self.sigma2}")

    @property
    def d(self) -> int:
        return len(self.Sigma)


class OneLayerLoss:
    """f(θ) for θ = (p, Q_x) flattened: p (d+1 entries), then Q_x row by row ((d+1)×d)."""

    def __init__(self, prob: OneLayerProblem) -> None:
        self.prob = prob
        d = prob.d
        cov_w = prob.Sigma_w if prob.Sigma_w is not None else [[int(i == j) for j in range(d)] for i in range(d)]
        T4, T3 = prompt_gram_moments(prob.Sigma, prob.n, prob.sigma2, cov_w)
        self.T4 = {k: _q(v) for k, v in T4.items()}
        self.T3 = {k: _q(v) for k, v in T3.items()}
        self.Sigma = [[_q(x) for x in row] for row in prob.Sigma]
        self.const = _q(sum(prob.Sigma[i][j] * cov_w[j][i] for i in range(d) for j in range(d)) + prob.sigma2)

    def size(self) -> int:
        return (self.prob.d + 1) ** 2

    def split(self, theta: Sequence[Any]) -> tuple[list[Any], Matrix]:
        D, d = self.prob.d + 1, self.prob.d
        p = list(theta[:D])
        Qx = [list(theta[D + r * d: D + (r + 1) * d]) for r in range(D)]
        return p, Qx

    def __call__(self, theta: Sequence[Any]) -> Fraction:
        p, Qx = self.split([_q(x) for x in theta])
        n, D, d = self.prob.n, self.prob.d + 1, self.prob.d
        K = mat_mul(mat_mul(Qx, self.Sigma), transpose(Qx))  # (d+1)×(d+1)
        SQt = mat_mul(self.Sigma, transpose(Qx))  # d×(d+1)
        quad: Any = fmpq(0)
        for a, e in product(range(D), repeat=2):
            if p[a] == 0 or p[e] == 0:
                continue
            inner = sum(K[b][c] * self.T4[(a, b, c, e)] for b in range(D) for c in range(D) if K[b][c] != 0)
            quad += p[a] * p[e] * inner
        lin: Any = fmpq(0)
        for j, a, b in product(range(d), range(D), range(D)):
            if SQt[j][a] != 0 and p[b] != 0:
                lin += SQt[j][a] * p[b] * self.T3[(j, a, b)]
        return _fraction(quad / (n * n) + 2 * lin / n + self.const)


def lsa_point(d: int, A: Matrix, scale: Any = 1) -> list[Any]:
    """θ of P = [[0, 0], [0, γ]], Q = −(1/γ)[[A, 0], [0, 0]] (eq. (8), γ = scale)."""
    p = [Fraction(0)] * d + [Fraction(scale)]
    Qx = [[-Fraction(A[r][c]) / scale for c in range(d)] for r in range(d)] + [[Fraction(0)] * d]
    return p + [x for row in Qx for x in row]


def rescaling_direction(theta: Sequence[Any], d: int) -> list[Any]:
    """The tangent of (P, Q) → (γP, Q/γ) at θ: (p, −Q_x)."""
    D = d + 1
    return list(theta[:D]) + [-x for x in theta[D:]]


def optimal_preconditioner(Sigma_eig: Sequence[Any], U: Matrix, n: int, plus: int = 1,
                           with_trace: bool = True) -> Matrix:
    """Ahn et al. Thm 1, eq. (6): A = U diag(1 / ((n+1)/n λ_i + tr Σ / n)) Uᵀ
    (``plus`` and ``with_trace`` exist for the falsifiers: (n−1)/n, a dropped tr Σ/n)."""
    d = len(Sigma_eig)
    tr = sum(Sigma_eig) if with_trace else 0
    D = [[Fraction(0)] * d for _ in range(d)]
    for i, lam in enumerate(Sigma_eig):
        D[i][i] = 1 / (Fraction(n + plus, n) * lam + Fraction(tr) / n)
    return mat_mul(mat_mul(U, D), transpose(U))


# ---------------------------------------------------------------------------
# L layers on the aligned set: f(a) = E tr p(Ĝ₀)², p(t) = ∏(1 − a_ℓ t)
# ---------------------------------------------------------------------------


def poly_from_steps(a: Sequence[Any]) -> list[Any]:
    """Coefficients (constant first) of ∏_ℓ (1 − a_ℓ t)."""
    c: list[Any] = [Fraction(1)]
    for s in a:
        c = [x - s * y for x, y in zip(c + [0], [0] + c)]
    return c


def aligned_loss(a: Sequence[Any], M: Sequence[Any]) -> Any:
    """f(a) = Σ_{ij} p_i p_j M_{i+j}, M_k = E tr Ĝ₀^k (isotropic, whitened)."""
    c = poly_from_steps(a)
    return sum(ci * cj * M[i + j] for i, ci in enumerate(c) for j, cj in enumerate(c))


def aligned_moments(n: int, d: int, L: int) -> list[Fraction]:
    return gram_trace_moments(n, d, 2 * L)
