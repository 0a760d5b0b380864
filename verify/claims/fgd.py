"""Family ``fgd``: non-linear attention is functional gradient descent.

Cheng, Chen, Sra (2024), "Transformers Implement Functional Gradient Descent to
Learn Non-Linear Functions In Context", ICML 2024, arXiv:2312.06528,
Prop. 3.1 and §3–4 (transcribed in shared/CLAIMS.md §3):

- ``fgd.functional_gd``: L layers = L functional-GD steps, every kernel
  (linear, ReLU, exp, softmax, a user kernel), per-layer steps.
- ``fgd.closed_form``: f_L(x_q) = k_qᵀ (Kᵀ)⁻¹ (I - ∏(I - η_ℓ Kᵀ/n)) y
  (corrected orientation), and the erratum ``fgd.closed_form_printed`` (K for
  Kᵀ fails for the non-symmetric softmax kernel).
- ``fgd.kernel_regression_limit``: |f_L(x_q) - k_qᵀK⁻¹y| below a bound
  derived from the spectrum of K, falling geometrically.
- ``fgd.multi_head``: a sum of heads is functional GD on the (step-weighted)
  sum of their kernels.
- ``fgd.matched_activation``: empirical; GP tasks per kernel, in-context
  error against depth with confidence intervals, the Bayes predictor as floor.

Exact evidence for *every* kernel: the construction only ever sees the kernel
values K(x_i, x_j), and x never changes (A_ℓ = 0), so the identity is a
polynomial identity in those values (rational functions for softmax, whose
values are normalised over the context keys).  The exact checks draw the
kernel matrix itself (dyadic rationals, uniform GF(p) elements, free
symbols) and feed it to the engine through a kernel callable.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
import sympy
from transformer_proofs.constructions.arithmetic import (
    Arithmetic,
    Ball,
    ErrArray,
    Float64,
    Float64Bounded,
    Multiprecision,
    Rational,
    Sym,
)
from transformer_proofs.constructions.engine import PromptError, forward, read_out
from transformer_proofs.constructions.functional_gd import (
    context_normalised,
    fgd_prompt,
    functional_gd_transformer,
    multi_head_transformer,
)
from transformer_proofs.verify import mutants, torch_backend
from transformer_proofs.verify.algorithms import functional_gd as fgd
from transformer_proofs.verify.checks import (
    Draw,
    IdentitySpec,
    Mutant,
    _guard,
    _rng,
    check_float64,
    check_mpmath,
    check_prime_field,
    check_rational,
    check_symbolic,
    exact_mismatches,
    falsifier_from_check,
    identity_falsifiers,
    printed_form_refuted,
)
from transformer_proofs.verify.claims._regression import RegressionInstance, columns
from transformer_proofs.verify.lemmas.fgd import functional_gd_lemma
from transformer_proofs.verify.lemmas.layers import Parameters
from transformer_proofs.verify.lemmas.lemma import lemma_check
from transformer_proofs.verify.registry import CheckResult, Claim, Context, Erratum, Falsifier, Paper, register
from transformer_proofs.verify.torch_backend import BACKENDS, TORCH_KERNELS, torch_check

CHENG = Paper("X. Cheng, Y. Chen, S. Sra", 2024,
              "Transformers Implement Functional Gradient Descent to Learn Non-Linear Functions In Context",
              "2312.06528", "Proposition 3.1")

STEP_HI = Fraction(1, 2)  # steps drawn in (0, 1/2]
X_SCALE = 0.5  # x entries ~ N(0, 1/4): exp kernel values stay moderate in float64
REAL_KINDS = ("linear", "relu", "exp", "softmax", "rbf")  # rbf: the user-supplied kernel
KIND_LABEL = {"linear": "linear", "relu": "ReLU", "exp": "exp", "softmax": "softmax",
              "rbf": "custom kernel e^{-|x-x'|²/2}"}


# ---------------------------------------------------------------------------
# instances, construction, reference
# ---------------------------------------------------------------------------


def free_kernel(G: np.ndarray) -> Callable[[Arithmetic, Any, Any], Any]:
    """A kernel callable that returns the drawn kernel matrix G (N_keys, N_queries):
    the kernel values as free values."""

    def drawn(ar: Arithmetic, keys: Any, queries: Any) -> Any:
        N = keys.shape[-1]
        if G.shape != (N, N):
            raise PromptError(f"drawn kernel matrix has shape {G.shape}, the prompt has {N} tokens")
        return ar.array(G)

    drawn.__name__ = "drawn"
    return drawn


def _activation(kind: str, inst: RegressionInstance) -> Any:
    """The construction's activation: an engine score, the user kernel, or the
    drawn matrix (free values; softmax = free positive values normalised over
    the context keys)."""
    if kind == "rbf":
        return fgd.rbf_kernel
    if kind == "free":
        return free_kernel(inst.extra["G"])
    if kind == "free-softmax":
        return context_normalised(free_kernel(inst.extra["G"]), inst.n)
    return kind


def _reference_kernel(ar: Arithmetic, kind: str, inst: RegressionInstance) -> Any:
    """G[i, j] = K(x_i, x_j) computed by the reference's own kernel code."""
    if kind == "free":
        return ar.array(inst.extra["G"])
    if kind == "free-softmax":
        return fgd.normalise_over_context(ar, ar.array(inst.extra["G"]), inst.n)
    return fgd.kernel_values(ar, fgd.rbf_kernel if kind == "rbf" else kind, _points(ar, inst), inst.n)


def _points(ar: Arithmetic, inst: RegressionInstance) -> Any:
    X, _, x_q = columns(ar, inst)
    return ar.concat([X, ar.T(x_q)], axis=0)  # (N, d)


def _sample(draw: Draw, sizes: dict[str, int], kind: str) -> RegressionInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    inst = RegressionInstance(d, n, draw.real((n, d), scale=X_SCALE), draw.real((n,)), draw.real((d,), scale=X_SCALE))
    inst.extra["etas"] = [draw.step(STEP_HI) for _ in range(L)]
    inst.extra["kind"] = kind
    if kind.startswith("free"):
        inst.extra["G"] = _positive(draw, (n + 1, n + 1)) if kind == "free-softmax" else draw.real((n + 1, n + 1))
    return inst


def _positive(draw: Draw, shape: tuple[int, ...]) -> np.ndarray:
    """Free kernel values standing for e^{⟨x_i,x_j⟩} > 0: dyadic draws are
    made positive (|g| + 1/2), field and symbol draws are left free."""
    G = draw.real(shape)
    if draw.kind == "dyadic":
        G = np.vectorize(lambda g: abs(g) + Fraction(1, 2), otypes=[object])(G)
    return G


