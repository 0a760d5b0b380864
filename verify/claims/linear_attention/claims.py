"""Family ``linear_attention``: exact identities of linear attention.

- ``linear_attention.causal_rnn`` (Katharopoulos et al. 2020): causal,
  normalised linear attention equals the RNN S_i = S_{i-1} + φ(k_i) v_iᵀ,
  z_i = z_{i-1} + φ(k_i), y_i = S_iᵀ φ(q_i) / z_iᵀ φ(q_i).
- ``linear_attention.fast_weights`` (Schlag et al. 2021): unnormalised causal
  linear attention equals the fast-weight memory W_i = W_{i-1} + v_i ⊗ φ(k_i),
  y_i = W_i φ(q_i).
- ``linear_attention.delta_rule`` (Schlag et al. 2021): the delta-rule memory
  equals linear attention over the values u_i = β_i (v_i - Σ_{j<i} u_j φ(k_j)ᵀφ(k_i)).
- ``linear_attention.dual_form`` (Irie et al. 2022): a linear layer trained
  by GD on T examples answers W_T x = W_0 x + Σ_t e_t (x_tᵀ x): linear
  attention over the training inputs (keys) and error signals (values).
- ``linear_attention.dai_dual_form`` (Dai et al. 2023): relaxed (linear,
  unscaled) attention over [demonstrations, context] equals W_ZSL q + ΔW_ICL q.

Every one is an exact identity of the forms as we state them; the papers'
displays were not read (see each provenance).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import attention_mask
from transformer_proofs.constructions.linear_attention import (
    LinearAttention,
    causal_mask,
    feature_map,
    linear_attention,
)
from transformer_proofs.verify.algorithms import linear_attention as algorithms
from transformer_proofs.verify.checkers import run_mode, spec_checks, spec_falsifiers
from transformer_proofs.verify.claims.linear_attention.instances import (
    DaiInstance,
    DualFormInstance,
    SequenceInstance,
    draw_dai,
    draw_dual_form,
    draw_sequence,
)
from transformer_proofs.verify.claims.linear_attention.papers import DAI, IRIE, KATHAROPOULOS, SCHLAG
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Check, CheckResult, Claim, ClaimSpec, Context, Mutant, Provenance

EXACT_TRUST = ("exact: rationals and GF(2^61−1) (Schwartz–Zippel probability stated; degree declared and "
               "cross-checked against the symbolic check's measured degree)", "symbolic: sympy, for the sizes shown")


def _weights(inst: SequenceInstance) -> dict[str, Any]:
    return {"W_Q": inst.W_Q, "W_K": inst.W_K, "W_V": inst.W_V}


def _features(ar: Arithmetic, inst: SequenceInstance) -> tuple[Any, Any, Any]:
    """φ(W_Q X), φ(W_K X), W_V X in ``ar``."""
    X = ar.array(inst.X)
    proj = lambda W: ar.matmul(ar.array(W), X)  # noqa: E731
    return feature_map(ar, inst.feature, proj(inst.W_Q)), feature_map(ar, inst.feature, proj(inst.W_K)), proj(inst.W_V)


def run_head(ar: Arithmetic, model: LinearAttention, inst: Any) -> Any:
    return linear_attention(ar, model, ar.array(inst.X))


def _transposed_memory(m: LinearAttention, inst: Any) -> LinearAttention:
    """Keys and values exchanged: reading Σ φ(k) vᵀ the other way round (d_k = d_v)."""
    return replace(m, W_K=m.W_V, W_V=m.W_K)


def _one_future_token(m: LinearAttention, inst: Any) -> LinearAttention:
    N = m.mask.shape[0]
    return replace(m, mask=np.triu(np.ones((N, N), dtype=int), -1))  # i <= j + 1


def _read_before_write(m: LinearAttention, inst: Any) -> LinearAttention:
    N = m.mask.shape[0]
    return replace(m, mask=np.triu(np.ones((N, N), dtype=int), 1))  # i < j: y_i = W_{i-1} φ(q_i)


def _not_causal(m: LinearAttention, inst: Any) -> LinearAttention:
    return replace(m, mask=np.ones_like(m.mask))


def _renamed(spec: ClaimSpec, mode: str, key: str) -> Check:
    """``spec``'s check of ``mode`` reported under ``key`` (a claim with two specs of the same mode)."""
    def run(ctx: Context) -> CheckResult:
        return replace(run_mode(spec, mode, ctx), mode=key)
    base = spec_checks(spec)[mode]
    return Check(key, base.evidence, run)


