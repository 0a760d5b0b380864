"""The exact optimum of the L-layer loss on the Σ⁻¹-aligned set (Ahn et al. Thm 3).

f(a) = ⟨p, p⟩_M with p(t) = ∏_ℓ (1 − a_ℓ t) and ⟨u, v⟩_M = Σ u_i v_j M_{i+j},
M_k = E tr Ĝ₀^k (:func:`~transformer_proofs.verify.population.gaussian.gram_trace_moments`).
Over the affine space {p : deg p ≤ L, p(0) = 1} this quadratic is strictly convex
exactly when the Hankel matrix (M_{i+j})_{i,j=1..L} is positive definite; its
unique minimiser q satisfies ⟨q, t^j⟩_M = 0 for j = 1..L, i.e. q is the degree-L
orthogonal polynomial of t·dμ (μ the expected spectral law of Ĝ₀), normalised to
q(0) = 1 [ours].  When q has L positive real roots r_ℓ, a_ℓ = 1/r_ℓ lies in the
aligned set and is its global minimiser, unique up to the order of the layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Callable, Sequence

import sympy as sp
from transformer_proofs.verify.population.gaussian import ldl_certificate, wishart_trace_moment

Moments = list  # [M_0, M_1, ...] as Fractions


def moments(n: int, d: int, K: int, shift: int = 0) -> Moments:
    """E tr Ĝ₀^k, k = 0..K, exact.  ``shift`` exists for a falsifier: the
    recursion's (n + k − 1) read as (n + k − 1 + shift)."""
    if shift == 0:
        return [Fraction(wishart_trace_moment((k,), n, d), n**k) for k in range(K + 1)]
    return [Fraction(wishart_trace_moment((k,), n + shift, d), n**k) for k in range(K + 1)]


def marchenko_pastur_moments(n: int, d: int, K: int) -> Moments:
    """The n, d → ∞ limit at ratio γ = d/n: d Σ_r N(k, r) γ^{r−1} (Narayana numbers)."""
    g = Fraction(d, n)
    out = [Fraction(d)]
    for k in range(1, K + 1):
        out.append(d * sum(Fraction(comb(k, r) * comb(k, r - 1), k) * g ** (r - 1) for r in range(1, k + 1)))
    return out


def power_polynomial(a: Fraction, L: int) -> list[Fraction]:
    """The coefficients of (1 − a t)^L (constant first): the step a in every layer."""
    return [Fraction(comb(L, k)) * (-a) ** k for k in range(L + 1)]


def optimal_polynomial(M: Sequence[Fraction], L: int) -> list[Fraction]:
    """The coefficients (constant first, p(0) = 1) of the minimiser of ⟨p, p⟩_M
    over p(0) = 1, deg ≤ L: solve ⟨p, t^j⟩_M = 0, j = 1..L, exactly."""
    H = sp.Matrix(L, L, lambda i, j: M[i + j + 2])
    rhs = sp.Matrix(L, 1, lambda i, _: -M[i + 1])
    c = H.LUsolve(rhs)
    return [Fraction(1)] + [Fraction(int(sp.numer(x)), int(sp.denom(x))) for x in c]


def stationarity_residuals(p: Sequence[Fraction], M: Sequence[Fraction]) -> list[Fraction]:
    """⟨p, t^j⟩_M for j = 1..deg: all zero iff ∂f/∂a_ℓ = −2⟨p, t r_ℓ⟩_M vanishes for every ℓ."""
    L = len(p) - 1
    return [sum(pi * M[i + j] for i, pi in enumerate(p)) for j in range(1, L + 1)]


@dataclass
class AlignedOptimum:
    p: list[Fraction]
    hankel_pivots: list[Fraction] | None  # None: the Hankel matrix is not positive definite
    residuals: list[Fraction]
    root_intervals: list[tuple[Fraction, Fraction]]  # exact isolating intervals of the roots of p (t-values)
    loss: Fraction

    @property
    def steps_intervals(self) -> list[tuple[Fraction, Fraction]]:
        """a_ℓ = 1/r_ℓ: exact enclosures, from the largest step to the smallest."""
        return sorted(((1 / hi, 1 / lo) for lo, hi in self.root_intervals if lo > 0), key=lambda iv: -iv[0])

    @property
    def certified(self) -> bool:
        L = len(self.p) - 1
        return (self.hankel_pivots is not None and all(r == 0 for r in self.residuals)
                and len(self.root_intervals) == L and all(lo > 0 for lo, _ in self.root_intervals))


def root_intervals(p: Sequence[Fraction], width: Fraction = Fraction(1, 10**9)) -> list[tuple[Fraction, Fraction]]:
    """Exact isolating intervals (rational endpoints) of the real roots of p,
    refined to ``width``, each repeated by its multiplicity."""
    t = sp.Symbol("t")
    poly = sp.Poly(sum(sp.Rational(c.numerator, c.denominator) * t**i for i, c in enumerate(p)), t)
    out = []
    for (lo, hi), mult in poly.intervals(eps=sp.Rational(width.numerator, width.denominator)):
        iv = (Fraction(int(sp.numer(lo)), int(sp.denom(lo))), Fraction(int(sp.numer(hi)), int(sp.denom(hi))))
        out.extend([iv] * mult)
    return out


def aligned_optimum(M: Sequence[Fraction], L: int,
                    candidate: Callable[[Sequence[Fraction], int], list[Fraction]] | None = None) -> AlignedOptimum:
    """Decide the aligned-set optimum exactly; ``candidate`` (moments → p) is
    the construction under test (the correct one by default)."""
    p = (candidate or optimal_polynomial)(M, L)
    ok, piv = ldl_certificate([[M[i + j] for j in range(1, L + 1)] for i in range(1, L + 1)])
    res = stationarity_residuals(p, M)
    roots = root_intervals(p) if any(c != 0 for c in p[1:]) else []
    loss = sum(pi * pj * M[i + j] for i, pi in enumerate(p) for j, pj in enumerate(p))
    return AlignedOptimum(p, piv if ok else None, res, roots, loss)
