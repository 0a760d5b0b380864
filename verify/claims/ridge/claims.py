"""Family ``ridge``: Akyürek et al. (2023), arXiv:2211.15661, Theorem 2 / App. B.

- ``ridge.sherman_morrison``: a transformer of 1 + 5n + 2 layers (one group of
  five per example) leaves (λI + XᵀX)⁻¹, the ridge solution w and the
  prediction <w, x_q> in the query token, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.ridge import (
    ResidualLayer,
    SGDLayout,
    example_group,
    ridge_tokens,
    run,
    run_layers,
    sgd_chain,
    sgd_tokens,
    sherman_morrison_transformer,
)
from transformer_proofs.verify.algorithms import ridge as algorithms
from transformer_proofs.verify.checkers import spec_checks, spec_falsifiers
from transformer_proofs.verify.claims.ridge.papers import AKYUREK
from transformer_proofs.verify.draws import Draw
from transformer_proofs.verify.prompts import RegressionPrompt, columns, draw_regression
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Claim, ClaimSpec, Mutant, Provenance


@dataclass
class RidgeInstance(RegressionPrompt):
    lam: Any  # λ > 0 (any nonzero element in GF(p))


def draw_ridge(draw: Draw, sizes: dict[str, int]) -> RidgeInstance:
    return RidgeInstance(**draw_regression(draw, sizes["d"], sizes["n"]), lam=draw.step(1))


def build(inst: RidgeInstance) -> Any:
    return sherman_morrison_transformer(inst.d, inst.n, inst.lam)


def query_readout(ar: Arithmetic, model: Any, inst: RidgeInstance) -> Any:
    """The query token's [vec(A⁻¹) (row-major); w; <w, x_q>] after the forward pass."""
    L = model.layout
    final = run(ar, model, ar.array(ridge_tokens(inst.d, inst.n, inst.X, inst.y, inst.x_q)))
    rows = L.rows["Ainv"] + L.rows["w"] + L.rows["pred"]
    return final[rows[0]:rows[-1] + 1, L.N - 1:L.N][[r - rows[0] for r in rows]]


def closed_form_reference(ar: Arithmetic, inst: RidgeInstance) -> Any:
    X, y, x_q = columns(ar, inst)
    A_inv, w = algorithms.ridge_closed_form(ar, X, y, ar.const(inst.lam))
    return ar.concat([A_inv.reshape(-1, 1), w, ar.matmul(ar.T(x_q), w)], axis=0)


def _layers(m: Any, layers: Any) -> Any:
    return replace(m, layers=tuple(layers))


SPEC: ClaimSpec[RidgeInstance] = ClaimSpec(
    draw=draw_ridge, build=build, run=query_readout, reference=closed_form_reference,
    sizes={"float64": [{"d": 1, "n": 1}, {"d": 2, "n": 2}], "mpmath": [{"d": 1, "n": 1}],
           "rational": [{"d": 1, "n": 2}, {"d": 2, "n": 3}], "prime-field": [{"d": 2, "n": 2}],
           "symbolic": [{"d": 1, "n": 1}]},
    degree=lambda s: 8 * (s["n"] + 1) * (s["d"] + 1), counts={"float64": 3, "rational": 2},
    mutants=(
        Mutant("Sherman–Morrison sign flipped", "A⁻¹ + uuᵀ/(1 + xᵀA⁻¹x)",
               lambda m, i: _layers(m, list(m.layers[:1]) + [
                   layer for k in range(1, i.n + 1) for layer in example_group(m.layout, k, sign=1)]
                   + list(m.layers[-2:]))),
        Mutant("division dropped", "the pivot head unnormalised: A⁻¹ += uuᵀ s - uuᵀ instead of -uuᵀ/(1 + s)",
               lambda m, i: _layers(m, [replace(l, heads=tuple(replace(h, normalise=False) for h in l.heads))
                                        for l in m.layers])),
        Mutant("λ not inverted", "A_0⁻¹ = λI instead of I/λ",
               lambda m, i: sherman_morrison_transformer(i.d, i.n, 1 / i.lam)),
        Mutant("one example skipped", "examples 1 … n-1 folded in: an off-by-one over the context",
               lambda m, i: sherman_morrison_transformer(i.d, i.n, i.lam, examples=list(range(1, i.n)))),
        Mutant("query read as an example", "the last group reads the query token instead of example n",
               lambda m, i: sherman_morrison_transformer(i.d, i.n, i.lam, examples=list(range(2, i.n + 2)))),
    ))