# ---------------------------------------------------------------------------
# Katharopoulos et al.: causal linear attention is an RNN
# ---------------------------------------------------------------------------


def build_causal(inst: SequenceInstance) -> LinearAttention:
    return LinearAttention(**_weights(inst), mask=causal_mask(inst.N), feature=inst.feature, normalise=True)


def rnn_reference(ar: Arithmetic, inst: SequenceInstance) -> Any:
    return algorithms.normalised_rnn(ar, *_features(ar, inst))


CAUSAL_MUTANTS = (
    Mutant("off-by-one causal mask", "query j also sees key j + 1 (i <= j + 1)", _one_future_token),
    Mutant("normaliser dropped", "y_i = S_iᵀ φ(q_i) without the division by z_iᵀ φ(q_i)",
           lambda m, i: replace(m, normalise=False)),
    Mutant("not causal", "every query sees every key", _not_causal),
    Mutant("transposed memory", "keys and values exchanged: S read as Σ φ(v) kᵀ", _transposed_memory),
)
def draw_causal(draw: Any, sizes: dict[str, int]) -> SequenceInstance:
    """φ = 1 + ReLU for dyadic draws; for symbols and field elements the features are left free
    (φ = identity: the symbolic identity then holds for every feature map at once, and GF(p) has
    no order for a ReLU)."""
    return draw_sequence(draw, sizes, "identity" if draw.kind in ("symbolic", "field") else "relu+1")


CAUSAL_SPEC: ClaimSpec[SequenceInstance] = ClaimSpec(
    draw=draw_causal, build=build_causal, run=run_head, reference=rnn_reference,
    sizes={"float64": [{"D": 1, "N": 1}, {"D": 3, "N": 6}, {"D": 4, "N": 12}],
           "mpmath": [{"D": 2, "N": 4}], "rational": [{"D": 2, "N": 3}, {"D": 4, "N": 8}],
           "prime-field": [{"D": 4, "N": 8}], "symbolic": [{"D": 1, "N": 2}]},
    degree=lambda s: 10, counts={"float64": 8}, mutants=CAUSAL_MUTANTS)
CAUSAL_ELU_SPEC: ClaimSpec[SequenceInstance] = replace(
    CAUSAL_SPEC, draw=lambda draw, s: draw_sequence(draw, s, "elu+1"), modes=("float64", "mpmath"), sizes={"float64": [{"D": 3, "N": 6}], "mpmath": [{"D": 2, "N": 4}]}, mutants=CAUSAL_MUTANTS[:2])

