"""Family ``lasso``: Bai, Chen, Wang, Xiong, Mei (2023), arXiv:2306.04637.

- ``lasso.ista_layers``: L transformer layers (ReLU attention + MLP) are L
  ISTA steps w <- S_{ηλ}(w - η∇f(w)), and a last layer predicts <w_L, x_q>
  (Theorem C.1 with Proposition C.1; exact identity).
- ``lasso.theorem_10``: with η = 1/β, β >= λ_max(XᵀX/n), ||w_lasso|| <= B_w/2
  and T = ⌈β B_w²/ε⌉ steps, the transformer's w satisfies
  L_lasso(w) - L_lasso(w_lasso) <= ε (Theorem 10; exact bound, the minimiser
  computed exactly by its KKT conditions).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import MLP, Attention, Readout, forward
from transformer_proofs.constructions.gradient_descent import ridge_prompt
from transformer_proofs.constructions.lasso import ista_transformer, soft_threshold_mlp
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import lasso as algorithms
from transformer_proofs.verify.checkers import spec_checks, spec_falsifiers
from transformer_proofs.verify.claims.lasso.instances import (
    ISTAInstance,
    Theorem10Instance,
    draw_ista,
    draw_theorem_10,
)
from transformer_proofs.verify.claims.lasso.papers import BAI
from transformer_proofs.verify.prompts import columns
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.relations import BOUND
from transformer_proofs.verify.spec import (
    Claim,
    ClaimSpec,
    Mutant,
    Provenance,
    stack_state_prediction,
    state_and_prediction,
)

NO_PRIME_FIELD = "ReLU (the soft threshold, the query's exclusion) needs an ordered field; GF(p) has no order"

# ---------------------------------------------------------------------------
# lasso.ista_layers
# ---------------------------------------------------------------------------


def build_ista(inst: ISTAInstance, lam: Any = None, offset: Any = None) -> Any:
    return ista_transformer(inst.d, inst.n, inst.etas, inst.lam if lam is None else lam,
                            inst.offset if offset is None else offset)


def ista_prompt(ar: Arithmetic, inst: ISTAInstance) -> Any:
    return ar.array(ridge_prompt(inst.X, inst.y, inst.x_q, inst.w_0))


def ista_reference(ar: Arithmetic, inst: ISTAInstance) -> Any:
    """Every token's w slot holds w_L (the L-th ISTA iterate), every label slot
    y_j + <w_L, x_j> (the query's: the prediction <w_L, x_q>), and the read-out
    is <w_L, x_q>."""
    X, y, x_q = columns(ar, inst)
    w_L = algorithms.ista(ar, X, y, [ar.const(e) for e in inst.etas], ar.const(inst.lam),
                          ar.array(np.asarray(inst.w_0).reshape(-1, 1)))[-1]
    Z0 = ista_prompt(ar, inst)
    d, N = inst.d, inst.n + 1
    ones = ar.array(np.ones((1, N), dtype=int))
    tokens = ar.concat([ar.T(X), x_q], axis=1)  # (d, N)
    labels = Z0[d:d + 1] + ar.matmul(ar.T(w_L), tokens)  # (1, N)
    state = ar.concat([Z0[:d], labels, ar.matmul(w_L, ones), Z0[2 * d + 1:]], axis=0)
    return stack_state_prediction(ar, state, ar.matmul(ar.T(x_q), w_L))


def _mlps(m: Any, fn: Any) -> Any:
    return m.with_layers([fn(layer) if isinstance(layer, MLP) else layer for layer in m.layers])


def _residual_kept(m: Any, inst: ISTAInstance) -> Any:
    """Only the 2d threshold units read out: the w slot becomes w + S(w)."""
    def cut(layer: MLP) -> MLP:
        W_out = np.array(layer.W_out, dtype=object)
        for r in range(inst.d):
            W_out[:, 4 * r + 2:4 * r + 4] = 0
        return replace(layer, W_out=W_out)
    return _mlps(m, cut)


def _threshold_without_eta(m: Any, inst: ISTAInstance) -> Any:
    mlps = iter([soft_threshold_mlp(inst.d, inst.lam) for _ in inst.etas])
    return _mlps(m, lambda layer: next(mlps))


def _one_step_fewer(m: Any, inst: ISTAInstance) -> Any:
    return m.with_layers(m.layers[:-3] + m.layers[-1:])


def _prox_before_gradient(m: Any, inst: ISTAInstance) -> Any:
    body = list(m.layers[:-1])
    swapped = [body[k + 1 - (k % 2) * 2] for k in range(len(body))]  # (A, M) pairs -> (M, A)
    return m.with_layers(swapped + [m.layers[-1]])


def _gradient_heads(m: Any, fn: Any) -> Any:
    return m.with_layers([fn(layer) if isinstance(layer, Attention) and k < len(m.layers) - 1 else layer
                          for k, layer in enumerate(m.layers)])


def _readout_sign_flipped(m: Any, inst: Any) -> Any:
    return replace(m, readout=Readout(vector=-np.asarray(m.readout.vector, dtype=object), column=m.readout.column))


ISTA_SPEC: ClaimSpec[ISTAInstance] = ClaimSpec(
    draw=draw_ista, build=build_ista, prompt=ista_prompt, readout=state_and_prediction, reference=ista_reference,
    sizes={"float64": [{"d": 1, "n": 1, "L": 1}, {"d": 3, "n": 5, "L": 3}],
           "mpmath": [{"d": 1, "n": 2, "L": 2}],
           "rational": [{"d": 1, "n": 2, "L": 2}, {"d": 3, "n": 6, "L": 3}],
           "symbolic": [{"d": 1, "n": 1, "L": 2}]},
    modes=("float64", "mpmath", "rational", "symbolic"), counts={"float64": 4, "rational": 2},
    not_applicable={"prime-field": NO_PRIME_FIELD},
    mutants=(
        Mutant("threshold sign flipped", "the MLP computes S_{-ηλ}(w) = ReLU(w + ηλ) - ReLU(-w + ηλ)",
               lambda m, i: build_ista(i, lam=-i.lam)),
        Mutant("threshold without η", "the MLP thresholds at λ instead of ηλ", _threshold_without_eta),
        Mutant("residual not cancelled", "hidden dimension 2d: the MLP adds S(w) and keeps w (w + S(w))",
               _residual_kept),
        Mutant("1/(n+1) normalisation", "attention sums normalised by the n+1 tokens present",
               lambda m, i: mutants.rescale(m, Fraction(1, i.n + 1))),
        Mutant("query not excluded", "score offset B = 0: the query's ReLU score leaks into the gradient",
               lambda m, i: build_ista(i, offset=0)),
        Mutant("gradient sign flipped", "the gradient heads' values negated: w <- S(w + η∇f(w))",
               lambda m, i: _gradient_heads(m, lambda a: replace(a, heads=tuple(
                   replace(h, W_V=-np.asarray(h.W_V, dtype=object)) for h in a.heads)))),
        Mutant("one ISTA step fewer", "L - 1 attention + MLP pairs for L steps", _one_step_fewer),
        Mutant("prox before gradient", "each MLP placed before its attention layer: w <- S(w) - η∇f(S(w))",
               _prox_before_gradient),
        Mutant("read-out sign flipped", "the prediction read as minus the query's label slot", _readout_sign_flipped),
    ))

BAI_PROVENANCE = Provenance(
    "printed", "Theorem C.1 and Proposition C.1 (App. C.1); the Lasso instance in App. F.1 (proof of Theorem 10); "
               "attention Def. 1 (§2.1)",
    quote=("For R = λ‖·‖₁, prox_{ηR} is (0, +∞, 4d, 4 + 2ηλ)-approximable by MLP … Then there exists a transformer "
           "TF_θ with (L + 1) layers, max M^(ℓ) ≤ M heads within the first L layers, M^(L+1) = 2 … the ℓ-th layer's "
           "output approximates ℓ steps of (ICGD) [(ICPGD)]: h_i^(ℓ) = [x_i; y'_i; ŵ^ℓ; 0; 1; t_i]"),
    read_in="the paper's full text (its display equations, the weights among them, were lost in our copy)",
    note=("printed: the algorithm (proximal GD, the prox of λ‖·‖₁ exactly an MLP of hidden dimension 4d, T + 1 "
          "layers, 2 heads each for the square loss), the token layout.  Ours: the weights (the displays were lost): "
          "the gradient heads of gd.relu_attention_ridge with λ = 0, the MLP ReLU(±w - t) and ReLU(±w) with the "
          "residual cancelled, the read-out layer, the exact form of the loss (1/2n)‖Xw - y‖² + λ‖w‖₁"))

register(Claim(
    id="lasso.ista_layers", paper=replace(BAI, where="Theorem C.1 / Proposition C.1"), kind="identity",
    statement=("L transformer layers, each two ReLU attention heads (the gradient step, the query kept out by a score "
               "offset) and a ReLU MLP of hidden dimension 4d (the soft threshold S_{ηλ}(z) = ReLU(z - ηλ) - "
               "ReLU(-z - ηλ)), then a two-head prediction layer, leave the L-th ISTA iterate of "
               "w <- S_{η_ℓλ}(w - η_ℓ (1/n) Σ_i (<w, x_i> - y_i) x_i) in every token and predict <w_L, x_q>."),
    checks=spec_checks(ISTA_SPEC), falsifiers=spec_falsifiers(ISTA_SPEC),
    provenance=BAI_PROVENANCE,
    trust=("exact (rationals) and symbolic on the open ReLU sign cell of each drawn point",
           "no prime-field evidence: ReLU needs an order",
           "the weights are ours (the paper's weight displays were lost); the algorithm and the sizes are printed"),
    notes=("Exact for any step sizes, λ >= 0 and start w_0 (drawn, not 0), so the paper's 'exactly approximable' "
           "holds with zero error here.  The paper prints hidden dimension 4d for the prox MLP (Prop. C.1) but "
           "D' = 2d in the proof of Theorem 10 (App. F.1); with the residual stream, S_t(w) - w needs either the "
           "4d units used here or 2d + 1 (ReLU(w - t) - ReLU(w + t) + t, the t from a unit ReLU(1)); 2d units "
           "without a bias cannot (our remark, not an erratum: the displays were lost).  The whole final state "
           "is compared, not only the prediction.")))


# ---------------------------------------------------------------------------
# lasso.theorem_10: the optimisation error bound, exactly
# ---------------------------------------------------------------------------


def theorem_10_transformer(inst: Theorem10Instance) -> Any:
    eta = 1 / inst.beta
    return ista_transformer(inst.d, inst.n, [eta] * inst.T, inst.lam, inst.offset)


def theorem_10_gap(ar: Arithmetic, model: Any, inst: Theorem10Instance) -> Any:
    """L_lasso(ŵ) - L_lasso(w_lasso), ŵ read from the query token's w slot after the forward pass."""
    Z0 = ar.array(ridge_prompt(inst.X, inst.y, inst.x_q, np.zeros(inst.d, dtype=object)))
    final = forward(ar, model, Z0)
    w_hat = final[inst.d + 1:2 * inst.d + 1, inst.n:inst.n + 1]  # (d, 1)
    X, y, _ = columns(ar, inst)
    lam = ar.const(inst.lam)
    w_star = ar.array(np.asarray(inst.w_star, dtype=object).reshape(-1, 1))
    return algorithms.lasso_loss(ar, X, y, lam, w_hat) - algorithms.lasso_loss(ar, X, y, lam, w_star)


THEOREM_10_SPEC: ClaimSpec[Theorem10Instance] = ClaimSpec(
    draw=draw_theorem_10, build=theorem_10_transformer, run=theorem_10_gap,
    reference=lambda ar, inst: ar.array(np.array([[inst.eps]], dtype=object)),
    relation=BOUND,
    sizes={"rational": [{"d": 1, "n": 2}, {"d": 2, "n": 4}]},
    modes=("rational",), counts={"rational": 2},
    not_applicable={"prime-field": NO_PRIME_FIELD,
                    "symbolic": "the number of layers T = ⌈β B_w²/ε⌉ depends on the drawn values"},
    mutants=(
        Mutant("no ISTA layers", "the prediction layer alone: ŵ = w_0 = 0, whose gap is (4/3)ε",
               lambda m, i: m.with_layers(m.layers[-1:])),
        Mutant("gradient sign flipped", "the gradient heads' values negated: proximal gradient ascent",
               lambda m, i: _gradient_heads(m, lambda a: replace(a, heads=tuple(
                   replace(h, W_V=-np.asarray(h.W_V, dtype=object)) for h in a.heads)))),
    ))

register(Claim(
    id="lasso.theorem_10", paper=replace(BAI, where="Theorem 10 (proof App. F.1)"), kind="bound",
    relation=BOUND,
    statement=("With λ_max(XᵀX/n) <= β, ||w_lasso||_2 <= B_w/2 and T = ⌈β B_w²/ε⌉ proximal GD steps of size 1/β "
               "from 0, the (T+1)-layer transformer's ŵ satisfies L_lasso(ŵ) - L_lasso(w_lasso) <= ε."),
    checks=spec_checks(THEOREM_10_SPEC), falsifiers=spec_falsifiers(THEOREM_10_SPEC),
    provenance=Provenance(
        "printed", "Theorem 10 (§3.3) and its proof (App. F.1)",
        quote=("On any input data (D, x_{N+1}) such that λ_max(XᵀX/N) ≤ β and ‖w_lasso‖₂ ≤ B_w/2, TF_θ(H^(0)) "
               "approximately implements (ICLasso), in that it outputs ŷ_{N+1} = ⟨x_{N+1}, ŵ⟩ with "
               "L_lasso(ŵ) − L_lasso(w_lasso) ≤ ε … learning rate η := β⁻¹ … Plugging in ‖w_lasso‖₂ ≤ B_w/2 and "
               "T = L − 1 = ⌈βB_w²/ε⌉ finishes the proof"),
        read_in="the paper's full text (the displays of (ICLasso) and of the layer count were lost; the prose of "
                "App. F.1 gives T)",
        note="the loss normalisation (1/2n) and the weights are our reading (displays lost)"),
    trust=("exact: the transformer run in rationals, the minimiser w_lasso exact from its KKT conditions (sign "
           "patterns enumerated), the gap compared with ε exactly",
           "no float64 evidence: the running error bound grows by about η = 1/β per layer (η up to 64 on these "
           "draws) and would decide nothing"),
    notes=("Instances: β is the least power of two above the Gershgorin bound of XᵀX/n (so η = 1/β is dyadic and "
           "β >= λ_max), B_w² = 4||w_lasso||² (the scope's boundary), ε = (3/4)(L(0) - L(w_lasso)) so that doing "
           "nothing misses it; λ is halved until w_lasso != 0, and instances with T > 48 are redrawn.  The "
           "standard proximal-GD rate gives the gap <= β||w_lasso||²/(2T) <= ε/8: the printed bound has room.")))
