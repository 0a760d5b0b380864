"""Family ``gd``: linear (and ReLU) attention is gradient descent.

- von Oswald et al. (2023), arXiv:2212.07677, Prop. 1: ``gd.one_layer``,
  ``gd.multi_layer``; §3 (GD++): ``gd.gd_plus_plus``.
- Ahn, Cheng, Daneshmand, Sra (2023), arXiv:2306.00297, Lemma 1:
  ``gd.preconditioned`` (corrected: Aᵀ); the printed form is the erratum
  ``gd.preconditioned_printed`` (:mod:`.errata`).
- Bai, Chen, Wang, Xiong, Mei (2023), arXiv:2306.04637, Prop. C.2 / Cor. C.1:
  ``gd.relu_attention_ridge``.

Each claim is a :class:`~transformer_proofs.verify.spec.ClaimSpec`: the
generic checkers run it in every number system and run every mutant through
every kind of evidence.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import Readout
from transformer_proofs.constructions.gradient_descent import (
    preconditioned_transformer,
    relu_ridge_transformer,
    ridge_prompt,
    von_oswald_layer,
    von_oswald_transformer,
)
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import gradient_descent as algorithms
from transformer_proofs.verify.checkers import spec_checks, spec_falsifiers
from transformer_proofs.verify.claims.gd.batched import (
    GD_PLUS_PLUS_BATCH,
    ONE_LAYER_BATCH,
    PRECONDITIONED_BATCH,
    VON_OSWALD_BATCH,
)
from transformer_proofs.verify.claims.gd.instances import (
    GDPlusPlusInstance,
    PreconditionedInstance,
    RidgeInstance,
    VonOswaldInstance,
    draw_gd_plus_plus,
    draw_preconditioned,
    draw_ridge,
    draw_von_oswald,
)
from transformer_proofs.verify.claims.gd.library import library_checks
from transformer_proofs.verify.claims.gd.papers import AHN, BAI, VON_OSWALD
from transformer_proofs.verify.lemmas.gd import ahn_lemma, lemma_falsifiers, von_oswald_lemma
from transformer_proofs.verify.lemmas.lemma import lemma_check
from transformer_proofs.verify.prompts import columns, labels_for, prompt
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import (
    Claim,
    ClaimSpec,
    Mutant,
    Provenance,
    stack_state_prediction,
    state_and_prediction,
)

# ---------------------------------------------------------------------------
# von Oswald et al., Proposition 1
# ---------------------------------------------------------------------------


def von_oswald_prompt(ar: Arithmetic, inst: VonOswaldInstance) -> Any:
    """[[x_1 … x_n x_q], [y_1 … y_n, -<W_0, x_q>]]: the query enters as (x_q, -W_0 x_q)."""
    _, y, x_q = columns(ar, inst)
    w0 = ar.array(np.asarray(inst.W_0).reshape(-1, 1))
    return prompt(ar, inst, ar.concat([ar.T(y), -ar.matmul(ar.T(x_q), w0)], axis=1))


def von_oswald_reference(ar: Arithmetic, inst: VonOswaldInstance) -> Any:
    """Prop. 1 after L layers: x unchanged, context labels y_i - (W_L - W_0) x_i,
    query label -W_L x_q, W_L the L-th GD iterate from W_0; prediction W_L x_q."""
    X, y, x_q = columns(ar, inst)
    w0 = ar.array(np.asarray(inst.W_0).reshape(-1, 1))
    w_L = algorithms.gradient_descent(ar, X, y, [ar.const(e) for e in inst.etas], w0)[-1]
    context = y - ar.matmul(X, w_L - w0)  # (n, 1)
    query = -ar.matmul(ar.T(x_q), w_L)  # (1, 1)
    state = prompt(ar, inst, ar.concat([ar.T(context), query], axis=1))
    return stack_state_prediction(ar, state, ar.matmul(ar.T(x_q), w_L))


def build_von_oswald(inst: VonOswaldInstance) -> Any:
    return von_oswald_transformer(inst.d, inst.n, inst.etas, inst.W_0)


def _readout_sign_flipped(m: Any, inst: Any) -> Any:
    return replace(m, readout=Readout(vector=-np.asarray(m.readout.vector, dtype=object), column=m.readout.column))


def _readout_wrong_column(m: Any, inst: Any) -> Any:
    return replace(m, readout=Readout(vector=m.readout.vector, column=m.readout.column - 1))


READOUT_MUTANTS = (
    Mutant("read-out sign flipped", "the prediction read as +[Z]_{y, query} instead of its negation",
           _readout_sign_flipped),
    Mutant("read-out of the wrong token", "the prediction read from the last context token, not the query",
           _readout_wrong_column),
)

VON_OSWALD_MUTANTS = (
    Mutant("flipped sign", "W_V = [[0, 0], [W_0, +1]] instead of -1 (value y_i instead of -y_i)",
           lambda m, i: mutants.map_heads(m, lambda h: replace(h, W_V=mutants.set_entry(h.W_V, -1, -1, 1)))),
    Mutant("dropped 1/n", "P = η I instead of (η/n) I", lambda m, i: mutants.drop_scale(m)),
    Mutant("query not masked", "the query token joins the keys and values (M = I)",
           lambda m, i: mutants.unmask_all_keys(m)),
) + READOUT_MUTANTS


def _degree_gd(sizes: dict[str, int]) -> int:
    # labels start at degree 2 (W_0 x_q); each layer multiplies by η x_i x_j: +3.
    return 2 + 3 * sizes.get("L", 1)


ONE_LAYER_SPEC: ClaimSpec[VonOswaldInstance] = ClaimSpec(
    draw=lambda draw, s: draw_von_oswald(draw, {**s, "L": 1}), build=build_von_oswald,
    prompt=von_oswald_prompt, readout=state_and_prediction, reference=von_oswald_reference,
    sizes={"float64": [{"d": 1, "n": 1}, {"d": 3, "n": 5}, {"d": 6, "n": 16}],
           "rational": [{"d": 1, "n": 1}, {"d": 3, "n": 5}, {"d": 8, "n": 20}],
           "symbolic": [{"d": 2, "n": 3}]},
    degree=_degree_gd, mutants=VON_OSWALD_MUTANTS, batch=ONE_LAYER_BATCH)

MULTI_LAYER_SPEC: ClaimSpec[VonOswaldInstance] = ClaimSpec(
    draw=draw_von_oswald, build=build_von_oswald,
    prompt=von_oswald_prompt, readout=state_and_prediction, reference=von_oswald_reference,
    sizes={"float64": [{"d": 1, "n": 1, "L": 1}, {"d": 3, "n": 5, "L": 3}, {"d": 5, "n": 12, "L": 6}],
           "rational": [{"d": 1, "n": 2, "L": 2}, {"d": 4, "n": 8, "L": 4}, {"d": 8, "n": 24, "L": 6}],
           "prime-field": [{"d": 4, "n": 8, "L": 4}, {"d": 16, "n": 64, "L": 10}],
           "symbolic": [{"d": 2, "n": 2, "L": 2}, {"d": 3, "n": 5, "L": 3}]},
    degree=_degree_gd, batch=VON_OSWALD_BATCH,
    mutants=VON_OSWALD_MUTANTS + (Mutant("one layer fewer", "L - 1 layers for L steps",
                                         lambda m, i: mutants.drop_last_layer(m)),))

VON_OSWALD_PROVENANCE = Provenance(
    "printed", "Proposition 1 (§2); construction App. A.1; loss eq. (2)",
    quote=("one can construct key, query and value matrices W_K, W_Q, W_V as well as the projection matrix P such "
           "that a Transformer step on every token e_j is identical to the gradient-induced dynamics "
           "e_j ← (x_j, y_j) + (0, −ΔW x_j) … For the test data token (x_{N+1}, y_{N+1}) the dynamics are identical; "
           "W_K = W_Q = [[I_x, 0], [0, 0]], W_V = [[0, 0], [W_0, −I_y]], P = η/N I"),
    read_in="the paper's full text (§2, §3, App. A.1)",
    note="identical to the printed proposition and construction (keys and values over the N context tokens only); "
         "we compare the whole token state and the read-out")
MULTI_LAYER_PROVENANCE = Provenance(
    "printed", "§3, the remark after Prop. 1 (multiple steps of GD vs. multiple layers)",
    quote=("The construction we put forth in Proposition 1, can be immediately stacked up over K layers; in this "
           "case, the final prediction can be read out from the last layer as before by negating the y-entry of the "
           "last test token"),
    read_in="the paper's full text (§3)",
    note="the precise form we check (W_0 in every layer's value matrix, a step η_ℓ per layer, equality with the L-th "
         "GD iterate from W_0) is our reading of that remark")

register(Claim(
    id="gd.one_layer", paper=VON_OSWALD, kind="identity",
    statement=("One linear self-attention layer with W_K = W_Q = [[I,0],[0,0]], W_V = [[0,0],[W_0,-1]], "
               "P = (η/n) I maps every token's label y_j to y_j - ΔW x_j with ΔW = -η∇L(W_0), "
               "and the query (x_q, -W_0 x_q) to (x_q, -(W_0+ΔW) x_q); the read-out gives (W_0+ΔW) x_q."),
    checks={**spec_checks(ONE_LAYER_SPEC), **library_checks(ONE_LAYER_SPEC, lens=True),
            "lemma": lemma_check(von_oswald_lemma(ONE_LAYER_SPEC, 1, with_w0=True))},
    falsifiers=spec_falsifiers(ONE_LAYER_SPEC)
    + lemma_falsifiers(ONE_LAYER_SPEC, lambda m: von_oswald_lemma(ONE_LAYER_SPEC, 1, with_w0=True, mutant=m),
                       only_layers=True),
    provenance=VON_OSWALD_PROVENANCE,
    trust=("exact: rationals and GF(2^61−1) (Schwartz–Zippel probability stated; degree declared and cross-checked "
           "against the symbolic check's measured degree)",
           "symbolic: flint polynomials and rational functions, for the sizes shown",
           "block lemma: our non-commutative normaliser, on the block form read from the construction at three "
           "sizes (read, not proved for every size)",
           "float64 tolerances: our running error bound (Float64Bounded), not a verified enclosure",
           "read: the statement as printed in Prop. 1 and App. A.1"),
    notes="The whole output state and the prediction are compared; W_0 is drawn (not 0), so an unmasked query "
          "changes the result."))

register(Claim(
    id="gd.multi_layer", paper=VON_OSWALD, kind="identity",
    statement=("L stacked layers (step η_ℓ in layer ℓ, W_0 in every value matrix) leave y_i - (W_L - W_0) x_i in "
               "every context token and -W_L x_q in the query, W_L the L-th GD iterate from W_0: the prediction is "
               "W_L x_q."),
    checks={**spec_checks(MULTI_LAYER_SPEC), **library_checks(MULTI_LAYER_SPEC),
            "lemma": lemma_check(von_oswald_lemma(MULTI_LAYER_SPEC, 3, with_w0=True))},
    falsifiers=spec_falsifiers(MULTI_LAYER_SPEC)
    + lemma_falsifiers(MULTI_LAYER_SPEC, lambda m: von_oswald_lemma(MULTI_LAYER_SPEC, 3, with_w0=True, mutant=m),
                       only_layers=True),
    provenance=MULTI_LAYER_PROVENANCE,
    trust=("exact: rationals and GF(2^61−1) to d = 16, n = 64, L = 10 (Schwartz–Zippel probability stated)",
           "block lemma with induction over layers, on the block form read from the construction at three sizes",
           "ours: the exact multi-layer form is our reading of the printed remark"),
    notes=("Per-layer step sizes and W_0 are drawn independently.  Our earlier construction put W_0 only in the "
           "first layer's value matrix, which is right only for W_0 = 0; every layer now carries W_0.")))


def _reference_gd_plus_plus(ar: Arithmetic, inst: GDPlusPlusInstance) -> Any:
    """Labels as one GD step; every x_j (query too) becomes (I - γ Σ_i x_i x_iᵀ) x_j."""
    X, y, x_q = columns(ar, inst)
    w0 = ar.array(np.asarray(inst.W_0).reshape(-1, 1))
    w_1 = algorithms.gradient_descent(ar, X, y, [ar.const(inst.etas[0])], w0)[-1]
    labels = ar.concat([ar.T(y - ar.matmul(X, w_1 - w0)), -ar.matmul(ar.T(x_q), w_1)], axis=1)
    tokens = ar.concat([ar.T(X), x_q], axis=1)  # (d, n+1)
    moved = tokens - ar.matmul(ar.matmul(ar.T(X), X), tokens) * ar.const(inst.gamma)
    state = ar.concat([moved, labels], axis=0)
    return stack_state_prediction(ar, state, ar.matmul(ar.T(x_q), w_1))


def _build_gd_plus_plus(inst: GDPlusPlusInstance, gamma: Any = None) -> Any:
    layer = von_oswald_layer(inst.d, inst.n, inst.etas[0], inst.W_0, gamma=inst.gamma if gamma is None else gamma)
    return replace(build_von_oswald(inst), layers=(layer,))


GD_PLUS_PLUS_SPEC: ClaimSpec[GDPlusPlusInstance] = ClaimSpec(
    draw=draw_gd_plus_plus, build=_build_gd_plus_plus, prompt=von_oswald_prompt, readout=state_and_prediction,
    reference=_reference_gd_plus_plus, sizes=ONE_LAYER_SPEC.sizes, degree=lambda s: 5, batch=GD_PLUS_PLUS_BATCH,
    mutants=VON_OSWALD_MUTANTS + (
        Mutant("x-block sign flipped", "P W_V x-block +γ I: x_j <- (I + γ XᵀX) x_j",
               lambda m, i: _build_gd_plus_plus(i, gamma=-i.gamma)),))

register(Claim(
    id="gd.gd_plus_plus", paper=replace(VON_OSWALD, where="§3 (GD++)"), kind="identity",
    statement=("GD++: with P W_V's x-block equal to -γ I, one layer moves every token's x to (I - γ Σ_i x_i x_iᵀ) x "
               "(the query too) and its label by the same GD step as gd.one_layer."),
    checks=spec_checks(GD_PLUS_PLUS_SPEC), falsifiers=spec_falsifiers(GD_PLUS_PLUS_SPEC),
    provenance=Provenance("ours", "§3 (GD++)", quote="x_j ← H(X) x_j, with H(X) = (I − γXXᵀ). We term this gradient "
                          "descent variant GD++", read_in="the paper's full text (§3)",
                          note="the data transformation is printed (X with the examples as columns, so XXᵀ = "
                               "Σ x_i x_iᵀ); the one-layer construction that applies it beside the GD step is ours"),
    trust=("exact and symbolic as for gd.one_layer", "the GD++ form is our reading, not a printed statement"),
    notes="Our reading of GD++; the sum carries no 1/n beyond what γ absorbs."))


# ---------------------------------------------------------------------------
# Ahn et al., Lemma 1 (corrected)
# ---------------------------------------------------------------------------


def preconditioned_prompt(ar: Arithmetic, inst: PreconditionedInstance) -> Any:
    _, y, _ = columns(ar, inst)
    return prompt(ar, inst, ar.concat([ar.T(y), ar.zeros((1, 1))], axis=1))


def preconditioned_reference(ar: Arithmetic, inst: PreconditionedInstance, transpose: bool = True) -> Any:
    """The state S(w_L) with w_{ℓ+1} = w_ℓ - A_ℓᵀ ∇R(w_ℓ) (corrected) or - A_ℓ ∇R(w_ℓ)
    (printed), and the prediction <x_q, w_L>."""
    X, y, x_q = columns(ar, inst)
    As = [ar.array(A) for A in inst.As]
    As = [ar.T(A) for A in As] if transpose else As
    w_L = algorithms.preconditioned_gradient_descent(ar, X, y, As, ar.zeros((inst.d, 1)))[-1]
    return stack_state_prediction(ar, prompt(ar, inst, labels_for(ar, inst, w_L)), ar.matmul(ar.T(x_q), w_L))


def build_preconditioned(inst: PreconditionedInstance) -> Any:
    return preconditioned_transformer(inst.d, inst.n, inst.As)


PRECONDITIONED_SPEC: ClaimSpec[PreconditionedInstance] = ClaimSpec(
    draw=draw_preconditioned, build=build_preconditioned, prompt=preconditioned_prompt,
    readout=state_and_prediction, reference=preconditioned_reference,
    sizes={"float64": [{"d": 1, "n": 1, "L": 1}, {"d": 3, "n": 6, "L": 3}, {"d": 5, "n": 12, "L": 5}],
           "rational": [{"d": 2, "n": 1, "L": 1}, {"d": 4, "n": 8, "L": 4}],
           "prime-field": [{"d": 4, "n": 8, "L": 4}, {"d": 10, "n": 30, "L": 8}],
           "symbolic": [{"d": 2, "n": 2, "L": 2}]},
    degree=lambda s: 1 + 3 * s["L"], batch=PRECONDITIONED_BATCH,
    mutants=(
        Mutant("flipped sign", "Q = +[[A, 0], [0, 0]]",
               lambda m, i: mutants.map_heads(m, lambda h: replace(h, W_Q=-np.asarray(h.W_Q, dtype=object)))),
        Mutant("dropped 1/n", "Z + P Z M (Zᵀ Q Z) without 1/n", lambda m, i: mutants.drop_scale(m)),
        Mutant("query not masked", "M = I", lambda m, i: mutants.unmask_all_keys(m)),
        Mutant("one layer fewer", "L - 1 layers", lambda m, i: mutants.drop_last_layer(m)),
    ) + READOUT_MUTANTS)

AHN_LEMMA_1 = Provenance(
    "secondary", "Lemma 1 (the layer update and the iterate w_{ℓ+1} = w_ℓ − A_ℓ∇R(w_ℓ))",
    read_in="the paper's text (its display equations were lost in our copy) and two transcriptions of its displays",
    note="the corrected claim uses A_ℓᵀ; for symmetric A_ℓ, as the paper's preconditioners are, both agree")

register(Claim(
    id="gd.preconditioned", paper=replace(AHN, where="Lemma 1 (corrected)"), kind="identity",
    statement=("With P_ℓ = [[0,0],[0,1]] and Q_ℓ = -[[A_ℓ,0],[0,0]], the layers Z + (1/n) P Z M (Zᵀ Q Z) give "
               "[Z_ℓ]_{d+1,n+1} = -<x_q, w_ℓ> with w_{ℓ+1} = w_ℓ - A_ℓᵀ ∇R(w_ℓ), for any matrices A_ℓ "
               "(corrected: the printed A_ℓ holds only for symmetric A_ℓ)."),
    checks={**spec_checks(PRECONDITIONED_SPEC), **library_checks(PRECONDITIONED_SPEC),
            "lemma": lemma_check(ahn_lemma(PRECONDITIONED_SPEC, 2, transpose=True))},
    falsifiers=spec_falsifiers(PRECONDITIONED_SPEC)
    + lemma_falsifiers(PRECONDITIONED_SPEC, lambda m: ahn_lemma(PRECONDITIONED_SPEC, 2, transpose=True, mutant=m),
                       only_layers=True),
    provenance=replace(AHN_LEMMA_1, kind="ours", note="our correction of Lemma 1 (Aᵀ in place of A)"),
    trust=("exact (rationals, GF(2^61−1) with its Schwartz–Zippel bound), symbolic for the sizes shown",
           "block lemma on the block form read from the construction at three sizes"),
    notes="Corrected form of gd.preconditioned_printed; the A_ℓ are drawn non-symmetric."))


# ---------------------------------------------------------------------------
# Bai et al., Prop. C.2: ReLU attention, ridge regression
# ---------------------------------------------------------------------------


def build_ridge(inst: RidgeInstance, offset: Any = None) -> Any:
    return relu_ridge_transformer(inst.d, inst.n, inst.etas, inst.lam, inst.offset if offset is None else offset)


def ridge_prompt_of(ar: Arithmetic, inst: RidgeInstance) -> Any:
    return ar.array(ridge_prompt(inst.X, inst.y, inst.x_q, inst.w_0))


def ridge_reference(ar: Arithmetic, inst: RidgeInstance) -> Any:
    """The prompt with every token's w slot replaced by the L-th ridge-GD iterate."""
    X, y, _ = columns(ar, inst)
    w_L = algorithms.ridge_gradient_descent(ar, X, y, [ar.const(e) for e in inst.etas], ar.const(inst.lam),
                                            ar.array(np.asarray(inst.w_0).reshape(-1, 1)))[-1]
    Z0 = ridge_prompt_of(ar, inst)
    d, N = inst.d, inst.n + 1
    w_rows = ar.matmul(w_L, ar.array(np.ones((1, N), dtype=int)))  # (d, N)
    return ar.concat([Z0[: d + 1], w_rows, Z0[2 * d + 1:]], axis=0)