def _build(inst: RegressionInstance) -> Any:
    return functional_gd_transformer(inst.d, inst.n, inst.extra["etas"], _activation(inst.extra["kind"], inst))


def _prompt(ar: Arithmetic, inst: RegressionInstance) -> Any:
    return ar.array(fgd_prompt(inst.X, inst.y, inst.x_q))


def _one_by_one(prediction: Any) -> Any:
    """A scalar (or 0-d array) of any number system as a (1, 1) array."""
    if isinstance(prediction, ErrArray):
        return prediction.reshape(1, 1)
    if isinstance(prediction, np.ndarray):
        return prediction.reshape(1, 1)
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = prediction
    return out


def _with_prediction(ar: Arithmetic, state: Any, prediction: Any, N: int) -> Any:
    """The state with one more row [0 … 0, prediction]: the read-out sign is checked too."""
    row = ar.concat([ar.zeros((1, N - 1)), _one_by_one(prediction)], axis=1)
    return ar.concat([state, row], axis=0)


def _run(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    state = forward(ar, model, _prompt(ar, inst))  # (d+1, N)
    return _with_prediction(ar, state, read_out(ar, model, state), inst.n + 1)


def _reference(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """Functional GD with the reference's kernel values: x unchanged, labels
    y_i - f_L(x_i) and -f_L(x_q), prediction f_L(x_q)."""
    _, y, _ = columns(ar, inst)
    G = _reference_kernel(ar, inst.extra["kind"], inst)
    f_L = fgd.functional_gd(ar, G, y, [ar.const(e) for e in inst.extra["etas"]])[-1]  # (1, N)
    state = fgd.state_after(ar, _points(ar, inst), y, f_L)
    return _with_prediction(ar, state, f_L[0, inst.n], inst.n + 1)


def _degree(kind: str) -> Callable[[dict[str, int]], int]:
    """Total degree of the identity's polynomial in the drawn entries (after
    clearing the softmax denominators Σ_k G[k, j]: at most L per column)."""
    def degree(s: dict[str, int]) -> int:
        L, n = s["L"], s["n"]
        if kind == "linear":
            return 1 + 3 * L
        if kind == "free-softmax":
            return 1 + 2 * L + 2 * L * (n + 1)
        return 1 + 2 * L

    return degree


_SIZES_REAL = {
    "float64": [{"d": 1, "n": 1, "L": 1}, {"d": 2, "n": 4, "L": 3}, {"d": 3, "n": 8, "L": 5}],
    "mpmath": [{"d": 2, "n": 3, "L": 2}, {"d": 3, "n": 6, "L": 4}],
    "rational": [{"d": 1, "n": 1, "L": 1}, {"d": 2, "n": 3, "L": 3}, {"d": 3, "n": 6, "L": 4}],
    "prime-field": [{"d": 2, "n": 4, "L": 3}, {"d": 4, "n": 12, "L": 6}],
    "symbolic": [{"d": 1, "n": 2, "L": 2}],
}
_SIZES_FREE = {
    "rational": [{"d": 1, "n": 1, "L": 1}, {"d": 1, "n": 3, "L": 3}, {"d": 1, "n": 6, "L": 4}],
    "prime-field": [{"d": 1, "n": 4, "L": 3}, {"d": 1, "n": 12, "L": 6}],
    "symbolic": [{"d": 1, "n": 2, "L": 2}],
}
_SIZES_FREE["float64"] = _SIZES_FREE["rational"]


def _spec(kind: str, mutant_list: Sequence[Mutant] = (), falsify_with: str = "rational") -> IdentitySpec:
    return IdentitySpec(sample=lambda draw, s: _sample(draw, s, kind), build=_build, run=_run, reference=_reference,
                        sizes=_SIZES_FREE if kind.startswith("free") else _SIZES_REAL, degree=_degree(kind),
                        mutants=mutant_list, falsify_with=falsify_with)


# Which spec gives each kernel its evidence in each mode.  Exact modes use
# the engine's own activation where it is a rational operation (linear, and
# ReLU on an ordered field) and the drawn kernel matrix otherwise.
EVIDENCE_PLAN: dict[str, dict[str, str]] = {
    "float64": {k: k for k in REAL_KINDS},
    "mpmath": {k: k for k in REAL_KINDS},
    "rational": {"linear": "linear", "relu": "relu", "exp": "free", "softmax": "free-softmax", "rbf": "free"},
    "prime-field": {"linear": "linear", "relu": "free", "exp": "free", "softmax": "free-softmax", "rbf": "free"},
    "symbolic": {"linear": "linear", "relu": "relu", "exp": "free", "softmax": "free-softmax", "rbf": "free"},
}
_CHECKERS = {"float64": check_float64, "mpmath": check_mpmath, "rational": check_rational,
             "prime-field": check_prime_field, "symbolic": check_symbolic}
_EVIDENCE = {"float64": "numerical", "mpmath": "multiprecision", "rational": "exact", "prime-field": "exact",
             "symbolic": "symbolic"}


def combine(mode: str, evidence: str, parts: Sequence[tuple[str, CheckResult]]) -> CheckResult:
    """One check result from one result per kernel: fails if any fails."""
    for label, r in parts:
        if r.status in ("fails", "error"):
            return CheckResult(mode, evidence, sum(p.instances for _, p in parts), r.max_error, r.tolerance,
                               r.status, f"{label}: {r.detail}")
    errs = [(r.max_error or 0.0, r) for _, r in parts]
    worst = max(errs, key=lambda t: t[0])[1] if errs else None
    detail = "; ".join(f"{label}: {r.detail}" for label, r in parts)
    return CheckResult(mode, evidence, sum(p.instances for _, p in parts),
                       worst.max_error if worst else None, worst.tolerance if worst else None, "holds", detail,
                       data={label: r.data for label, r in parts if r.data})


def _kernel_check(mode: str) -> Callable[[Context], CheckResult]:
    def run(ctx: Context) -> CheckResult:
        parts = []
        for kernel, kind in EVIDENCE_PLAN[mode].items():
            res = _guard(mode, _EVIDENCE[mode], lambda kind=kind: _CHECKERS[mode](_spec(kind), ctx))
            how = "drawn kernel values" if kind.startswith("free") else "engine activation"
            parts.append((f"{KIND_LABEL[kernel]} ({how})", res))
        return combine(mode, _EVIDENCE[mode], parts)

    return run


# ---------------------------------------------------------------------------
# falsifiers
# ---------------------------------------------------------------------------


def _wrong_axis(inst: RegressionInstance) -> Callable[[Arithmetic, Any, Any], Any]:
    """Softmax normalised over the queries (each key's row) instead of the keys."""
    base = free_kernel(inst.extra["G"])

    def wrong(ar: Arithmetic, keys: Any, queries: Any) -> Any:
        G = base(ar, keys, queries)
        total = ar.sum(G, axis=-1)  # (N,): over the queries of each key
        return G / total[:, None]

    return wrong


def _engine_softmax_wrong_axis(ar: Arithmetic, keys: Any, queries: Any) -> Any:
    """exp(⟨k_i, q_j⟩) normalised over the queries j of each key i."""
    E = ar.exp(ar.matmul(ar.T(keys), queries))
    total = ar.sum(E, axis=-1)
    return E / total[..., :, None]


def _set_activation(model: Any, act: Any) -> Any:
    return mutants.map_attention(model, lambda a: replace(a, score=act))


COMMON_MUTANTS = (
    Mutant("value sign flipped", "r_ℓ = +η_ℓ instead of -η_ℓ", lambda m, i: mutants.negate_value(m)),
    Mutant("query among the keys", "the query token joins the keys and values (M = I)",
           lambda m, i: mutants.unmask_all_keys(m)),
    Mutant("1/n dropped", "Z + V Z M h̃ without the 1/n", lambda m, i: mutants.drop_scale(m)),
    Mutant("one layer fewer", "L - 1 layers for L steps", lambda m, i: mutants.drop_last_layer(m)),
    Mutant("read-out sign flipped", "prediction +[Z_L]_{d+1,n+1}",
           lambda m, i: replace(m, readout=replace(m.readout, vector=-np.asarray(m.readout.vector, dtype=object)))),
)

FGD_FALSIFIERS = (
    identity_falsifiers(_spec("free-softmax", COMMON_MUTANTS + (
        Mutant("softmax over the wrong axis", "drawn e^{⟨x_i,x_j⟩} normalised over the queries instead of the keys",
               lambda m, i: _set_activation(m, _wrong_axis(i))),)))
    + [replace(f, name=f"relu: {f.name}") for f in identity_falsifiers(_spec("relu", COMMON_MUTANTS[:3]))]
    + [replace(f, name=f"engine softmax: {f.name}") for f in identity_falsifiers(_spec("softmax", (
        Mutant("softmax over the wrong axis", "exp(⟨k_i,q_j⟩) normalised over the queries (float64 engine)",
               lambda m, i: _set_activation(m, _engine_softmax_wrong_axis)),), falsify_with="float64"))]
)

# ---------------------------------------------------------------------------
# the construction in PyTorch and TransformerLens (evidence "torch")
# ---------------------------------------------------------------------------


def _torch_rbf(q: Any, k: Any) -> Any:
    """Torch twin of fgd.rbf_kernel: e^{-|q_i - k_j|²/2}, [.., N_q, N_k]."""
    import torch

    return torch.exp(q @ k.transpose(-1, -2) - (q * q).sum(-1)[..., :, None] / 2 - (k * k).sum(-1)[..., None, :] / 2)


def _torch_softmax_wrong_axis(q: Any, k: Any) -> Any:
    """Torch twin of the falsifier's kernel: exp(⟨k_i, q_j⟩) normalised over the queries j of each key i."""
    import torch

    E = torch.exp(q @ k.transpose(-1, -2))  # [.., N_q, N_k]
    return E / E.sum(-2, keepdim=True)


TORCH_KERNELS[fgd.rbf_kernel] = _torch_rbf
TORCH_KERNELS[_engine_softmax_wrong_axis] = _torch_softmax_wrong_axis

LIBRARY_SIZES = [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 4, "L": 3}, {"d": 3, "n": 6, "L": 4}]


def _library_output(ar: Arithmetic, final: Any, inst: RegressionInstance, model: Any) -> Any:
    """The library's final stream with the model's read-out applied (the read-out sign is checked too)."""
    return _with_prediction(ar, final, read_out(ar, model, final), inst.n + 1)


def _library_check(backend: str, specs: Callable[[], list[tuple[str, IdentitySpec]]], per_size: int) -> Callable[[Context], CheckResult]:
    """The torch / lens check of every (label, spec), folded into one result."""
    def run(ctx: Context) -> CheckResult:
        missing = torch_backend.torch_missing() if backend == "torch" else torch_backend.lens_missing()
        if missing:
            return CheckResult(backend, "torch", 0, None, None, "skipped", missing)
        parts = [(label, torch_check(spec, _prompt, backend, output=_library_output, output_with_model=True,
                                     sizes=LIBRARY_SIZES, per_size=per_size, mutant_instances=2)(ctx))
                 for label, spec in specs()]
        return combine(backend, "torch", parts)

    return run


def _fgd_library_specs() -> list[tuple[str, IdentitySpec]]:
    wrong_axis = Mutant("softmax over the wrong axis", "exp(⟨k_i,q_j⟩) normalised over the queries",
                        lambda m, i: _set_activation(m, _engine_softmax_wrong_axis))
    return [(KIND_LABEL[k], _spec(k, COMMON_MUTANTS + ((wrong_axis,) if k == "softmax" else ()), "float64"))
            for k in REAL_KINDS]


FGD_LIBRARY_CHECKS = {b: _library_check(b, _fgd_library_specs, 3 if b == "torch" else 1) for b in BACKENDS}


def _lemma_layers(activation: str) -> Callable[[dict[str, int]], tuple[list[Any], Parameters]]:
    """Our construction's layers (two, step sizes free symbols) for the
    all-sizes lemma to read in block form."""
    def build(sizes: dict[str, int]) -> tuple[list[Any], Parameters]:
        params, etas = Parameters(), [Sym(f"step{l}") for l in range(2)]
        for l, eta in enumerate(etas):
            params.add_scalar(eta, sympy.Symbol(f"η{l + 1}"))
        return list(functional_gd_transformer(sizes["d"], sizes["n"], etas, activation).layers), params
    return build


def _lemma_every_activation(ctx: Context) -> CheckResult:
    """The one-layer lemma (kernel block a free non-symmetric matrix symbol),
    read from our layers for each activation, then induction over layers."""
    parts = [(act, lemma_check(functional_gd_lemma(L=2, build=_lemma_layers(act)))(ctx))
             for act in ("relu", "exp", "softmax")]
    bad = [(a, r) for a, r in parts if r.status != "holds"]
    if bad:
        a, r = bad[0]
        return replace(r, detail=f"{a}: {r.detail}")
    first = parts[0][1]
    return replace(first, instances=sum(r.instances for _, r in parts),
                   detail=("for ReLU, exp and softmax layers read from our construction (the linear layer reads as "
                           "XᵀX, not a free kernel block: it is the gd.multi_layer lemma): " + first.detail))


register(Claim(
    id="fgd.functional_gd", paper=CHENG, kind="identity",
    statement=("L layers Z + (1/n) V_ℓ Z M h̃(X, X) with V_ℓ = [[0, 0], [0, r_ℓ]], r_ℓ = -η_ℓ, keys and queries x, "
               "leave y_i - f_L(x_i) in the context labels and -f_L(x_q) in the query label, f_L the L-th functional "
               "GD iterate f_{ℓ+1} = f_ℓ + (η_ℓ/n) Σ_i (y_i - f_ℓ(x_i)) K(x_i, ·), f_0 = 0, for K = h̃ linear, ReLU, "
               "exp, softmax (normalised over the context keys) or any kernel; the prediction is -[Z_L]_{d+1,n+1}."),
    checks={**{mode: _kernel_check(mode) for mode in EVIDENCE_PLAN}, "lemma": _lemma_every_activation,
            **FGD_LIBRARY_CHECKS},
    falsifiers=FGD_FALSIFIERS,
    notes=("r_ℓ = -η_ℓ and the read-out sign -1 are derived in constructions/functional_gd.py.  The whole state and the "
           "prediction are compared.  Exact and symbolic evidence for exp, softmax and the user kernel is for the drawn "
           "kernel matrix (the identity is polynomial in the kernel values, rational for softmax), so it covers every "
           "kernel; the engine's exp and softmax themselves get float64 (running error bound) and multiprecision "
           "evidence.  Steps are drawn per layer.")))


# ---------------------------------------------------------------------------
# closed form
# ---------------------------------------------------------------------------


def _sample_closed(draw: Draw, sizes: dict[str, int], kind: str, symmetric: bool = False) -> RegressionInstance:
    inst = _sample(draw, sizes, kind)
    if symmetric and "G" in inst.extra:
        G = inst.extra["G"]
        n = inst.n
        for i in range(n + 1):
            for j in range(i):
                G[i, j] = G[j, i]
    return inst


def _run_prediction(ar: Arithmetic, model: Any, inst: RegressionInstance) -> Any:
    return _one_by_one(read_out(ar, model, forward(ar, model, _prompt(ar, inst))))


def _reference_closed(ar: Arithmetic, inst: RegressionInstance, transpose: bool = True) -> Any:
    _, y, _ = columns(ar, inst)
    G = _reference_kernel(ar, inst.extra["kind"], inst)
    return fgd.closed_form(ar, G, y, [ar.const(e) for e in inst.extra["etas"]], transpose=transpose)


def _closed_spec(kind: str, mutant_list: Sequence[Mutant] = ()) -> IdentitySpec:
    return IdentitySpec(sample=lambda draw, s: _sample_closed(draw, s, kind), build=_build, run=_run_prediction,
                        reference=_reference_closed, sizes=_SIZES_FREE,
                        degree=lambda s: _degree(kind)(s) + 2 * s["n"] * (1 + s["L"]), mutants=mutant_list)


def _closed_exact(mode: str) -> Callable[[Context], CheckResult]:
    def run(ctx: Context) -> CheckResult:
        parts = [(f"{label} (drawn kernel values)", _guard(mode, _EVIDENCE[mode], lambda kind=kind: _CHECKERS[mode](_closed_spec(kind), ctx)))
                 for label, kind in (("any kernel", "free"), ("softmax", "free-softmax"))]
        return combine(mode, _EVIDENCE[mode], parts)

    return run


def _closed_ball(ctx: Context) -> CheckResult:
    """Certified: the transformer's prediction and the closed form, both in
    arb ball arithmetic with the real exp / softmax / user kernels, are within
    the sum of their radii (an enclosure of |difference|)."""
    rng = _rng(ctx, "fgd-closed-ball")
    from transformer_proofs.verify.checks import DyadicDraw

    ar = Ball(200)
    worst_gap, worst_rad, count = 0.0, 0.0, 0
    for kind in ("exp", "softmax", "rbf"):
        for sizes in ({"d": 2, "n": 3, "L": 2}, {"d": 3, "n": 5, "L": 4}):
            for _ in range(ctx.count(2)):
                inst = _sample(DyadicDraw(rng), sizes, kind)
                got = _run_prediction(ar, _build(inst), inst)[0, 0]
                want = _reference_closed(ar, inst)[0, 0]
                gap = abs(float((got - want).mid()))
                rad = float(got.rad()) + float(want.rad())
                count += 1
                if not (got - want).contains(0) and gap > rad:
                    return CheckResult("ball", "certified", count, gap, rad, "fails",
                                       f"{kind} at {sizes}: prediction and closed form are certainly different")
                if gap >= worst_gap:
                    worst_gap, worst_rad = gap, rad
    return CheckResult("ball", "certified", count, worst_gap, worst_rad, "holds",
                       f"arb at 200 bits, exp/softmax/user kernels: |prediction - closed form| <= {worst_rad:.2g} "
                       "(certified enclosure)")


CLOSED_MUTANTS = COMMON_MUTANTS  # the read-out sign matters here: only the prediction is compared

register(Claim(
    id="fgd.closed_form", paper=CHENG, kind="identity",
    statement=("f_L(x_q) = k_qᵀ (Kᵀ)⁻¹ (I - ∏_ℓ (I - η_ℓ Kᵀ/n)) y with K[i, j] = K(x_i, x_j) on the examples and "
               "k_q[i] = K(x_i, x_q), for K invertible; Kᵀ = K for symmetric kernels (corrected orientation)."),
    checks={"rational": _closed_exact("rational"), "prime-field": _closed_exact("prime-field"),
            "symbolic": _closed_exact("symbolic"), "ball": _closed_ball},
    falsifiers=[replace(f, name=f"softmax: {f.name}") for f in identity_falsifiers(_closed_spec("free-softmax", CLOSED_MUTANTS))],
    notes=("The transformer's prediction is compared with the closed form (a linear solve, no unrolled GD).  Exact and "
           "symbolic evidence with drawn kernel matrices (general and context-normalised); certified evidence with the "
           "real exp, softmax and user kernels in arb.  Corrected form of fgd.closed_form_printed.")))


def _printed_counterexample() -> tuple[str, Any, Any] | None:
    """Smallest instance where the transcribed orientation fails: n = 2, L = 2
    (for L = 1 both forms reduce to (η/n) k_qᵀ y), η_1 = η_2 = 1, x in d = 1, softmax kernel with free positive symmetric values
    e^{x_i x_j} (entries in {1, 2}), labels in {0, 1}."""
    ar = Rational()
    n = 2
    for entries in itertools.product((1, 2), repeat=6):  # symmetric 3 x 3 with these upper entries
        E = np.empty((3, 3), dtype=object)
        for (i, j), v in zip(((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)), entries):
            E[i, j] = E[j, i] = Fraction(v)
        for y in itertools.product((0, 1), repeat=n):
            inst = RegressionInstance(1, n, np.array([[Fraction(0)], [Fraction(0)]], dtype=object),
                                      np.array([Fraction(v) for v in y], dtype=object),
                                      np.array([Fraction(0)], dtype=object),
                                      {"etas": [Fraction(1), Fraction(1)], "kind": "free-softmax", "G": E})
            try:
                got = _run_prediction(ar, _build(inst), inst)
                printed = _reference_closed(ar, inst, transpose=False)
            except ZeroDivisionError:
                continue
            if exact_mismatches(got, printed):
                text = (f"n=2, L=2, η_1=η_2=1, softmax kernel with e^{{⟨x_i,x_j⟩}} values E={[[int(v) for v in r] for r in E]} "
                        f"(rows: keys x_1, x_2, x_q), y={list(y)}: the transformer predicts {got[0, 0]}, "
                        f"the transcribed k_qᵀK⁻¹(I-(I-K/2)²)y gives {printed[0, 0]}")
                return text, got, printed
    return None


def _check_printed(ctx: Context) -> CheckResult:
    found = _printed_counterexample()
    # It does hold for symmetric kernels: confirm exactly, so the erratum is exactly the orientation.
    symmetric = IdentitySpec(sample=lambda draw, s: _sample_closed(draw, s, "free", symmetric=True), build=_build,
                             run=_run_prediction, reference=lambda ar, i: _reference_closed(ar, i, transpose=False),
                             sizes=_SIZES_FREE)
    return printed_form_refuted(found[0] if found else None, symmetric, ctx, "with symmetric kernel matrices")


register(Claim(
    id="fgd.closed_form_printed", paper=CHENG, kind="identity",
    statement=("As transcribed: f_L(x_q) = k_qᵀ K⁻¹ (I - ∏_ℓ (I - η_ℓ K/n)) y for the kernel K = h̃ of the layer, "
               "including the softmax kernel normalised over the context keys."),
    checks={"rational": _check_printed},
    erratum=Erratum(
        counterexample=("n=2, L=2, η_1 = η_2 = 1, d=1, x_1 = 0, x_2 = √(ln 2), x_q = 0 (so the exponentials "
                        "e^{x_i x_j} are E = [[1,1,1],[1,2,1],[1,1,1]], exact rationals), y = (0, 1), softmax kernel "
                        "normalised over the two context keys: the transformer predicts 17/48, the transcribed closed "
                        "form k_qᵀ K⁻¹ (I - (I - K/2)²) y gives 3/8 (found by exhaustive search at check time)"),
        correction=("with K[i, j] = K(x_i, x_j) and k_q[i] = K(x_i, x_q), the residual obeys R_{ℓ+1} = (I - η_ℓ Kᵀ/n) R_ℓ, "
                    "so f_L(x_q) = k_qᵀ (Kᵀ)⁻¹ (I - ∏(I - η_ℓ Kᵀ/n)) y; the transcribed K is right exactly when K is "
                    "symmetric, which the softmax kernel (normalised per query) is not"),
        corrected_claim="fgd.closed_form"),
    notes=("Erratum against our transcription (shared/CLAIMS.md §3), which states the closed form for every kernel of "
           "the layer; we could not read the paper's own statement in our corpus.  For the symmetric kernels of an "
           "RKHS (linear, ReLU, exp, RBF) the transcribed form holds, and is confirmed exactly here.")))


# ---------------------------------------------------------------------------
# multi-head: a sum of heads is functional GD on the sum of their kernels
# ---------------------------------------------------------------------------

_SIZES_MULTI_FREE = {**_SIZES_FREE, "symbolic": [{"d": 1, "n": 2, "L": 1}]}  # sympy fractions grow fast with heads
HEAD_SETS = {"float64": [("linear", "exp"), ("relu", "softmax", "rbf")],
             "exact": [("free", "free-softmax"), ("linear", "free", "free-softmax")]}


def _sample_multi(draw: Draw, sizes: dict[str, int], kinds: Sequence[str]) -> RegressionInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    inst = RegressionInstance(d, n, draw.real((n, d), scale=X_SCALE), draw.real((n,)), draw.real((d,), scale=X_SCALE))
    inst.extra["kinds"] = list(kinds)
    inst.extra["head_etas"] = [[draw.step(STEP_HI) for _ in kinds] for _ in range(L)]
    inst.extra["Gs"] = [(_positive(draw, (n + 1, n + 1)) if k == "free-softmax" else draw.real((n + 1, n + 1)))
                        if k.startswith("free") else None for k in kinds]
    return inst


def _head_inst(inst: RegressionInstance, h: int) -> RegressionInstance:
    return RegressionInstance(inst.d, inst.n, inst.X, inst.y, inst.x_q,
                              {"kind": inst.extra["kinds"][h], "G": inst.extra["Gs"][h]})


def _build_multi(inst: RegressionInstance) -> Any:
    acts = [_activation(k, _head_inst(inst, h)) for h, k in enumerate(inst.extra["kinds"])]
    return multi_head_transformer(inst.d, inst.n, inst.extra["head_etas"], acts)


def _reference_multi(ar: Arithmetic, inst: RegressionInstance) -> Any:
    """Functional GD with step 1 on Σ_h η_{ℓ,h} K_h in layer ℓ."""
    _, y, _ = columns(ar, inst)
    Gs = [_reference_kernel(ar, k, _head_inst(inst, h)) for h, k in enumerate(inst.extra["kinds"])]
    etas = [[ar.const(e) for e in row] for row in inst.extra["head_etas"]]
    f_L = fgd.multi_kernel_functional_gd(ar, Gs, y, etas)[-1]
    return _with_prediction(ar, fgd.state_after(ar, _points(ar, inst), y, f_L), f_L[0, inst.n], inst.n + 1)


def _swap_heads(m: Any, i: RegressionInstance) -> Any:
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
    Mutant("query among the keys", "M = I", lambda m, i: mutants.unmask_all_keys(m)),
    Mutant("1/n dropped", "no 1/n", lambda m, i: mutants.drop_scale(m)),
)


