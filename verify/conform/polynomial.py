"""Exact polynomial form of linear attention, decomposed into an algorithm's terms.

A linear-attention layer (key mask = the n context tokens, scale s, heads h)
changes token j by

    Δz_j[o] = Σ_i Σ_{a,b,c} C[o, a, b, c] z_i,a z_i,b z_j,c,
    C[o, a, b, c] = s Σ_h (W_O W_V)_h[o, a] (W_Kᵀ W_Q)_h[b, c],

a polynomial in the prompt whose coefficients are read off the weights
exactly (rationals in, rationals out).  Since z_i,a z_i,b is one monomial,
only the symmetrisation of C over (a, b) is a function of the model; we keep
coefficients per monomial (o, a ≤ b, c).  A one-layer model's prediction
ŷ = rᵀ(z_q + Δz_q) on prompts whose query label is 0 is the polynomial
Σ_c r[x_c] x_q,c + Σ_i Σ_{a≤b, c<d} P[a, b, c] z_i,a z_i,b x_q,c.

:func:`decompose` fits the family's parameters by exact least squares on
those coefficients and returns the residual: zero exactly when the model is
the algorithm."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

Poly = dict[tuple[int, ...], Fraction]  # monomial key -> coefficient


def layer_tensor(heads: Sequence[dict[str, np.ndarray]], scale: Any) -> np.ndarray:
    """C[o, a, b, c] (object array of Fractions) of one linear-attention layer;
    ``heads`` hold exact W_Q (dh, D), W_K (dh, D), W_V (dv, D), W_O (D, dv)."""
    s = Fraction(1) if scale is None else Fraction(scale)
    C = None
    for h in heads:
        OV = np.dot(h["W_O"], h["W_V"])  # (D, D)
        KQ = np.dot(h["W_K"].T, h["W_Q"])  # (D, D)
        T = np.multiply.outer(OV, KQ) * s
        C = T if C is None else C + T
    return C


def tensor_poly(C: np.ndarray) -> Poly:
    """Coefficients per monomial (o, a <= b, c) of Δz[o] = Σ C[o,a,b,c] z_a z_b z'_c."""
    D = C.shape[0]
    out: Poly = {}
    for o in range(D):
        for a in range(D):
            for b in range(a, D):
                for c in range(C.shape[3]):
                    v = C[o, a, b, c] + (C[o, b, a, c] if a != b else 0)
                    if v != 0:
                        out[(o, a, b, c)] = Fraction(v)
    return out


def prediction_poly(C: np.ndarray, readout: Sequence[Any], d: int) -> Poly:
    """One layer's prediction on prompts with query label 0: monomials (a, b, c)
    for z_i,a z_i,b x_q,c and (-1, -1, c) for the linear term x_q,c."""
    r = [Fraction(v) for v in readout]
    out: Poly = {}
    for c in range(d):
        if r[c] != 0:
            out[(-1, -1, c)] = r[c]
    P = sum(r[o] * C[o] for o in range(len(r)) if r[o] != 0) if any(r) else None
    if P is None:
        return out
    D = C.shape[0]
    for a in range(D):
        for b in range(a, D):
            for c in range(d):  # the query label (c = d) is 0 on these prompts
                v = P[a, b, c] + (P[b, a, c] if a != b else 0)
                if v != 0:
                    out[(a, b, c)] = Fraction(v)
    return out


def _dot(p: Poly, q: Poly) -> Fraction:
    return sum((v * q[k] for k, v in p.items() if k in q), Fraction(0))


def _sub(p: Poly, q: Poly, t: Fraction = Fraction(1)) -> Poly:
    out = dict(p)
    for k, v in q.items():
        w = out.get(k, Fraction(0)) - t * v
        if w:
            out[k] = w
        else:
            out.pop(k, None)
    return out


def norm(p: Poly) -> float:
    return float(sum(v * v for v in p.values())) ** 0.5


@dataclass
class Decomposition:
    """model = Σ_p θ_p · term_p + residual, exactly."""

    theta: list[Fraction]
    names: list[str]
    algorithm: Poly  # Σ θ_p term_p
    residual: Poly

    @property
    def exact_zero(self) -> bool:
        return not self.residual

    @property
    def relative(self) -> float:
        a = norm(self.algorithm)
        return norm(self.residual) / a if a > 0 else (0.0 if not self.residual else float("inf"))


def decompose(model: Poly, terms: Sequence[tuple[str, Poly]]) -> Decomposition:
    """Exact least squares of ``model`` on ``terms`` (which must have disjoint
    supports, as the families' do: the normal equations are then diagonal)."""
    keys = [set(t) for _, t in terms]
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if keys[i] & keys[j]:
                raise ValueError(f"terms {terms[i][0]} and {terms[j][0]} overlap: not a diagonal least squares")
    theta = []
    alg: Poly = {}
    for _, t in terms:
        tt = _dot(t, t)
        th = _dot(model, t) / tt if tt else Fraction(0)
        theta.append(th)
        for k, v in t.items():
            alg[k] = alg.get(k, Fraction(0)) + th * v
    alg = {k: v for k, v in alg.items() if v}
    return Decomposition(theta, [n for n, _ in terms], alg, _sub(model, alg))


def name_monomial(key: tuple[int, ...], coords: Sequence[str], query: bool = True) -> str:
    """'y_i·x:0_i·x:1_q' style names (i: a context token, q/j: the query / the updated token)."""
    tail = "q" if query else "j"
    if len(key) == 4:  # layer monomial (o, a, b, c)
        o, a, b, c = key
        return f"Δ{coords[o]}_j ∋ {coords[a]}_i·{coords[b]}_i·{coords[c]}_j"
    a, b, c = key
    if a < 0:
        return f"{coords[c]}_{tail}"
    return f"{coords[a]}_i·{coords[b]}_i·{coords[c]}_{tail}"


def top_terms(p: Poly, coords: Sequence[str], k: int = 6, query: bool = True) -> list[tuple[str, str, float]]:
    """The k largest coefficients: (monomial, exact value, float)."""
    items = sorted(p.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:k]
    return [(name_monomial(key, coords, query), str(v) if v.denominator < 10**6 else f"{float(v):.6g}", float(v))
            for key, v in items]