register(Claim(
    id="ridge.sherman_morrison", paper=AKYUREK, kind="identity",
    statement=("A transformer of 1 + 5n + 2 layers (A_0⁻¹ = I/λ; per example: read x_i, y_i; u = A⁻¹x_i; "
               "s = x_iᵀu and b += y_i x_i; uuᵀ; A⁻¹ -= uuᵀ/(1 + s); then w = A⁻¹b and <w, x_q>) leaves "
               "(λI + XᵀX)⁻¹, the ridge solution w = (λI + XᵀX)⁻¹Xᵀy and its prediction in the query token."),
    checks=spec_checks(SPEC), falsifiers=spec_falsifiers(SPEC),
    provenance=Provenance(
        "printed", "§3.3 (Sherman–Morrison, Theorem 2) and App. B (the chain of mov, mul, aff, div primitives)",
        quote=("one can exploit the Sherman–Morrison formula … to reduce the inverse to a sequence of rank-one updates "
               "performed example-by-example … Theorem 2. A transformer can predict according to a single "
               "Sherman–Morrison update … with constant layers and O(d²) hidden space … generalizing it to multiple "
               "iterations will at least require O(n) layers, as we repeat the process for the next examplar"),
        read_in="the paper's full text (its display equations, (13)-(14) and the primitives' weights, were lost)",
        note=("printed: the algorithm, A_0⁻¹ = I/λ, the order of the chain (u = A_0⁻¹x, v = xᵀA_0⁻¹, uv, 1 + vu, div, "
              "A_1⁻¹, A_1⁻¹x y) and the O(d²) width; ours: every weight (linear-attention heads with explicit masks "
              "for the products and a normalised two-key head for the division), the layer grouping and the "
              "multi-example stacking, the comparison with the closed form")),
    trust=("exact: rationals and GF(2^61−1) (Schwartz–Zippel; a zero pivot in GF(p) would raise, probability <= "
           "degree/p), symbolic for the sizes shown",
           "the weights are ours (the paper's primitive weights were lost); the algorithm and the sizes are printed"),
    notes=("Compared with the closed form (λI + XᵀX)⁻¹Xᵀy computed by Gauss–Jordan elimination, not with the "
           "recurrence: the whole inverse, w and the prediction.  Divisions are by the Sherman–Morrison pivots "
           "1 + xᵀA⁻¹x (>= 1 over the reals)."),
))


# ---------------------------------------------------------------------------
# Theorem 1 / App. A: one SGD step on the ridge loss
# ---------------------------------------------------------------------------


@dataclass
class SGDInstance:
    """One in-context example (x_1, y_1), the test input x_2, the weights w baked into the
    transformer, the step α and λ."""

    d: int
    x1: np.ndarray
    y1: Any
    x2: np.ndarray
    w: np.ndarray
    alpha: Any
    lam: Any


def draw_sgd(draw: Draw, sizes: dict[str, int], lam_zero: bool = False) -> SGDInstance:
    d = sizes["d"]
    return SGDInstance(d, draw.real((d,)), draw.real(()), draw.real((d,)), draw.real((d,)),
                       draw.step(Fraction(1, 4)), 0 if lam_zero else draw.step(Fraction(1, 2)))


@dataclass(frozen=True)
class SGDChain:
    layout: SGDLayout
    layers: tuple[ResidualLayer, ...]


def build_sgd(inst: SGDInstance, **kw: Any) -> SGDChain:
    return SGDChain(*sgd_chain(inst.d, list(inst.w), inst.alpha, inst.lam, **kw))


