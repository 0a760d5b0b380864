"""The fgd claims, declared through the claim spec.

Cheng, Chen, Sra (2024), "Transformers Implement Functional Gradient Descent to
Learn Non-Linear Functions In Context", ICML 2024, arXiv:2312.06528.

Exact evidence for *every* kernel: the construction only ever sees the kernel
values K(x_i, x_j), and x never changes (A_ℓ = 0), so the identity is a
polynomial identity in those values (rational for softmax, whose values are
normalised over the context keys).  The exact checks draw the kernel matrix
itself (dyadic rationals, uniform GF(p) elements, free symbols) and feed it
to the engine through a kernel callable (kernels ``free``, ``free-softmax``);
the engine's own scores get float64 and multiprecision evidence, and the
rational ones (linear, ReLU) exact evidence too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
import sympy
from transformer_proofs.constructions.arithmetic import Arithmetic, ErrArray, Float64, Sym
from transformer_proofs.constructions.engine import Readout, forward, read_out
from transformer_proofs.constructions.functional_gd import (
    fgd_prompt,
    functional_gd_transformer,
    multi_head_transformer,
)
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import functional_gd as fgd
from transformer_proofs.verify.checkers import (
    mutant_falsifier,
    run_mode,
    spec_checks,
    spec_falsifiers,
)
from transformer_proofs.verify.claims.fgd.instances import (
    ENGINE_KERNELS,
    FREE_KERNELS,
    FgdInstance,
    MultiHeadInstance,
    Sizes,
    draw_instance,
    draw_invertible,
    draw_limit,
    draw_multi_head,
    engine_softmax_wrong_axis,
    free_kernel,
    kinds_sizes,
)
from transformer_proofs.verify.claims.fgd.library import LIBRARY_SIZES, MULTI_LIBRARY_SIZES, library_checks
from transformer_proofs.verify.claims.fgd.relations import BoundWithValues, Competitors, NotSignificantlyAbove
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.lemmas.fgd import functional_gd_lemma
from transformer_proofs.verify.lemmas.layers import Parameters
from transformer_proofs.verify.lemmas.lemma import lemma_check
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Check, CheckResult, Claim, ClaimSpec, Context, Mutant, Paper, Provenance

CHENG = Paper("X. Cheng, Y. Chen, S. Sra", 2024,
              "Transformers Implement Functional Gradient Descent to Learn Non-Linear Functions In Context",
              "2312.06528")
READ_IN = ("third-party summaries of the paper: a paper-summary collection in a public repository (its central "
           "claims with their numbers: Proposition 1 functional GD, Proposition 2 convergence to the Bayes-optimal "
           "predictor, Proposition 3 multi-head composite kernels, Theorem 1 stationarity) and chatpaper.com's "
           "section summary of the ICML version (Proposition 3.1); the paper's own text was not in our corpus")


# ---------------------------------------------------------------------------
# construction, prompt, the model's side, the reference
# ---------------------------------------------------------------------------


def build(inst: FgdInstance) -> Any:
    return functional_gd_transformer(inst.d, inst.n, inst.etas, inst.activation())


def prompt(ar: Arithmetic, inst: FgdInstance | MultiHeadInstance) -> Any:
    return ar.array(fgd_prompt(inst.X, inst.y, inst.x_q))


def _one_by_one(x: Any) -> Any:
    if isinstance(x, (ErrArray, np.ndarray)):
        return x.reshape(1, 1)
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = x
    return out


def with_prediction(ar: Arithmetic, state: Any, prediction: Any, N: int) -> Any:
    """The state with one more row [0 … 0, prediction]: the read-out is compared too."""
    row = ar.concat([ar.zeros((1, N - 1)), _one_by_one(prediction)], axis=1)
    return ar.concat([state, row], axis=0)


# The read-out is the model's own (a mutant may change it), so the model's
# side is forward + the model's Readout: ClaimSpec.readout gets no model.
def state_and_prediction(ar: Arithmetic, model: Any, inst: Any) -> Any:
    state = forward(ar, model, prompt(ar, inst))  # (d+1, N)
    return with_prediction(ar, state, read_out(ar, model, state), inst.n + 1)


def prediction(ar: Arithmetic, model: Any, inst: Any) -> Any:
    return _one_by_one(read_out(ar, model, forward(ar, model, prompt(ar, inst))))


def reference_state(ar: Arithmetic, inst: FgdInstance) -> Any:
    """Functional GD with the reference's kernel values: x unchanged, labels
    y_i − f_L(x_i) and −f_L(x_q), prediction f_L(x_q)."""
    _, y, _ = inst.columns(ar)
    f_L = fgd.functional_gd(ar, inst.kernel_matrix(ar), y, [ar.const(e) for e in inst.etas])[-1]  # (1, N)
    return with_prediction(ar, fgd.state_after(ar, inst.points(ar), y, f_L), f_L[0, inst.n], inst.n + 1)


def degree(s: Sizes) -> int:
    """Total degree of the identity's polynomial in the drawn entries (after
    clearing the softmax denominators Σ_k G[k, j]: at most L per column)."""
    L, n, kernel = s["L"], s["n"], s["kernel"]
    if kernel in ("linear", "relu"):
        return 1 + 3 * L  # kernel values quadratic in x
    if kernel == "free-softmax":
        return 1 + 2 * L + 2 * L * (n + 1)
    return 1 + 2 * L


# ---------------------------------------------------------------------------
# mutants
# ---------------------------------------------------------------------------


def _wrong_axis_free(G: np.ndarray) -> Callable[[Arithmetic, Any, Any], Any]:
    """Drawn values normalised over the queries (each key's row) instead of the keys."""
    base = free_kernel(G)

    def wrong(ar: Arithmetic, keys: Any, queries: Any) -> Any:
        M = base(ar, keys, queries)
        return M / ar.sum(M, axis=-1)[:, None]

    return wrong


def _softmax_wrong_axis(m: Any, inst: FgdInstance) -> Any:
    if inst.kernel == "softmax":
        act = engine_softmax_wrong_axis
    elif inst.kernel == "free-softmax":
        act = _wrong_axis_free(inst.G)
    else:
        return m  # only the softmax kernels have an axis to get wrong
    return mutants.map_attention(m, lambda a: replace(a, score=act))


def _readout_sign(m: Any, inst: Any) -> Any:
    return replace(m, readout=replace(m.readout, vector=-np.asarray(m.readout.vector, dtype=object)))


def _readout_x(m: Any, inst: Any) -> Any:
    """The read-out reads the query's x:0 coordinate (with the sign −1) instead of its label."""
    v = np.zeros(len(m.readout.vector), dtype=object)
    v[0] = -1
    return replace(m, readout=Readout(vector=v, column=m.readout.column))


VALUE_SIGN = Mutant("value sign flipped", "r_ℓ = +η_ℓ instead of −η_ℓ", lambda m, i: mutants.negate_value(m))
QUERY_KEY = Mutant("query among the keys", "the query token joins the keys and values (M = I)",
                   lambda m, i: mutants.unmask_all_keys(m))
NO_SCALE = Mutant("1/n dropped", "Z + V Z M h̃ without the 1/n", lambda m, i: mutants.drop_scale(m))
ONE_FEWER = Mutant("one layer fewer", "L − 1 layers for L steps", lambda m, i: mutants.drop_last_layer(m))
READ_SIGN = Mutant("read-out sign flipped", "prediction +[Z_L]_{d+1,n+1}", _readout_sign)
READ_X = Mutant("read-out of the wrong coordinate", "prediction −[Z_L]_{1,n+1} (the query's x:0, not its label)",
                _readout_x)
WRONG_AXIS = Mutant("softmax over the wrong axis",
                    "e^{⟨x_i,x_j⟩} normalised over the queries instead of the context keys (softmax kernels; "
                    "the other kernels' instances are left as they are)", _softmax_wrong_axis)
COMMON_MUTANTS = (VALUE_SIGN, QUERY_KEY, NO_SCALE, ONE_FEWER, READ_SIGN, READ_X)


# ---------------------------------------------------------------------------
# fgd.functional_gd
# ---------------------------------------------------------------------------

BASE = {
    "float64": [{"d": 1, "n": 1, "L": 1}, {"d": 2, "n": 4, "L": 3}, {"d": 3, "n": 8, "L": 5}],
    "mpmath": [{"d": 2, "n": 3, "L": 2}, {"d": 3, "n": 6, "L": 4}],
    "rational": [{"d": 1, "n": 1, "L": 1}, {"d": 2, "n": 3, "L": 3}, {"d": 3, "n": 6, "L": 4}],
    "prime-field": [{"d": 2, "n": 4, "L": 3}, {"d": 4, "n": 12, "L": 6}],
    "symbolic": [{"d": 1, "n": 2, "L": 2}],
}
FREE_BASE = {  # the drawn kernel does not depend on x: d = 1 is enough
    "rational": [{"d": 1, "n": 1, "L": 1}, {"d": 1, "n": 3, "L": 3}, {"d": 1, "n": 6, "L": 4}],
    "prime-field": [{"d": 1, "n": 4, "L": 3}, {"d": 1, "n": 12, "L": 6}],
    "symbolic": [{"d": 1, "n": 2, "L": 2}],
}

FGD_SPEC = ClaimSpec(
    draw=draw_instance, build=build, run=state_and_prediction, reference=reference_state,
    sizes={
        "float64": kinds_sizes(BASE["float64"], ENGINE_KERNELS),
        "mpmath": kinds_sizes(BASE["mpmath"], ENGINE_KERNELS),
        "rational": kinds_sizes(BASE["rational"], ("linear", "relu")) + kinds_sizes(FREE_BASE["rational"], FREE_KERNELS),
        "prime-field": kinds_sizes(BASE["prime-field"], ("linear",)) + kinds_sizes(FREE_BASE["prime-field"], FREE_KERNELS),
        "symbolic": kinds_sizes(BASE["symbolic"], ("linear", "relu")) + kinds_sizes(FREE_BASE["symbolic"], FREE_KERNELS),
    },
    degree=degree, mutants=COMMON_MUTANTS + (WRONG_AXIS,))


def _lemma_layers(activation: str) -> Callable[[dict[str, int]], tuple[list[Any], Parameters]]:
    """Our construction's layers (two, step sizes free symbols) for the
    all-sizes lemma to read in block form."""
    def layers(sizes: dict[str, int]) -> tuple[list[Any], Parameters]:
        params, etas = Parameters(), [Sym(f"step{l}") for l in range(2)]
        for l, eta in enumerate(etas):
            params.add_scalar(eta, sympy.Symbol(f"η{l + 1}"))
        return list(functional_gd_transformer(sizes["d"], sizes["n"], etas, activation).layers), params
    return layers


LEMMA_ACTIVATIONS = ("relu", "exp", "softmax")
_LEMMAS = {act: lemma_check(functional_gd_lemma(L=2, build=_lemma_layers(act))) for act in LEMMA_ACTIVATIONS}


def _lemma_every_activation(ctx: Context) -> CheckResult:
    """The one-layer lemma (kernel block a free non-symmetric matrix symbol),
    read from our layers for each activation, then induction over layers."""
    parts = [(act, _LEMMAS[act](ctx)) for act in LEMMA_ACTIVATIONS]
    for act, r in parts:
        if r.status != "holds":
            return replace(r, detail=f"{act}: {r.detail}")
    first = parts[0][1]
    return replace(first, instances=sum(r.instances for _, r in parts),
                   detail=("for ReLU, exp and softmax layers read from our construction (the linear layer reads as "
                           "XᵀX, not a free kernel block: it is the gd.multi_layer lemma): " + first.detail))


register(Claim(
    id="fgd.functional_gd", paper=CHENG, kind="identity",
    statement=("L layers Z + (1/n) V_ℓ Z M h̃(X, X) with V_ℓ = [[0, 0], [0, r_ℓ]], r_ℓ = −η_ℓ, keys and queries x, "
               "leave y_i − f_L(x_i) in the context labels and −f_L(x_q) in the query label, f_L the L-th functional "
               "GD iterate f_{ℓ+1} = f_ℓ + (η_ℓ/n) Σ_i (y_i − f_ℓ(x_i)) K(x_i, ·), f_0 = 0, for K = h̃ linear, ReLU, "
               "exp, softmax (normalised over the context keys) or any kernel; the prediction is −[Z_L]_{d+1,n+1}."),
    checks={**spec_checks(FGD_SPEC), "lemma": Check("lemma", Evidence.BLOCK_LEMMA, _lemma_every_activation),
            **library_checks(FGD_SPEC, LIBRARY_SIZES, with_prediction)},
    falsifiers=spec_falsifiers(FGD_SPEC),
    provenance=Provenance(
        "secondary", "Proposition 1 (numbered Proposition 3.1 in the ICML 2024 version)", read_in=READ_IN,
        note=("the summaries state that a transformer with the attention non-linearity h̃ implements functional "
              "gradient descent in the RKHS of that kernel; the layer form and V_ℓ = [[A_ℓ, 0], [0, r_ℓ]] are our "
              "transcription, r_ℓ = −η_ℓ and the read-out sign −1 are derived by us "
              "(constructions/functional_gd.py)")),
    trust=("exact: rational arithmetic on dyadic draws and GF(2^61 − 1) at uniform points with the Schwartz–Zippel "
           "probability stated (degree declared per kernel and cross-checked against the symbolic check's measured "
           "degree)",
           "symbolic: flint polynomials and rational functions at d = 1, n = 2, L = 2 (linear and ReLU on the open sign cell of the "
           "sample point, drawn kernel values for every other kernel)",
           "all sizes: the block lemma read from our layers at three sizes, then induction over layers",
           "exp, softmax and the user kernel in the engine: float64 with running error bounds and mpmath at 30/60/120 "
           "digits (numpy/mpmath exp trusted to within their documented accuracy); exactly only through the drawn "
           "kernel values",
           "the statement itself read in third-party summaries, not in the paper"),
    notes=("The whole state and the prediction (the model's own read-out) are compared.  Sizes name the kernel: "
           "'free' is the drawn kernel matrix, 'free-softmax' drawn positive values normalised over the context keys; "
           "the identity is polynomial in the kernel values, so those cover every kernel.  Steps are drawn per layer.")))


# ---------------------------------------------------------------------------
# fgd.closed_form (ours), with the correction of our earlier form
# ---------------------------------------------------------------------------


def reference_closed(ar: Arithmetic, inst: FgdInstance, transpose: bool = True) -> Any:
    _, y, _ = inst.columns(ar)
    return fgd.closed_form(ar, inst.kernel_matrix(ar), y, [ar.const(e) for e in inst.etas], transpose=transpose)


def closed_degree(s: Sizes) -> int:
    return degree(s) + 2 * s["n"] * (1 + s["L"])


CLOSED_SIZES = {
    "rational": kinds_sizes(FREE_BASE["rational"], FREE_KERNELS),
    "prime-field": kinds_sizes(FREE_BASE["prime-field"], FREE_KERNELS),
    "symbolic": kinds_sizes(FREE_BASE["symbolic"], FREE_KERNELS),
    "ball": kinds_sizes([{"d": 2, "n": 3, "L": 2}, {"d": 3, "n": 5, "L": 4}], ("exp", "softmax", "rbf")),
}
CLOSED_SIZES["float64"] = CLOSED_SIZES["ball"]
CLOSED_NA = "the closed form's Gaussian elimination carries no running error bound: exact, symbolic and ball checks only"

CLOSED_SPEC = ClaimSpec(
    draw=draw_invertible, build=build, run=prediction, reference=reference_closed, sizes=CLOSED_SIZES,
    degree=closed_degree, mutants=COMMON_MUTANTS, modes=("rational", "prime-field", "symbolic", "ball"),
    not_applicable={"float64": CLOSED_NA, "mpmath": CLOSED_NA}, counts={"ball": 2})


def _closed_claim() -> Claim:
    from transformer_proofs.verify.claims.fgd.errata import CLOSED_CORRECTION, earlier_form_check

    return Claim(
        id="fgd.closed_form", paper=CHENG, kind="identity",
        statement=("f_L(x_q) = k_qᵀ (Kᵀ)⁻¹ (I − ∏_ℓ (I − η_ℓ Kᵀ/n)) y with K[i, j] = K(x_i, x_j) on the examples and "
                   "k_q[i] = K(x_i, x_q), for K invertible; Kᵀ = K for symmetric kernels."),
        checks={**spec_checks(CLOSED_SPEC), CLOSED_CORRECTION.check: earlier_form_check()},
        falsifiers=spec_falsifiers(CLOSED_SPEC),
        provenance=Provenance("ours", "closed form of the functional-GD iterates (our derivation)",
                              note="not printed by Cheng et al.: derived by us from the iteration"),
        correction=CLOSED_CORRECTION,
        trust=("exact: rationals and GF(2^61 − 1) (Schwartz–Zippel probability stated; draws conditioned on an "
               "invertible K, which changes that probability by a factor at most 1/(1 − n/p))",
               "symbolic: flint polynomials and rational functions at d = 1, n = 2, L = 2, drawn kernel values",
               "certified: arb balls with the real exp, softmax and user kernels",
               "the statement is ours; it was not read in the paper"),
        notes=("The transformer's prediction (its own read-out) is compared with the closed form (a linear solve, no "
               "unrolled GD).  Degenerate draws: a draw whose K (or, for softmax, whose normalising sum) is singular is "
               "redrawn (at most 50 times); for free symbols K is generically invertible.  Corrects our earlier form "
               "(K for Kᵀ), which fails for the softmax kernel: the counterexample is computed by the check "
               f"{CLOSED_CORRECTION.check!r}."))


register(_closed_claim())


# ---------------------------------------------------------------------------
# fgd.multi_head
# ---------------------------------------------------------------------------


def build_multi(inst: MultiHeadInstance) -> Any:
    return multi_head_transformer(inst.d, inst.n, inst.head_etas, [inst.head(h).activation() for h in range(len(inst.kernels))])


def reference_multi(ar: Arithmetic, inst: MultiHeadInstance) -> Any:
    """Functional GD with step 1 on Σ_h η_{ℓ,h} K_h in layer ℓ."""
    _, y, _ = inst.head(0).columns(ar)
    Gs = [inst.head(h).kernel_matrix(ar) for h in range(len(inst.kernels))]
    etas = [[ar.const(e) for e in row] for row in inst.head_etas]
    f_L = fgd.multi_kernel_functional_gd(ar, Gs, y, etas)[-1]
    return with_prediction(ar, fgd.state_after(ar, inst.head(0).points(ar), y, f_L), f_L[0, inst.n], inst.n + 1)


def _swap_heads(m: Any, i: Any) -> Any:
    """The first two heads' kernels exchanged (steps stay): a different weighted sum."""
    def swap(a: Any) -> Any:
        h0, h1 = a.heads[0], a.heads[1]
        return replace(a, heads=(replace(h0, score=h1.score), replace(h1, score=h0.score)) + a.heads[2:])
    return mutants.map_attention(m, swap)


MULTI_MUTANTS = (
    Mutant("one head dropped", "the second head removed: the kernel loses a summand", lambda m, i: mutants.drop_head(m, 1)),
    Mutant("one head's value sign flipped", "r = +η in the first head only",
           lambda m, i: mutants.map_attention(m, lambda a: replace(a, heads=(replace(
               a.heads[0], W_V=-np.asarray(a.heads[0].W_V, dtype=object)),) + a.heads[1:]))),
    Mutant("head kernels swapped", "head 1 gets head 2's kernel and vice versa (steps kept)", _swap_heads),
    QUERY_KEY, NO_SCALE, READ_SIGN, READ_X,
)
MULTI_BASE = [{"d": 1, "n": 1, "L": 1}, {"d": 1, "n": 3, "L": 3}, {"d": 1, "n": 6, "L": 4}]
FLOAT_HEADS = ("linear+exp", "relu+softmax+rbf")
EXACT_HEADS = ("free+free-softmax", "linear+free+free-softmax")


def _heads_sizes(base: Sequence[dict[str, int]], heads: Sequence[str]) -> list[Sizes]:
    return [{**s, "heads": h} for h in heads for s in base]


def multi_degree(s: Sizes) -> int:
    L, n = s["L"], s["n"]
    return 1 + 2 * L + 2 * L * (n + 1) + (L if "linear" in s["heads"] else 0)


MULTI_SPEC = ClaimSpec(
    draw=draw_multi_head, build=build_multi, run=state_and_prediction, reference=reference_multi,
    sizes={"float64": _heads_sizes(BASE["float64"], FLOAT_HEADS), "mpmath": _heads_sizes(BASE["mpmath"], FLOAT_HEADS),
           "rational": _heads_sizes(MULTI_BASE, EXACT_HEADS),
           "prime-field": _heads_sizes([{"d": 1, "n": 4, "L": 3}, {"d": 1, "n": 12, "L": 6}], EXACT_HEADS),
           # sympy fractions grow fast with heads: L = 2 for two heads, L = 1 for three
           "symbolic": [{"d": 1, "n": 2, "L": 2, "heads": EXACT_HEADS[0]}, {"d": 1, "n": 2, "L": 1, "heads": EXACT_HEADS[1]}]},
    degree=multi_degree, mutants=MULTI_MUTANTS)

register(Claim(
    id="fgd.multi_head", paper=CHENG, kind="identity",
    statement=("A layer of heads h with kernels K_h and value entries −η_{ℓ,h} is one functional-GD step (step 1) on the "
               "kernel Σ_h η_{ℓ,h} K_h (equal steps: η_ℓ times the sum of the kernels); L such layers are L steps."),
    checks={**spec_checks(MULTI_SPEC), **library_checks(MULTI_SPEC, MULTI_LIBRARY_SIZES, with_prediction)},
    falsifiers=spec_falsifiers(MULTI_SPEC),
    provenance=Provenance(
        "secondary", "Proposition 3", read_in=READ_IN,
        note=("the summaries state that multi-head attention with different per-head activations implements "
              "functional GD for the RKHS of the composed kernel; the step-weighted sum Σ_h η_{ℓ,h} K_h is our "
              "precise reading")),
    trust=("exact: rationals and GF(2^61 − 1) (Schwartz–Zippel stated) on drawn kernel matrices and the engine's "
           "linear head", "symbolic: sympy at d = 1, n = 2, L = 2 (two heads) and L = 1 (three heads)",
           "float64 (running error bounds) and mpmath for linear + exp and ReLU + softmax + the user kernel in the engine",
           "the statement read in third-party summaries, not in the paper"),
    notes=("Heads of different activations in one layer use the engine's per-head score.  float64/mpmath: linear + exp "
           "and ReLU + softmax + the user kernel through the engine; exact/symbolic: drawn kernel matrices (one "
           "context-normalised) and the engine's linear head.")))


# ---------------------------------------------------------------------------
# fgd.kernel_regression_limit: a bound derived from the spectrum of K
# ---------------------------------------------------------------------------

LIMIT_LAYERS = 100
BOUND_SLACK = 2.0**-50  # relative: the bound's rounding to float64 (2^-53) and the 60-digit spectrum


def limit_errors(ar: Arithmetic, model: Any, inst: FgdInstance) -> Any:
    """|f_L(x_q) − k_qᵀK⁻¹y| for L = 0 … (depth of the model), f_L read from the
    transformer's states with its own read-out, all in ``ar`` (balls)."""
    states = forward(ar, model, prompt(ar, inst), trace=True)
    _, y, _ = inst.columns(ar)
    limit = fgd.kernel_regression(ar, inst.kernel_matrix(ar), y)[0, 0]
    return np.array([abs(read_out(ar, model, Z) - limit) for Z in states], dtype=object)


def limit_bounds(ar: Arithmetic, inst: FgdInstance) -> Any:
    """B_L = ‖K⁻¹k_q‖₂‖y‖₂ ∏_{ℓ<L} max(|1 − η_ℓλ_min/n|, |1 − η_ℓλ_max/n|) (60-digit spectrum), L = 0 … L_max."""
    G = inst.kernel_matrix(_mp60())
    n = inst.n
    bounds = fgd.remaining_error_bounds(G[:n, :n], G[:n, n], np.asarray(inst.y, dtype=object), inst.etas, dps=60)
    return np.array([ar.const(Fraction(b) * (1 + Fraction(BOUND_SLACK))) for b in bounds], dtype=object)


def _mp60() -> Arithmetic:
    from transformer_proofs.constructions.arithmetic import Multiprecision

    return Multiprecision(60)


LIMIT_SPEC = ClaimSpec(
    draw=draw_limit, build=build, run=limit_errors, reference=limit_bounds,
    sizes={"float64": [{"d": 4, "n": 5, "L": LIMIT_LAYERS, "kernel": "exp"},
                       {"d": 4, "n": 5, "L": LIMIT_LAYERS, "kernel": "rbf"},
                       {"d": 4, "n": 3, "L": LIMIT_LAYERS, "kernel": "linear"}]},
    relation=BoundWithValues("bound", "|f_L(x_q) − k_qᵀK⁻¹y| is at most the spectral bound B_L, at every depth L"),
    mutants=(VALUE_SIGN, QUERY_KEY, NO_SCALE, READ_SIGN, READ_X), modes=("ball",), counts={"ball": 2},
    not_applicable={"float64": "below float64 rounding (B_100 can be < 1e-40) the comparison cannot be decided in "
                               "float64; balls escalate their precision instead"})

register(Claim(
    id="fgd.kernel_regression_limit", paper=CHENG, kind="bound",
    statement=("For K ≻ 0 and steps 0 < η_ℓ < 2n/λ_max(K), the prediction f_L(x_q) converges to the kernel-regression "
               "predictor k_qᵀK⁻¹y, with |f_L(x_q) − k_qᵀK⁻¹y| ≤ ‖K⁻¹k_q‖₂‖y‖₂ ∏_{ℓ<L} max(|1 − η_ℓλ_min/n|, "
               "|1 − η_ℓλ_max/n|) at every depth L."),
    checks=spec_checks(LIMIT_SPEC), falsifiers=spec_falsifiers(LIMIT_SPEC), relation=LIMIT_SPEC.relation,
    provenance=Provenance(
        "ours", "convergence of functional GD to kernel regression, with an explicit bound (cf. Proposition 2)",
        read_in=READ_IN,
        note=("Proposition 2 (read in the summaries) states that with a matching kernel the construction converges "
              "to the Bayes-optimal predictor as the layers grow; the per-instance spectral bound is ours")),
    trust=("certified: f_L(x_q) and k_qᵀK⁻¹y enclosed in arb balls (128 bits, 512 or 2048 where undecided), compared "
           "with the bound certainly", "the bound's spectrum (λ_min, λ_max) and ‖K⁻¹k_q‖₂ are computed by mpmath at 60 "
           "digits and trusted (a relative slack 2^-50 covers their rounding), not enclosed",
           "the bound and the statement are ours"),
    notes=("Error and bound are the same kind of number: error_L = |f_L(x_q) − k_qᵀK⁻¹y| against B_L at the same L "
           "(the report's error/tolerance are the binding depth's two sides).  Derivation "
           "(verify/algorithms/functional_gd.remaining_error_bounds): error_L = −k_qᵀK⁻¹∏(I − η_ℓK/n)y.  Kernels: exp, "
           "the user RBF kernel, linear with n ≤ d (ReLU and softmax kernels are not symmetric positive definite in "
           "general).  Degenerate draws: points are redrawn until λ_min(K) ≥ 10⁻³ λ_max(K) (equal points would make K "
           "singular).  The 'one layer fewer' mutant is not run: the bound is checked at every depth, so a shorter "
           "model only has fewer depths.")))


# ---------------------------------------------------------------------------
# fgd.matched_activation: empirical, Gaussian-process tasks
# ---------------------------------------------------------------------------

GP_KERNELS = ("linear", "relu", "exp")  # softmax is not a symmetric kernel: no GP of its own; it competes
ACTIVATIONS = ("linear", "relu", "exp", "softmax")
MATCH = dict(d=3, n=12, tasks=80, noise=1e-2, depths=(1, 4, 16, 64, 192), step=1.5)


@dataclass
class GPTasks:
    """T tasks of one GP kernel: points P (T, N, d) on the unit sphere, the
    latent f (T, N) and the noisy labels y (T, n)."""

    gp: str
    P: np.ndarray
    f: np.ndarray
    y: np.ndarray
    covariance: np.ndarray  # (T, N, N), the (clipped) covariance actually sampled
    # each activation's errors at its best depth, computed once per task set (the model's side and the
    # reference's competitors both ask for the matched activation's)
    best: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Activation:
    """The functional-GD transformer of one activation (built per task batch)."""

    name: str


def batch_kernel(kind: str, P: np.ndarray, n: int) -> np.ndarray:
    """K[t, i, j] = K(x_i, x_j) for a batch of point sets P (T, N, d) (float64)."""
    inner = np.einsum("tid,tjd->tij", P, P)
    if kind == "linear":
        return inner
    if kind == "relu":
        return np.maximum(inner, 0.0)
    E = np.exp(inner)
    return E if kind == "exp" else E / E[:, :n, :].sum(axis=1, keepdims=True)


def draw_gp_tasks(draw: Any, sizes: Sizes) -> GPTasks:
    """x uniform on the unit sphere of R^d, f ~ GP(0, K_gp) at the n+1 points
    (K_gp's negative eigenvalues clipped to 0 where it is not positive
    semidefinite: ReLU), y_i = f(x_i) + N(0, σ²).

    f = C^{1/2} z with C^{1/2} = V diag(√w) Vᵀ, the symmetric square root:
    unique, so the draw does not depend on which eigenvectors LAPACK returns
    (their signs, and their rotation inside a nearly repeated eigenvalue's
    space, differ between CPUs' BLAS kernels); V diag(√w) z would be another
    sample of the same law on another CPU."""
    rng, d, n, T, gp = draw.rng, sizes["d"], sizes["n"], sizes["T"], sizes["gp"]
    g = rng.standard_normal((T, n + 1, d))
    P = g / np.linalg.norm(g, axis=2, keepdims=True)  # (T, N, d)
    w, V = np.linalg.eigh(batch_kernel(gp, P, n))
    w = np.maximum(w, 0.0)
    C = np.einsum("tij,tj,tkj->tik", V, w, V)
    root = np.einsum("tij,tj,tkj->tik", V, np.sqrt(w), V)  # C^{1/2}, symmetric
    f = np.einsum("tij,tj->ti", root, rng.standard_normal((T, n + 1)))  # (T, N)
    y = f[:, :n] + np.sqrt(MATCH["noise"]) * rng.standard_normal((T, n))
    return GPTasks(gp, P, f, y, C)


def errors_by_depth(act: str, tasks: GPTasks) -> dict[int, np.ndarray]:
    """Squared error against f(x_q) of the activation's transformer at every
    listed depth (one step η = 1.5 n / max_t |λ|_max(K_act) for all layers)."""
    d, n = tasks.P.shape[2], tasks.y.shape[1]
    lam = float(np.abs(np.linalg.eigvals(batch_kernel(act, tasks.P, n)[:, :n, :n])).max())
    model = functional_gd_transformer(d, n, [MATCH["step"] * n / lam] * max(MATCH["depths"]), act)
    with np.errstate(over="ignore", invalid="ignore"):
        states = forward(Float64(), model, fgd_prompt(tasks.P[:, :n, :], tasks.y, tasks.P[:, n, :]), trace=True)
        return {L: (np.asarray(read_out(Float64(), model, states[L])) - tasks.f[:, n]) ** 2 for L in MATCH["depths"]}


def best_depth(errs: dict[int, np.ndarray]) -> int:
    return min(errs, key=lambda L: (np.nanmean(errs[L]) if np.isfinite(errs[L]).all() else np.inf))


def at_best_depth(act: str, tasks: GPTasks) -> np.ndarray:
    if act not in tasks.best:
        errs = errors_by_depth(act, tasks)
        tasks.best[act] = errs[best_depth(errs)]
        tasks.best[act].flags.writeable = False  # shared by every caller
    return tasks.best[act]


def bayes_errors(tasks: GPTasks) -> np.ndarray:
    """The GP posterior mean k_qᵀ(K + σ²I)⁻¹y against f(x_q)."""
    C, n = tasks.covariance, tasks.y.shape[1]
    sol = np.linalg.solve(C[:, :n, :n] + MATCH["noise"] * np.eye(n), tasks.y[..., None])[..., 0]
    return (np.einsum("ti,ti->t", C[:, :n, n], sol) - tasks.f[:, n]) ** 2


MATCH_SPEC = ClaimSpec(
    draw=draw_gp_tasks, build=lambda tasks: Activation(tasks.gp),
    run=lambda ar, model, tasks: at_best_depth(model.name, tasks),
    reference=lambda ar, tasks: Competitors(ACTIVATIONS, np.stack([at_best_depth(a, tasks) for a in ACTIVATIONS], 1)),
    sizes={"float64": [{"gp": gp, "d": MATCH["d"], "n": MATCH["n"], "T": MATCH["tasks"]} for gp in GP_KERNELS]},
    relation=NotSignificantlyAbove(), counts={"float64": 1}, modes=("float64",), exact_draws=False,
    mutants=(Mutant("tasks mislabelled", "the activation compared as 'matched' is another one (linear→exp, "
                    "relu→linear, exp→relu): it must lose significantly",
                    lambda m, tasks: Activation({"linear": "exp", "relu": "linear", "exp": "relu"}[m.name])),))


def _empirical(res: CheckResult) -> CheckResult:
    """The generic float64 checker's result, named for what it is: empirical."""
    T = MATCH["tasks"]
    detail = (f"{T} GP tasks per kernel ({', '.join(GP_KERNELS)}), n={MATCH['n']}, d={MATCH['d']}, each activation at "
              f"its best depth among {MATCH['depths']}; decision intervals: mean ± normal-approximation half-width "
              "of the paired per-task differences at family-wise level 1e-4 (Bonferroni over 9 comparisons, z = 4.39); error = how far the best competitor's mean error lies below the matched "
              "activation's, tolerance = its half-width")
    if res.status == "holds" and "worst_ratio" in res.data:
        detail += f"; largest error / half-width = {res.data['worst_ratio']:.2g}"
    elif res.status != "holds":
        detail = res.detail
    return replace(res, mode="empirical", evidence=Evidence.EMPIRICAL.label, detail=detail)


# CORE-CANDIDATE: an "empirical" mode of the generic checkers (float64 draws, evidence EMPIRICAL).
MATCH_CHECK = Check("empirical", Evidence.EMPIRICAL, lambda ctx: _empirical(run_mode(MATCH_SPEC, "float64", ctx)))


def _matched_claim() -> Claim:
    from transformer_proofs.verify.claims.fgd.figures import matched_figure, matched_table

    return Claim(
        id="fgd.matched_activation", paper=CHENG, kind="empirical",
        statement=("On tasks whose labels are drawn from a Gaussian process with kernel K_a, the functional-GD "
                   "transformer whose activation matches K_a has an in-context error that no other activation's is "
                   "significantly below (paired intervals, family-wise level 1e-4); the Bayes predictor (the GP posterior mean, kernel "
                   "regression with K_a) is the floor it approaches."),
        checks={"empirical": MATCH_CHECK}, falsifiers=[mutant_falsifier(MATCH_SPEC, m) for m in MATCH_SPEC.mutants],
        relation=MATCH_SPEC.relation, table=matched_table, figure=matched_figure,
        provenance=Provenance(
            "printed", "Abstract",
            quote=("we show that the optimal choice of non-linear activation depends in a natural way on the class of "
                   "functions that need to be learned"),
            read_in="the abstract as printed on the PMLR proceedings page (v235, cheng24a) and arXiv",
            note=("our experiment is a reading of that sentence: hand-built functional-GD weights (the paper trains its "
                  "transformers), one step per activation, the best of the listed depths, GP tasks on the unit sphere")),
        trust=("empirical: 80 sampled tasks per GP kernel, paired normal-approximation intervals at family-wise level 1e-4 "
               "(Bonferroni over 9 comparisons; the table shows 95% intervals) (a statement about "
               "expectations, not an identity)", "float64 forward passes (numpy) without error bounds",
               "the depth is selected on the same tasks it is scored on"),
        notes=("Empirical: an expected error, decided with intervals, not an identity.  The verdict fails when another "
               "activation's paired interval (family-wise level 1e-4) lies below the matched one's; a lower point "
               "estimate inside the interval is not a refutation (softmax, the context-normalised exp kernel, can edge out exp on exp "
               "tasks).  The Bayes floor is shown in the table and figure, not decided.  The ReLU kernel is not "
               "positive semidefinite, so its GP uses the clipped covariance, and ReLU attention diverges at large "
               "depth along the negative eigendirections."))


register(_matched_claim())