RIDGE_SPEC: ClaimSpec[RidgeInstance] = ClaimSpec(
    draw=draw_ridge, build=build_ridge, prompt=ridge_prompt_of, reference=ridge_reference,
    sizes={"float64": [{"d": 1, "n": 1, "L": 1}, {"d": 3, "n": 6, "L": 3}, {"d": 5, "n": 10, "L": 5}],
           "mpmath": [{"d": 1, "n": 1, "L": 1}, {"d": 3, "n": 4, "L": 2}],
           "rational": [{"d": 1, "n": 2, "L": 2}, {"d": 3, "n": 6, "L": 3}],
           "symbolic": [{"d": 2, "n": 2, "L": 2}]},
    modes=("float64", "mpmath", "rational", "symbolic"),
    not_applicable={"prime-field": "ReLU needs an ordered field; GF(p) has no order (symbolic evidence is per sign cell)"},
    mutants=(
        Mutant("flipped sign", "every head's value negated", lambda m, i: mutants.negate_value(m)),
        Mutant("1/(n+1) normalisation", "normalised by the n+1 tokens present instead of the n examples",
               lambda m, i: mutants.rescale(m, Fraction(1, i.n + 1))),
        Mutant("query not excluded", "score offset B = 0: the query's ReLU score leaks into the sum",
               lambda m, i: build_ridge(i, offset=0)),
        Mutant("one ReLU head of the pair dropped", "head 2 removed: ReLU(r) alone is not r",
               lambda m, i: mutants.drop_head(m, 1)),
        Mutant("one layer fewer", "L - 1 layers", lambda m, i: mutants.drop_last_layer(m)),
    ))