register(Claim(
    id="linear_attention.causal_rnn", paper=KATHAROPOULOS, kind="identity",
    statement=("Causal linear attention y_i = Σ_{j<=i} φ(q_i)ᵀφ(k_j) v_j / Σ_{j<=i} φ(q_i)ᵀφ(k_j) equals the RNN "
               "S_i = S_{i-1} + φ(k_i) v_iᵀ, z_i = z_{i-1} + φ(k_i), y_i = S_iᵀφ(q_i) / z_iᵀφ(q_i), for any positive "
               "feature map φ (checked with 1 + ReLU exactly and with the paper's elu + 1 in floating point)."),
    checks={**spec_checks(CAUSAL_SPEC), "float64 (elu+1)": _renamed(CAUSAL_ELU_SPEC, "float64", "float64 (elu+1)"),
            "mpmath (elu+1)": _renamed(CAUSAL_ELU_SPEC, "mpmath", "mpmath (elu+1)")},
    falsifiers=spec_falsifiers(CAUSAL_SPEC)
    + [replace(f, name=f.name + " (elu+1)") for f in spec_falsifiers(CAUSAL_ELU_SPEC)],
    provenance=Provenance(
        "recalled", "§3.2 (linearised attention with φ(x) = elu(x) + 1), §3.4 (causal masking), §3.4.1 "
                    "(transformers are RNNs)",
        note="the paper's text was not available to us; the recurrence is stated from memory of its §3.4 and "
             "checked as the identity it is"),
    trust=("exact: rationals with φ = 1 + ReLU; GF(2^61−1) (Schwartz–Zippel) and symbolic with the features left "
           "free (φ = identity), which covers every feature map at once; a zero normaliser in GF(p) would raise",
           "the paper's φ = elu + 1 (it has an exponential): float64 and multiprecision only",
           "recalled: the paper's own display not re-read"),
    notes="Every output y_i (every token) is compared, not only the last; d_k = d_v = D."))


# ---------------------------------------------------------------------------
# Schlag et al.: linear attention is a fast-weight memory; the delta rule
# ---------------------------------------------------------------------------


def build_unnormalised(inst: SequenceInstance) -> LinearAttention:
    return LinearAttention(**_weights(inst), mask=causal_mask(inst.N), feature=inst.feature)


FAST_WEIGHT_SPEC: ClaimSpec[SequenceInstance] = ClaimSpec(
    draw=draw_sequence, build=build_unnormalised, run=run_head,
    reference=lambda ar, inst: algorithms.fast_weights(ar, *_features(ar, inst)),
    sizes={"float64": [{"D": 1, "N": 1}, {"D": 3, "N": 6}], "rational": [{"D": 2, "N": 3}, {"D": 4, "N": 8}],
           "prime-field": [{"D": 4, "N": 8}, {"D": 8, "N": 32}], "symbolic": [{"D": 2, "N": 3}],
           "mpmath": [{"D": 2, "N": 4}]},
    degree=lambda s: 6, counts={"float64": 8},
    mutants=(
        Mutant("read before write", "y_i = W_{i-1} φ(q_i): the causal mask without the diagonal", _read_before_write),
        Mutant("transposed memory", "keys and values exchanged: W read as Σ φ(k) ⊗ v", _transposed_memory),
        Mutant("not causal", "every query reads the memory of the whole sequence", _not_causal),
        Mutant("1/N normalisation", "the sum scaled by 1/N", lambda m, i: replace(m, scale=Fraction(1, i.N))),
    ))

register(Claim(
    id="linear_attention.fast_weights", paper=SCHLAG, kind="identity",
    statement=("Unnormalised causal linear attention y_i = Σ_{j<=i} v_j φ(k_j)ᵀφ(q_i) equals the fast-weight "
               "programmer W_i = W_{i-1} + v_i ⊗ φ(k_i), y_i = W_i φ(q_i), for any feature map (φ = identity here)."),
    checks=spec_checks(FAST_WEIGHT_SPEC), falsifiers=spec_falsifiers(FAST_WEIGHT_SPEC),
    provenance=Provenance(
        "recalled", "§2–3 (linear attention as a fast weight programmer)",
        quote=("We show the formal equivalence of linearised self-attention mechanisms and fast weight controllers … "
               "through sequences of elementary programming instructions which are additive outer products of "
               "self-invented activation patterns (today called keys and values)"),
        read_in="the abstract only (quoted); the formulas are recalled",
        note="the paper's body was not available to us; the recurrence is stated from memory and checked as the "
             "identity it is"),
    trust=EXACT_TRUST + ("recalled: the paper's own display not re-read",),
    notes="An identity in the feature vectors, so φ = identity is used in every number system (the paper uses DPFP "
          "and other positive maps [recalled])."))


