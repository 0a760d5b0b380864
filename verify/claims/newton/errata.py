"""Printed statements of Fu et al. (arXiv:2310.17086) shown false, each with
its counterexample computed by :func:`counterexample_search` over an ordered
candidate list inside the paper's own scope."""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from typing import Any, Iterator

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, Rational
from transformer_proofs.constructions.newton import printed_init_layer, printed_newton_layer
from transformer_proofs.verify.algorithms import newton as algorithms
from transformer_proofs.verify.checkers import counterexample_search, falsifier_from_check
from transformer_proofs.verify.claims.newton.claims import (
    Recursion,
    expansion_reference,
    expansion_run,
    init_prompt,
    init_reference,
    layer_prompt,
    layer_reference,
)
from transformer_proofs.verify.claims.newton.instances import (
    AUTHORS_CODE,
    FU,
    READ_IN,
    ExpansionInstance,
    InitInstance,
    LayerInstance,
    StepInstance,
    draw_expansion,
    draw_init,
    draw_layer,
    fmt,
    run_on,
)
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.relations import AtMost, Verdict, _flat, _same_shape
from transformer_proofs.verify.spec import Claim, ClaimSpec, Erratum, Provenance

NO_LAYER_CODE = ("The authors' repository (" + AUTHORS_CODE + ") trains GPT-2 models and runs a numerical Newton "
                 "baseline; it has no code of the App. B ReLU layers, so it does not settle the sign of V_2.")


def context(ar: Arithmetic, state: Any, inst: Any) -> Any:
    """The n context tokens' columns: the paper's layers act on H = [h_1 … h_n]."""
    return state[:, :inst.n]


def _sign_vectors(slots: int) -> Iterator[list[Fraction]]:
    """Vectors in {-1, 0, 1}^slots, fewest nonzero entries first."""
    for nnz in range(1, slots + 1):
        for chosen in itertools.combinations(range(slots), nnz):
            for signs in itertools.product((1, -1), repeat=nnz):
                vals = [Fraction(0)] * slots
                for c, s in zip(chosen, signs):
                    vals[c] = Fraction(s)
                yield vals


SMALL_SIZES = ((1, 1), (1, 2), (2, 1), (2, 2))
BUDGET = "(d, n) in (1, 1), (1, 2), (2, 1), (2, 2); X in {-1, 0, 1}^(n×d), fewest nonzero entries first; x_q = 0"


def _designs() -> Iterator[tuple[int, int, np.ndarray]]:
    for d, n in SMALL_SIZES:
        for vals in _sign_vectors(n * d):
            yield d, n, np.array(vals, dtype=object).reshape(n, d)


def _zeros(d: int) -> np.ndarray:
    return np.array([Fraction(0)] * d, dtype=object)


# ---------------------------------------------------------------------------
# newton.layer_printed: V_1 = V_2 = J (App. B.2, eqs. (27)–(28))
# ---------------------------------------------------------------------------


def _layer_candidates() -> Iterator[LayerInstance]:
    """Context prompts with T = T^(0) = αS, α = 1 (the state of eq. (24))."""
    for d, n, X in _designs():
        yield LayerInstance(d, n, X, _zeros(d), X.T.dot(X))


LAYER_PRINTED = ClaimSpec(
    draw=draw_layer, build=lambda i: printed_newton_layer(i.d, i.n, v2_sign=1), prompt=layer_prompt,
    run=run_on(layer_prompt, context), reference=lambda ar, i: context(ar, layer_reference(ar, i), i),
    sizes={"float64": [{"d": 1, "n": 1}]})
LAYER_FIXED = ClaimSpec(
    draw=draw_layer, build=lambda i: printed_newton_layer(i.d, i.n, v2_sign=-1), prompt=layer_prompt,
    run=run_on(layer_prompt, context), reference=lambda ar, i: context(ar, layer_reference(ar, i), i),
    sizes={"float64": [{"d": 1, "n": 1}]})


