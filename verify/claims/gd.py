"""Family ``gd``: linear (and ReLU) attention is gradient descent.

Papers:
- von Oswald et al. (2023), arXiv:2212.07677, Proposition 1: ``gd.one_layer``,
  ``gd.multi_layer``.
- Ahn, Cheng, Daneshmand, Sra (2023), arXiv:2306.00297, Lemma 1:
  ``gd.preconditioned`` (corrected) and ``gd.preconditioned_printed``
  (erratum: the printed update w - A ∇R needs Aᵀ for non-symmetric A).
- Bai, Chen, Wang, Xiong, Mei (2023), arXiv:2306.04637, Prop. C.2 / Cor. C.1:
  ``gd.relu_attention_ridge``.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, Rational
from transformer_proofs.constructions.engine import forward
from transformer_proofs.constructions.gradient_descent import (
    preconditioned_transformer,
    relu_ridge_transformer,
    ridge_prompt,
    von_oswald_layer,
    von_oswald_transformer,
)
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import gradient_descent as algorithms
from transformer_proofs.verify.checks import (
    Draw,
    IdentitySpec,
    Mutant,
    exact_mismatches,
    identity_checks,
    identity_falsifiers,
    printed_form_refuted,
)
from transformer_proofs.verify.claims._regression import (
    RegressionInstance,
    columns,
    draw_regression,
    labels_for,
    prompt,
)
from transformer_proofs.verify.lemmas.gd import ahn_lemma, lemma_falsifiers, von_oswald_lemma
from transformer_proofs.verify.lemmas.lemma import guarded, lemma_check, prove
from transformer_proofs.verify.registry import CheckResult, Claim, Context, Erratum, Paper, register
from transformer_proofs.verify.torch_backend import torch_checks

VON_OSWALD = Paper("J. von Oswald, E. Niklasson, E. Randazzo, J. Sacramento, A. Mordvintsev, A. Zhmoginov, M. Vladymyrov",
                   2023, "Transformers learn in-context by gradient descent", "2212.07677", "Proposition 1")
AHN = Paper("K. Ahn, X. Cheng, H. Daneshmand, S. Sra", 2023,
            "Transformers learn to implement preconditioned gradient descent for in-context learning",
            "2306.00297", "Lemma 1")
BAI = Paper("Y. Bai, F. Chen, H. Wang, C. Xiong, S. Mei", 2023,
            "Transformers as Statisticians: Provable In-Context Learning with In-Context Algorithm Selection",
            "2306.04637", "Proposition C.2 / Corollary C.1")

STEP_HI = Fraction(1, 4)  # step sizes drawn in (0, 1/4]: keeps float64 iterates bounded


# ---------------------------------------------------------------------------
# von Oswald et al.
# ---------------------------------------------------------------------------


def _sample_von_oswald(draw: Draw, sizes: dict[str, int], zero_start: bool) -> RegressionInstance:
    # Prop. 1's one step starts from any W_0; the stack starts from W_0 = 0.
    d, n, L = sizes["d"], sizes["n"], (sizes.get("L", 1) if zero_start else 1)
    inst = draw_regression(draw, d, n)
    inst.extra["etas"] = [draw.step(STEP_HI) for _ in range(L)]
    inst.extra["W_0"] = np.zeros(d, dtype=object) + Fraction(0) if zero_start else draw.real((d,))
    return inst


def _build_von_oswald(inst: RegressionInstance) -> Any:
    return von_oswald_transformer(inst.d, inst.n, inst.extra["etas"], inst.extra["W_0"])


def _prompt_von_oswald(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """The prompt; the query enters with label -W_0 x_q."""
    w0 = ar.array(np.asarray(inst.extra["W_0"]).reshape(-1, 1))
    return prompt(ar, inst, _query_only(ar, inst, w0))


def _run_von_oswald(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    """The whole final state."""
    return forward(ar, model, _prompt_von_oswald(ar, inst))


def _query_only(ar: Arithmetic, inst: RegressionInstance, w0: Any) -> Any:
    """[y_1 … y_n, -<W_0, x_q>]: the context keeps its labels, the query
    carries -W_0 x_q (the paper's query token (x_q, -W_0 x_q))."""
    _, y, x_q = columns(ar, inst)
    return ar.concat([ar.T(y), -ar.matmul(ar.T(x_q), w0)], axis=1)


def _reference_von_oswald(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """Expected state after L layers, as Prop. 1 states it: x unchanged,
    context labels y_i - ΔW x_i with ΔW = W_L - W_0, query label -W_L x_q,
    W_L the L-th GD iterate from W_0."""
    X, y, x_q = columns(ar, inst)
    w0 = ar.array(np.asarray(inst.extra["W_0"]).reshape(-1, 1))
    etas = [ar.const(e) for e in inst.extra["etas"]]
    w_L = algorithms.gradient_descent(ar, X, y, etas, w0)[-1]
    context = y - ar.matmul(X, w_L - w0)  # (n, 1): y_i - ΔW x_i
    query = -ar.matmul(ar.T(x_q), w_L)  # (1, 1): -(W_0 + ΔW) x_q
    return prompt(ar, inst, ar.concat([ar.T(context), query], axis=1))


VON_OSWALD_MUTANTS = (
    Mutant("flipped sign", "W_V = [[0, 0], [W_0, +1]] instead of -1 (value y_i instead of -y_i)",
           lambda m, i: mutants.map_heads(m, lambda h: replace(h, W_V=mutants.set_entry(h.W_V, -1, -1, 1)))),
    Mutant("dropped 1/n", "P = η I instead of (η/n) I", lambda m, i: mutants.drop_scale(m)),
    Mutant("query not masked", "the query token joins the keys and values (M = I)",
           lambda m, i: mutants.unmask_all_keys(m)),
)

_VO_SIZES_ONE = {
    "float64": [{"d": 1, "n": 1}, {"d": 3, "n": 5}, {"d": 6, "n": 16}],
    "rational": [{"d": 1, "n": 1}, {"d": 3, "n": 5}, {"d": 8, "n": 20}],
    "symbolic": [{"d": 2, "n": 3}],
}
_VO_SIZES_MULTI = {
    "float64": [{"d": 1, "n": 1, "L": 1}, {"d": 3, "n": 5, "L": 3}, {"d": 5, "n": 12, "L": 6}],
    "rational": [{"d": 1, "n": 2, "L": 2}, {"d": 4, "n": 8, "L": 4}, {"d": 8, "n": 24, "L": 6}],
    "prime-field": [{"d": 4, "n": 8, "L": 4}, {"d": 16, "n": 64, "L": 10}],
    "symbolic": [{"d": 2, "n": 2, "L": 2}],
}


def _degree_gd(sizes: dict[str, int]) -> int:
    # labels start at degree 2 (W_0 x_q); each layer multiplies by η x_i x_j: +3.
    return 2 + 3 * sizes.get("L", 1)


ONE_LAYER_SPEC = IdentitySpec(
    sample=lambda draw, s: _sample_von_oswald(draw, s, zero_start=False),
    build=_build_von_oswald, run=_run_von_oswald, reference=_reference_von_oswald,
    sizes=_VO_SIZES_ONE, degree=_degree_gd, mutants=VON_OSWALD_MUTANTS)

register(Claim(
    id="gd.one_layer", paper=VON_OSWALD, kind="identity",
    statement=("One linear self-attention layer with W_K = W_Q = [[I,0],[0,0]], W_V = [[0,0],[W_0,-1]], "
               "P = (η/n) I maps every token's label y_j to y_j - ΔW x_j with ΔW = -η∇L(W_0), "
               "and the query (x_q, -W_0 x_q) to (x_q, -(W_0+ΔW) x_q)."),
    checks={**identity_checks(ONE_LAYER_SPEC), **torch_checks(ONE_LAYER_SPEC, _prompt_von_oswald, lens=True), "lemma": lemma_check(von_oswald_lemma(ONE_LAYER_SPEC, 1, with_w0=True))},
    falsifiers=identity_falsifiers(ONE_LAYER_SPEC)
    + lemma_falsifiers(ONE_LAYER_SPEC, lambda m: von_oswald_lemma(ONE_LAYER_SPEC, 1, with_w0=True, mutant=m)),
    notes="The whole output state is compared, not only the prediction; W_0 is drawn (not 0), so an unmasked query changes the result."))

MULTI_LAYER_SPEC = IdentitySpec(
    sample=lambda draw, s: _sample_von_oswald(draw, s, zero_start=True),
    build=_build_von_oswald, run=_run_von_oswald, reference=_reference_von_oswald,
    sizes=_VO_SIZES_MULTI, degree=_degree_gd,
    mutants=VON_OSWALD_MUTANTS + (Mutant("one layer fewer", "L - 1 layers for L steps",
                                         lambda m, i: mutants.drop_last_layer(m)),))

register(Claim(
    id="gd.multi_layer", paper=VON_OSWALD, kind="identity",
    statement=("L stacked layers (W_0 = 0 in each value matrix, step η_ℓ in layer ℓ) leave y_i - W_L x_i in every "
               "context token and -W_L x_q in the query, W_L the L-th GD iterate from 0: the prediction is W_L x_q."),
    checks={**identity_checks(MULTI_LAYER_SPEC), **torch_checks(MULTI_LAYER_SPEC, _prompt_von_oswald), "lemma": lemma_check(von_oswald_lemma(MULTI_LAYER_SPEC, 3, with_w0=False))},
    falsifiers=identity_falsifiers(MULTI_LAYER_SPEC)
    + lemma_falsifiers(MULTI_LAYER_SPEC, lambda m: von_oswald_lemma(MULTI_LAYER_SPEC, 3, with_w0=False, mutant=m)),
    notes="Per-layer step sizes are drawn independently; the prime-field check reaches d = 16, n = 64, L = 10."))


def _sample_gd_plus_plus(draw: Draw, sizes: dict[str, int]) -> RegressionInstance:
    inst = _sample_von_oswald(draw, sizes, zero_start=False)
    inst.extra["gamma"] = draw.step(Fraction(1, 8))
    return inst


def _build_gd_plus_plus(inst: RegressionInstance) -> Any:
    layer = von_oswald_layer(inst.d, inst.n, inst.extra["etas"][0], inst.extra["W_0"], gamma=inst.extra["gamma"])
    return replace(_build_von_oswald(inst), layers=(layer,))


def _reference_gd_plus_plus(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """Labels as one GD step; every x_j (query too) becomes (I - γ Σ_i x_i x_iᵀ) x_j."""
    X, _, x_q = columns(ar, inst)
    labels = _reference_von_oswald(ar, inst)[-1:, :]  # (1, n+1)
    tokens = ar.concat([ar.T(X), x_q], axis=1)  # (d, n+1)
    moved = tokens - ar.matmul(ar.matmul(ar.T(X), X), tokens) * ar.const(inst.extra["gamma"])
    return ar.concat([moved, labels], axis=0)


GD_PLUS_PLUS_SPEC = IdentitySpec(
    sample=_sample_gd_plus_plus, build=_build_gd_plus_plus, run=_run_von_oswald, reference=_reference_gd_plus_plus,
    sizes=_VO_SIZES_ONE, degree=lambda s: 5,
    mutants=VON_OSWALD_MUTANTS + (
        Mutant("x-block sign flipped", "P W_V x-block +γ I: x_j <- (I + γ XᵀX) x_j",
               lambda m, i: replace(m, layers=(von_oswald_layer(i.d, i.n, i.extra["etas"][0], i.extra["W_0"],
                                                                gamma=-i.extra["gamma"]),))),))

register(Claim(
    id="gd.gd_plus_plus", paper=replace(VON_OSWALD, where="§3 (GD++)"), kind="identity",
    statement=("GD++: with P W_V's x-block equal to -γ I, one layer moves every token's x to (I - γ Σ_i x_i x_iᵀ) x "
               "(the query too) and its label by the same GD step as gd.one_layer."),
    checks=identity_checks(GD_PLUS_PLUS_SPEC), falsifiers=identity_falsifiers(GD_PLUS_PLUS_SPEC),
    notes=("Our reading of the transcription x_j <- (I - γ X Xᵀ) x_j with X's columns the examples (our XᵀX); "
           "the sum carries no 1/n beyond what γ absorbs.")))


# ---------------------------------------------------------------------------
# Ahn et al., Lemma 1
# ---------------------------------------------------------------------------


def _sample_preconditioned(draw: Draw, sizes: dict[str, int], symmetric: bool = False) -> RegressionInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    inst = draw_regression(draw, d, n)
    As = []
    for _ in range(L):
        A = draw.real((d, d), scale=0.25)
        if symmetric:
            A = np.triu(A) + np.triu(A, 1).T
        As.append(A)
    inst.extra["As"] = As
    return inst


def _build_preconditioned(inst: RegressionInstance) -> Any:
    return preconditioned_transformer(inst.d, inst.n, inst.extra["As"])


def _prompt_preconditioned(ar: Arithmetic, inst: RegressionInstance) -> Any:
    _, y, _ = columns(ar, inst)
    zero = ar.zeros((1, 1))
    return prompt(ar, inst, ar.concat([ar.T(y), zero], axis=1))


def _run_preconditioned(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    return forward(ar, model, _prompt_preconditioned(ar, inst))


def _reference_preconditioned(ar: Arithmetic, inst: RegressionInstance, transpose: bool) -> Any:
    """w_{ℓ+1} = w_ℓ - A_ℓᵀ ∇R(w_ℓ) (corrected) or - A_ℓ ∇R(w_ℓ) (printed)."""
    X, y, _ = columns(ar, inst)
    As = [ar.array(A) for A in inst.extra["As"]]
    As = [ar.T(A) for A in As] if transpose else As
    w_L = algorithms.preconditioned_gradient_descent(ar, X, y, As, ar.zeros((inst.d, 1)))[-1]
    return prompt(ar, inst, labels_for(ar, inst, w_L))


PRECONDITIONED_SPEC = IdentitySpec(
    sample=_sample_preconditioned, build=_build_preconditioned, run=_run_preconditioned,
    reference=lambda ar, inst: _reference_preconditioned(ar, inst, transpose=True),
    sizes={"float64": [{"d": 1, "n": 1, "L": 1}, {"d": 3, "n": 6, "L": 3}, {"d": 5, "n": 12, "L": 5}],
           "rational": [{"d": 2, "n": 1, "L": 1}, {"d": 4, "n": 8, "L": 4}],
           "prime-field": [{"d": 4, "n": 8, "L": 4}, {"d": 10, "n": 30, "L": 8}],
           "symbolic": [{"d": 2, "n": 2, "L": 2}]},
    degree=lambda s: 1 + 3 * s["L"],
    mutants=(
        Mutant("flipped sign", "Q = +[[A, 0], [0, 0]]",
               lambda m, i: mutants.map_heads(m, lambda h: replace(h, W_Q=-np.asarray(h.W_Q, dtype=object)))),
        Mutant("dropped 1/n", "Z + P Z M (Zᵀ Q Z) without 1/n", lambda m, i: mutants.drop_scale(m)),
        Mutant("query not masked", "M = I", lambda m, i: mutants.unmask_all_keys(m)),
        Mutant("one layer fewer", "L - 1 layers", lambda m, i: mutants.drop_last_layer(m)),
    ))

register(Claim(
    id="gd.preconditioned", paper=AHN, kind="identity",
    statement=("With P_ℓ = [[0,0],[0,1]] and Q_ℓ = -[[A_ℓ,0],[0,0]], the layers Z + (1/n) P Z M (Zᵀ Q Z) give "
               "[Z_ℓ]_{d+1,n+1} = -<x_q, w_ℓ> with w_{ℓ+1} = w_ℓ - A_ℓᵀ ∇R(w_ℓ), for any matrices A_ℓ "
               "(corrected: the printed A_ℓ holds only for symmetric A_ℓ)."),
    checks={**identity_checks(PRECONDITIONED_SPEC), **torch_checks(PRECONDITIONED_SPEC, _prompt_preconditioned), "lemma": lemma_check(ahn_lemma(PRECONDITIONED_SPEC, 2, transpose=True))},
    falsifiers=identity_falsifiers(PRECONDITIONED_SPEC)
    + lemma_falsifiers(PRECONDITIONED_SPEC, lambda m: ahn_lemma(PRECONDITIONED_SPEC, 2, transpose=True, mutant=m)),
    notes="Corrected form of gd.preconditioned_printed; the A_ℓ are drawn non-symmetric."))


def _printed_counterexample() -> tuple[RegressionInstance, str] | None:
    """The smallest instance refuting the printed update w - A ∇R: sizes in
    increasing (d, n), then the fewest nonzero entries, entries in {0, 1}."""
    ar = Rational()
    for d, n in [(1, 1), (2, 1), (1, 2), (2, 2)]:
        slots = [("X", (i, k)) for i in range(n) for k in range(d)] + [("y", (i,)) for i in range(n)] \
            + [("x_q", (k,)) for k in range(d)] + [("A", (i, k)) for i in range(d) for k in range(d)]
        for nnz in range(1, len(slots) + 1):
            for chosen in itertools.combinations(slots, nnz):
                arrays = {"X": np.zeros((n, d), dtype=object), "y": np.zeros(n, dtype=object),
                          "x_q": np.zeros(d, dtype=object), "A": np.zeros((d, d), dtype=object)}
                for name, idx in chosen:
                    arrays[name][idx] = 1
                inst = RegressionInstance(d, n, arrays["X"], arrays["y"], arrays["x_q"], {"As": [arrays["A"]]})
                out = _run_preconditioned(ar, _build_preconditioned(inst), inst)
                printed = _reference_preconditioned(ar, inst, transpose=False)
                if exact_mismatches(out[-1:, -1:], printed[-1:, -1:]):
                    text = (f"d={d}, n={n}, L=1: X={arrays['X'].tolist()}, y={arrays['y'].tolist()}, "
                            f"x_q={arrays['x_q'].tolist()}, A={arrays['A'].tolist()}: the transformer predicts "
                            f"{-out[-1, -1]}, the printed w_1 = -A∇R(0) predicts {-printed[-1, -1]}")
                    return inst, text
    return None


def _check_printed(ctx: Context) -> CheckResult:
    found = _printed_counterexample()
    # The printed form does hold for symmetric A_ℓ: confirm, so the erratum is exactly the symmetry.
    symmetric = IdentitySpec(sample=lambda draw, s: _sample_preconditioned(draw, s, symmetric=True),
                             build=_build_preconditioned, run=_run_preconditioned,
                             reference=lambda ar, inst: _reference_preconditioned(ar, inst, transpose=False),
                             sizes=PRECONDITIONED_SPEC.sizes)
    return printed_form_refuted(found[1] if found else None, symmetric, ctx, "with symmetric A_ℓ")


def _check_printed_lemma(ctx: Context) -> CheckResult:
    """The printed layer lemma (update w - A∇R) fails for general A, with a
    residual confirmed nonzero at concrete matrices, and holds for all sizes
    when A is symmetric."""
    general = prove(ahn_lemma(PRECONDITIONED_SPEC, 2, transpose=False)(ctx))
    symmetric = prove(ahn_lemma(PRECONDITIONED_SPEC, 2, transpose=False, symmetric=True)(ctx))
    witnessed = [r for r in general.residuals if r.witness]
    if general.holds or not witnessed:
        return CheckResult("symbolic-lemma", "exact", 0, None, 0.0, "fails",
                           "the printed lemma was expected to fail for non-symmetric A but "
                           + ("holds" if general.holds else "its residual was not confirmed nonzero"))
    if not symmetric.holds:
        return CheckResult("symbolic-lemma", "exact", 0, None, 0.0, "fails",
                           "the printed lemma fails even for symmetric A: " + symmetric.residual_text())
    return CheckResult("symbolic-lemma", "exact", len(general.residuals), None, 0.0, "refuted",
                       f"the printed one-layer lemma S(w) -> S(w - A∇R(w)) is not a block identity for general A: "
                       f"{general.residual_text(limit=1)}; the residual is made of A − Aᵀ terms: with A symmetric "
                       f"(every A when d = 1) the printed lemma is proved for all sizes (normalised to 0: "
                       f"{', '.join(symmetric.proved)}).",
                       data={"residuals": [r.text(("x", "y"), ("context", "query")) for r in general.residuals],
                             "witness": witnessed[0].witness})


_PRINTED_CE = "found by exhaustive search at check time (see the check's detail)"

register(Claim(
    id="gd.preconditioned_printed", paper=AHN, kind="identity",
    statement=("As transcribed: the same layers give [Z_ℓ]_{d+1,n+1} = -<x_q, w_ℓ> with w_{ℓ+1} = w_ℓ - A_ℓ ∇R(w_ℓ) "
               "for any matrices A_ℓ."),
    checks={"rational": _check_printed, "lemma": guarded(_check_printed_lemma)},
    erratum=Erratum(
        counterexample=("d=2, n=1, L=1, x_1 = e_1, y_1 = 1, x_q = e_2, A = [[0, 1], [0, 0]]: the transformer "
                        "predicts <x_q, Aᵀ(-∇R(0))> = 1, the printed update predicts <x_q, A(-∇R(0))> = 0"),
        correction=("the layer computes y_q <- y_q + x_qᵀ Aᵀ ∇R(w) (the score Zᵀ Q Z puts A between x_i and x_q), "
                    "so the update is w_{ℓ+1} = w_ℓ - A_ℓᵀ ∇R(w_ℓ); the printed form holds iff A_ℓ is symmetric "
                    "(as the paper's optimal preconditioners are)"),
        corrected_claim="gd.preconditioned"),
    notes=("Erratum against our transcription in shared/CLAIMS.md (\"for any matrices A_ℓ\"); we could not read "
           "Lemma 1 in the paper itself from our corpus.  The paper's preconditioners are symmetric, so its "
           "conclusions stand.")))


# ---------------------------------------------------------------------------
# Bai et al., Prop. C.2: ReLU attention, ridge regression
# ---------------------------------------------------------------------------


def _sample_ridge(draw: Draw, sizes: dict[str, int]) -> RegressionInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    inst = draw_regression(draw, d, n)
    inst.extra["etas"] = [draw.step(STEP_HI) for _ in range(L)]
    inst.extra["lam"] = draw.step(Fraction(1, 2))
    inst.extra["w_0"] = draw.real((d,))
    inst.extra["offset"] = _offset_for(draw, inst)
    return inst


def _offset_for(draw: Draw, inst: RegressionInstance) -> Fraction:
    """B = a power of two above max_ℓ |<w_ℓ, x_q>| (computed exactly at the
    instance's numeric values): the offset that keeps the query out of the sum."""
    ar = Rational()
    val = lambda a: np.vectorize(draw.value, otypes=[object])(np.asarray(a, dtype=object))
    num = RegressionInstance(inst.d, inst.n, val(inst.X), val(inst.y), val(inst.x_q))
    X, y, x_q = columns(ar, num)
    etas = [ar.const(draw.value(e)) for e in inst.extra["etas"]]
    ws = algorithms.ridge_gradient_descent(ar, X, y, etas, ar.const(draw.value(inst.extra["lam"])),
                                           ar.array(val(inst.extra["w_0"]).reshape(-1, 1)))
    bound = max(abs(Fraction(int(v.p), int(v.q))) for w in ws for v in ar.matmul(ar.T(x_q), w).ravel())
    B = Fraction(1)
    while B <= bound:
        B *= 2
    return B


def _build_ridge(inst: RegressionInstance, offset: Any = None) -> Any:
    return relu_ridge_transformer(inst.d, inst.n, inst.extra["etas"], inst.extra["lam"],
                                  inst.extra["offset"] if offset is None else offset)


def _prompt_ridge(ar: Arithmetic, inst: RegressionInstance) -> Any:
    return ar.array(ridge_prompt(inst.X, inst.y, inst.x_q, inst.extra["w_0"]))


def _run_ridge(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    return forward(ar, model, _prompt_ridge(ar, inst))


def _reference_ridge(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """The prompt with every token's w slot replaced by the L-th ridge-GD iterate."""
    X, y, _ = columns(ar, inst)
    etas = [ar.const(e) for e in inst.extra["etas"]]
    lam = ar.const(inst.extra["lam"])
    w_L = algorithms.ridge_gradient_descent(ar, X, y, etas, lam, ar.array(np.asarray(inst.extra["w_0"]).reshape(-1, 1)))[-1]
    Z0 = ar.array(ridge_prompt(inst.X, inst.y, inst.x_q, inst.extra["w_0"]))
    d, N = inst.d, inst.n + 1
    w_rows = ar.matmul(w_L, ar.array(np.ones((1, N), dtype=int)))  # (d, N)
    return ar.concat([Z0[: d + 1], w_rows, Z0[2 * d + 1:]], axis=0)


RIDGE_SPEC = IdentitySpec(
    sample=_sample_ridge, build=_build_ridge, run=_run_ridge, reference=_reference_ridge,
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
               lambda m, i: _build_ridge(i, offset=0)),
        Mutant("one ReLU head of the pair dropped", "head 2 removed: ReLU(r) alone is not r",
               lambda m, i: mutants.drop_head(m, 1)),
        Mutant("one layer fewer", "L - 1 layers", lambda m, i: mutants.drop_last_layer(m)),
    ))

register(Claim(
    id="gd.relu_attention_ridge", paper=BAI, kind="identity",
    statement=("L layers of three-head ReLU attention (two heads for ReLU(r) - ReLU(-r) = r, one for the ridge term, "
               "the query excluded by a score offset B > max_ℓ |<w_ℓ, x_q>|, sums normalised by 1/n over the n "
               "examples) perform L steps w <- w - η((1/n) Σ (<w,x_i> - y_i) x_i + λ w) in every token's w slot."),
    checks={**identity_checks(RIDGE_SPEC), **torch_checks(RIDGE_SPEC, _prompt_ridge, lens=True)},
    falsifiers=identity_falsifiers(RIDGE_SPEC),
    notes=("Ours: the paper's 1/N is read as 1/n with n = number of examples (there are n+1 tokens); the query is "
           "kept out by the offset B(t_j - 1), not by a mask.  Symbolic evidence holds on the open sign cell of "
           "each drawn point (the ReLU pattern is fixed there); no prime-field evidence: ReLU needs an order.")))
