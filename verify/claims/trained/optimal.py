"""The population-optimal GD step for one-layer in-context regression, exactly.

Task (von Oswald et al. 2023's): x_i, x_q i.i.d. with independent
coordinates of moments m2 = E x², m4 = E x⁴ (odd moments 0), w ~ N(0, I_d),
y_i = ⟨w, x_i⟩.  One GD step from 0 predicts ŷ = η wᵀ S x_q with
S = (1/n) Σ_i x_i x_iᵀ, and

    E (ŷ − ⟨w, x_q⟩)² = m2 · E tr((ηS − I)²)

(E_w w wᵀ = I, E x_q x_qᵀ = m2 I), minimised at η* = E tr S / E tr S² with

    E tr S  = d m2,
    E tr S² = (1/n)(d m4 + d(d−1) m2²) + ((n−1)/n) d m2²

(i = j: E‖x‖⁴; i ≠ j: E (x_iᵀx_j)² = d m2²).  So
η* = m2 / ((1/n)(m4 + (d−1) m2²) + ((n−1)/n) m2²), a rational for rational
moments.  By the signed-permutation symmetry of the law and strict convexity
the optimal preconditioner Γ of w ← Γᵀ(1/n) Σ y_i x_i is η* I, and the terms a
full linear self-attention layer adds beside it are even in w, uncorrelated
with the odd target: the loss-optimal one-layer LSA predicts exactly as GD
with η* (our derivation).
"""

from __future__ import annotations

from fractions import Fraction

UNIFORM_MOMENTS = (Fraction(1, 3), Fraction(1, 5))  # U(−1, 1): E x² = 1/3, E x⁴ = 1/5
GAUSSIAN_MOMENTS = (Fraction(1, 3), Fraction(1, 3))  # N(0, 1/3): same variance, E x⁴ = 3σ⁴ (a falsifier's law)


def optimal_step(d: int, n: int, moments: tuple[Fraction, Fraction] = UNIFORM_MOMENTS) -> Fraction:
    """η* for dimension d, n context examples, coordinate moments (m2, m4)."""
    if d < 1 or n < 1:
        raise ValueError(f"need d >= 1 and n >= 1, got d = {d}, n = {n}")
    m2, m4 = moments
    return m2 / (Fraction(1, n) * (m4 + (d - 1) * m2 * m2) + Fraction(n - 1, n) * m2 * m2)