def _multi_spec(kinds: Sequence[str], falsify_with: str = "rational", mutant_list: Sequence[Mutant] = ()) -> IdentitySpec:
    free = any(k.startswith("free") for k in kinds)
    return IdentitySpec(sample=lambda draw, s: _sample_multi(draw, s, kinds), build=_build_multi, run=_run,
                        reference=_reference_multi, sizes=_SIZES_MULTI_FREE if free else _SIZES_REAL,
                        degree=lambda s: 1 + 2 * s["L"] + 2 * s["L"] * (s["n"] + 1) + (s["L"] if "linear" in kinds else 0),
                        mutants=mutant_list, falsify_with=falsify_with)


def _multi_check(mode: str) -> Callable[[Context], CheckResult]:
    sets = HEAD_SETS["float64" if mode in ("float64", "mpmath") else "exact"]

    def run(ctx: Context) -> CheckResult:
        parts = [(" + ".join(kinds), _guard(mode, _EVIDENCE[mode], lambda kinds=kinds: _CHECKERS[mode](_multi_spec(kinds), ctx)))
                 for kinds in sets]
        return combine(mode, _EVIDENCE[mode], parts)

    return run


register(Claim(
    id="fgd.multi_head", paper=replace(CHENG, where="§3–4 (multi-head attention)"), kind="identity",
    statement=("A layer of heads h with kernels K_h and value entries -η_{ℓ,h} is one functional-GD step (step 1) on the "
               "kernel Σ_h η_{ℓ,h} K_h (equal steps: η_ℓ times the sum of the kernels); L such layers are L steps."),
    checks={**{mode: _multi_check(mode) for mode in ("float64", "mpmath", "rational", "prime-field", "symbolic")},
            **{b: _library_check(b, lambda: [(" + ".join(k), _multi_spec(k, "float64", MULTI_MUTANTS))
                                             for k in HEAD_SETS["float64"]], 3 if b == "torch" else 1)
               for b in BACKENDS}},
    falsifiers=identity_falsifiers(_multi_spec(("linear", "free", "free-softmax"), mutant_list=MULTI_MUTANTS)),
    notes=("Heads of different activations in one layer use the engine's per-head score.  float64/mpmath: linear + exp "
           "and ReLU + softmax + the user kernel through the engine; exact/symbolic: drawn kernel matrices (one "
           "context-normalised) and the engine's linear head.")))