def build_delta(inst: SequenceInstance) -> LinearAttention:
    return build_unnormalised(inst)


@dataclass(frozen=True)
class DeltaRuleAttention:
    """The delta rule's attention form: pseudo-values u_i = β_i (v_i - Σ_{j<i} u_j φ(k_j)ᵀφ(k_i))
    (each token's keys query the earlier keys), then linear attention over (k, u)."""

    head: LinearAttention
    use_beta: bool = True  # a mutant writes with strength 1
    v_bar_sign: int = -1  # u_i = β_i (v_i + sign · v̄_i)


def run_delta(ar: Arithmetic, model: DeltaRuleAttention, inst: SequenceInstance) -> Any:
    X = ar.array(inst.X)
    head = model.head
    K = feature_map(ar, head.feature, ar.matmul(ar.array(head.W_K), X))  # (d_k, N)
    V = ar.matmul(ar.array(head.W_V), X)  # (d_v, N)
    G = ar.matmul(ar.T(K), K)  # (N, N): G[j, i] = φ(k_j)ᵀφ(k_i)
    U: list[Any] = []
    for i in range(inst.N):
        v_bar = ar.zeros((V.shape[0], 1))
        for j in range(i):
            v_bar = v_bar + U[j] * G[j, i]  # Σ_{j<i} u_j φ(k_j)ᵀφ(k_i) = W_{i-1} φ(k_i)
        u = V[:, i:i + 1] + v_bar * ar.const(model.v_bar_sign)
        U.append(u * ar.const(inst.betas[i]) if model.use_beta else u)
    W_U = ar.concat(U, axis=1)  # (d_v, N)
    # linear attention with values u: the head's W_V replaced by reading the u block
    Q = feature_map(ar, head.feature, ar.matmul(ar.array(head.W_Q), X))
    A = ar.apply_mask(ar.matmul(ar.T(K), Q), head.mask)  # (N, N)
    return ar.matmul(W_U, A)


DELTA_SPEC: ClaimSpec[SequenceInstance] = ClaimSpec(
    draw=draw_sequence, build=lambda inst: DeltaRuleAttention(build_delta(inst)), run=run_delta,
    reference=lambda ar, inst: algorithms.fast_weights(ar, *_features(ar, inst),
                                                       betas=[ar.const(b) for b in inst.betas]),
    sizes={"float64": [{"D": 1, "N": 1}, {"D": 3, "N": 6}], "rational": [{"D": 2, "N": 3}, {"D": 3, "N": 6}],
           "prime-field": [{"D": 3, "N": 6}, {"D": 6, "N": 16}], "symbolic": [{"D": 1, "N": 3}],
           "mpmath": [{"D": 2, "N": 4}]},
    degree=lambda s: 7 + 5 * (s["N"] - 1), counts={"float64": 8},
    mutants=(
        Mutant("β dropped", "u_i = v_i - v̄_i (write strength 1)", lambda m, i: replace(m, use_beta=False)),
        Mutant("v̄ sign flipped", "u_i = β_i (v_i + v̄_i)", lambda m, i: replace(m, v_bar_sign=1)),
        Mutant("read before write", "y_i = W_{i-1} φ(q_i)",
               lambda m, i: replace(m, head=_read_before_write(m.head, i))),
        Mutant("transposed memory", "keys and values exchanged", lambda m, i: replace(m, head=_transposed_memory(m.head, i))),
    ))