def run_sgd(ar: Arithmetic, model: SGDChain, inst: SGDInstance) -> Any:
    """The prediction: row 3+3d of the third token (App. A: "the last hidden unit of the third time-step")."""
    final = run_layers(ar, model.layers, ar.array(sgd_tokens(inst.d, inst.x1, inst.y1, inst.x2)))
    g0 = model.layout.block("g")[0]
    return final[g0:g0 + 1, 2:3]


def sgd_reference(ar: Arithmetic, inst: SGDInstance) -> Any:
    """w'ᵀx_2 with w' = w - 2α(x_1(wᵀx_1 - y_1) + λw) (the ridge SGD step, §4.3 and App. A)."""
    x1, x2, w = (ar.array(np.asarray(v, dtype=object).reshape(-1, 1)) for v in (inst.x1, inst.x2, inst.w))
    y1 = ar.array(np.array([[inst.y1]], dtype=object))
    grad = x1 * (ar.matmul(ar.T(w), x1) - y1) + w * ar.const(inst.lam)
    w_new = w - grad * ar.const(inst.alpha) * ar.const(2)
    return ar.matmul(ar.T(w_new), x2)


SGD_SPEC: ClaimSpec[SGDInstance] = ClaimSpec(
    draw=draw_sgd, build=build_sgd, run=run_sgd, reference=sgd_reference,
    sizes={"float64": [{"d": 1}, {"d": 3}], "rational": [{"d": 1}, {"d": 3}], "mpmath": [{"d": 2}],
           "prime-field": [{"d": 4}], "symbolic": [{"d": 2}]},
    degree=lambda s: 5, counts={"float64": 4},
    mutants=(
        Mutant("printed λ sign", "step 6 with W2 = -λ, as App. A prints it: w - 2α(x(wᵀx - y) - λw)",
               lambda m, i: build_sgd(i, lam_coefficient=-1)),
        Mutant("step without its 2", "step 7 with W2 = -α: w - α(...)", lambda m, i: build_sgd(i, step_coefficient=1)),
        Mutant("w' moved from the wrong token", "step 8 copies from the first token (x̃_1), not from ỹ_1",
               lambda m, i: build_sgd(i, move_from=0)),
    ))

register(Claim(
    id="ridge.sgd_step", paper=replace(AKYUREK, where="Theorem 1 (App. A), λ sign corrected"), kind="identity",
    statement=("The nine-primitive chain of App. A (mov, aff, mul, with w in the weights), with step 6 read as "
               "x(wᵀx - y) + λw, predicts w'ᵀx_2 with w' = w - 2α(x_1(wᵀx_1 - y_1) + λw): one SGD step on the "
               "ridge loss from one in-context example, exactly."),
    checks=spec_checks(SGD_SPEC), falsifiers=spec_falsifiers(SGD_SPEC),
    provenance=Provenance(
        "ours", "Theorem 1 and App. A (the chain of primitives); the update in §4.3 and App. A",
        quote=("aff(; (3+d, 3+2d), (3+2d, 3+3d), (3+3d, 3+4d), W1 = I, W2 = −λ) (x(wᵀx − y) − λw) • aff(; (3+2d, "
               "3+3d), (3+3d, 3+4d), (3+2d, 3+3d), W1 = I, W2 = −2α) (w′) … w″ is the one step update "
               "w′ − 2α(x_2 w′ᵀx_2 − y_2 x_2 + λw"),
        read_in="the paper's full text (App. A's chain is in prose; the displays of Eq. (11)-(12) were lost)",
        note="our correction of the printed chain (W2 = +λ in step 6); the primitives' weights are ours"),
    trust=("exact: rationals and GF(2^61−1) (Schwartz–Zippel), symbolic for the sizes shown",
                              "the primitives' weights are ours (Lemma 1's displays were lost); the chain is printed"),
    notes="Tokens [x̃_1, ỹ_1, x̃_2] with x̃ = [0; x], ỹ = [y; 0] (§2.3), plus our position one-hot and constant 1."))