# ---------------------------------------------------------------------------
# kernel-regression limit, with a bound derived from the spectrum of K
# ---------------------------------------------------------------------------

LIMIT_KINDS = ("exp", "rbf", "linear")  # symmetric kernels, positive definite on the drawn points
LIMIT_LAYERS = 100


def _limit_instance(rng: np.random.Generator, kind: str) -> tuple[RegressionInstance, np.ndarray]:
    """Points on a sphere of radius 1.2 in d = 4 (a constant diagonal keeps K
    well conditioned; linear: n = 3 <= d, so XXᵀ ≻ 0 almost surely), labels
    N(0, 1); steps η_ℓ drawn in [1/2, 3/2] · 2n/(λ_min + λ_max), inside
    (0, 2n/λ_max) (the bound function refuses any step outside)."""
    d, n = (4, 3) if kind == "linear" else (4, 5)

    def sphere(k: int) -> np.ndarray:
        g = rng.standard_normal((k, d))
        return 1.2 * g / np.linalg.norm(g, axis=1, keepdims=True)

    exact = np.vectorize(Fraction, otypes=[object])
    pts = sphere(n + 1)
    inst = RegressionInstance(d, n, exact(pts[:n]), exact(rng.standard_normal(n)), exact(pts[n]))
    inst.extra["kind"] = kind
    G = _reference_kernel(Multiprecision(40), kind, inst)  # exactly symmetric (same summation order)
    lam = np.linalg.eigvalsh(G[:n, :n].astype(float))
    centre = 2 * n / (lam.min() + lam.max())
    hi = 2 * n / lam.max()
    inst.extra["etas"] = [Fraction(float(min(centre * u, 0.999 * hi))).limit_denominator(2**20)
                          for u in rng.uniform(0.5, 1.5, LIMIT_LAYERS)]
    return inst, G