def _confirm_fixed(spec: ClaimSpec, inst: Any, what: str) -> str:
    lhs, rhs = spec.evaluate(Rational(), inst)
    if spec.relation.exact(lhs, rhs).status != "holds":
        raise AssertionError(f"the corrected {what} fails on the counterexample too")
    return fmt(np.asarray(lhs, dtype=object)[:inst.d])


def _describe_layer(inst: LayerInstance, out: Any, exp: Any) -> str:
    fixed = _confirm_fixed(LAYER_FIXED, inst, "layer (V_2 = -J)")
    return (f"d={inst.d}, n={inst.n}, X={fmt(inst.X)}, T = T^(0) = αS = {fmt(inst.T)} (α = 1): on the context tokens "
            f"the printed layer (V_1 = V_2 = J) gives top blocks {fmt(np.asarray(out, dtype=object)[:inst.d])}, "
            f"one Newton step (2T - TST) x_t = {fmt(np.asarray(exp, dtype=object)[:inst.d])}; with V_2 = -J the "
            f"layer gives {fixed}, the Newton value (exact)")


register(Claim(
    id="newton.layer_printed", paper=FU, kind="identity",
    statement=("As printed: the Newton layer with V_1 = V_2 = J (the paper arguing ReLU(u) + ReLU(-u) = u) maps "
               "T x_t to (2T - TST) x_t on the context tokens."),
    checks={"rational": counterexample_search(_layer_candidates, LAYER_PRINTED, _describe_layer, budget=BUDGET)},
    falsifiers=[falsifier_from_check(
        "corrected layer searched", "the same search with V_2 = −J must find no counterexample (the search reports "
        "only mismatches the printed layer has)",
        counterexample_search(_layer_candidates, LAYER_FIXED, _describe_layer, budget=BUDGET))],
    provenance=Provenance(
        "printed", "App. B.2, eqs. (27)–(28) (and (29)–(31) built on them)",
        quote=("V_1 = V_2 = J ... [ReLU((G h_t)ᵀ(J h_j)) + ReLU(−(G h_t)ᵀ(J h_j))]·(J h_j) = (G h_t)ᵀ(J h_j)(J h_j)"),
        read_in=READ_IN),
    erratum=Erratum(
        correction=("ReLU(u) + ReLU(-u) = |u|, not u; the linear identity is ReLU(u) - ReLU(-u) = u, so the second "
                    "head needs V_2 = -J (then the layer is exactly one Newton–Schulz step)"),
        corrected_claim="newton.layer",
        scope=("The paper applies the layer to H^(ℓ) = [h_1 … h_n], the n context tokens, whose top blocks hold "
               "T^(ℓ) x_t with T^(0) = αS, α > 0 (eqs. (24)–(26)); the search compares the context tokens only, on "
               "exactly such states (T = αS, α = 1)."),
        authors_code=NO_LAYER_CODE),
    trust=("exact rational arithmetic on the candidates; the corrected layer confirmed exactly on the counterexample",),
    notes="The search's first failing candidate is the counterexample; its budget is stated in the check's detail."))


# ---------------------------------------------------------------------------
# newton.init_printed: V_1 = V_2 = nαJ (App. B.2, eqs. (21)–(22))
# ---------------------------------------------------------------------------


def _init_candidates() -> Iterator[InitInstance]:
    for d, n, X in _designs():
        yield InitInstance(d, n, X, _zeros(d), Fraction(1))


def _init_spec(v2_sign: int) -> ClaimSpec:
    return ClaimSpec(
        draw=draw_init, build=lambda i: printed_init_layer(i.d, i.n, i.alpha, v2_sign=v2_sign), prompt=init_prompt,
        run=run_on(init_prompt, context), reference=lambda ar, i: context(ar, init_reference(ar, i), i),
        sizes={"float64": [{"d": 1, "n": 2}]})


INIT_PRINTED, INIT_FIXED = _init_spec(1), _init_spec(-1)


