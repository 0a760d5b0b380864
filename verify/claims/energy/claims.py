"""The ``energy`` claims: specs and registrations.

- ``energy.attention_mm``: softmax attention with the key bias −½‖y_i‖² is
  the β-normalised MM step of E_1 (identity), whose score algebra holds
  exactly, and E_1 does not increase (certified inequality);
- ``energy.feedforward_pgd``: ReLU(Wy + b) is one projected gradient step of
  ½yᵀ(I − W)y − bᵀy (identity) and does not increase it (exact inequality);
- ``energy.hopfield``: Ramsauer et al.'s update is one attention head
  (identity), the CCCP step (symbolic), E does not increase, 0 ≤ E, and
  E ≤ β⁻¹ ln N + ½M², E ≤ 2M² in the simplex of the patterns (certified);
  our earlier unconditional reading of the bound is corrected (errata.py);
- ``energy.hopfield_retrieval``: our separation-form one-step retrieval estimate.

Descent and bounds are ClaimSpecs with an inequality relation: ``ball``
(arb at 128 → 512 → 2048 bits; an instance still undecided fails the check,
never counts as a pass), or ``rational`` where everything is rational.
Exact ties certify only as exact zero balls (the MM step at a converged
state); the Hopfield ties that exp/log cannot decide exactly are excluded
from the draws by name (see instances.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.energy import (
    ConditionError,
    feedforward_layer,
    feedforward_stack,
    hopfield_prompt,
    hopfield_transformer,
    key_bias_exp_unnormalised,
    key_bias_scores,
    last_block,
    mm_attention_stack,
    pgd_weights,
    plain_scores,
)
from transformer_proofs.constructions.engine import Readout, forward, predict, read_out
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import energy as alg
from transformer_proofs.verify.checkers import guard, spec_checks, spec_falsifiers
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.relations import BOUND, INEQUALITY
from transformer_proofs.verify.spec import (
    Check,
    CheckResult,
    Claim,
    ClaimSpec,
    Context,
    Correction,
    Falsifier,
    Mutant,
    Provenance,
)

from .errata import BOUND_CORRECTION_CHECK, BOUND_CORRECTION_KEY, FF_CONDITION_NEEDED
from .figures import energy_figure
from .helpers import fractions, scalar, spec_checks_tagged, spec_falsifiers_tagged
from .instances import (
    FeedForward,
    Hopfield,
    Tokens,
    draw_equal_norms,
    draw_equal_patterns,
    draw_feedforward,
    draw_hopfield,
    draw_near,
    draw_simplex,
    draw_tokens,
)
from .library import library_checks
from .papers import RAMSAUER, RAMSAUER_TEXT, YANG, YANG_UNREAD

CERTIFIED = 1000  # certified (or exactly decided) instances per inequality at effort 1
NO_EXP = "the step involves exp: no exact run (the score algebra is checked exactly instead)"
NO_EXP_HOP = "the update involves exp: no exact run (the CCCP step is checked symbolically instead)"


def per_size(sizes: list[dict[str, int]], total: int = CERTIFIED) -> int:
    return math.ceil(total / len(sizes))


@dataclass(frozen=True)
class Step:
    """The step of a descent claim as the thing under test: y ← y + α(step(y) − y)."""

    alpha: Fraction = Fraction(1)


# ---------------------------------------------------------------------------
# energy.attention_mm
# ---------------------------------------------------------------------------


def _mm_reference(ar: Arithmetic, inst: Tokens) -> Any:
    Y = ar.array(inst.Y)
    for _ in range(inst.L):
        Y = alg.mm_step(ar, Y)
    return Y


MM_SPEC = ClaimSpec(
    draw=draw_tokens, build=lambda i: mm_attention_stack(i.d, i.n, i.L),
    prompt=lambda ar, i: ar.array(i.Y), readout=lambda ar, m, Z, i: last_block(Z, i.d),
    reference=_mm_reference,
    sizes={"float64": [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 4, "L": 2}, {"d": 3, "n": 5, "L": 3}],
           "mpmath": [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 3, "L": 2}]},
    modes=("float64", "mpmath"),
    not_applicable={"rational": NO_EXP, "prime-field": NO_EXP, "symbolic": NO_EXP},
    mutants=(
        Mutant("key bias dropped", "plain softmax_i(y_iᵀy_j) on tokens of unequal norms",
               lambda m, i: mm_attention_stack(i.d, i.n, i.L, key_bias=False)),
        Mutant("β not normalised", "Σ_i exp(y_iᵀy_j − ½‖y_i‖²) y_i without dividing by Σ_i",
               lambda m, i: mutants.map_attention(m, lambda a: replace(a, score=key_bias_exp_unnormalised))),
        # the read-out is the newest block: with one layer fewer it reads the block before (Y itself at L = 1)
        Mutant("one layer fewer", "L − 1 MM steps", lambda m, i: mutants.drop_last_layer(m)),
    ))

EQUAL_NORM_SPEC = ClaimSpec(
    draw=draw_equal_norms, build=lambda i: mm_attention_stack(i.d, i.n, 1, key_bias=False),
    prompt=lambda ar, i: ar.array(i.Y), readout=lambda ar, m, Z, i: last_block(Z, i.d), reference=_mm_reference,
    sizes={"float64": [{"d": 1, "n": 3}, {"d": 2, "n": 4}, {"d": 3, "n": 5}]}, modes=("float64", "mpmath"))


def _score_minus_log_beta(ar: Arithmetic, score: Any, inst: Tokens) -> Any:
    """S_ij − log β_ij with log β_ij = −½‖y_i − y_j‖²: (n, n), key i, query j."""
    Y = ar.array(inst.Y)
    return score(ar, Y, Y) + alg.pairwise_half_sq(ar, Y)


def _half_sq_of_query(ar: Arithmetic, inst: Tokens) -> Any:
    """[i, j] = ½‖y_j‖²: constant over the keys i."""
    Y = ar.array(inst.Y)
    half = ar.sum(Y * Y, axis=0) * ar.const(Fraction(1, 2))  # (n,)
    return half[None, :] + ar.zeros((inst.n, inst.n))


# Exactly: the biased score and log β differ by ½‖y_j‖², a per-query constant,
# so their softmaxes over the keys (the normalised β weights) agree.
SCORE_SPEC = ClaimSpec(
    draw=draw_tokens, build=lambda i: key_bias_scores, run=_score_minus_log_beta, reference=_half_sq_of_query,
    sizes={"float64": [{"d": 1, "n": 2}, {"d": 2, "n": 3}, {"d": 3, "n": 5}, {"d": 4, "n": 6}],
           "symbolic": [{"d": 1, "n": 2}, {"d": 2, "n": 3}]},
    degree=lambda s: 2, modes=("rational", "prime-field", "symbolic"),
    mutants=(Mutant("key bias dropped", "the plain score y_iᵀy_j: S − log β = ½‖y_i‖² + ½‖y_j‖², not constant over keys",
                    lambda m, i: plain_scores),))


def _mm_energy_after(ar: Arithmetic, step: Step, inst: Tokens) -> Any:
    return scalar(alg.attention_energy(ar, alg.mm_step(ar, ar.array(inst.Y), step.alpha)))


def _mm_energy_before(ar: Arithmetic, inst: Tokens) -> Any:
    return scalar(alg.attention_energy(ar, ar.array(inst.Y)))


_MM_DESCENT_SIZES = ([{"d": d, "n": n, "scale": s} for d in (1, 2, 3) for n in (2, 3, 4) for s in (0, 1, 2)]
                     + [{"d": 2, "n": 3, "fixed": 1}, {"d": 1, "n": 1}])  # converged states: exact ties
STEP_TOO_LARGE = Mutant("step size too large", "the damped step with α = 3 (outside (0, 2]): E_1 must be seen to rise",
                        lambda m, i: Step(Fraction(3)))


def mm_descent_spec(alpha: Fraction) -> ClaimSpec:
    return ClaimSpec(
        draw=lambda draw, s: replace(draw_tokens(draw, s), alpha=alpha), build=lambda i: Step(i.alpha),
        run=_mm_energy_after, reference=_mm_energy_before, relation=INEQUALITY,
        sizes={"ball": _MM_DESCENT_SIZES}, counts={"ball": per_size(_MM_DESCENT_SIZES, int(CERTIFIED * (1 if alpha == 1 else 0.2)))},
        modes=("ball",), mutants=(STEP_TOO_LARGE,))


MM_DESCENT = mm_descent_spec(Fraction(1))
MM_DAMPED = mm_descent_spec(Fraction(2))

register(Claim(
    id="energy.attention_mm", paper=YANG, kind="identity",
    statement=("With β_ij = ρ'(½‖y_i − y_j‖²) = e^{−½‖y_i − y_j‖²}, the β-normalised step y_j ← Σ_i β_ij y_i / Σ_i β_ij "
               "(i = j included) equals softmax attention y_j ← Σ_i softmax_i(y_iᵀy_j − ½‖y_i‖²) y_i (identity "
               "query/key/value; plain softmax when all token norms are equal), and it never raises "
               "E_1(Y) = −Σ_{i,j} e^{−½‖y_i − y_j‖²}."),
    checks={**spec_checks(MM_SPEC), **library_checks(MM_SPEC),
            **spec_checks_tagged(EQUAL_NORM_SPEC, "equal norms, no bias"),
            **spec_checks_tagged(SCORE_SPEC, "score algebra"),
            **spec_checks_tagged(MM_DESCENT, "descent"),
            **spec_checks_tagged(MM_DAMPED, "descent, α = 2")},
    falsifiers=(spec_falsifiers(MM_SPEC) + spec_falsifiers_tagged(SCORE_SPEC, "score algebra")
                + spec_falsifiers_tagged(MM_DESCENT, "descent") + spec_falsifiers_tagged(MM_DAMPED, "descent, α = 2")),
    figure=energy_figure,
    provenance=Provenance(
        "ours", "the MM step of E_1 (ρ(z) = −e^{−z}, R = 0) as softmax attention with a key bias; its descent",
        note=YANG_UNREAD + ". The key bias −½‖y_i‖², the β normalisation and the damped-step range α ∈ (0, 2] are ours."),
    relation=MM_SPEC.relation,
    trust=("identity: float64 with running error bounds of both sides, mpmath at 30/60/120 digits (exp is "
           "transcendental: no exact run of the forward pass)",
           "score algebra S_ij − log β_ij = ½‖y_j‖²: exact in Q, in GF(2^61 − 1) with Schwartz–Zippel (degree 2, "
           "P < 2^-64) and as sympy polynomials at small sizes",
           "descent: arb balls at 128 → 512 → 2048 bits (an undecided instance fails the check); converged states "
           "give exact zero balls, certified as ties; arb's exp trusted as rigorous",
           "Yang et al.'s statement itself not read: the checked form is ours"),
    notes=("Tokens are columns here (Yang et al. use rows). The β normalisation is needed: it cancels e^{−½‖y_j‖²} and turns "
           "the β weights into the softmax with the key bias −½‖y_i‖² (the unnormalised mutant is caught). The step "
           "minimises Σ_i β_ij ½‖y_j − y_i⁰‖² over y_j (other tokens frozen at Y⁰); for the full majoriser "
           "Σ_{i,j} β_ij ½‖y_i − y_j‖² it is one preconditioned gradient step, per-token step 1/(2Σ_i β_ij), which descends "
           "because D + B ⪰ 0. Ours: the damped step (1 − α)Y + α·MM(Y) descends for α ∈ (0, 2] (B, a Gaussian kernel "
           "matrix, is PSD); α = 3 is caught raising E_1. The engine layer appends each new Y to a concatenated residual "
           "stream (the MM step replaces Y: no skip).")))


# ---------------------------------------------------------------------------
# energy.feedforward_pgd
# ---------------------------------------------------------------------------


def _sym_part(W: Any) -> np.ndarray:
    W = np.asarray(W, dtype=object)
    return (W + W.T) * Fraction(1, 2)


def _ff_reference(ar: Arithmetic, inst: FeedForward) -> Any:
    """L steps y ← Π_{y≥0}(y − ∇f(y)), ∇f(y) = (I − sym(W))y − b: the true gradient of f."""
    Y = ar.array(inst.Y)
    for _ in range(inst.L):
        Y = alg.pgd_step(ar, _sym_part(inst.W), inst.b, Y)
    return Y


def _non_symmetric(model: Any, inst: FeedForward) -> Any:
    """W + K with K skew (nonzero): the same energy f (its quadratic form sees
    only sym(W)), but ReLU((W + K)y + b) is no gradient step of it."""
    if inst.d == 1:  # a 1 x 1 matrix is symmetric: nothing to mutate (the d >= 2 instances catch it)
        return model
    K = np.zeros((inst.d, inst.d), dtype=object) + Fraction(0)
    K[0, 1], K[1, 0] = Fraction(1, 2), Fraction(-1, 2)
    return feedforward_stack(np.asarray(inst.W, dtype=object) + K, inst.b, inst.L, enforce=False)


def _skip_kept(model: Any, inst: FeedForward) -> Any:
    """y + ReLU(Wy + b): the ReLU pair that cancels the skip connection dropped."""
    d = inst.d
    keep = np.concatenate([np.eye(d, dtype=int).astype(object), np.zeros((d, 2 * d), dtype=object)], axis=1)
    return model.with_layers([replace(lay, W_out=keep) for lay in model.layers])


FF_SPEC = ClaimSpec(
    draw=draw_feedforward, build=lambda i: feedforward_stack(i.W, i.b, i.L),
    prompt=lambda ar, i: ar.array(i.Y), reference=_ff_reference,
    # bshift = 8 keeps the ReLU active, so a mutated weight cannot hide behind ReLU(·) = 0
    sizes={"float64": [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 3, "L": 2}, {"d": 3, "n": 4, "L": 3},
                       {"d": 2, "n": 2, "L": 1, "bshift": 8}],
           "rational": [{"d": 2, "n": 2, "L": 1}, {"d": 3, "n": 3, "L": 3}, {"d": 2, "n": 2, "L": 1, "bshift": 8}]},
    modes=("float64", "mpmath", "rational"),
    not_applicable={"prime-field": "ReLU needs an order; GF(p) has none",
                    "symbolic": "the spectral condition is decided exactly on numbers; the exact check covers the identity"},
    mutants=(
        Mutant("non-symmetric weight", "W + K, K skew (same energy f): ReLU((W + K)y + b) is no projected gradient step of f",
               _non_symmetric),
        Mutant("skip connection kept", "y + ReLU(Wy + b) instead of ReLU(Wy + b)", _skip_kept),
        Mutant("one layer fewer", "L − 1 steps", lambda m, i: mutants.drop_last_layer(m)),
    ))


def _ff_energy_after(ar: Arithmetic, model: Any, inst: FeedForward) -> Any:
    """f(layer(y)), the layer run as the transformer (exact rationals)."""
    out = forward(ar, model, ar.array(inst.Y))
    return fractions(scalar(alg.feedforward_energy(ar, inst.W, inst.b, out)))


def _ff_energy_before(ar: Arithmetic, inst: FeedForward) -> Any:
    return fractions(scalar(alg.feedforward_energy(ar, inst.W, inst.b, ar.array(inst.Y))))


_FF_DESCENT_SIZES = [{"d": 1}, {"d": 2}, {"d": 3}, {"d": 2, "lo": -63, "hi": 0}, {"d": 3, "lo": -63, "hi": 0},
                     {"d": 1, "bshift": 8}, {"d": 2, "lo": -63, "hi": 0, "bshift": 8}, {"d": 3, "n": 2, "bshift": 8}]


def ff_descent_spec(sizes: list[dict[str, int]], total: int) -> ClaimSpec:
    return ClaimSpec(
        draw=draw_feedforward, build=lambda i: feedforward_stack(i.W, i.b, 1, enforce=False),
        run=_ff_energy_after, reference=_ff_energy_before, relation=INEQUALITY,
        sizes={"rational": sizes}, counts={"rational": per_size(sizes, total)}, modes=("rational",),
        mutants=(Mutant("step size too large", "the projected gradient step with η = 3: ReLU(W_η y + b_η), "
                        "W_η = I − 3(I − W), b_η = 3b; f must be seen to rise",
                        lambda m, i: feedforward_stack(*pgd_weights(i.W, i.b, 3), 1, enforce=False)),))


FF_DESCENT = ff_descent_spec(_FF_DESCENT_SIZES, CERTIFIED)
# ours: λ_min(W) ≥ −1 suffices for descent; λ_max up to 3 is allowed (every eigenvalue k/64, k in [−64, 192])
FF_WIDER = ff_descent_spec([{"d": 1, "lo": -64, "hi": 192}, {"d": 2, "lo": -64, "hi": 192},
                            {"d": 3, "lo": -64, "hi": 192}], 200)


def _refused(W: list[list[Fraction]], what: str) -> Falsifier:
    def run(ctx: Context) -> tuple[bool, str]:
        Wa = np.array(W, dtype=object)
        try:
            feedforward_layer(Wa, np.zeros(len(W), dtype=object) + Fraction(0))
        except ConditionError as exc:
            return True, f"ConditionError: {exc}"
        return False, f"a {what} W was accepted"
    return Falsifier(f"{what} weight refused", f"feedforward_layer must refuse a {what} W", run)


register(Claim(
    id="energy.feedforward_pgd", paper=YANG, kind="identity",
    statement=("For symmetric W with spectrum in (−1, 1], the layer y ← ReLU(Wy + b) is one projected gradient step, unit "
               "step, of f(y) = ½yᵀ(I − W)y − bᵀy over y ≥ 0, and f(ReLU(Wy + b)) ≤ f(y) for every y ≥ 0."),
    checks={**spec_checks(FF_SPEC), **library_checks(FF_SPEC),
            **spec_checks_tagged(FF_DESCENT, "descent"),
            **spec_checks_tagged(FF_WIDER, "descent, λ_max up to 3"),
            "rational (condition needed)": FF_CONDITION_NEEDED},
    falsifiers=(spec_falsifiers(FF_SPEC) + spec_falsifiers_tagged(FF_DESCENT, "descent")
                + [_refused([[Fraction(0), Fraction(1, 2)], [Fraction(-1, 2), Fraction(0)]], "non-symmetric"),
                   _refused([[Fraction(-5, 4), Fraction(0)], [Fraction(0), Fraction(0)]], "λ_min < −1")]),
    provenance=Provenance(
        "ours", "the ReLU feed-forward layer as a projected gradient step of ½yᵀ(I − W)y − bᵀy; its descent",
        note=YANG_UNREAD + ". The spectral condition (−1, 1] is as transcribed; that λ_min ≥ −1 alone gives descent is ours."),
    trust=("identity: exact in Q (W = Q diag(λ) Qᵀ with an exact Cayley rotation, so the spectrum is known exactly), "
           "float64 with running error bounds, mpmath",
           "descent: decided exactly in Q through the transformer's forward pass (ties decided too)",
           "the condition needed: an exact increase of f found for λ_min(W) < −1",
           "Yang et al.'s statement itself not read: the checked form is ours"),
    notes=("Descent is decided in exact rationals: stronger than ball evidence, and ties are decided. Finding: the printed "
           "condition is sufficient; descent needs only λ_min(W) ≥ −1 (λ_max ≤ 1 gives convexity), and at λ_min = −1 the "
           "energy can stall in a 2-cycle (W = −1, b = 1, y = 1/4: f(3/4) = f(1/4)). The engine's MLP has an additive "
           "skip, cancelled by the pair ReLU(y) − ReLU(−y) = y (y ≥ 0 is not assumed by the construction).")))


# ---------------------------------------------------------------------------
# energy.hopfield
# ---------------------------------------------------------------------------


def _hop_prompt(ar: Arithmetic, inst: Hopfield) -> Any:
    return ar.array(hopfield_prompt(inst.X, inst.xi))


def _hop_reference(ar: Arithmetic, inst: Hopfield) -> Any:
    return alg.hopfield_update(ar, inst.X, inst.beta, ar.array(inst.xi))


def _readout_of_block(block: int, sign: int) -> Any:
    def apply(model: Any, inst: Hopfield) -> Any:
        R = np.zeros((inst.d, 2 * inst.d), dtype=object) + Fraction(0)
        R[:, block * inst.d:(block + 1) * inst.d] = np.eye(inst.d, dtype=int) * sign
        return replace(model, readout=Readout(R, inst.N))
    return apply


HOP_READOUT_MUTANTS = (
    Mutant("read-out sign flipped", "−ξ' read out", _readout_of_block(1, -1)),
    Mutant("read-out of the wrong coordinates", "the input block x:* of the state token (ξ itself), not xi1:*",
           _readout_of_block(0, 1)),
)

HOPFIELD_SPEC = ClaimSpec(
    draw=draw_hopfield, build=lambda i: hopfield_transformer(i.d, i.N, i.beta), prompt=_hop_prompt,
    readout=lambda ar, m, Z, i: read_out(ar, m, Z), reference=_hop_reference,
    sizes={"float64": [{"d": 1, "N": 2}, {"d": 2, "N": 4}, {"d": 3, "N": 6}]},
    modes=("float64", "mpmath"),
    not_applicable={"rational": NO_EXP_HOP, "prime-field": NO_EXP_HOP},
    mutants=(
        Mutant("β dropped", "query ξ instead of βξ", lambda m, i: mutants.map_heads(
            m, lambda h: replace(h, W_Q=np.eye(i.d, dtype=int).astype(object)))),
        Mutant("state token not masked", "ξ joins the stored patterns as key and value", lambda m, i: mutants.unmask_all_keys(m)),
        *HOP_READOUT_MUTANTS,
    ))


@dataclass(frozen=True)
class HopfieldEnergy:
    """E(ξ) = −lse(β, Xᵀξ) + ½ξᵀξ + c·β⁻¹ log N + ½M² (c = 1 as printed; the mutants change c)."""

    log_n: int = 1

    def __call__(self, ar: Arithmetic, inst: Hopfield, xi: Any) -> Any:
        E = alg.hopfield_energy(ar, inst.X, inst.beta, xi)
        if self.log_n != 1:
            E = E + ar.const(self.log_n - 1) * alg.log_scalar(ar, ar.const(inst.N)) / ar.const(inst.beta)
        return E


def _hop_after(ar: Arithmetic, step: Step, inst: Hopfield) -> Any:
    xi = ar.array(inst.xi)
    new = alg.hopfield_update(ar, inst.X, inst.beta, xi)
    if step.alpha != 1:
        new = xi + (new - xi) * ar.const(step.alpha)
    return scalar(HopfieldEnergy()(ar, inst, new))


def _hop_before(ar: Arithmetic, inst: Hopfield) -> Any:
    return scalar(HopfieldEnergy()(ar, inst, ar.array(inst.xi)))


_HOP_SIZES = [{"d": d, "N": N, "scale": s} for d in (1, 2, 3) for N in (1, 2, 3, 4) for s in (0, 1, 2)]
HOP_DESCENT = ClaimSpec(
    draw=draw_hopfield, build=lambda i: Step(i.alpha), run=_hop_after, reference=_hop_before, relation=INEQUALITY,
    sizes={"ball": _HOP_SIZES}, counts={"ball": per_size(_HOP_SIZES)}, modes=("ball",),
    mutants=(Mutant("step size too large", "the over-relaxed update ξ + 3(f(ξ) − ξ): E must be seen to rise",
                    lambda m, i: Step(Fraction(3))),))


def _minus_energy(ar: Arithmetic, energy: HopfieldEnergy, inst: Hopfield) -> Any:
    return scalar(-energy(ar, inst, ar.array(inst.xi)))


_HOP_LOWER_SIZES = [{"d": d, "N": N, "scale": s} for d in (1, 2, 3) for N in (1, 2, 3, 4) for s in (0, 1, 2, 3)]
HOP_LOWER = ClaimSpec(  # −E(ξ) ≤ 0, i.e. 0 ≤ E(ξ), for every ξ
    draw=draw_hopfield, build=lambda i: HopfieldEnergy(), run=_minus_energy, reference=lambda ar, i: scalar(ar.const(0)),
    relation=BOUND, sizes={"ball": _HOP_LOWER_SIZES}, counts={"ball": per_size(_HOP_LOWER_SIZES)}, modes=("ball",),
    mutants=(Mutant("β⁻¹ log N dropped", "the energy without β⁻¹ log N: it must be seen to go negative",
                    lambda m, i: HopfieldEnergy(log_n=0)),))


def _energy_twice(ar: Arithmetic, energy: HopfieldEnergy, inst: Hopfield) -> Any:
    E = energy(ar, inst, ar.array(inst.xi))
    return np.array([E, E], dtype=object)


def _upper_bounds(ar: Arithmetic, inst: Hopfield) -> Any:
    """(2M², β⁻¹ ln N + ½M²): Lemma A1, eqs. (18) and (17)."""
    hm = ar.const(alg.hopfield_half_M_sq(inst.X))
    return np.array([hm * ar.const(4), alg.log_scalar(ar, ar.const(inst.N)) / ar.const(inst.beta) + hm], dtype=object)


_HOP_UPPER_SIZES = [{"d": d, "N": N, "vertex": v} for d in (1, 2, 3) for N in (1, 2, 3, 4) for v in (0, 1)]
HOP_UPPER = ClaimSpec(  # E(ξ) ≤ 2M² and E(ξ) ≤ β⁻¹ ln N + ½M² for ξ in the simplex of the patterns
    draw=draw_simplex, build=lambda i: HopfieldEnergy(), run=_energy_twice, reference=_upper_bounds,
    relation=BOUND, sizes={"ball": _HOP_UPPER_SIZES}, counts={"ball": per_size(_HOP_UPPER_SIZES)}, modes=("ball",),
    mutants=(Mutant("β⁻¹ log N doubled", "the energy with 2β⁻¹ log N: an upper bound must be seen to fail",
                    lambda m, i: HopfieldEnergy(log_n=2)),))


def _energy_once(ar: Arithmetic, energy: HopfieldEnergy, inst: Hopfield) -> Any:
    return scalar(energy(ar, inst, ar.array(inst.xi)))


def _half_distance_sq(ar: Arithmetic, inst: Hopfield) -> Any:
    """½‖ξ − x‖² (all patterns equal to x): lse(β, Xᵀξ) = xᵀξ + β⁻¹ ln N and M = ‖x‖."""
    diff = ar.array(inst.xi) - ar.array(inst.X[:, 0])
    return scalar(ar.sum(diff * diff, axis=0) * ar.const(Fraction(1, 2)))


_EQUAL_PATTERN_SIZES = [{"d": d, "N": N} for d in (1, 2, 3) for N in (1, 2, 3, 5)]
HOP_EQUAL_PATTERNS = ClaimSpec(  # pins every constant of eq. (2): E(ξ) = ½‖ξ − x‖² when x_1 = … = x_N = x
    draw=draw_equal_patterns, build=lambda i: HopfieldEnergy(), run=_energy_once, reference=_half_distance_sq,
    sizes={"ball": _EQUAL_PATTERN_SIZES}, modes=("ball",),
    mutants=(Mutant("β⁻¹ log N dropped", "the energy without β⁻¹ log N", lambda m, i: HopfieldEnergy(log_n=0)),
             Mutant("β⁻¹ log N doubled", "the energy with 2β⁻¹ log N", lambda m, i: HopfieldEnergy(log_n=2))))


def _check_cccp_symbolic(ctx: Context) -> CheckResult:
    """∇_ξ lse(β, Xᵀξ) = X softmax(βXᵀξ) for symbolic X (d × N), ξ, β: so ξ' = X softmax(βXᵀξ)
    solves ∇(½‖ξ'‖²) = −∇(−lse)(ξ), the CCCP step (eqs. (38)-(40)) of E = (½ξᵀξ + C_1) + (−lse).

    A custom check: a calculus identity in exp and log (a derivative), which the spec's
    symbolic kind (rational functions in the drawn entries) cannot state."""
    import sympy as sp

    done = []
    for d, N in [(1, 2), (2, 3)]:
        X = sp.Matrix(d, N, lambda k, i: sp.Symbol(f"x_{k}_{i}", real=True))
        xi = sp.Matrix(d, 1, lambda k, _: sp.Symbol(f"xi_{k}", real=True))
        beta = sp.Symbol("beta", positive=True)
        z = X.T * xi
        lse = sp.log(sum(sp.exp(beta * z[i]) for i in range(N))) / beta
        grad = sp.Matrix([sp.diff(lse, xi[k]) for k in range(d)])
        w = [sp.exp(beta * z[i]) for i in range(N)]
        diff = sp.simplify(grad - X * sp.Matrix(N, 1, [wi / sum(w) for wi in w]))
        if diff != sp.zeros(d, 1):
            return CheckResult("symbolic (CCCP)", Evidence.SYMBOLIC.label, len(done) + 1, None, 0.0, "fails",
                               f"∇lse − X softmax = {diff} at (d, N) = ({d}, {N})")
        done.append(f"({d}, {N})")
    return CheckResult("symbolic (CCCP)", Evidence.SYMBOLIC.label, len(done), 0.0, 0.0, "holds",
                       "sympy: ∇_ξ lse(β, Xᵀξ) − X softmax(βXᵀξ) simplifies to 0 for symbolic X, ξ, β at (d, N) = "
                       f"{', '.join(done)}; so ξ' = X softmax(βXᵀξ) is the CCCP step ∇(½‖ξ'‖²) = ∇lse(ξ)")


CCCP_CHECK = Check("symbolic (CCCP)", Evidence.SYMBOLIC,
                   lambda ctx: guard("symbolic (CCCP)", Evidence.SYMBOLIC, lambda: _check_cccp_symbolic(ctx)))

register(Claim(
    id="energy.hopfield", paper=RAMSAUER, kind="identity",
    statement=("With E(ξ) = −lse(β, Xᵀξ) + ½ξᵀξ + β⁻¹ log N + ½M², M = max_i ‖x_i‖ (eq. (2)): the update "
               "ξ ← X softmax(βXᵀξ) (eq. (3); one attention head, query βξ, keys and values the patterns) is the CCCP "
               "step and E never increases (Theorem 1; App. Theorem A1, eq. (50)); 0 ≤ E(ξ) for every ξ, and for ξ in "
               "the simplex of the patterns E(ξ) ≤ β⁻¹ ln N + ½M² and E(ξ) ≤ 2M² (App. Lemma A1, eqs. (16)-(18))."),
    checks={**spec_checks(HOPFIELD_SPEC),
            **library_checks(HOPFIELD_SPEC),
            "symbolic (CCCP)": CCCP_CHECK,
            **spec_checks_tagged(HOP_DESCENT, "descent"),
            **spec_checks_tagged(HOP_LOWER, "0 ≤ E"),
            **spec_checks_tagged(HOP_UPPER, "upper bounds in the simplex"),
            **spec_checks_tagged(HOP_EQUAL_PATTERNS, "equal patterns"),
            BOUND_CORRECTION_KEY: BOUND_CORRECTION_CHECK},
    falsifiers=(spec_falsifiers(HOPFIELD_SPEC) + spec_falsifiers_tagged(HOP_DESCENT, "descent")
                + spec_falsifiers_tagged(HOP_LOWER, "0 ≤ E") + spec_falsifiers_tagged(HOP_UPPER, "upper bounds")
                + spec_falsifiers_tagged(HOP_EQUAL_PATTERNS, "equal patterns")),
    provenance=Provenance(
        "printed", "§2 eqs. (2)-(3) and Theorem 1; App. A.1.2 Lemma A1 (eqs. (16)-(18)); App. A.1.4 Theorem A1 (eq. (50))",
        quote=("Lemma A1: \"The energy E is larger than zero: 0 ⩽ E. For ξ in the simplex defined by the patterns, the "
               "energy E is upper bounded by: E ⩽ β⁻¹ ln N + ½M², E ⩽ 2M².\""),
        read_in=RAMSAUER_TEXT,
        note=("§2 says after eq. (2) \"We have 0 ⩽ E ⩽ 2M² (see appendix Lemma A1)\" without the condition; the "
              "lemma it cites states the upper bound for ξ in the simplex of the patterns, and that is what we check. "
              "The update lands in that simplex from any ξ (App. A.1.3)")),
    correction=Correction(
        earlier="0 ≤ E(ξ) ≤ 2M² for every ξ (our earlier reading of §2's sentence, without Lemma A1's condition)",
        check=BOUND_CORRECTION_KEY,
        why=("½ξᵀξ is unbounded, so no upper bound holds for every ξ; Lemma A1 states it for ξ in the simplex of the "
             "patterns, where every update lands. Our earlier erratum against the paper was against our own reading.")),
    trust=("identity: float64 with running error bounds, mpmath at 30/60/120 digits; the read-out is the model's own",
           "CCCP: sympy simplification of ∇lse − X softmax at (d, N) = (1, 2), (2, 3) (sympy trusted)",
           "descent and bounds: arb balls at 128 → 512 → 2048 bits (an undecided instance fails the check); arb's "
           "exp/log trusted as rigorous; exact ties that balls cannot decide (all patterns equal to ξ) are excluded "
           "from the draws, and patterns are redrawn until M > 0",
           "statements read in the paper's text (Lemma A1, Theorem A1)"),
    notes=("Ramsauer et al. use columns, as we do. The check 'ball (equal patterns)' pins every constant of eq. (2): "
           "with x_1 = … = x_N = x, E(ξ) = ½‖ξ − x‖² (ours, from eq. (14); the lemma's proof notes E = 0 at ξ = x); a "
           "hand mutation ½M² → M² in the energy survived every bound and was caught only by it. The retrieval estimate is the separate claim energy.hopfield_retrieval "
           "(ours). The upper bound is checked in Lemma A1's scope (ξ = Xp, p a probability vector, vertices included); "
           "our earlier unconditional reading is shown false by the check "
           f"'{BOUND_CORRECTION_KEY}' and is our correction, not the paper's erratum.")))


# ---------------------------------------------------------------------------
# energy.hopfield_retrieval (ours)
# ---------------------------------------------------------------------------


def _retrieval_error(ar: Arithmetic, model: Any, inst: Hopfield) -> Any:
    """‖f(ξ) − x_i‖² with f(ξ) the transformer's read-out."""
    diff = predict(ar, model, _hop_prompt(ar, inst)) - ar.array(inst.X[:, inst.i])
    return scalar(ar.sum(diff * diff, axis=0))


def _retrieval_bound(ar: Arithmetic, inst: Hopfield) -> Any:
    """(2M(N − 1) e^{−βΔ̃_i})², Δ̃_i = min_{j≠i} (x_i − x_j)ᵀξ (exact from exact X, ξ)."""
    X, xi, N = inst.X, inst.xi, inst.N
    z = [sum(Fraction(X[k, j]) * Fraction(xi[k]) for k in range(inst.d)) for j in range(N)]
    gap = min(z[inst.i] - z[j] for j in range(N) if j != inst.i)
    M = (ar.const(2 * alg.hopfield_half_M_sq(X))).sqrt()
    bound = M * ar.const(2 * (N - 1)) * (-(ar.const(inst.beta) * ar.const(gap))).exp()
    return scalar(bound * bound)


_RETRIEVAL_SIZES = [{"d": d, "N": N} for d in (1, 2, 3) for N in (2, 3, 4)]
RETRIEVAL = ClaimSpec(
    draw=draw_near, build=lambda i: hopfield_transformer(i.d, i.N, i.beta), prompt=_hop_prompt,
    run=_retrieval_error, reference=_retrieval_bound, relation=BOUND,
    sizes={"ball": _RETRIEVAL_SIZES}, counts={"ball": per_size(_RETRIEVAL_SIZES)}, modes=("ball",),
    mutants=HOP_READOUT_MUTANTS)

register(Claim(
    id="energy.hopfield_retrieval", paper=RAMSAUER, kind="bound",
    statement=("One update retrieves a separated pattern: ‖f(ξ) − x_i‖ ≤ 2M(N − 1)exp(−βΔ̃_i) with "
               "Δ̃_i = min_{j≠i}(x_i − x_j)ᵀξ, f(ξ) read out of the one-layer Hopfield transformer."),
    checks=spec_checks_tagged(RETRIEVAL, "retrieval"),
    falsifiers=spec_falsifiers_tagged(RETRIEVAL, "retrieval"),
    provenance=Provenance(
        "ours", "a one-step retrieval estimate in separation form",
        note=("Our estimate (the weight off pattern i is at most (N − 1)e^{−βΔ̃_i}, and ‖x_j − x_i‖ ≤ 2M), not the paper's "
              "theorem: Theorem 5, eq. (8), bounds ‖f(ξ) − x_i‖ by 2(N − 1)exp(−β(Δ_i − 2 max{‖ξ − x_i‖, ‖x_i* − x_i‖}M))M "
              "with the pattern separation Δ_i of eq. (5) and the fixed point x_i*, which we do not compute.")),
    relation=BOUND,
    trust=("arb balls at 128 → 512 → 2048 bits through the transformer's forward pass and read-out (an undecided "
           "instance fails the check); Δ̃_i exact from the dyadic draws",
           "the statement is ours (a derivation), checked on states near a pattern"),
    notes="Kept apart from energy.hopfield because the statement is ours, while energy.hopfield's are printed."))