def _limit_errors(inst: RegressionInstance, model: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """|f_L(x_q) - k_qᵀK⁻¹y| for L = 0..LIMIT_LAYERS (f_L read from the
    transformer's states in float64 with running error bounds), the float64
    error bounds, and the limit (mpmath, 40 digits)."""
    ar = Float64Bounded()
    states = forward(ar, model, _prompt(ar, inst), trace=True)
    preds = [read_out(ar, model, Z) for Z in states]
    mp = Multiprecision(40)
    _, y, _ = columns(mp, inst)
    limit = fgd.kernel_regression(mp, _reference_kernel(mp, inst.extra["kind"], inst), y)[0, 0]
    errs = np.array([abs(float(p.val) - float(limit)) for p in preds])
    fp = np.array([float(p.err) for p in preds])
    return errs, fp, float(limit)


# Slack for the 40-digit limit and spectrum, and the rounding of the bound to
# float64: 1e-30 absolute plus 2^-50 relative — far below any B_L reached here.
MP_SLACK = 1e-30


def _limit_run(ctx: Context, mutant: Mutant | None = None) -> CheckResult:
    rng = _rng(ctx, "fgd-limit")
    rows, count = [], 0
    worst_ratio, worst = -1.0, (0.0, 0.0)
    for kind in LIMIT_KINDS:
        for _ in range(ctx.count(2)):
            inst, G = _limit_instance(rng, kind)
            n = inst.n
            bounds = fgd.remaining_error_bounds(G[:n, :n], G[:n, n], np.asarray(inst.y, dtype=object), inst.extra["etas"])
            model = _build(inst)
            if mutant is not None:
                model = mutant.apply(model, inst)
            errs, fp, _ = _limit_errors(inst, model)
            count += 1
            L_seen = len(errs)
            tol = np.array(bounds[:L_seen]) * (1 + 2.0**-50) + fp + MP_SLACK
            bad = np.flatnonzero(errs > tol)
            if bad.size:
                L = int(bad[0])
                return CheckResult("bound", "bound", count, float(errs[L]), float(tol[L]), "fails",
                                   f"{kind}, n={n}: after L={L} layers |f_L(x_q) - k_qᵀK⁻¹y| = {errs[L]:.3g} exceeds "
                                   f"the spectral bound {tol[L]:.3g}")
            ratio = float((errs / tol).max())
            if ratio > worst_ratio:
                worst_ratio, worst = ratio, (float(errs[-1]), float(tol[-1]))
            rows.append((kind, bounds[0], bounds[-1], errs[-1]))
    b_last = max(r[2] for r in rows)
    return CheckResult("bound", "bound", count, worst[0], worst[1], "holds",
                       f"{LIMIT_LAYERS} layers, kernels {', '.join(LIMIT_KINDS)}: |f_L(x_q) - k_qᵀK⁻¹y| <= "
                       f"‖K⁻¹k_q‖‖y‖ ∏ρ_ℓ at every L (largest error/bound {worst_ratio:.2g}); the bound falls from "
                       f"{max(r[1] for r in rows):.2g} at L=0 to at most {b_last:.2g} at L={LIMIT_LAYERS}",
                       data={"instances": [{"kernel": k, "bound_L0": b0, "bound_L": bL, "error_L": eL}
                                           for k, b0, bL, eL in rows]})


def _limit_falsifier(m: Mutant) -> Falsifier:
    return falsifier_from_check(m.name, m.description, lambda ctx: _limit_run(Context(ctx.seed, 1.0), m))


register(Claim(
    id="fgd.kernel_regression_limit", paper=replace(CHENG, where="Proposition 3.1 and §3 (kernel-regression limit)"),
    kind="bound",
    statement=("For K ≻ 0 and steps 0 < η_ℓ < 2n/λ_max(K), the prediction f_L(x_q) converges to the kernel-regression "
               "predictor k_qᵀK⁻¹y, with |f_L(x_q) - k_qᵀK⁻¹y| <= ‖K⁻¹k_q‖₂‖y‖₂ ∏_{ℓ<L} max(|1 - η_ℓλ_min/n|, "
               "|1 - η_ℓλ_max/n|)."),
    checks={"bound": lambda ctx: _guard("bound", "bound", lambda: _limit_run(ctx))},
    falsifiers=[_limit_falsifier(m) for m in COMMON_MUTANTS[:3]],
    notes=("The bound is derived from the spectrum (verify/algorithms/functional_gd.remaining_error_bounds): "
           "error_L = -k_qᵀK⁻¹∏(I - η_ℓK/n)y.  The transformer runs in float64 with running error bounds (added to the "
           "tolerance); the limit and the spectrum are computed at 40 digits (slack 1e-30).  Kernels: exp, the user RBF "
           "kernel, linear with n <= d; ReLU and softmax kernels are not symmetric positive definite in general, and "
           "the bound function refuses them with a clear error.")))


# ---------------------------------------------------------------------------
# matched activation: empirical, Gaussian-process tasks
# ---------------------------------------------------------------------------

GP_KERNELS = ("linear", "relu", "exp")  # softmax is not a symmetric kernel: no GP of its own; it competes
ACTIVATIONS = ("linear", "relu", "exp", "softmax")
MATCH = dict(d=3, n=12, tasks=80, noise=1e-2, depths=(1, 4, 16, 64, 192), step=1.5)
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def _batch_kernel(kind: str, P: np.ndarray, n: int) -> np.ndarray:
    """K[t, i, j] = K(x_i, x_j) for a batch of point sets P (T, N, d) (float64)."""
    inner = np.einsum("tid,tjd->tij", P, P)
    if kind == "linear":
        return inner
    if kind == "relu":
        return np.maximum(inner, 0.0)
    E = np.exp(inner)
    return E if kind == "exp" else E / E[:, :n, :].sum(axis=1, keepdims=True)


def _ci(samples: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95% normal-approximation interval."""
    return float(samples.mean()), float(Z95 * samples.std(ddof=1) / math.sqrt(len(samples)))


def matched_activation_experiment(ctx: Context, gp_for: dict[str, str] | None = None) -> dict[str, Any]:
    """For each GP kernel a: T tasks with x uniform on the unit sphere of R^d,
    f ~ GP(0, K_a) at the n+1 points (K_a's negative eigenvalues clipped to 0
    where it is not positive semidefinite: ReLU), y_i = f(x_i) + N(0, σ²);
    each activation's transformer (step η = 1.5 n / max_t |λ|_max(K_act)) at
    every depth; squared error against f(x_q); Bayes: the GP posterior mean
    k_qᵀ(K_a + σ²I)⁻¹y.  ``gp_for`` maps a kernel name to the kernel actually
    used to draw its tasks (a falsifier mislabels them)."""
    rng = _rng(ctx, "fgd-matched")
    d, n, T, s2, depths = MATCH["d"], MATCH["n"], ctx.count(MATCH["tasks"]), MATCH["noise"], MATCH["depths"]
    ar = Float64()
    out: dict[str, Any] = {}
    for gp in GP_KERNELS:
        g = rng.standard_normal((T, n + 1, d))
        P = g / np.linalg.norm(g, axis=2, keepdims=True)  # (T, N, d)
        C = _batch_kernel((gp_for or {}).get(gp, gp), P, n)
        w, V = np.linalg.eigh(C)
        w = np.maximum(w, 0.0)
        C = np.einsum("tij,tj,tkj->tik", V, w, V)  # the (clipped) covariance actually sampled
        f = np.einsum("tij,tj->ti", V * np.sqrt(w)[:, None, :], rng.standard_normal((T, n + 1)))  # (T, N)
        y = f[:, :n] + math.sqrt(s2) * rng.standard_normal((T, n))
        bayes = np.einsum("ti,ti->t", C[:, :n, n], np.linalg.solve(C[:, :n, :n] + s2 * np.eye(n), y[..., None])[..., 0])
        res = {"bayes": (bayes - f[:, n]) ** 2, "errors": {}}
        for act in ACTIVATIONS:
            lam = float(np.abs(np.linalg.eigvals(_batch_kernel(act, P, n)[:, :n, :n])).max())
            model = functional_gd_transformer(d, n, [MATCH["step"] * n / lam] * max(depths), act)
            with np.errstate(over="ignore", invalid="ignore"):
                states = forward(ar, model, fgd_prompt(P[:, :n, :], y, P[:, n, :]), trace=True)
                res["errors"][act] = {L: (-states[L][:, d, n] - f[:, n]) ** 2 for L in depths}
        out[gp] = res
    return out


def _best_depth(errs: dict[int, np.ndarray]) -> int:
    return min(errs, key=lambda L: (np.nanmean(errs[L]) if np.isfinite(errs[L]).all() else np.inf))


def _matched_verdict(exp: dict[str, Any]) -> tuple[bool, list[str]]:
    ok, lines = True, []
    for gp, res in exp.items():
        best = {a: _best_depth(e) for a, e in res["errors"].items()}
        means = {a: float(np.mean(res["errors"][a][best[a]])) for a in ACTIVATIONS}
        winner = min(means, key=means.get)
        gap_m, gap_h = _ci(res["errors"][gp][best[gp]] - res["bayes"])
        sig, beaten_by = [], []
        for a in ACTIVATIONS:
            if a != gp:
                m, h = _ci(res["errors"][a][best[a]] - res["errors"][gp][best[gp]])
                sig.append(f"{a} {m:+.3g}±{h:.2g}{'' if m - h > 0 else ' (n.s.)'}")
                if m + h < 0:  # significantly lower than the matched activation
                    beaten_by.append(a)
        # The claim fails only when another activation is significantly better
        # (its paired 95% interval lies below the matched one); a lower point
        # estimate inside the interval is reported as such, not as a refutation.
        ok &= not beaten_by
        lines.append(f"GP {gp}: lowest point estimate {winner}"
                     f"{' (significantly below the matched one: ' + ', '.join(beaten_by) + ')' if beaten_by else ''}"
                     f" (matched {gp} at depth {best[gp]}: excess over Bayes "
                     f"{gap_m:.3g}±{gap_h:.2g}); others minus matched: {', '.join(sig)}")
    return ok, lines


def _check_matched(ctx: Context, gp_for: dict[str, str] | None = None) -> CheckResult:
    exp = matched_activation_experiment(ctx, gp_for)
    ok, lines = _matched_verdict(exp)
    T = len(next(iter(exp.values()))["bayes"])
    return CheckResult("empirical", "empirical", T * len(GP_KERNELS), None, None, "holds" if ok else "fails",
                       f"{T} GP tasks per kernel, n={MATCH['n']}, d={MATCH['d']}, each activation at its best depth "
                       f"among {MATCH['depths']}; intervals: mean ± 95% normal-approximation half-width over tasks "
                       "(paired differences).  " + "; ".join(lines))


def _matched_table(ctx: Context) -> str:
    exp = matched_activation_experiment(ctx)
    depths = MATCH["depths"]
    head = "| GP kernel | activation | " + " | ".join(f"L={L}" for L in depths) + " |"
    rows = [head, "|" + "---|" * (2 + len(depths))]
    for gp, res in exp.items():
        for act in ACTIVATIONS:
            cells = []
            for L in depths:
                e = res["errors"][act][L]
                cells.append(f"{_ci(e)[0]:.3g} ± {_ci(e)[1]:.2g}" if np.isfinite(e).all() and e.mean() < 1e6 else "diverges")
            rows.append(f"| {gp} | {act}{' (matched)' if act == gp else ''} | " + " | ".join(cells) + " |")
        m, h = _ci(res["bayes"])
        rows.append(f"| {gp} | Bayes (GP posterior mean) | " + " | ".join([f"{m:.3g} ± {h:.2g}"] * len(depths)) + " |")
    return ("Mean squared in-context error against f(x_q) ± 95% normal-approximation half-width over "
            f"{ctx.count(MATCH['tasks'])} tasks.\n\n" + "\n".join(rows))


def _matched_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    import os

    exp = matched_activation_experiment(ctx)
    depths = list(MATCH["depths"])
    fig, axes = plt.subplots(1, len(GP_KERNELS), figsize=(4 * len(GP_KERNELS), 3.4), sharey=False)
    for ax, (gp, res) in zip(axes, exp.items()):
        for act in ACTIVATIONS:
            stats = [_ci(res["errors"][act][L]) for L in depths]
            keep = [i for i, (m, _) in enumerate(stats) if np.isfinite(m) and m < 1e3]
            ax.errorbar([depths[i] for i in keep], [stats[i][0] for i in keep], yerr=[stats[i][1] for i in keep],
                        marker="o", capsize=2, label=act + (" (matched)" if act == gp else ""),
                        linewidth=2.2 if act == gp else 1.0)
        m, h = _ci(res["bayes"])
        ax.axhline(m, color="k", linestyle="--", label="Bayes")
        ax.axhspan(m - h, m + h, color="k", alpha=0.1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"GP kernel: {gp}")
        ax.set_xlabel("depth L")
    axes[0].set_ylabel("in-context squared error")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    name = "fgd_matched_activation.png"
    fig.savefig(os.path.join(str(outdir), name), dpi=100, metadata={"Software": None})
    plt.close(fig)
    return name, ("In-context error against depth, one line per activation, for GP tasks of each kernel; bars: 95% "
                  "normal-approximation intervals over tasks; dashed: the Bayes predictor (GP posterior mean).")


def _matched_falsifier(name: str, desc: str, gp_for: dict[str, str]) -> Falsifier:
    return falsifier_from_check(name, desc, lambda ctx: _check_matched(Context(ctx.seed, ctx.effort), gp_for))


register(Claim(
    id="fgd.matched_activation", paper=replace(CHENG, where="§4 (matched activation)"), kind="empirical",
    statement=("On tasks whose labels are drawn from a Gaussian process with kernel K_a, the functional-GD transformer "
               "whose activation matches K_a has the lowest in-context error and approaches the Bayes predictor "
               "(the GP posterior mean, kernel regression with K_a); no other activation is significantly (95%) below it."),
    checks={"empirical": lambda ctx: _guard("empirical", "empirical", lambda: _check_matched(ctx))},
    falsifiers=[_matched_falsifier("tasks mislabelled", "each kernel's tasks drawn from another kernel "
                                   "(linear→exp, relu→linear, exp→relu): the 'matched' activation must lose",
                                   {"linear": "exp", "relu": "linear", "exp": "relu"})],
    table=_matched_table, figure=_matched_figure,
    notes=("Empirical: an expected error, reported with intervals, not an identity.  Weights are the hand-built "
           "functional-GD ones (not trained), one step per activation (1.5 n / max |λ|(K_act) over the tasks), depth "
           "chosen per activation as the best of the listed depths.  The holds/fails verdict is on "
           "significant differences: it fails when another activation's paired 95% interval lies below the matched one's.  "
           "At seed 0 the matched activation is also the lowest point estimate for every kernel; at other seeds softmax "
           "can edge out exp on exp tasks without significance (softmax is the context-normalised exp kernel).  "
           "x on the unit sphere; the ReLU kernel is not positive semidefinite, so its GP uses the clipped "
           "covariance and ReLU attention diverges at large depth along the negative eigendirections.")))