def _describe_init(inst: InitInstance, out: Any, exp: Any) -> str:
    fixed = _confirm_fixed(INIT_FIXED, inst, "init layer (V_2 = -nαJ)")
    o, e = np.asarray(out, dtype=object)[:inst.d], np.asarray(exp, dtype=object)[:inst.d]
    bad = [t for t in range(inst.n) if any(o[r, t] != e[r, t] for r in range(inst.d))]
    return (f"d={inst.d}, n={inst.n}, α={inst.alpha}, X={fmt(inst.X)}: on context token(s) "
            f"{', '.join(f'x_{t + 1}' for t in bad)} the printed init (V_1 = V_2 = nαJ) gives top blocks {fmt(o)}, "
            f"eq. (22) states x_t + αS x_t = {fmt(e)} (exact); V_2 = -nαJ gives {fixed}. With n = 1 no context "
            "counterexample exists (x_1ᵀx_1 >= 0, so ReLU(-x_1ᵀx_1) = 0)")


register(Claim(
    id="newton.init_printed", paper=FU, kind="identity",
    statement=("As printed: the init layer with V_1 = V_2 = nα[[I,0],[0,0]] turns [x_t; x_t] into "
               "[x_t + αS x_t; x_t] for every context token t ∈ [n]."),
    checks={"rational": counterexample_search(_init_candidates, INIT_PRINTED, _describe_init, budget=BUDGET)},
    falsifiers=[falsifier_from_check(
        "corrected init searched", "the same search with V_2 = −nαJ must find no counterexample",
        counterexample_search(_init_candidates, INIT_FIXED, _describe_init, budget=BUDGET))],
    provenance=Provenance(
        "printed", "App. B.2, eqs. (20)–(22)",
        quote=("ReLU(x_tᵀx_j) + ReLU(−x_tᵀx_j) = ⟨x_t, x_j⟩ (21); Let all value matrices V_m = nα[[I, O], [O, O]] "
               "... = [x_t + αS x_t; x_t] (22)"),
        read_in=READ_IN),
    erratum=Erratum(
        correction="the heads' scores are ±x_tᵀx_j, so V_2 must be -nαJ (ReLU(u) - ReLU(-u) = u)",
        corrected_claim="newton.init_layer",
        scope=("The printed init acts on the n context tokens only (eq. (20): input H = {x_1, …, x_n}; eq. (21): "
               "'for any t ∈ [n]'); the query x_test is not in its input.  The search compares context tokens only "
               "(x_q = 0 is never a key and plays no part), with α = 1 > 0 (Theorem 5.1: 'for some α > 0')."),
        authors_code=NO_LAYER_CODE),
    trust=("exact rational arithmetic on the candidates; the corrected layer confirmed exactly on the counterexample",)))


# ---------------------------------------------------------------------------
# newton.expansion_printed: M_1, M_2 (§5 and App. B.3, eqs. (38)–(39))
# ---------------------------------------------------------------------------


def printed_expansion_reference(ar: Arithmetic, inst: ExpansionInstance) -> Any:
    """[2αS - 4α²S³; 4αS - 12α²S³ + 16α³S⁵ - 16α⁴S⁷] as printed."""
    X = ar.array(inst.X)
    S = ar.matmul(ar.T(X), X)
    a = ar.const(inst.alpha)
    S2 = ar.matmul(S, S)
    S3 = ar.matmul(S2, S)
    S5, S7 = ar.matmul(S3, S2), ar.matmul(ar.matmul(S3, S2), S2)
    M1 = S * (ar.const(2) * a) - S3 * (ar.const(4) * a * a)
    M2 = (S * (ar.const(4) * a) - S3 * (ar.const(12) * a * a) + S5 * (ar.const(16) * a * a * a)
          - S7 * (ar.const(16) * a * a * a * a))
    return ar.concat([M1, M2], axis=0)


def _expansion_candidates() -> Iterator[ExpansionInstance]:
    """d = 1, X = [[c]], with the printed α = 2/‖SSᵀ‖₂ = 2/c⁴ of eq. (37)."""
    for c in (1, 2, 3):
        X = np.array([[Fraction(c)]], dtype=object)
        yield ExpansionInstance(1, X, Fraction(2, c**4), 0)


def _m12(ar: Arithmetic, model: Recursion, inst: ExpansionInstance) -> Any:
    return expansion_run(ar, model, ExpansionInstance(inst.d, inst.X, inst.alpha, 2))[:2 * inst.d]