register(Claim(
    id="linear_attention.delta_rule", paper=SCHLAG, kind="identity",
    statement=("The delta-rule fast-weight memory W_i = W_{i-1} + β_i (v_i - W_{i-1}φ(k_i)) ⊗ φ(k_i), "
               "y_i = W_i φ(q_i), equals causal linear attention over the pseudo-values "
               "u_i = β_i (v_i - Σ_{j<i} u_j φ(k_j)ᵀφ(k_i)), computed by attention of each key over the earlier keys."),
    checks=spec_checks(DELTA_SPEC), falsifiers=spec_falsifiers(DELTA_SPEC),
    provenance=Provenance(
        "ours", "§4 (the delta update rule)",
        quote=("[abstract:] replace the purely additive outer products by a delta rule-like programming instruction, "
               "such that the FWP can more easily learn to correct the current mapping from keys to values"),
        read_in="the abstract only (quoted)",
        note="the delta-rule update W_i = W_{i-1} + β_i (v_i - W_{i-1}φ(k_i)) ⊗ φ(k_i) is recalled, not re-read; "
             "its attention form over pseudo-values is our derivation (W_i = Σ_{j<=i} u_j ⊗ φ(k_j) by induction)"),
    trust=EXACT_TRUST + ("ours: the attention form; recalled: the delta rule as the paper writes it",),
    notes="β_i drawn in (0, 1] (GF(p): any nonzero element); the identity holds for any β, any φ."))


# ---------------------------------------------------------------------------
# Irie et al.: the dual form of a linear layer trained by GD
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DualForm:
    """W_0 x plus one linear-attention head over the tokens z_t = [x_t; e_t] and the query [x; 0]:
    keys and queries read the x block (W_K = W_Q = [I, 0]), values the e block (W_V = [0, I]),
    the T training tokens are the keys (the query is not)."""

    head: LinearAttention
    W_0: np.ndarray | None  # (d_out, d_in); None drops the W_0 x term


def build_dual(inst: DualFormInstance, sign: int = 1, keys: int | None = None) -> DualForm:
    d_in, d_out, T = inst.d_in, inst.d_out, inst.T
    read_x = np.hstack([np.eye(d_in, dtype=int), np.zeros((d_in, d_out), dtype=int)]).astype(object)
    read_e = np.hstack([np.zeros((d_out, d_in), dtype=int), sign * np.eye(d_out, dtype=int)]).astype(object)
    key_mask = np.array([1] * (T if keys is None else keys) + [0] * (T + 1 - (T if keys is None else keys)))
    mask = attention_mask(key_mask, T + 1, causal=False)
    return DualForm(LinearAttention(W_Q=read_x, W_K=read_x.copy(), W_V=read_e, mask=mask), inst.W_0)


def _training(ar: Arithmetic, inst: DualFormInstance) -> tuple[Any, Any]:
    return algorithms.train_linear_layer(ar, ar.array(inst.W_0), ar.array(inst.X), ar.array(inst.Y),
                                         [ar.const(e) for e in inst.etas])


def run_dual(ar: Arithmetic, model: DualForm, inst: DualFormInstance) -> Any:
    """The query's e-slot after the head, plus W_0 x: the prompt holds the error signals e_t
    recorded while training (the dual form stores the training patterns, not W_T)."""
    _, E = _training(ar, inst)
    x = ar.array(np.asarray(inst.x).reshape(-1, 1))
    tokens = ar.concat([ar.concat([ar.array(inst.X), x], axis=1),
                        ar.concat([E, ar.zeros((inst.d_out, 1))], axis=1)], axis=0)  # (d_in + d_out, T + 1)
    out = linear_attention(ar, model.head, tokens)[:, inst.T:inst.T + 1]  # Σ_t e_t x_tᵀ x
    return out if model.W_0 is None else out + ar.matmul(ar.array(model.W_0), x)


def dual_reference(ar: Arithmetic, inst: DualFormInstance) -> Any:
    W_T, _ = _training(ar, inst)
    return ar.matmul(W_T, ar.array(np.asarray(inst.x).reshape(-1, 1)))  # the primal form: W_T x


