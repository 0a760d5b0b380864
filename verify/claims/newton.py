"""Family ``newton``: transformers run iterative Newton (Newton–Schulz).

Papers:
- Fu, Chen, Jia, Sharan (2023/24), arXiv:2310.17086, §5 and App. B:
  ``newton.layer`` (corrected; erratum ``newton.layer_printed``),
  ``newton.init_layer`` (corrected; erratum ``newton.init_printed``),
  ``newton.k_steps`` (our exact k + 2-layer model),
  ``newton.expansion`` (corrected; erratum ``newton.expansion_printed``),
  ``newton.convergence`` (corrected α; erratum ``newton.step_size_printed``).
- Giannou, Yang, Wang, Papailiopoulos, Lee (2024), arXiv:2403.03183:
  ``newton.linear_attention_step``.

We could read only the abstract and introduction of arXiv:2310.17086v3 (HTML)
in our corpus, not App. B: the errata below are against the transcription in
shared/CLAIMS.md §2.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, PrimeField, Rational
from transformer_proofs.constructions.engine import Attention, forward
from transformer_proofs.constructions.newton import (
    inversion_prompt,
    linear_newton_step,
    linearise_relu_pairs,
    newton_prompt,
    newton_transformer,
    printed_init_layer,
    printed_newton_layer,
)
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import newton as algorithms
from transformer_proofs.verify.checks import (
    Draw,
    IdentitySpec,
    Mutant,
    _rng,
    exact_mismatches,
    falsifier_from_check,
    identity_checks,
    identity_falsifiers,
)
from transformer_proofs.verify.claims._regression import RegressionInstance, columns, draw_regression
from transformer_proofs.verify.lemmas.lemma import lemma_check
from transformer_proofs.verify.lemmas.newton import newton_layer_lemma
from transformer_proofs.verify.registry import CheckResult, Claim, Context, Erratum, Falsifier, Paper, register
from transformer_proofs.verify.torch_backend import torch_checks

FU = Paper("D. Fu, T.-Q. Chen, R. Jia, V. Sharan", 2023,
           "Transformers Learn Higher-Order Optimization Methods for In-Context Learning: A Study with Linear Models "
           "(v3: Transformers Learn to Achieve Second-Order Convergence Rates for In-Context Linear Regression)",
           "2310.17086", "§5, Theorem 5.1 and App. B (Def. B.1)")
GIANNOU = Paper("A. Giannou, L. Yang, T. Wang, D. Papailiopoulos, J. D. Lee", 2024,
                "How Well Can Transformers Emulate In-context Newton's Method?", "2403.03183",
                "linear-attention Newton step for matrix inversion (abstract, §3)")

TRANSCRIPTION = ("Erratum against the transcription in shared/CLAIMS.md §2: our corpus holds only the abstract and "
                 "introduction of arXiv:2310.17086v3, not App. B.")


# ---------------------------------------------------------------------------
# shared: running a model in any arithmetic
# ---------------------------------------------------------------------------


def run_model(ar: Arithmetic, model: Any, Z: Any) -> Any:
    """Forward pass; in an unordered system (GF(p)) the ReLU pairs are first
    replaced by the linear heads they equal on the reals
    (:func:`constructions.newton.linearise_relu_pairs`)."""
    if not ar.ordered:
        model = linearise_relu_pairs(model)
    return forward(ar, model, ar.array(Z))


def _alpha_for(draw: Draw, X: np.ndarray) -> Any:
    """α for an identity check: a field element / a symbol, or for dyadic
    draws the power of two 2^-⌈log2 tr(S²)⌉ (then αλ_max² <= α‖S‖_F² <= 1,
    inside the convergent region, so float64 iterates stay bounded)."""
    if draw.kind != "dyadic":
        return draw.step()
    S = np.asarray(X, dtype=object).T.dot(np.asarray(X, dtype=object))
    tr = sum((Fraction(v) ** 2 for v in S.ravel()), Fraction(0))
    if tr == 0:
        return Fraction(1)
    e = math.ceil(math.log2(tr)) if tr > 0 else 0
    while Fraction(2) ** e < tr:
        e += 1
    return Fraction(1, 2**e) if e >= 0 else Fraction(2**-e)


def _xbar(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """[x_1 … x_n x_q] (d, n+1)."""
    X, _, x_q = columns(ar, inst)
    return ar.concat([ar.T(X), x_q], axis=1)


# ---------------------------------------------------------------------------
# newton.layer and its erratum
# ---------------------------------------------------------------------------


def _sample_layer(draw: Draw, sizes: dict[str, int]) -> RegressionInstance:
    d, n = sizes["d"], sizes["n"]
    inst = draw_regression(draw, d, n)
    T = draw.real((d, d), scale=0.25)
    inst.extra["T"] = np.triu(T) + np.triu(T, 1).T  # M_k is symmetric (a polynomial in S)
    return inst


def _layer_input(ar: Arithmetic, inst: RegressionInstance) -> Any:
    Xb = _xbar(ar, inst)
    return ar.concat([ar.matmul(ar.array(inst.extra["T"]), Xb), Xb], axis=0)  # [T x_t; x_t]


def _run_layer(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    return run_model(ar, model, _layer_input(ar, inst))


def _reference_layer(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """[(2T - TST) x_t; x_t] for every token, S over the n context examples."""
    X, _, _ = columns(ar, inst)
    S = ar.matmul(ar.T(X), X)
    T = ar.array(inst.extra["T"])
    T1 = T * ar.const(2) - ar.matmul(ar.matmul(T, S), T)
    Xb = _xbar(ar, inst)
    return ar.concat([ar.matmul(T1, Xb), Xb], axis=0)


def _flip_second_value(model: Any, only: Callable[[int], bool] = lambda i: True) -> Any:
    layers = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Attention) and len(layer.heads) >= 2 and only(i):
            h = layer.heads[1]
            layer = replace(layer, heads=(layer.heads[0], replace(h, W_V=-np.asarray(h.W_V, dtype=object)))
                            + layer.heads[2:])
        layers.append(layer)
    return model.with_layers(layers)


def _scale_queries(model: Any, factor: Any, only: Callable[[int], bool] = lambda i: True) -> Any:
    layers = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Attention) and only(i):
            layer = replace(layer, heads=tuple(replace(h, W_Q=np.asarray(h.W_Q, dtype=object) * factor)
                                               for h in layer.heads))
        layers.append(layer)
    return model.with_layers(layers)


LAYER_MUTANTS = (
    Mutant("printed V_2 = +J", "the second head's value not negated: ReLU(u) + ReLU(-u) = |u|",
           lambda m, i: _flip_second_value(m)),
    Mutant("dropped 1/n", "attention sum without the 1/n normalisation", lambda m, i: mutants.drop_scale(m)),
    Mutant("C = -n I", "C without the 1/2: the update becomes T - T S T before doubling",
           lambda m, i: _scale_queries(m, 2)),
    Mutant("MLP dropped", "no doubling of the top block", lambda m, i: mutants.drop_last_layer(m)),
    Mutant("query as key", "the query token joins the keys and values", lambda m, i: mutants.unmask_all_keys(m)),
)

LAYER_SPEC = IdentitySpec(
    sample=_sample_layer, build=lambda inst: printed_newton_layer(inst.d, inst.n, v2_sign=-1),
    run=_run_layer, reference=_reference_layer,
    sizes={"float64": [{"d": 1, "n": 1}, {"d": 3, "n": 6}, {"d": 6, "n": 16}],
           "mpmath": [{"d": 2, "n": 3}, {"d": 3, "n": 6}],
           "rational": [{"d": 1, "n": 1}, {"d": 4, "n": 8}, {"d": 8, "n": 20}],
           "prime-field": [{"d": 8, "n": 20}, {"d": 16, "n": 64}],
           "symbolic": [{"d": 2, "n": 2}]},
    degree=lambda s: 5, mutants=LAYER_MUTANTS)

register(Claim(
    id="newton.layer", paper=FU, kind="identity",
    statement=("One Newton layer on h_t = [T x_t; x_t] (C = [[0, -(n/2)I], [0, 0]], J = [[I, 0], [0, 0]], two normalised "
               "ReLU heads with Q̃_1ᵀK̃_1 = I, Q̃_2ᵀK̃_2 = -I, V_1 = J, V_2 = -J (corrected), then the MLP h <- h + Jh) maps "
               "T x_t to (2T - T S T) x_t for every token, T symmetric: one Newton–Schulz step."),
    checks={**identity_checks(LAYER_SPEC), **torch_checks(LAYER_SPEC, _layer_input, lens=True),
            "lemma": lemma_check(newton_layer_lemma(v2_sign=-1))}, falsifiers=identity_falsifiers(LAYER_SPEC),
    notes=("The all-sizes lemma is stated on the transcribed block form with the corrected V_2 = -J (not read "
           "from constructions/newton.py), so it proves the block algebra for every d and n; the identity checks "
           "tie our construction to it at the drawn sizes.  "
           "T is drawn symmetric: in general the layer computes 2T - T S Tᵀ (the score is x_tᵀ T x_j), which is "
           "2T - TST exactly for the symmetric M_k.  The -(n/2) in C and the 1/n normalisation combine to the 1/2 "
           "that the MLP's doubling turns into the Newton step: both are correct as printed.  Prime-field evidence "
           "runs the model with each ReLU pair replaced by the linear head it equals on the reals (ReLU(s) - ReLU(-s) "
           "= s); the ReLU model itself is checked in float64, mpmath, rationals and symbolically on sign cells.")))


def _small_search(build_printed: Callable[[RegressionInstance], Any], build_fixed: Callable[[RegressionInstance], Any],
                  run: Callable[[Arithmetic, Any, RegressionInstance], Any],
                  reference: Callable[[Arithmetic, RegressionInstance], Any],
                  extra: Callable[[int, tuple], dict[str, Any]], n_extra: Callable[[int], int]) -> tuple[RegressionInstance, Any, Any] | None:
    """Smallest counterexample: (d, n) = (1, 1), (1, 2), then the fewest
    nonzero entries, entries in {1, -1}."""
    ar = Rational()
    for d, n in [(1, 1), (1, 2), (2, 1)]:
        slots = n * d + d + n_extra(d)
        for nnz in range(1, slots + 1):
            for chosen in itertools.combinations(range(slots), nnz):
                for signs in itertools.product((1, -1), repeat=nnz):
                    vals = [Fraction(0)] * slots
                    for c, s in zip(chosen, signs):
                        vals[c] = Fraction(s)
                    X = np.array(vals[:n * d], dtype=object).reshape(n, d)
                    x_q = np.array(vals[n * d:n * d + d], dtype=object)
                    inst = RegressionInstance(d, n, X, np.zeros(n, dtype=object) + Fraction(0), x_q,
                                              extra(d, tuple(vals[n * d + d:])))
                    out = run(ar, build_printed(inst), inst)
                    exp = reference(ar, inst)
                    if exact_mismatches(out, exp):
                        fixed = run(ar, build_fixed(inst), inst)
                        if exact_mismatches(fixed, exp):
                            raise AssertionError("the corrected construction fails on the counterexample too")
                        return inst, out, exp
    return None


def _sym_from(d: int, vals: tuple) -> np.ndarray:
    T = np.zeros((d, d), dtype=object) + Fraction(0)
    it = iter(vals)
    for a in range(d):
        for b in range(a, d):
            T[a, b] = T[b, a] = next(it)
    return T


def _fmt(a: Any) -> str:
    return str([[str(v) for v in row] for row in np.asarray(a, dtype=object).tolist()]) if np.ndim(a) == 2 else \
        str([str(v) for v in np.asarray(a, dtype=object).ravel()])


def _check_layer_printed(ctx: Context) -> CheckResult:
    found = _small_search(lambda i: printed_newton_layer(i.d, i.n, v2_sign=1),
                          lambda i: printed_newton_layer(i.d, i.n, v2_sign=-1),
                          _run_layer, _reference_layer,
                          extra=lambda d, v: {"T": _sym_from(d, v)}, n_extra=lambda d: d * (d + 1) // 2)
    if found is None:
        return CheckResult("rational", "exact", 0, None, None, "fails", "no counterexample: the printed layer may hold")
    inst, out, exp = found
    text = (f"d={inst.d}, n={inst.n}, X={_fmt(inst.X)}, x_q={_fmt(inst.x_q)}, T={_fmt(inst.extra['T'])}: printed layer "
            f"gives top blocks {_fmt(out[:inst.d])}, Newton (2T - TST) x_t = {_fmt(exp[:inst.d])}; with V_2 = -J "
            "the layer gives the Newton value (exact)")
    return CheckResult("rational", "exact", 1, None, 0.0, "refuted", "counterexample (exact): " + text,
                       data={"counterexample": text})


register(Claim(
    id="newton.layer_printed", paper=FU, kind="identity",
    statement=("As printed: the same Newton layer with V_1 = V_2 = J (the paper arguing ReLU(u) + ReLU(-u) = u) maps "
               "T x_t to (2T - TST) x_t."),
    checks={"rational": _check_layer_printed},
    erratum=Erratum(
        counterexample=("d=1, n=1, x_1 = 1, x_q = 0, T = 1: the printed layer gives top block 3 for token 1 "
                        "(2T x + Σ_j |x_tᵀTx_j| T x_j), Newton gives (2 - 1)·1 = 1"),
        correction=("ReLU(u) + ReLU(-u) = |u|, not u; the linear identity is ReLU(u) - ReLU(-u) = u, so the second "
                    "head needs V_2 = -J (then the layer is exactly one Newton–Schulz step)"),
        corrected_claim="newton.layer"),
    notes=TRANSCRIPTION))


# ---------------------------------------------------------------------------
# newton.init_layer and its erratum
# ---------------------------------------------------------------------------


def _sample_init(draw: Draw, sizes: dict[str, int]) -> RegressionInstance:
    inst = draw_regression(draw, sizes["d"], sizes["n"])
    inst.extra["alpha"] = _alpha_for(draw, inst.X)
    return inst


def _init_input(ar: Arithmetic, inst: RegressionInstance) -> Any:
    Xb = _xbar(ar, inst)
    return ar.concat([Xb, Xb], axis=0)


def _run_init(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    return run_model(ar, model, _init_input(ar, inst))


def _reference_init(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """[x_t + αS x_t; x_t]."""
    X, _, _ = columns(ar, inst)
    S = ar.matmul(ar.T(X), X)
    Xb = _xbar(ar, inst)
    return ar.concat([Xb + ar.matmul(S, Xb) * ar.const(inst.extra["alpha"]), Xb], axis=0)


INIT_SPEC = IdentitySpec(
    sample=_sample_init, build=lambda inst: printed_init_layer(inst.d, inst.n, inst.extra["alpha"], v2_sign=-1),
    run=_run_init, reference=_reference_init,
    sizes={"float64": [{"d": 1, "n": 1}, {"d": 3, "n": 6}, {"d": 6, "n": 16}],
           "mpmath": [{"d": 2, "n": 3}, {"d": 3, "n": 6}],
           "rational": [{"d": 1, "n": 2}, {"d": 4, "n": 8}],
           "prime-field": [{"d": 16, "n": 64}],
           "symbolic": [{"d": 2, "n": 2}]},
    degree=lambda s: 4,
    mutants=(Mutant("printed V_2 = +nαJ", "second value not negated", lambda m, i: _flip_second_value(m)),
             Mutant("V = αJ", "the factor n in V_m = nαJ dropped",
                    lambda m, i: mutants.map_heads(m, lambda h: replace(h, W_V=np.asarray(h.W_V, dtype=object) / i.n))),
             Mutant("dropped 1/n", "no 1/n normalisation", lambda m, i: mutants.drop_scale(m)),
             Mutant("query as key", "the query joins the keys", lambda m, i: mutants.unmask_all_keys(m))))

register(Claim(
    id="newton.init_layer", paper=FU, kind="identity",
    statement=("The init layer on [x_t; x_t] with Q_1ᵀK_1 = -Q_2ᵀK_2 = [[I,0],[0,0]], V_1 = nαJ and V_2 = -nαJ "
               "(corrected) gives [x_t + αS x_t; x_t]: the V_m = nα scaling and the 1/n normalisation are right."),
    checks={**identity_checks(INIT_SPEC), **torch_checks(INIT_SPEC, _init_input)}, falsifiers=identity_falsifiers(INIT_SPEC),
    notes=("The top block is (I + αS) x_t, not M_0 x_t = αS x_t: a Newton iteration started there is not the "
           "printed M_0 = αS; the paper's further init layers must remove x_t.  Our end-to-end model instead writes "
           "αS x_t into an empty slot (one layer).")))


def _check_init_printed(ctx: Context) -> CheckResult:
    found = _small_search(lambda i: printed_init_layer(i.d, i.n, i.extra["alpha"], v2_sign=1),
                          lambda i: printed_init_layer(i.d, i.n, i.extra["alpha"], v2_sign=-1),
                          _run_init, _reference_init, extra=lambda d, v: {"alpha": Fraction(1)}, n_extra=lambda d: 0)
    if found is None:
        return CheckResult("rational", "exact", 0, None, None, "fails", "no counterexample found")
    inst, out, exp = found
    text = (f"d={inst.d}, n={inst.n}, α=1, X={_fmt(inst.X)}, x_q={_fmt(inst.x_q)}: printed init gives top blocks "
            f"{_fmt(out[:inst.d])}, [x_t + αS x_t] = {_fmt(exp[:inst.d])} (exact); V_2 = -nαJ gives the latter")
    return CheckResult("rational", "exact", 1, None, 0.0, "refuted", "counterexample (exact): " + text,
                       data={"counterexample": text})


register(Claim(
    id="newton.init_printed", paper=FU, kind="identity",
    statement="As printed: the init layer with V_1 = V_2 = nα[[I,0],[0,0]] turns [x_t; x_t] into [x_t + αS x_t; x_t].",
    checks={"rational": _check_init_printed},
    erratum=Erratum(
        counterexample=("d=1, n=1, α=1, x_1 = 1, x_q = -1: the printed layer gives the query x_q + α|x_qx_1| x_1 = 0, "
                        "the claim says x_q + αS x_q = -2"),
        correction="the heads' scores are ±x_tᵀx_j, so V_2 must be -nαJ (ReLU(u) - ReLU(-u) = u)",
        corrected_claim="newton.init_layer"),
    notes=TRANSCRIPTION))


# ---------------------------------------------------------------------------
# newton.k_steps: our exact k + 2-layer model
# ---------------------------------------------------------------------------


def _sample_k(draw: Draw, sizes: dict[str, int]) -> RegressionInstance:
    inst = draw_regression(draw, sizes["d"], sizes["n"])
    inst.extra["alpha"] = _alpha_for(draw, inst.X)
    inst.extra["k"] = sizes["k"]
    return inst


def _build_k(inst: RegressionInstance) -> Any:
    return newton_transformer(inst.d, inst.n, inst.extra["k"], inst.extra["alpha"])


def _run_k(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    return run_model(ar, model, newton_prompt(inst.X, inst.y, inst.x_q))


def _reference_k(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """Final stream: [M_k x_t; x_t; y_t; x_tᵀ M_k Xᵀ y] for every token (the
    query's y is 0); the prediction is the query's last entry."""
    X, y, _ = columns(ar, inst)
    S = ar.matmul(ar.T(X), X)
    M = algorithms.newton_schulz(ar, S, ar.const(inst.extra["alpha"]), inst.extra["k"])[-1]
    Xb = _xbar(ar, inst)
    ybar = ar.concat([ar.T(y), ar.zeros((1, 1))], axis=1)
    pred = ar.matmul(ar.T(ar.matmul(M, Xb)), ar.matmul(ar.T(X), y))  # (n+1, 1)
    return ar.concat([ar.matmul(M, Xb), Xb, ybar, ar.T(pred)], axis=0)


def _drop_newton_layer(model: Any) -> Any:
    if len(model.layers) < 4:
        return model.with_layers(model.layers[:1] + model.layers[-1:])
    return model.with_layers(model.layers[:1] + model.layers[3:])


def _is_newton(i: int, model_len: int) -> bool:
    return 0 < i < model_len - 1


K_MUTANTS = (
    Mutant("printed V_2 = +J", "Newton layers with the printed V_2 = J",
           lambda m, i: _flip_second_value(m, lambda j: _is_newton(j, len(m.layers)))),
    Mutant("one Newton layer fewer", "k - 1 Newton layers (or init straight to read-out)",
           lambda m, i: _drop_newton_layer(m)),
    Mutant("dropped 1/n", "no 1/n in any attention layer", lambda m, i: mutants.drop_scale(m)),
    Mutant("query as key", "the query token joins the keys and values", lambda m, i: mutants.unmask_all_keys(m)),
    Mutant("V = α in init", "init value α x_j instead of nα x_j",
           lambda m, i: mutants.map_heads(m, lambda h: replace(h, W_V=np.asarray(h.W_V, dtype=object) / i.n), only=0)),
    Mutant("read-out sign", "read-out pair with V_2 = +n y", lambda m, i: _flip_second_value(m, lambda j: j == len(m.layers) - 1)),
)


def _degree_k(s: dict[str, int]) -> int:
    # deg M_0 = 3 (α and S), deg M_{j+1} = 2 deg M_j + 2: deg M_k = 5·2^k - 2; prediction + 3.
    return 5 * 2 ** s["k"] + 1


K_SPEC = IdentitySpec(
    sample=_sample_k, build=_build_k, run=_run_k, reference=_reference_k,
    sizes={"float64": [{"d": 1, "n": 1, "k": 0}, {"d": 2, "n": 4, "k": 2}, {"d": 4, "n": 8, "k": 3}],
           "mpmath": [{"d": 2, "n": 3, "k": 1}, {"d": 3, "n": 6, "k": 3}],
           "rational": [{"d": 1, "n": 2, "k": 1}, {"d": 3, "n": 6, "k": 4}, {"d": 4, "n": 8, "k": 6}],
           "prime-field": [{"d": 4, "n": 8, "k": 3}, {"d": 16, "n": 64, "k": 10}],
           "symbolic": [{"d": 1, "n": 2, "k": 1}]},
    degree=_degree_k, mutants=K_MUTANTS)

register(Claim(
    id="newton.k_steps", paper=FU, kind="identity",
    statement=("Our exact realisation of the theorem: 1 init layer (two ReLU heads writing αS x_t), k Newton layers as "
               "printed (with V_2 = -J), 1 read-out layer (two ReLU heads) — k + 2 layers, against the paper's k + 8 — "
               "leave M_k x_t in every token and predict x_qᵀ M_k Xᵀ y, M_k the k-th Newton–Schulz iterate from αS."),
    checks={**identity_checks(K_SPEC), **torch_checks(K_SPEC, lambda ar, i: ar.array(newton_prompt(i.X, i.y, i.x_q)))}, falsifiers=identity_falsifiers(K_SPEC),
    notes=("The init and read-out layers are ours (the paper builds them from Akyürek et al.'s approximate "
           "primitives); they use the same normalised ReLU attention over the n context tokens.  The whole final "
           "stream is compared.  O(1) = 2 (transformer layers = attention + MLP counted once).  Prime field: "
           "d = 16, n = 64, k = 10 (Schwartz–Zippel degree 5·2^k + 1); rationals to k = 6.")))


# ---------------------------------------------------------------------------
# newton.expansion and its erratum
# ---------------------------------------------------------------------------


def _scalar_newton(k: int) -> list[Any]:
    """M_0..M_k as polynomials in commuting symbols α (a) and s: for any
    symmetric S every M_j is a polynomial in S, and a polynomial identity
    p(S) = 0 holds for all symmetric S of every size iff p(λ) = 0 for every
    real λ (spectral theorem): the scalar check covers all sizes."""
    import sympy as sp

    a, s = sp.symbols("alpha s")
    Ms = [sp.expand(a * s)]
    for _ in range(k):
        Ms.append(sp.expand(2 * Ms[-1] - Ms[-1] * s * Ms[-1]))
    return Ms


def _expansions(kind: str) -> tuple[Any, Any]:
    import sympy as sp

    a, s = sp.symbols("alpha s")
    if kind == "printed":
        return 2*a*s - 4*a**2*s**3, 4*a*s - 12*a**2*s**3 + 16*a**3*s**5 - 16*a**4*s**7
    if kind == "corrected":
        return 2*a*s - a**2*s**3, 4*a*s - 6*a**2*s**3 + 4*a**3*s**5 - a**4*s**7
    if kind == "mutant":  # a falsifier: one coefficient off
        return 2*a*s - a**2*s**3, 4*a*s - 6*a**2*s**3 + 4*a**3*s**5 - 2*a**4*s**7
    raise ValueError(kind)


def _closed_form(k: int, sign: int = 1, extra_terms: int = 0) -> Any:
    """M_k = αS Σ_{i<2^k} (I - αS²)^i (so I - M_k S = (I - αS²)^{2^k})."""
    import sympy as sp

    a, s = sp.symbols("alpha s")
    return sp.expand(a * s * sum((1 - sign * a * s**2) ** i for i in range(2**k + extra_terms)))


def _check_expansion_symbolic(kind: str = "corrected", closed: Callable[[int], Any] = _closed_form, kmax: int = 4) -> CheckResult:
    import sympy as sp

    Ms = _scalar_newton(kmax)
    M1, M2 = _expansions(kind)
    r1, r2 = sp.expand(Ms[1] - M1), sp.expand(Ms[2] - M2)
    if r1 != 0 or r2 != 0:
        return CheckResult("symbolic", "symbolic", 2, None, 0.0, "fails", f"residuals M_1: {r1}; M_2: {r2}")
    for k in range(kmax + 1):
        r = sp.expand(Ms[k] - closed(k))
        if r != 0:
            return CheckResult("symbolic", "symbolic", k + 3, None, 0.0, "fails",
                               f"closed form M_k = αS Σ_(i<2^k) (I - αS²)^i fails at k = {k}: residual {str(r)[:200]}")
    return CheckResult("symbolic", "symbolic", kmax + 3, 0.0, 0.0, "holds",
                       "M_1 = 2αS - α²S³, M_2 = 4αS - 6α²S³ + 4α³S⁵ - α⁴S⁷ and M_k = αS Σ_(i<2^k)(I - αS²)^i "
                       f"(k <= {kmax}) as polynomials in commuting α, S: for every symmetric S of every size "
                       "(spectral theorem)")


def _check_expansion_matrix(ar: Arithmetic, ctx: Context, d: int, kmax: int) -> CheckResult:
    """The matrix recursion against the corrected expansions and the closed
    form, for a drawn S = XᵀX and α (no commutativity assumed)."""
    rng = _rng(ctx, "newton.expansion." + ar.name)
    if isinstance(ar, PrimeField):
        X, alpha = ar.array(ar.random(rng, (2 * d, d))), ar.const(int(rng.integers(1, ar.p)))
    else:
        X = ar.array([[Fraction(int(v), 8) for v in row] for row in rng.integers(-16, 17, (2 * d, d))])
        alpha = ar.const(Fraction(1, 64))
    S = ar.matmul(ar.T(X), X)
    Ms = algorithms.newton_schulz(ar, S, alpha, kmax)
    I = ar.eye(d)
    S3 = ar.matmul(ar.matmul(S, S), S)
    S5, S7 = ar.matmul(S3, ar.matmul(S, S)), ar.matmul(S3, ar.matmul(S3, S))
    two, a = ar.const(2), alpha
    M1 = S * (two * a) - S3 * (a * a)
    M2 = S * (ar.const(4) * a) - S3 * (ar.const(6) * a * a) + S5 * (ar.const(4) * a * a * a) - S7 * (a * a * a * a)
    bad = exact_mismatches(Ms[1], M1) or exact_mismatches(Ms[2], M2)
    E0 = I - ar.matmul(S, S) * a
    P = E0
    for k in range(1, kmax + 1):
        P = ar.matmul(P, P)  # (I - αS²)^{2^k}
        bad = bad or exact_mismatches(I - ar.matmul(Ms[k], S), P)
    mode = "prime-field" if isinstance(ar, PrimeField) else "rational"
    if bad:
        return CheckResult(mode, "exact", 1, None, 0.0, "fails", f"matrix recursion disagrees with the expansion at d={d}")
    return CheckResult(mode, "exact", 1, 0.0, 0.0, "holds",
                       f"matrix recursion = corrected M_1, M_2 and I - M_k S = (I - αS²)^(2^k) for k <= {kmax}, d = {d}")


def _expansion_falsifier(name: str, desc: str, fn: Callable[[], CheckResult]) -> Falsifier:
    return falsifier_from_check(name, desc, lambda ctx: fn())


register(Claim(
    id="newton.expansion", paper=FU, kind="identity",
    statement=("With M_0 = αS and M_{k+1} = 2M_k - M_k S M_k: M_1 = 2αS - α²S³ and M_2 = 4αS - 6α²S³ + 4α³S⁵ - α⁴S⁷ "
               "(corrected), and in general M_k = αS Σ_{i<2^k} (I - αS²)^i, i.e. I - M_k S = (I - αS²)^{2^k}."),
    checks={"symbolic": lambda ctx: _check_expansion_symbolic(),
            "rational": lambda ctx: _check_expansion_matrix(Rational(), ctx, 4, 4),
            "prime-field": lambda ctx: _check_expansion_matrix(PrimeField(), ctx, 16, 8)},
    falsifiers=[
        _expansion_falsifier("printed M_1, M_2", "the printed coefficients (4α², 12α², ...)",
                             lambda: _check_expansion_symbolic("printed")),
        _expansion_falsifier("-2α⁴S⁷ in M_2", "one coefficient off", lambda: _check_expansion_symbolic("mutant")),
        _expansion_falsifier("closed form with 2^k + 1 terms", "one term too many",
                             lambda: _check_expansion_symbolic(closed=lambda k: _closed_form(k, extra_terms=1))),
        _expansion_falsifier("closed form with I + αS²", "sign flipped inside the geometric sum",
                             lambda: _check_expansion_symbolic(closed=lambda k: _closed_form(k, sign=-1))),
    ],
    notes=("Symbolic evidence is for all sizes: every M_k is a polynomial in the symmetric S, so a scalar polynomial "
           "identity in (α, λ) is the matrix identity on every eigenvector.  The matrix checks (rational d = 4, prime "
           "field d = 16, k <= 8) use no such argument.")))


def _check_expansion_printed(ctx: Context) -> CheckResult:
    import sympy as sp

    a, s = sp.symbols("alpha s")
    Ms = _scalar_newton(2)
    P1, P2 = _expansions("printed")
    vals = {a: 1, s: 1}
    m1, p1 = Ms[1].subs(vals), P1.subs(vals)
    m2, p2 = Ms[2].subs(vals), P2.subs(vals)
    # The printed M_2 is what the recursion gives from the printed M_1: the slip is in M_1 only.
    inherited = sp.expand(2 * P1 - P1 * s * P1 - P2) == 0
    if m1 == p1:
        return CheckResult("symbolic", "exact", 1, None, None, "fails", "the printed M_1 agrees at α = S = 1")
    text = (f"d=1, X = [[1]] (S = 1), α = 1: M_1 = {m1}, printed {p1}; M_2 = {m2}, printed {p2} (exact). "
            f"The printed M_2 equals 2M̃_1 - M̃_1 S M̃_1 of the printed M̃_1: {inherited}")
    return CheckResult("symbolic", "exact", 1, None, 0.0, "refuted", "counterexample (exact): " + text,
                       data={"counterexample": text})


register(Claim(
    id="newton.expansion_printed", paper=FU, kind="identity",
    statement="As printed: M_1 = 2αS - 4α²S³ and M_2 = 4αS - 12α²S³ + 16α³S⁵ - 16α⁴S⁷.",
    checks={"symbolic": _check_expansion_printed},
    erratum=Erratum(
        counterexample="d=1, S = 1, α = 1: M_1 = 2 - 1 = 1 but the printed M_1 = 2 - 4 = -2; M_2 = 1, printed -8",
        correction=("M_0 S M_0 = α²S³, not 4α²S³: M_1 = 2αS - α²S³ and M_2 = 4αS - 6α²S³ + 4α³S⁵ - α⁴S⁷; the printed "
                    "M_2 is exactly the recursion applied to the printed M_1, so the slip is one coefficient of M_1"),
        corrected_claim="newton.expansion"),
    notes=TRANSCRIPTION))


# ---------------------------------------------------------------------------
# newton.convergence and the printed step size
# ---------------------------------------------------------------------------

CONV_D, CONV_N, NEWTON_K, GD_CAP = 8, 64, 24, 20000
EPS_TARGET = 1e-8


def _prompts(ctx: Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = _rng(ctx, "newton.convergence")
    return {"κ(Σ)=1": algorithms.conditioned_design(rng, CONV_D, CONV_N, 1.0),
            "κ(Σ)=100": algorithms.conditioned_design(rng, CONV_D, CONV_N, 100.0)}


def _float_floor(S: np.ndarray) -> float:
    """Error floor of float64 iterates: 10·d·u·κ(S) (the forward error of a
    backward-stable solve, with slack for the d-term sums)."""
    lmax, lmin, _ = algorithms.spectrum(S)
    return 10 * S.shape[0] * np.finfo(float).eps / 2 * lmax / lmin


def _rate_check(ctx: Context, alpha_of: Callable[[np.ndarray], float] = algorithms.safe_alpha,
                step: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> CheckResult:
    """Newton errors e_k against the bound ‖E_0‖^(2^k) (+ the float floor),
    quadratic contraction e_{k+1} <= ‖E_k‖ e_k, and Newton reaching 1e-8
    within ⌈log2(ln(1/ε)/ln(1/ρ))⌉ iterations."""
    lines, worst = [], 0.0
    for label, (X, y) in _prompts(ctx).items():
        S = algorithms.gram(X)
        alpha = alpha_of(S)
        try:
            rho = algorithms.check_newton_alpha(S, alpha)
        except algorithms.StepSizeError as exc:
            return CheckResult("rate", "bound", 0, None, None, "fails", f"{label}: {exc}")
        w = algorithms.least_squares_target(X, y)
        b = X.T @ y
        M, errs = alpha * S, []
        with np.errstate(all="ignore"):
            for _ in range(NEWTON_K + 1):
                errs.append(float(np.linalg.norm(M @ b - w) / np.linalg.norm(w)))
                M = (2 * M - M @ S @ M) if step is None else step(M, S)
        floor = _float_floor(S)
        for k, e in enumerate(errs):
            # ρ itself comes from float64 eigenvalues: relative error <= spectral_fuzz, so
            # ρ^(2^k) carries relative error <= 2^k·fuzz (first order), covered here.
            bound = min(rho ** (2**k), 1.0) * (1 + 2**k * algorithms.spectral_fuzz(S)) + floor
            if not e <= bound:
                return CheckResult("rate", "bound", k + 1, e, bound, "fails",
                                   f"{label}: Newton error {e:.3g} after k = {k} exceeds ‖E_0‖^(2^k) + floor = {bound:.3g}")
            worst = max(worst, e / bound)
        kneed = algorithms.newton_iterations_bound(rho, EPS_TARGET)
        got = next((k for k, e in enumerate(errs) if e <= EPS_TARGET), None)
        if got is None or got > kneed:
            return CheckResult("rate", "bound", len(errs), None, None, "fails",
                               f"{label}: Newton needs {got} iterations to 1e-8, bound {kneed}")
        lines.append(f"{label}: κ(S) = {algorithms.spectrum(S)[0] / algorithms.spectrum(S)[1]:.3g}, ‖E_0‖ = {rho:.6f}, "
                     f"1e-8 after {got} Newton iterations (bound {kneed})")
    return CheckResult("rate", "bound", 2, worst, 1.0, "holds",
                       "e_k <= ‖I - αS²‖^(2^k) + float floor (the contraction squares every iteration); " + "; ".join(lines))


def _comparison_rows(ctx: Context) -> list[dict[str, Any]]:
    rows = []
    for label, (X, y) in _prompts(ctx).items():
        S = algorithms.gram(X)
        newton = algorithms.newton_curve(X, y, algorithms.safe_alpha(S), NEWTON_K)
        gd = algorithms.gd_curve(X, y, algorithms.optimal_gd_step(S, CONV_N), GD_CAP)
        floor = _float_floor(S)
        for k, e in enumerate(newton.errors):
            if k > 0 and newton.errors[k - 1] <= floor:
                break
            t = algorithms.gd_steps_to_match(gd.errors, max(e, floor))
            rows.append({"prompt": label, "k": k, "newton": e, "gd_steps": t})
    return rows


def _check_gd_comparison(ctx: Context) -> CheckResult:
    """Empirical: on the same prompts, GD (optimal constant step) needs many
    more steps than Newton iterations, and more so for κ = 100."""
    rows = _comparison_rows(ctx)
    final = {r["prompt"]: r for r in rows}
    well, ill = final["κ(Σ)=1"], final["κ(Σ)=100"]
    if ill["gd_steps"] is None:
        summary = f"GD did not reach Newton's final error within {GD_CAP} steps for κ = 100"
    else:
        summary = (f"to Newton's final error: κ(Σ)=1: {well['k']} Newton iterations vs {well['gd_steps']} GD steps; "
                   f"κ(Σ)=100: {ill['k']} Newton iterations vs {ill['gd_steps']} GD steps")
    ok = (ill["gd_steps"] is None or ill["gd_steps"] > ill["k"]) and (well["gd_steps"] or 0) >= well["k"]
    return CheckResult("gd-comparison", "empirical", len(rows), None, None, "holds" if ok else "fails", summary,
                       data={"rows": [{k: (v if not isinstance(v, float) else float(v)) for k, v in r.items()} for r in rows]})


def _check_residual_squares(ctx: Context) -> CheckResult:
    """Exact: E_{k+1} = E_k² (so E_k = (I - αS²)^{2^k}) for drawn S, any α."""
    ar = Rational()
    rng = _rng(ctx, "newton.residual")
    for d in (2, 4):
        X = ar.array([[Fraction(int(v), 8) for v in row] for row in rng.integers(-16, 17, (2 * d, d))])
        S = ar.matmul(ar.T(X), X)
        Es = algorithms.newton_residual(ar, S, ar.const(Fraction(int(rng.integers(1, 64)), 4096)), 4)
        for k in range(4):
            if exact_mismatches(Es[k + 1], ar.matmul(Es[k], Es[k])):
                return CheckResult("rational", "exact", d, None, 0.0, "fails", f"E_{k+1} != E_{k}² at d = {d}")
    return CheckResult("rational", "exact", 2, 0.0, 0.0, "holds",
                       "E_{k+1} = E_k² exactly (E_k = I - M_k S), k < 4, d in {2, 4}: the error contraction squares "
                       "every iteration, for any α")


def _convergence_table(ctx: Context) -> str:
    from tabulate import tabulate

    rows = _comparison_rows(ctx)
    body = [[r["prompt"], r["k"], f"{r['newton']:.2e}", r["gd_steps"] if r["gd_steps"] is not None else f"> {GD_CAP}"]
            for r in rows]
    text = tabulate(body, headers=["prompt (d=8, n=64)", "Newton k", "Newton rel. error", "GD steps to match"],
                    tablefmt="github")
    printed = []
    for label, (X, y) in _prompts(ctx).items():
        S = algorithms.gram(X)
        c = algorithms.newton_curve(X, y, algorithms.printed_alpha(S), 60, strict=False)
        first_bad = next((k for k, e in enumerate(c.errors) if not e < 1), None)
        lmax_vec = np.linalg.eigh(S)[1][:, -1]
        w = algorithms.least_squares_target(X, y)
        top = abs(float(lmax_vec @ w)) / float(np.linalg.norm(w))
        fate = (f"float64 rounding then pushes the edge mode outside |1 - αλ²| < 1 and the iterates blow up from "
                f"k = {first_bad}" if first_bad is not None else
                "here rounding happened to put the edge mode just inside the unit interval, so only rounding (not "
                "the method) could make it converge, after ~log2(1/u) iterations")
        printed.append(f"- {label}, printed α = 2/‖SSᵀ‖₂: error {c.errors[10]:.3g} at k = 10, {c.errors[30]:.3g} at "
                       f"k = 30, against the top component |⟨w_LS, v_max⟩|/‖w_LS‖ = {top:.3g} that Newton never "
                       f"recovers in exact arithmetic ({c.status}); {fate}.")
    return (text + "\n\nNewton uses α = 1/‖SSᵀ‖₂ (half the printed value); GD uses its optimal constant step "
            "η = 2n/(λ_max + λ_min) on R(w) = (1/2n)‖Xw - y‖², from w = 0.  Errors are ‖w - w_LS‖/‖w_LS‖; rows stop "
            "at the float64 floor.\n\n" + "\n".join(printed))


def _convergence_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    from pathlib import Path

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, (label, (X, y)) in zip(axes, _prompts(ctx).items()):
        S = algorithms.gram(X)
        newton = algorithms.newton_curve(X, y, algorithms.safe_alpha(S), NEWTON_K)
        printed = algorithms.newton_curve(X, y, algorithms.printed_alpha(S), 40, strict=False)
        gd = algorithms.gd_curve(X, y, algorithms.optimal_gd_step(S, CONV_N), GD_CAP)
        it = lambda e: np.arange(1, len(e) + 1)  # iteration + 1 on a log axis
        floor = 1e-17
        ax.loglog(it(gd.errors), np.maximum(gd.errors, floor), label="GD (optimal step)", color="tab:blue")
        ax.loglog(it(newton.errors), np.maximum(newton.errors, floor), "o-", ms=3, label="Newton, α = 1/‖SSᵀ‖", color="tab:red")
        pe = np.where(np.isfinite(printed.errors), printed.errors, np.nan)
        ax.loglog(it(pe), np.clip(pe, floor, 1e3), "x--", ms=3, label="Newton, printed α = 2/‖SSᵀ‖", color="tab:gray")
        lmax, lmin, _ = algorithms.spectrum(S)
        ax.set_title(f"{label}, κ(S) = {lmax / lmin:.0f}")
        ax.set_xlabel("iteration + 1")
        ax.set_ylim(1e-17, 1e3)
    axes[0].set_ylabel("‖w - w_LS‖ / ‖w_LS‖")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    name = "newton_convergence.svg"
    fig.savefig(Path(outdir) / name, metadata={"Date": None})
    plt.close(fig)
    return name, ("Relative error against iteration (log-log), d = 8, n = 64: Newton–Schulz (α = 1/‖SSᵀ‖₂) reaches the "
                  "float64 floor in a few dozen iterations where GD needs thousands of steps for κ(Σ) = 100; with the "
                  "printed α = 2/‖SSᵀ‖₂ Newton stalls (the top eigendirection is lost) and later blows up.")


def _rate_falsifier(name: str, desc: str, **kw: Any) -> Falsifier:
    return falsifier_from_check(name, desc, lambda ctx: _rate_check(ctx, **kw))


register(Claim(
    id="newton.convergence", paper=FU, kind="rate",
    statement=("For 0 < α < 2/‖SSᵀ‖₂ (we use α = 1/‖SSᵀ‖₂), ŵ_k = M_k Xᵀy -> w_LS with ‖ŵ_k - w_LS‖ <= "
               "‖I - αS²‖^(2^k) ‖w_LS‖: quadratic convergence, O(log κ + log log 1/ε) iterations, against GD's "
               "O(κ log 1/ε) steps."),
    checks={"rational": _check_residual_squares, "rate": _rate_check, "gd-comparison": _check_gd_comparison},
    falsifiers=[
        _rate_falsifier("printed α", "α = 2/‖SSᵀ‖₂, the edge of the convergent region", alpha_of=algorithms.printed_alpha),
        _rate_falsifier("α = 2/‖S‖₂", "‖S‖ read for ‖SSᵀ‖ (diverges when ‖S‖₂ > 1)",
                        alpha_of=lambda S: 2.0 / float(np.linalg.norm(S, 2))),
        _rate_falsifier("GD step in place of Newton", "M <- M + α(S - S M S)... a first-order update",
                        step=lambda M, S: M + 1.0 / float(np.linalg.norm(S, 2)) ** 2 * (S - S @ M @ S)),
    ],
    figure=_convergence_figure, table=_convergence_table,
    notes=("Prompts: d = 8, n = 64, x ~ N(0, Σ) with κ(Σ) = 1 and κ(Σ) = 100 (half the eigenvalues 100, half 1, random "
           "eigenbasis), y = Xw*; κ(S) is larger than κ(Σ) by sampling.  Evidence: the exact identity E_{k+1} = E_k², "
           "the bound e_k <= ‖E_0‖^(2^k) checked numerically above a derived float64 floor 10·d·u·κ(S), and the "
           "GD comparison (empirical).  ‖SSᵀ‖₂ = ‖S‖₂² = λ_max²: the printed α puts the top eigenvalue of αS² at "
           "exactly 2 (see newton.step_size_printed).  A singular XᵀX raises SingularDesignError and an α outside "
           "(0, 2/‖SSᵀ‖₂) raises StepSizeError (verify.algorithms.newton).")))


def _rational_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A rational orthogonal matrix: a product of Householder reflections
    I - 2vvᵀ/(vᵀv) with integer v."""
    Q = np.eye(d, dtype=int).astype(object) + Fraction(0)
    for _ in range(2):
        v = [Fraction(int(x)) for x in rng.integers(-3, 4, d)]
        vv = sum(x * x for x in v)
        if vv == 0:
            continue
        H = np.array([[Fraction(int(i == j)) - 2 * v[i] * v[j] / vv for j in range(d)] for i in range(d)], dtype=object)
        Q = Q.dot(H)
    return Q


def _check_step_size_printed(ctx: Context) -> CheckResult:
    """Exact: with α = 2/λ_max² (S built with rational eigenvalues), the top
    eigenvector v has M_k S v = 0 for every k >= 1; d = 1: M_k = 0."""
    ar = Rational()
    rng = _rng(ctx, "newton.step_size")
    d = 4
    Q = _rational_orthogonal(d, rng)
    sv = [Fraction(3), Fraction(2), Fraction(1), Fraction(1, 2)]
    X = ar.array(np.diag(np.array(sv, dtype=object)).dot(Q.T))  # X = diag(σ) Qᵀ, S = Q diag(σ²) Qᵀ
    S = ar.matmul(ar.T(X), X)
    lam_max = sv[0] ** 2
    alpha = ar.const(2 / lam_max**2)  # = 2/‖SSᵀ‖₂ exactly
    v = ar.array(Q[:, :1])
    Ms = algorithms.newton_schulz(ar, S, alpha, 10)
    stuck = all(not exact_mismatches(ar.matmul(ar.matmul(M, S), v), ar.zeros((d, 1))) for M in Ms[1:])
    one = algorithms.newton_schulz(ar, ar.array([[1]]), ar.const(2), 10)
    zero_1d = all(M[0, 0] == 0 for M in one[1:])
    if not (stuck and zero_1d):
        return CheckResult("rational", "exact", 2, None, None, "fails", "the printed α converged on the test instances")
    text = ("d=1, X = [[1]] (S = 1, ‖SSᵀ‖₂ = 1), printed α = 2: M_0 = 2, M_1 = 2·2 - 2·1·2 = 0 and M_k = 0 for all k "
            "(S⁺ = 1); d=4, S = Q diag(9, 4, 1, 1/4) Qᵀ (rational orthogonal Q), α = 2/81: M_k S v_max = 0 exactly for "
            "k = 1..10, so ŵ_k never has the top component of w_LS")
    return CheckResult("rational", "exact", 2, None, 0.0, "refuted", "counterexample (exact): " + text,
                       data={"counterexample": text})


register(Claim(
    id="newton.step_size_printed", paper=FU, kind="rate",
    statement="As printed: with α = 2/‖SSᵀ‖₂, M_k -> S⁺ (and ŵ_k -> w_LS).",
    checks={"rational": _check_step_size_printed},
    erratum=Erratum(
        counterexample=("d=1, X = [[1]]: α = 2, M_0 = 2, M_1 = 2M_0 - M_0 S M_0 = 0 = M_k for all k >= 1, while "
                        "S⁺ = 1 (exact)"),
        correction=("I - M_k S = (I - αS²)^{2^k} converges iff |1 - αλ²| < 1 for every nonzero eigenvalue λ of S, "
                    "i.e. 0 < α < 2/λ_max² = 2/‖SSᵀ‖₂ strictly; the printed α is the boundary (1 - αλ_max² = -1, so "
                    "E_k has eigenvalue 1 on v_max for all k >= 1).  Any α in the open interval works, e.g. "
                    "α = 1/‖SSᵀ‖₂ or 2/(λ_max² + λ_min²)"),
        corrected_claim="newton.convergence"),
    notes=(TRANSCRIPTION + "  In float64 the printed α stalls (the top component of w_LS is missing from ŵ_k): the relative error stays at |⟨w_LS, v_max⟩|/‖w_LS‖ (see the table of newton.convergence); after "
           "about 50 iterations float64 rounding decides the edge mode's fate (on our κ(Σ)=1 prompt the iterates "
           "overflow).")))


# ---------------------------------------------------------------------------
# Giannou et al.: linear attention, one Newton step for matrix inversion
# ---------------------------------------------------------------------------


def _sample_inversion(draw: Draw, sizes: dict[str, int]) -> dict[str, Any]:
    d = sizes["d"]
    return {"d": d, "A": draw.real((d, d)), "X": draw.real((d, d), scale=0.5)}


def _run_inversion(ar: Arithmetic, model: Any, inst: dict[str, Any]) -> Any:
    return forward(ar, model, ar.array(inversion_prompt(inst["A"], inst["X"])))


def _reference_inversion(ar: Arithmetic, inst: dict[str, Any]) -> Any:
    """[2X - XAX; Aᵀ; I]."""
    A, X = ar.array(inst["A"]), ar.array(inst["X"])
    X1 = X * ar.const(2) - ar.matmul(ar.matmul(X, A), X)
    return ar.concat([X1, ar.T(A), ar.eye(inst["d"])], axis=0)


def _swap_qk(model: Any) -> Any:
    def fix(layer: Attention) -> Attention:
        h = layer.heads[1]
        return replace(layer, heads=(layer.heads[0], replace(h, W_Q=h.W_K, W_K=h.W_Q)))
    return mutants.map_attention(model, fix)


INVERSION_SPEC = IdentitySpec(
    sample=_sample_inversion, build=lambda inst: linear_newton_step(inst["d"]),
    run=_run_inversion, reference=_reference_inversion,
    sizes={"float64": [{"d": 1}, {"d": 3}, {"d": 6}], "mpmath": [{"d": 2}, {"d": 4}], "rational": [{"d": 1}, {"d": 4}, {"d": 8}],
           "prime-field": [{"d": 16}, {"d": 32}], "symbolic": [{"d": 2}, {"d": 3}]},
    degree=lambda s: 3,
    mutants=(Mutant("flipped sign", "head 2 value +x_j", lambda m, i: _flip_second_value(m)),
             Mutant("no doubling head", "head 1 dropped: X - XAX", lambda m, i: mutants.drop_head(m, 0)),
             Mutant("query/key swapped", "head 2 reads r_t as query and x_j as key (A for Aᵀ)", lambda m, i: _swap_qk(m)),
             Mutant("1/d normalisation", "sums scaled by 1/d", lambda m, i: mutants.rescale(m, Fraction(1, i["d"])))))

register(Claim(
    id="newton.linear_attention_step", paper=GIANNOU, kind="identity",
    statement=("Linear attention alone implements one Newton step X <- 2X - XAX for A⁻¹ (any square A, any X): ours is "
               "one layer of two linear heads on tokens [X e_t; Aᵀ e_t; e_t] (one-hot positions)."),
    checks={**identity_checks(INVERSION_SPEC), **torch_checks(INVERSION_SPEC, lambda ar, i: ar.array(inversion_prompt(i["A"], i["X"])))}, falsifiers=identity_falsifiers(INVERSION_SPEC),
    notes=("The weights are ours: we could not read the construction of arXiv:2403.03183 (the abstract states two "
           "linear-attention layers); with one-hot positions one layer of two heads suffices.  Non-symmetric A and X "
           "are drawn, so a transposition error is caught.")))
