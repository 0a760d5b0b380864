"""Instances of the lasso family: typed prompts and how they are drawn."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Rational
from transformer_proofs.verify.algorithms import lasso as algorithms
from transformer_proofs.verify.draws import Draw
from transformer_proofs.verify.prompts import RegressionPrompt, columns, draw_regression

STEP_HI = Fraction(1, 4)  # step sizes in (0, 1/4]
LAMBDA_HI = Fraction(1, 2)  # λ in (0, 1/2]: thresholds ηλ <= 1/8 cut some coordinates, not all


@dataclass
class ISTAInstance(RegressionPrompt):
    """A prompt, L step sizes, λ, the start w_0 and the score offset B."""

    etas: list[Any]
    lam: Any
    w_0: np.ndarray  # (d,)
    offset: Fraction  # B > max_ℓ |<w_ℓ, x_q>|: keeps the query out of the gradient sums


@dataclass
class Theorem10Instance(RegressionPrompt):
    """Theorem 10's setting, all exact: β >= λ_max(XᵀX/n) (a power of two, so
    η = 1/β is dyadic), B_w² = 4 ||w_lasso||², ε, and T = ⌈β B_w² / ε⌉ steps."""

    lam: Fraction
    beta: Fraction
    w_star: list[Fraction]  # a minimiser of L_lasso (exact, by KKT)
    eps: Fraction
    T: int
    offset: Fraction


def _values(draw: Draw, a: Any) -> np.ndarray:
    return np.vectorize(draw.value, otypes=[object])(np.asarray(a, dtype=object))


def _ista_values(draw: Draw, inst: RegressionPrompt, etas: list[Any], lam: Any,
                 w_0: Any) -> tuple[list[Any], list[Any]]:
    """<w_ℓ, x_q> and the ISTA iterates w_ℓ at the instance's numeric values (the sample
    point, for symbols), exactly."""
    ar = Rational()
    num = RegressionPrompt(inst.d, inst.n, _values(draw, inst.X), _values(draw, inst.y), _values(draw, inst.x_q))
    X, y, x_q = columns(ar, num)
    ws = algorithms.ista(ar, X, y, [ar.const(draw.value(e)) for e in etas], ar.const(draw.value(lam)),
                         ar.array(_values(draw, w_0).reshape(-1, 1)))
    return [ar.matmul(ar.T(x_q), w).ravel()[0] for w in ws], ws


def ista_offset(draw: Draw, inst: RegressionPrompt, etas: list[Any], lam: Any, w_0: Any) -> Fraction:
    """B = the least power of two above max_ℓ |<w_ℓ, x_q>| over the ISTA
    iterates, computed exactly at the instance's numeric values (the sample
    point, for symbols)."""
    values, _ = _ista_values(draw, inst, etas, lam, w_0)
    bound = max(abs(Fraction(int(v.p), int(v.q))) for v in values)
    B = Fraction(1)
    while B <= bound:
        B *= 2
    return B


REDRAWS = 50


def draw_ista(draw: Draw, sizes: dict[str, int]) -> ISTAInstance:
    """L steps from a drawn w_0 (the identity holds from any start; the paper starts at 0).
    Degenerate draws are redrawn (up to REDRAWS times): an instance with an iterate
    w_ℓ = 0 (ℓ >= 1: every coordinate in the threshold's dead zone) forgets everything
    before it, and a mutant of the earlier layers could hide behind it.  Iterates with
    some coordinates in the dead zone are kept (d >= 2 draws exercise that cell)."""
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    for _ in range(REDRAWS):
        base = draw_regression(draw, d, n)
        etas = [draw.step(STEP_HI) for _ in range(L)]
        lam, w_0 = draw.step(LAMBDA_HI), draw.real((d,))
        inst = ISTAInstance(**base, etas=etas, lam=lam, w_0=w_0, offset=Fraction(1))
        _, ws = _ista_values(draw, inst, etas, lam, w_0)
        if all(any(v != 0 for v in w.ravel()) for w in ws[1:]):
            inst.offset = ista_offset(draw, inst, etas, lam, w_0)
            return inst
    raise ValueError(f"every one of {REDRAWS} draws at {sizes} ends at w_L = 0")


def _power_of_two_above(x: Fraction) -> Fraction:
    B = Fraction(1, 2**20)
    while B < x:
        B *= 2
    return B


def _loss(X: list, y: list, lam: Fraction, w: list) -> Fraction:
    """L_lasso(w) = (1/2n) Σ (<w, x_i> - y_i)² + λ ||w||_1 in Fractions."""
    n, d = len(X), len(w)
    return sum((sum(X[i][a] * w[a] for a in range(d)) - y[i]) ** 2 for i in range(n)) / (2 * n) + lam * sum(map(abs, w))


T_MAX = 48  # redraw instances whose T exceeds this (stated rule: keeps the exact run short)


def draw_theorem_10(draw: Draw, sizes: dict[str, int]) -> Theorem10Instance:
    """X, y, x_q dyadic; λ in (0, 1/2], halved until w_lasso != 0 (else the gap is 0 at w_0 = 0);
    β = the least power of two >= the Gershgorin bound max_a Σ_b |(XᵀX/n)_ab| >= λ_max;
    ε = (3/4)(L(0) - L(w_lasso)), so that doing nothing misses ε; T = ⌈β B_w²/ε⌉ with B_w² = 4||w_lasso||².
    An instance with T > T_MAX is redrawn (up to REDRAWS times)."""
    d, n = sizes["d"], sizes["n"]
    for _ in range(REDRAWS):
        base = draw_regression(draw, d, n)
        X = [[draw.value(v) for v in row] for row in base["X"]]
        y = [draw.value(v) for v in base["y"]]
        lam = draw.value(draw.step(LAMBDA_HI))
        w_star = algorithms.exact_lasso(np.asarray(X, dtype=object), np.asarray(y, dtype=object), lam)
        while all(v == 0 for v in w_star):
            lam /= 2
            w_star = algorithms.exact_lasso(np.asarray(X, dtype=object), np.asarray(y, dtype=object), lam)
        G = [[sum(X[i][a] * X[i][b] for i in range(n)) / n for b in range(d)] for a in range(d)]
        beta = _power_of_two_above(max(sum(abs(v) for v in row) for row in G))
        eps = Fraction(3, 4) * (_loss(X, y, lam, [Fraction(0)] * d) - _loss(X, y, lam, w_star))
        B_w_sq = 4 * sum(v * v for v in w_star)
        T = -(-(beta * B_w_sq) // eps)  # ceiling
        if T <= T_MAX:
            inst = Theorem10Instance(**base, lam=lam, beta=beta, w_star=w_star, eps=eps, T=int(T),
                                     offset=Fraction(1))
            inst.offset = ista_offset(draw, inst, [1 / beta] * inst.T, lam, np.zeros(d, dtype=object))
            return inst
    raise ValueError(f"no instance with T <= {T_MAX} in {REDRAWS} draws at {sizes}")