DUAL_SPEC: ClaimSpec[DualFormInstance] = ClaimSpec(
    draw=draw_dual_form, build=build_dual, run=run_dual, reference=dual_reference,
    sizes={"float64": [{"d_in": 1, "d_out": 1, "T": 1}, {"d_in": 3, "d_out": 2, "T": 6}],
           "rational": [{"d_in": 2, "d_out": 1, "T": 3}, {"d_in": 4, "d_out": 3, "T": 8}],
           "prime-field": [{"d_in": 4, "d_out": 3, "T": 8}, {"d_in": 8, "d_out": 4, "T": 24}],
           "symbolic": [{"d_in": 2, "d_out": 1, "T": 2}], "mpmath": [{"d_in": 2, "d_out": 2, "T": 4}]},
    degree=lambda s: 3 * s["T"] + 2, counts={"float64": 8},
    mutants=(
        Mutant("W_0 x dropped", "the attention term alone, without the initial weights' answer",
               lambda m, i: replace(m, W_0=None)),
        Mutant("error sign flipped", "values -e_t (the gradient, not the negative gradient)",
               lambda m, i: build_dual(i, sign=-1)),
        Mutant("last training example dropped", "keys x_1 … x_{T-1}: an off-by-one over the training set",
               lambda m, i: build_dual(i, keys=i.T - 1)),
        Mutant("1/T normalisation", "the attention sum scaled by 1/T",
               lambda m, i: replace(m, head=replace(m.head, scale=Fraction(1, i.T)))),
    ))

register(Claim(
    id="linear_attention.dual_form", paper=IRIE, kind="identity",
    statement=("A linear layer trained by T online GD steps on ½||W x_t - y_t||² answers W_T x = W_0 x + "
               "Σ_t e_t (x_tᵀ x), e_t = η_t (y_t - W_{t-1} x_t): W_0 x plus unnormalised linear attention with the "
               "training inputs as keys, the error signals as values and the test input as query."),
    checks=spec_checks(DUAL_SPEC), falsifiers=spec_falsifiers(DUAL_SPEC),
    provenance=Provenance(
        "secondary", "§2 (the dual form of the linear layer: W x = W_0 x + Σ_t e_t ⊗ x_t x = W_0 x + Attention)",
        quote=("S_1(x) = Wx (linear layer), S_2(x) = Attention(K, V, x) with W = Σ_t v_t k_tᵀ = VKᵀ … Wx = W_0 x + "
               "Attention((x_1, …, x_T), (L'(x_1)ᵀ, …, L'(x_T)ᵀ), x): training points will be keys, errors from each "
               "step of gradient descent will be values and the argument will be a query"),
        read_in="a third-party note transcribing the paper's statement (the paper's own text was not available to us)",
        note="the online-GD form with e_t = η_t(y_t - W_{t-1}x_t) for the squared loss is our instance of it"),
    trust=EXACT_TRUST + ("secondary: read through a transcription, not in the paper",),
    notes=("The error signals are recorded while training (the dual form keeps the training patterns); the primal "
           "side trains W and applies W_T.  Online GD, one step per example; full-batch GD is the same with the "
           "examples repeated per step.")))


# ---------------------------------------------------------------------------
# Dai et al.: relaxed linear attention = zero-shot weights + meta-gradients
# ---------------------------------------------------------------------------


def build_dai(inst: DaiInstance, demos: bool = True) -> LinearAttention:
    """Tokens [x'_1 … x'_m, x_1 … x_c, x]: the query x attends to the demonstrations and its context
    (not to itself), unnormalised and unscaled (the paper's relaxation)."""
    N = inst.m + inst.c + 1
    key_mask = np.array(([1] if demos else [0]) * inst.m + [1] * inst.c + [0])
    return LinearAttention(W_Q=inst.W_Q, W_K=inst.W_K, W_V=inst.W_V, mask=attention_mask(key_mask, N, causal=False))


def _dai_tokens(ar: Arithmetic, inst: DaiInstance) -> Any:
    return ar.concat([ar.array(inst.demos), ar.array(inst.context), ar.array(np.asarray(inst.x).reshape(-1, 1))],
                     axis=1)


@dataclass(frozen=True)
class SoftmaxHead:
    """The unrelaxed head: softmax over the same keys (a falsifier: the dual form needs the relaxation)."""

    head: LinearAttention