EXPANSION_PRINTED = ClaimSpec(
    draw=draw_expansion, build=lambda i: Recursion(), run=_m12, reference=printed_expansion_reference,
    sizes={"float64": [{"d": 1, "kmax": 2}]})
EXPANSION_CORRECTED = ClaimSpec(
    draw=draw_expansion, build=lambda i: Recursion(), run=_m12,
    reference=lambda ar, i: expansion_reference(ar, ExpansionInstance(i.d, i.X, i.alpha, 2))[:2 * i.d],
    sizes={"float64": [{"d": 1, "kmax": 2}]})


def _describe_expansion(inst: ExpansionInstance, out: Any, exp: Any) -> str:
    import sympy as sp

    a, s = sp.symbols("alpha s")
    P1 = 2*a*s - 4*a**2*s**3
    P2 = 4*a*s - 12*a**2*s**3 + 16*a**3*s**5 - 16*a**4*s**7
    inherited = sp.expand(2 * P1 - P1 * s * P1 - P2) == 0
    o, e = np.asarray(out, dtype=object).ravel(), np.asarray(exp, dtype=object).ravel()
    S = inst.X[0, 0] ** 2
    return (f"d=1, X = {fmt(inst.X)} (S = {S}), printed α = 2/‖SSᵀ‖₂ = {inst.alpha}: the recursion gives M_1 = {o[0]}, "
            f"M_2 = {o[1]}; the printed expansions give {e[0]} and {e[1]} (exact).  The printed M_2 is the recursion "
            f"applied to the printed M_1 (2M̃_1 - M̃_1 S M̃_1 = M̃_2 as polynomials: {inherited}), so the slip is in "
            "M_1: M_0 S M_0 = α²S³, not 4α²S³")


register(Claim(
    id="newton.expansion_printed", paper=FU, kind="identity",
    statement="As printed: M_1 = 2αS - 4α²S³ and M_2 = 4αS - 12α²S³ + 16α³S⁵ - 16α⁴S⁷.",
    checks={"rational": counterexample_search(_expansion_candidates, EXPANSION_PRINTED, _describe_expansion,
                                              budget="d = 1, X = [[c]], c = 1, 2, 3, printed α = 2/c⁴")},
    falsifiers=[falsifier_from_check(
        "corrected expansions searched", "the same search against M_1 = 2αS − α²S³ and its M_2 must find no "
        "counterexample",
        counterexample_search(_expansion_candidates, EXPANSION_CORRECTED, _describe_expansion,
                                              budget="d = 1, X = [[c]], c = 1, 2, 3, printed α = 2/c⁴"))],
    provenance=Provenance(
        "printed", "§5 (text after eq. (10)) and App. B.3, eqs. (38)–(39)",
        quote=("M_1 = 2M_0 − M_0SM_0 = 2αSᵀ − 4α²SᵀSSᵀ = 2αS − 4α²S³ (38); ... = 4αS − 12α²S³ + 16α³S⁵ − 16α⁴S⁷ (39)"),
        read_in=READ_IN),
    erratum=Erratum(
        correction=("M_0 S M_0 = α²S³, not 4α²S³: M_1 = 2αS - α²S³ and M_2 = 4αS - 6α²S³ + 4α³S⁵ - α⁴S⁷; the printed "
                    "M_2 is exactly the recursion applied to the printed M_1, so the slip is one coefficient of M_1"),
        corrected_claim="newton.expansion",
        scope=("Eqs. (37)–(39) expand M_1, M_2 from M_0 = αS with α = 2/‖SSᵀ‖₂ (eq. (37)); the counterexample uses "
               "that very α on the 1×1 design X = [[1]] (§5's 'for some α > 0' would allow any α > 0 too)."),
        authors_code=("The authors' code (" + AUTHORS_CODE + ") iterates M ← M(2I − SM) numerically and has no "
                      "expansion in powers of S; it does not bear on eqs. (38)–(39).")),
    trust=("exact rational arithmetic; the 'slip is in M_1' remark is a sympy polynomial identity",)))


