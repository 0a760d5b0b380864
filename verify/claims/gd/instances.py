"""Instances of the gd family: typed prompts and how they are drawn.

Every sampler takes a :class:`~transformer_proofs.verify.draws.Draw`, so the
same code yields dyadic rationals (float64, mpmath, rational, ball checks),
uniform prime-field elements or free symbols."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Rational
from transformer_proofs.verify.algorithms import gradient_descent as algorithms
from transformer_proofs.verify.draws import Draw
from transformer_proofs.verify.prompts import RegressionPrompt, columns, draw_regression

STEP_HI = Fraction(1, 4)  # step sizes drawn in (0, 1/4]: keeps float64 iterates bounded


@dataclass
class VonOswaldInstance(RegressionPrompt):
    """A prompt, L step sizes and the start W_0 (the query enters as (x_q, -W_0 x_q))."""

    etas: list[Any]
    W_0: np.ndarray  # (d,)


@dataclass
class GDPlusPlusInstance(VonOswaldInstance):
    gamma: Any  # the x-block step of GD++


@dataclass
class PreconditionedInstance(RegressionPrompt):
    As: list[np.ndarray]  # one (d, d) preconditioner per layer


@dataclass
class RidgeInstance(RegressionPrompt):
    etas: list[Any]
    lam: Any
    w_0: np.ndarray  # (d,)
    offset: Fraction  # B: the score offset that keeps the query out of the sums


def draw_von_oswald(draw: Draw, sizes: dict[str, int]) -> VonOswaldInstance:
    """L = sizes.get("L", 1) steps from a drawn W_0 (Prop. 1 starts anywhere)."""
    d, n, L = sizes["d"], sizes["n"], sizes.get("L", 1)
    base = draw_regression(draw, d, n)
    return VonOswaldInstance(**base, etas=[draw.step(STEP_HI) for _ in range(L)], W_0=draw.real((d,)))


def draw_gd_plus_plus(draw: Draw, sizes: dict[str, int]) -> GDPlusPlusInstance:
    inst = draw_von_oswald(draw, {**sizes, "L": 1})
    return GDPlusPlusInstance(**vars(inst), gamma=draw.step(Fraction(1, 8)))


def draw_preconditioned(draw: Draw, sizes: dict[str, int], symmetric: bool = False) -> PreconditionedInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    base = draw_regression(draw, d, n)
    As = []
    for _ in range(L):
        A = draw.real((d, d), scale=0.25)
        As.append(np.triu(A) + np.triu(A, 1).T if symmetric else A)
    return PreconditionedInstance(**base, As=As)


def draw_ridge(draw: Draw, sizes: dict[str, int]) -> RidgeInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    base = draw_regression(draw, d, n)
    etas = [draw.step(STEP_HI) for _ in range(L)]
    lam, w_0 = draw.step(Fraction(1, 2)), draw.real((d,))
    inst = RidgeInstance(**base, etas=etas, lam=lam, w_0=w_0, offset=Fraction(1))
    inst.offset = ridge_offset(draw, inst)
    return inst


def ridge_offset(draw: Draw, inst: RidgeInstance) -> Fraction:
    """B = the least power of two above max_ℓ |<w_ℓ, x_q>| (computed exactly at
    the instance's numeric values): the offset that keeps the query out of the sum."""
    ar = Rational()
    val = lambda a: np.vectorize(draw.value, otypes=[object])(np.asarray(a, dtype=object))
    num = RegressionPrompt(inst.d, inst.n, val(inst.X), val(inst.y), val(inst.x_q))
    X, y, x_q = columns(ar, num)
    etas = [ar.const(draw.value(e)) for e in inst.etas]
    ws = algorithms.ridge_gradient_descent(ar, X, y, etas, ar.const(draw.value(inst.lam)),
                                           ar.array(val(inst.w_0).reshape(-1, 1)))
    bound = max(abs(Fraction(int(v.p), int(v.q))) for w in ws for v in ar.matmul(ar.T(x_q), w).ravel())
    B = Fraction(1)
    while B <= bound:
        B *= 2
    return B