def run_dai(ar: Arithmetic, model: Any, inst: DaiInstance) -> Any:
    X = _dai_tokens(ar, inst)
    if isinstance(model, SoftmaxHead):
        h = model.head
        Q, K, V = (ar.matmul(ar.array(W), X) for W in (h.W_Q, h.W_K, h.W_V))
        S = ar.matmul(ar.T(K), Q)[:, -1:]  # (N, 1): the query's scores
        E = ar.apply_mask(ar.exp(S), h.mask[:, -1:])
        return ar.matmul(V, E) / ar.sum(E, axis=0).reshape(1, 1)
    return linear_attention(ar, model, X)[:, -1:]


DAI_SPEC: ClaimSpec[DaiInstance] = ClaimSpec(
    draw=draw_dai, build=build_dai, run=run_dai,
    reference=lambda ar, inst: algorithms.zero_shot_plus_meta_gradient(
        ar, *(ar.array(W) for W in (inst.W_Q, inst.W_K, inst.W_V)), ar.array(inst.demos), ar.array(inst.context),
        ar.array(np.asarray(inst.x).reshape(-1, 1))),
    sizes={"float64": [{"D": 1, "m": 1, "c": 1}, {"D": 4, "m": 6, "c": 3}],
           "rational": [{"D": 2, "m": 2, "c": 1}, {"D": 4, "m": 6, "c": 3}],
           "prime-field": [{"D": 4, "m": 6, "c": 3}, {"D": 8, "m": 16, "c": 8}],
           "symbolic": [{"D": 2, "m": 2, "c": 1}], "mpmath": [{"D": 2, "m": 3, "c": 2}]},
    degree=lambda s: 6, counts={"float64": 8},
    mutants=(
        Mutant("demonstrations dropped", "the query attends to its context only: W_ZSL q without ΔW_ICL q",
               lambda m, i: build_dai(i, demos=False)),
        Mutant("keys and queries exchanged", "W_K and W_Q swapped", lambda m, i: replace(m, W_Q=m.W_K, W_K=m.W_Q)),
        Mutant("scaling kept", "the sum scaled by 1/D (the relaxation drops the scaling)",
               lambda m, i: replace(m, scale=Fraction(1, i.D))),
        Mutant("softmax not relaxed", "softmax attention over the same keys: the dual form is of the relaxed head",
               lambda m, i: SoftmaxHead(m), modes=("float64", "mpmath"),
               why="softmax has an exponential: no rational, prime-field or symbolic reading"),
    ))

register(Claim(
    id="linear_attention.dai_dual_form", paper=DAI, kind="identity",
    statement=("Relaxed (unnormalised, unscaled linear) attention of the query over [demonstrations X', context X] "
               "equals W_ZSL q + ΔW_ICL q, q = W_Q x, W_ZSL = W_V X (W_K X)ᵀ and ΔW_ICL = Σ_i (W_V x'_i) ⊗ (W_K x'_i) "
               "(the 'meta-gradients'): an exact identity of the relaxed head only; softmax attention is not."),
    checks=spec_checks(DAI_SPEC), falsifiers=spec_falsifiers(DAI_SPEC),
    provenance=Provenance(
        "recalled", "§3.1–3.2 (the dual form of relaxed linear attention)",
        quote=("Theoretically, we figure out that Transformer attention has a dual form of gradient descent. … GPT "
               "first produces meta-gradients according to the demonstration examples, and then these "
               "meta-gradients are applied to the original GPT to build an ICL model."),
        read_in="the abstract only (quoted); the formulas are recalled",
        note="what is an identity: the split of the relaxed (linear, unscaled, unnormalised) head into a zero-shot "
             "term and a sum of outer products; the relaxation from softmax is an approximation, not an identity "
             "(the softmax falsifier shows the dual form fails for the unrelaxed head)"),
    trust=EXACT_TRUST + ("recalled: the formulas; printed: the abstract's claim",),
    notes="The query does not attend to itself; the context X is the query's own prefix."))
