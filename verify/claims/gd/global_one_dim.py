"""Global minimality over all (P, Q) of one layer, decided exactly at d = 1.

For d = 1 the loss reaches the prediction through p = (p_x, p_y) (P's last row)
and q = (q₁₁, q₂₁) (Q's first column) only.  For fixed p it is a quadratic in q,

    f(p, q) = qᵀH(p)q + 2 b(p)ᵀq + c,

with H quadratic and b linear in p (the loss formula of :mod:`.landscape`), and
c = f(p, 0) = tr(ΣΣ_w) + σ².  It is invariant under (p, q) → (γp, q/γ), so the
infimum over p ≠ 0 is the infimum over p = (s, 1), s ∈ R, and over p = (1, 0).
Where H(p) ≻ 0 the minimum over q is g(p) = c − bᵀH⁻¹b, and g(s, 1) ≥ g*
for all s is the polynomial inequality

    N(s) = (c − g*) det H(s) − b(s)ᵀ adj H(s) b(s) ≥ 0   (det H(s) > 0),

which is decided exactly by real-root counting (sympy: a polynomial of degree
≤ 4 with rational coefficients is ≥ 0 on R iff its leading coefficient is > 0
and every real root has even multiplicity).  [ours]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp
from transformer_proofs.verify.claims.gd.landscape import OneLayerLoss
from transformer_proofs.verify.population.stationary import gradient_hessian

F = Fraction
S = sp.Symbol("s")


@dataclass
class GlobalDecision:
    decided: bool
    global_min: bool
    detail: str


def _quadratic_in_q(f: OneLayerLoss, p: list[Fraction]) -> tuple[list[list[Fraction]], list[Fraction], Fraction]:
    """(H, b, c) of q ↦ f(p, q) (exact: gradient and Hessian at q = 0 of a quadratic)."""
    g, H2 = gradient_hessian(lambda q: f([*p, *q]), [F(0), F(0)], degree=2)
    return [[x / 2 for x in row] for row in H2], [x / 2 for x in g], f([*p, F(0), F(0)])


def _interpolate(values: dict[int, Fraction], degree: int) -> sp.Poly:
    xs = sorted(values)[: degree + 1]
    poly = sp.interpolate([(x, sp.Rational(values[x].numerator, values[x].denominator)) for x in xs], S)
    poly = sp.Poly(poly, S)
    for x, v in values.items():  # the extra points confirm the degree bound
        if poly.eval(x) != sp.Rational(v.numerator, v.denominator):
            raise ValueError(f"_interpolate: the entry is not of degree <= {degree} in s")
    return poly


def nonnegative_on_R(N: sp.Poly) -> bool:
    """N(s) ≥ 0 for every real s (exact: leading coefficient and real-root multiplicities)."""
    if N.is_zero:
        return True
    if N.LC() < 0:
        return False
    return all(mult % 2 == 0 for _, mult in N.intervals())


def positive_on_R(N: sp.Poly) -> bool:
    return not N.is_zero and N.LC() > 0 and not N.intervals()


def decide_global_d1(f: OneLayerLoss, g_star: Any) -> GlobalDecision:
    """Is g* = min over all (P, Q) of f?  ``f`` must be a d = 1 loss."""
    if f.prob.d != 1:
        raise ValueError(f"decide_global_d1: d = 1 only, got d = {f.prob.d}")
    pts = range(5)
    quads = {s: _quadratic_in_q(f, [F(s), F(1)]) for s in pts}
    H = [[_interpolate({s: quads[s][0][i][j] for s in pts}, 2) for j in range(2)] for i in range(2)]
    b = [_interpolate({s: quads[s][1][i] for s in pts}, 1) for i in range(2)]
    c = quads[0][2]
    det = H[0][0] * H[1][1] - H[0][1] * H[1][0]
    if not (positive_on_R(H[0][0]) and positive_on_R(det)):
        return GlobalDecision(False, False, "H(s) is not positive definite for every s: undecided")
    cg = sp.Rational((c - g_star).numerator, (c - g_star).denominator)
    adj_b = [H[1][1] * b[0] - H[0][1] * b[1], -H[1][0] * b[0] + H[0][0] * b[1]]
    N = cg * det - (b[0] * adj_b[0] + b[1] * adj_b[1])
    if not nonnegative_on_R(N):
        return GlobalDecision(True, False, f"N(s) = {N.as_expr()} takes negative values: a lower loss exists")
    Hinf, binf, cinf = _quadratic_in_q(f, [F(1), F(0)])
    dinf = Hinf[0][0] * Hinf[1][1] - Hinf[0][1] * Hinf[1][0]
    if Hinf[0][0] > 0 and dinf > 0:
        ginf = cinf - (binf[0] * (Hinf[1][1] * binf[0] - Hinf[0][1] * binf[1])
                       + binf[1] * (-Hinf[1][0] * binf[0] + Hinf[0][0] * binf[1])) / dinf
    else:
        return GlobalDecision(False, False, "p = (1, 0): H singular, undecided")
    if ginf < g_star:
        return GlobalDecision(True, False, f"p = (1, 0) reaches {ginf} < {g_star}")
    return GlobalDecision(True, True, f"N(s) = {sp.factor(N.as_expr())} ≥ 0 on R, det H(s) > 0 on R, and p = (1, 0) "
                                      f"gives {float(ginf):.6g} ≥ g* = {float(g_star):.6g}")