register(Claim(
    id="gd.relu_attention_ridge", paper=BAI, kind="identity",
    statement=("L layers of three-head ReLU attention (two heads for ReLU(r) - ReLU(-r) = r, one for the ridge term, "
               "the query excluded by a score offset B > max_ℓ |<w_ℓ, x_q>|, sums normalised by 1/n over the n "
               "examples) perform L steps w <- w - η((1/n) Σ (<w,x_i> - y_i) x_i + λ w) in every token's w slot."),
    checks={**spec_checks(RIDGE_SPEC), **library_checks(RIDGE_SPEC, lens=True)},
    falsifiers=spec_falsifiers(RIDGE_SPEC),
    provenance=Provenance(
        "printed", "Corollary C.1 (App. C.5) on Proposition C.2 (App. C.2); exact case in the proof of Theorem 4 "
                   "(App. D.1); attention Def. 1 (§2.1)",
        quote=("the square loss ℓ(s, t) := ½(s − t)², whose partial derivative ∂sℓ(s, t) = s − t is exactly a sum of "
               "two relus … number of heads M(ℓ) = 3 for all ℓ ∈ [L − 1] (can be taken as 2 in the unregularized case "
               "λ = 0)"),
        read_in="the paper's full text (its display equations were lost in our copy)",
        note="the algorithmic statement (L layers, 3 heads, exact, the w slot of every token) is printed; our weights "
             "are our own: the test token is kept out by a score offset B(t_j − 1), and the paper's 1/N is read as "
             "1/n with n the number of examples (Def. 1's display was lost)"),
    trust=("exact (rationals) and symbolic on the open ReLU sign cell of each drawn point",
           "no prime-field evidence: ReLU needs an order"),
    notes=("Ours: the paper's 1/N is read as 1/n with n = number of examples (there are n+1 tokens); the query is "
           "kept out by the offset B(t_j - 1), not by a mask.  The construction has no read-out: the w slots of "
           "every token are compared.")))