# ---------------------------------------------------------------------------
# newton.step_size_printed: α = 2/‖SSᵀ‖₂ (§3.1, eq. (5); App. B.3, eq. (37))
# ---------------------------------------------------------------------------


class StrictlyBelow(AtMost):
    """lhs < rhs entry by entry, exactly.
    # CORE-CANDIDATE: a strict inequality (convergence needs a contraction < 1,
    # AtMost is <=); exact reading only."""

    def __init__(self) -> None:
        super().__init__("bound", "the left side is strictly below the right side")

    def exact(self, lhs: Any, rhs: Any) -> Verdict:
        _same_shape(lhs, rhs)
        slack = [Fraction(str(b)) - Fraction(str(a)) for a, b in zip(_flat(lhs), _flat(rhs))]
        bad = [i for i, s in enumerate(slack) if not s > 0]
        if bad:
            return Verdict("fails", float(-slack[bad[0]]), 0.0, where=f"entry {bad[0]} is not strictly below")
        return Verdict("holds", 0.0, 0.0, margin=float(min(slack)) if slack else None)


def step_run(ar: Arithmetic, model: Any, inst: StepInstance) -> Any:
    """[vᵀE_K v / vᵀv] with E_K = I - M_K S from the printed α (exact)."""
    X = ar.array(inst.X)
    S = ar.matmul(ar.T(X), X)
    M = algorithms.newton_schulz(ar, S, ar.const(inst.alpha), inst.K)[-1]
    E = ar.eye(inst.d) - ar.matmul(M, S)
    v = ar.array(np.asarray(inst.v, dtype=object).reshape(-1, 1))
    num = ar.matmul(ar.matmul(ar.T(v), E), v)
    den = ar.matmul(ar.T(v), v)
    return ar.array(np.array([[Fraction(str(num[0, 0])) / Fraction(str(den[0, 0]))]], dtype=object))


def _rational_orthogonal(d: int) -> np.ndarray:
    """A fixed rational orthogonal matrix: two Householder reflections."""
    Q = np.eye(d, dtype=int).astype(object) + Fraction(0)
    for v in ([1, 2, -1, 1][:d], [2, -1, 0, 3][:d]):
        vv = sum(x * x for x in v)
        H = np.array([[Fraction(int(i == j)) - Fraction(2 * v[i] * v[j], vv) for j in range(d)] for i in range(d)],
                     dtype=object)
        Q = Q.dot(H)
    return Q


def _step_candidates() -> Iterator[StepInstance]:
    """d = 1, X = [[c]] (S = c², λ_max = c²); then d = 4, S = Q diag(9, 4, 1, 1/4) Qᵀ;
    α = 2/‖SSᵀ‖₂ = 2/λ_max² exactly, v the top eigenvector, K = 10."""
    for c in (1, 2):
        yield StepInstance(1, np.array([[Fraction(c)]], dtype=object), Fraction(2, c**4),
                           np.array([Fraction(1)], dtype=object), 10)
    Q = _rational_orthogonal(4)
    sv = [Fraction(3), Fraction(2), Fraction(1), Fraction(1, 2)]
    X = np.diag(np.array(sv, dtype=object)).dot(Q.T)
    yield StepInstance(4, X, 2 / sv[0] ** 4, Q[:, 0], 10)


STEP_PRINTED = ClaimSpec(
    draw=lambda draw, sizes: next(_step_candidates()), build=lambda i: None, run=step_run,
    reference=lambda ar, i: ar.array(np.array([[Fraction(1)]], dtype=object)),
    sizes={"float64": [{}]}, relation=StrictlyBelow())


