"""Statements shown false: our corrections, and a condition shown needed.

The family has no printed erratum.  Our earlier erratum
``energy.hopfield_bound_printed`` ("0 ≤ E ≤ 2M² for every ξ") was against our
own reading: Ramsauer et al.'s Lemma A1 (App. A.1.2) states the upper bound
for ξ in the simplex of the patterns, and the counterexample lies outside it.
It is now a :class:`~transformer_proofs.verify.spec.Correction` of ours on
``energy.hopfield``, whose check confirms the counterexample to the earlier
reading (status ``holds``: the claim it belongs to is the corrected one).

``FF_CONDITION_NEEDED``: the feed-forward descent fails just outside Yang et
al.'s spectral condition (λ_min(W) < −1), found and decided exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterator

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.energy import feedforward_stack
from transformer_proofs.constructions.engine import forward
from transformer_proofs.verify.algorithms import energy as alg
from transformer_proofs.verify.checkers import counterexample_search
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.relations import BOUND, INEQUALITY
from transformer_proofs.verify.spec import ClaimSpec

from .helpers import fractions, scalar, tagged, violation_check
from .instances import FeedForward, Hopfield, bound_candidates, draw_feedforward, draw_hopfield

# ---------------------------------------------------------------------------
# our earlier reading of the Hopfield bound: E ≤ 2M² for every ξ
# ---------------------------------------------------------------------------


def _energy(ar: Arithmetic, model: Any, inst: Hopfield) -> Any:
    return scalar(alg.hopfield_energy(ar, inst.X, inst.beta, ar.array(inst.xi)))


def _two_M_sq(ar: Arithmetic, inst: Hopfield) -> Any:
    return scalar(ar.const(4 * alg.hopfield_half_M_sq(inst.X)))


EARLIER_READING = ClaimSpec(  # E(ξ) ≤ 2M² for every ξ: the earlier, unconditional reading
    draw=draw_hopfield, build=lambda i: None, run=_energy, reference=_two_M_sq, relation=BOUND,
    sizes={"ball": [{"d": 1, "N": 1}]}, modes=("ball",))


def _describe_bound(inst: Hopfield, lhs: Any, rhs: Any) -> str:
    xi = Fraction(inst.xi[0])
    exact = -xi + xi * xi / 2 + Fraction(1, 2)  # N = 1, x_1 = 1, β = 1: lse(β, ξ) = ξ, log N = 0
    return (f"d = N = 1, x_1 = 1 (M = 1), β = 1, ξ = {xi}: E(ξ) = −ξ + ½ξ² + ½ = {exact} > 2M² = 2 "
            f"(arb at 2048 bits: E ∈ {lhs[0].str(10)}); ξ is outside the simplex of the patterns, {{x_1}}, "
            "where Lemma A1 states the bound")


BOUND_CORRECTION_KEY = "ball (earlier reading)"
BOUND_CORRECTION_CHECK = tagged(
    {"ball": counterexample_search(bound_candidates, EARLIER_READING, _describe_bound, mode="ball",
                                   budget="ξ = 0, ±1, ±2, … at d = N = 1, x_1 = 1, β = 1", correction=True)},
    "earlier reading")[BOUND_CORRECTION_KEY]


# ---------------------------------------------------------------------------
# the feed-forward descent needs λ_min(W) ≥ −1
# ---------------------------------------------------------------------------


def _ff_after(ar: Arithmetic, model: Any, inst: FeedForward) -> Any:
    out = forward(ar, model, ar.array(inst.Y))  # the layer ReLU(Wy + b), built without its condition check
    return fractions(scalar(alg.feedforward_energy(ar, inst.W, inst.b, out)))


def _ff_before(ar: Arithmetic, inst: FeedForward) -> Any:
    return fractions(scalar(alg.feedforward_energy(ar, inst.W, inst.b, ar.array(inst.Y))))


OUTSIDE_CONDITION = ClaimSpec(
    draw=draw_feedforward, build=lambda i: feedforward_stack(i.W, i.b, 1, enforce=False),
    run=_ff_after, reference=_ff_before, relation=INEQUALITY, sizes={"rational": [{"d": 1}]}, modes=("rational",))

FF_SEARCH_BUDGET = 400


def _outside_candidates() -> Iterator[FeedForward]:
    """W with every eigenvalue k/64 in [−3, −1) (outside the condition), d = 1, 2, 3 in turn, a fixed stream."""
    draw = DyadicDraw(np.random.default_rng([7, 1, 0]))
    for k in range(FF_SEARCH_BUDGET):
        yield draw_feedforward(draw, {"d": 1 + k % 3, "lo": -192, "hi": -65})


def _describe_ff(inst: FeedForward, lhs: Any, rhs: Any) -> str:
    return (f"d = {inst.d}, eigenvalues of W = {', '.join(str(v) for v in inst.lams)} (below −1), "
            f"f(ReLU(Wy + b)) = {lhs[0]} > f(y) = {rhs[0]}, exactly")


FF_CONDITION_NEEDED = tagged(
    {"rational": violation_check(_outside_candidates, OUTSIDE_CONDITION, _describe_ff,
                                 "outside the spectral condition (λ_min(W) < −1) the layer raises f",
                                 budget=f"up to {FF_SEARCH_BUDGET} draws with λ(W) in [−3, −1)")},
    "condition needed")["rational (condition needed)"]