def _describe_step(inst: StepInstance, out: Any, exp: Any) -> str:
    ar = Rational()
    X = ar.array(inst.X)
    S = ar.matmul(ar.T(X), X)
    Ms = algorithms.newton_schulz(ar, S, ar.const(inst.alpha), inst.K)
    shown = ", ".join(f"M_{k} = {fmt(np.asarray(M, dtype=object))}" for k, M in enumerate(Ms[:3]))
    zero = all(all(v == 0 for v in np.asarray(ar.matmul(M, S), dtype=object).ravel()) for M in Ms[1:])
    return (f"d={inst.d}, X = {fmt(inst.X)} (S = {fmt(np.asarray(S, dtype=object))}, ‖SSᵀ‖₂ = λ_max² = "
            f"{2 / inst.alpha}), printed α = {inst.alpha}: {shown}; vᵀE_{inst.K}v/vᵀv = "
            f"{np.asarray(out, dtype=object).ravel()[0]} on the top eigenvector (E_k = I - M_k S), not below 1.  Since "
            "E_(k+1) = E_k² exactly (newton.expansion), E_k v = v for every k >= 1: M_k S v = 0, so M_k never "
            f"reaches S⁺" + (f" (here M_k S = 0 for k = 1..{inst.K}, while S⁺S = I)"
                             if zero else ""))


register(Claim(
    id="newton.step_size_printed", paper=FU, kind="rate",
    statement="As printed: with α = 2/‖SSᵀ‖₂, M_k -> S⁺ (and ŵ_k -> w_LS).",
    checks={"rational": counterexample_search(
        _step_candidates, STEP_PRINTED, _describe_step,
        budget="d = 1, X = [[1]], [[2]]; then d = 4, S = Q diag(9, 4, 1, 1/4) Qᵀ; K = 10 iterations")},
    falsifiers=[falsifier_from_check(
        "half the printed α searched", "the same candidates with α = 1/‖SSᵀ‖₂ (inside the convergent region) must "
        "show no stalled eigendirection",
        counterexample_search(lambda: (replace(c, alpha=c.alpha / 2) for c in _step_candidates()), STEP_PRINTED,
                              _describe_step, budget="the same candidates, α halved"))],
    relation=STEP_PRINTED.relation,
    provenance=Provenance(
        "printed", "§3.1, eq. (5) (α) with the convergence statement after it; App. B.3, eq. (37)",
        quote=("M_0 = αS, where α = 2/‖SSᵀ‖₂ (5) ... This computes an approximation of the pseudo inverse ... only "
               "requires O(log κ(S) + log log(1/ε)) steps to converge to an ε error; 'Iterative Newton's method finds "
               "S† as follows: M_0 = 2/‖SSᵀ‖₂ Sᵀ' (37)"),
        read_in=READ_IN),
    erratum=Erratum(
        correction=("I - M_k S = (I - αS²)^{2^k} converges iff |1 - αλ²| < 1 for every nonzero eigenvalue λ of S, "
                    "i.e. 0 < α < 2/λ_max² = 2/‖SSᵀ‖₂ strictly; the printed α is the boundary (1 - αλ_max² = -1, so "
                    "E_k has eigenvalue 1 on v_max for all k >= 1).  Any α in the open interval works, e.g. "
                    "α = 1/‖SSᵀ‖₂ or 2/(λ_max² + λ_min²)"),
        corrected_claim="newton.convergence",
        scope=("The printed α of eq. (5) / (37) on a nonzero design (the 1×1 X = [[1]]): §3.1 puts no condition on X, "
               "and for every X ≠ 0 the top eigendirection is lost the same way."),
        authors_code=("The authors' code (" + AUTHORS_CODE + ", newton_inv) sets α = 1/‖SSᵀ‖ with torch.linalg.norm's "
                      "default, the Frobenius norm, and M_0 = αSᵀ: α <= 1/λ_max², strictly inside the convergent "
                      "region and at most half the printed 2/‖SSᵀ‖₂, so the code does not use the printed α.")),
    trust=("exact rational arithmetic for M_1..M_K at the printed α; non-convergence for all k from E_(k+1) = E_k² "
           "(proved in newton.expansion)",),
    notes=("In float64 the printed α stalls: the relative error stays at the top component |⟨w_LS, v_max⟩|/‖w_LS‖ "
           "(table of newton.convergence).  What happens after that in float64 depends on how rounding places the "
           "computed αλ_max² around 2, which differs between machines; the report states no iterate count for it.")))
