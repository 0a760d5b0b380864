"""Family ``energy``: a transformer's layers as descent steps on an energy.

Papers:
- Yang, Huang, Wipf (2022), arXiv:2205.13891: ``energy.attention_mm`` (softmax
  attention with the key bias −½‖y_i‖² is the MM step of E_1, and E_1
  decreases), ``energy.feedforward_pgd`` (ReLU(Wy + b) is a projected gradient
  step of ½yᵀ(I − W)y − bᵀy, which decreases it).
- Ramsauer et al. (2021), arXiv:2008.02217: ``energy.hopfield`` (the update
  is the CCCP step, E decreases, 0 ≤ E ≤ 2M² for ‖ξ‖ ≤ M, the one-step
  retrieval estimate) and the erratum ``energy.hopfield_bound_printed``
  (0 ≤ E ≤ 2M² for every ξ, as transcribed, is false).

Orientation: Yang et al. write tokens as rows; here tokens are columns
(our Y = their Yᵀ, shape (d, n)).

Evidence: identities in float64 (running error bounds) and multiprecision
(error falls with the working precision; exp is transcendental, so no exact
run of the forward pass), their algebraic core exactly (the score and the
log-weight differ by a per-query constant), the Hopfield gradient identity
symbolically; inequalities certified with arb balls (ties reported as ties),
the feed-forward ones exactly (they are rational).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from typing import Any

import flint
import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, Ball, Float64, Rational, arb_precision
from transformer_proofs.constructions.energy import (
    ConditionError,
    feedforward_layer,
    feedforward_stack,
    hopfield_prompt,
    hopfield_transformer,
    key_bias_exp_unnormalised,
    key_bias_softmax,
    last_block,
    mm_attention_stack,
)
from transformer_proofs.constructions.engine import forward
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import energy as alg
from transformer_proofs.verify.checks import (
    Draw,
    DyadicDraw,
    IdentitySpec,
    Mutant,
    _guard,
    _rng,
    check_mpmath,
    identity_checks,
    identity_falsifiers,
)
from transformer_proofs.verify.claims._certify import PRECISIONS, Tally, certify_le
from transformer_proofs.verify.registry import CheckResult, Claim, Context, Erratum, Falsifier, Paper, register
from transformer_proofs.verify.torch_backend import TORCH_KERNELS, torch_checks

YANG = Paper("Y. Yang, Z. Huang, D. Wipf", 2022, "Transformers from an Optimization Perspective", "2205.13891",
             "energy E_1 with ρ(z) = −e^{−z}, its MM step, and the ReLU layer as a proximal step (CLAIMS.md §5)")
RAMSAUER = Paper("H. Ramsauer, B. Schäfl, J. Lehner, P. Seidl, M. Widrich, L. Gruber, M. Holzleitner, T. Adler, "
                 "D. Kreil, M. K. Kopp, G. Klambauer, J. Brandstetter, S. Hochreiter", 2021,
                 "Hopfield Networks is All You Need", "2008.02217",
                 "energy E and update rule (eqs. 2-3), Theorem 1 (CCCP, monotone decrease), the bound 0 ≤ E ≤ 2M²")

CERTIFIED_INSTANCES = 1000
# Draw 2% more than the certified count required: ties and near-ties (a bound
# attained, a converged state) stay undecided and are reported, never counted.
DRAW_SURPLUS = 1.02


def _arr(vals: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out.reshape(shape)


def _frac_matrix(M: Any) -> np.ndarray:
    return _arr([Fraction(int(v.p), int(v.q)) if isinstance(v, flint.fmpq) else Fraction(v) for v in np.asarray(M).ravel()],
                np.shape(M))


# ---------------------------------------------------------------------------
# energy.attention_mm
# ---------------------------------------------------------------------------


def _sample_mm(draw: Draw, sizes: dict[str, int]) -> dict[str, Any]:
    return {"d": sizes["d"], "n": sizes["n"], "L": sizes.get("L", 1), "Y": draw.real((sizes["d"], sizes["n"]))}


def _equal_norm_tokens(draw: Draw, d: int, n: int) -> np.ndarray:
    """n rational points of the sphere of a common dyadic radius r:
    inverse stereographic projection (2t, 1 − ‖t‖²)/(1 + ‖t‖²) of dyadic t."""
    r = abs(draw.real((), 1.0)) + Fraction(1, 4)
    cols = []
    for _ in range(n):
        t = [Fraction(v) for v in draw.real((d - 1,))] if d > 1 else []
        s = sum((v * v for v in t), Fraction(0))
        sign = 1 if d > 1 or draw.integer(0, 1) else -1
        cols.append([r * 2 * v / (1 + s) for v in t] + [sign * r * (1 - s) / (1 + s)])
    return _arr([cols[j][k] for k in range(d) for j in range(n)], (d, n))


def _sample_equal_norms(draw: Draw, sizes: dict[str, int]) -> dict[str, Any]:
    return {"d": sizes["d"], "n": sizes["n"], "L": 1, "Y": _equal_norm_tokens(draw, sizes["d"], sizes["n"])}


def _build_mm(inst: dict[str, Any], key_bias: bool = True) -> Any:
    return mm_attention_stack(inst["d"], inst["n"], inst["L"], key_bias)


def _run_mm(ar: Arithmetic, model: Any, inst: dict[str, Any]) -> Any:
    return last_block(forward(ar, model, ar.array(inst["Y"])), inst["d"])


def _reference_mm(ar: Arithmetic, inst: dict[str, Any]) -> Any:
    Y = ar.array(inst["Y"])
    for _ in range(inst["L"]):
        Y = alg.mm_step(ar, Y)
    return Y


_MM_SIZES = {"float64": [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 4, "L": 2}, {"d": 3, "n": 5, "L": 3}],
             "mpmath": [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 3, "L": 2}]}
_NO_EXP = "the step involves exp: no exact run of the forward pass (the exact check tests its algebraic core)"

MM_SPEC = IdentitySpec(
    sample=_sample_mm, build=_build_mm, run=_run_mm, reference=_reference_mm, sizes=_MM_SIZES,
    modes=("float64", "mpmath"), falsify_with="float64",
    not_applicable={"prime-field": _NO_EXP, "symbolic": _NO_EXP},
    mutants=(
        Mutant("key bias dropped", "plain softmax_i(y_iᵀy_j) on tokens of unequal norms",
               lambda m, i: _build_mm(i, key_bias=False)),
        Mutant("β not normalised", "Σ_i exp(y_iᵀy_j − ½‖y_i‖²) y_i without dividing by Σ_i",
               lambda m, i: mutants.map_attention(m, lambda a: replace(a, score=key_bias_exp_unnormalised))),
        Mutant("one layer fewer", "L − 1 MM steps", lambda m, i: mutants.drop_last_layer(m)),
    ))

EQUAL_NORM_SPEC = IdentitySpec(
    sample=_sample_equal_norms, build=lambda i: _build_mm(i, key_bias=False), run=_run_mm, reference=_reference_mm,
    sizes={"float64": [{"d": 1, "n": 3}, {"d": 2, "n": 4}, {"d": 3, "n": 5}]}, modes=("float64", "mpmath"))


def _check_exact_core(ctx: Context) -> CheckResult:
    """Exactly: S_ij − ℓ_ij = ½‖y_j‖² for every key i, where S_ij = y_iᵀy_j − ½‖y_i‖²
    is the biased score and ℓ_ij = −½‖y_i − y_j‖² = log β_ij: the two differ by a
    per-query constant, so their softmaxes over keys (the normalised β) agree.
    Without the bias the difference is ½‖y_i‖² + ½‖y_j‖²: constant over keys
    exactly when the norms are equal (checked on rational sphere points)."""
    ar, rng, count = Rational(), _rng(ctx, "mm-exact"), 0
    for d, n in [(1, 2), (2, 3), (3, 5), (4, 6)]:
        for _ in range(ctx.count(10)):
            for equal in (False, True):
                draw = DyadicDraw(rng)
                Y = ar.array(_equal_norm_tokens(draw, d, n) if equal else draw.real((d, n)))
                G = ar.matmul(ar.T(Y), Y)  # (n, n): y_iᵀy_j
                sq = [G[i, i] for i in range(n)]
                ell = -alg.pairwise_half_sq(ar, Y)
                half = flint.fmpq(1, 2)
                for i, j in itertools.product(range(n), range(n)):
                    if G[i, j] - half * sq[i] - ell[i, j] != half * sq[j]:
                        return CheckResult("rational", "exact", count, None, 0.0, "fails",
                                           f"biased score minus log β is not ½‖y_j‖² at (i, j) = ({i}, {j})")
                plain = [[G[i, j] - ell[i, j] for i in range(n)] for j in range(n)]
                constant = all(len(set(col)) == 1 for col in plain)
                if equal and not constant:
                    return CheckResult("rational", "exact", count, None, 0.0, "fails",
                                       "equal norms, yet the plain score is not a per-query shift of log β")
                count += 1
    return CheckResult("rational", "exact", count, 0.0, 0.0, "holds",
                       f"on {count} drawn instances (half with exactly equal norms), exactly: biased score − log β_ij = "
                       "½‖y_j‖² for every key i; unbiased score − log β_ij is constant over keys when norms are equal")


def _mm_descent_instances(ctx: Context, alpha: Any = 1, salt: str = "mm-descent") -> list[dict[str, Any]]:
    rng = _rng(ctx, salt)
    draw = DyadicDraw(rng)
    out = []
    for k in range(ctx.count(CERTIFIED_INSTANCES * DRAW_SURPLUS)):
        d, n = 1 + k % 3, 2 + (k // 3) % 3
        out.append({"Y": draw.real((d, n), scale=[0.5, 1.0, 2.0][k % 3]), "alpha": alpha, "kind": "random"})
    for k in range(ctx.count(10)):  # converged states: all tokens equal (and a single token)
        y = draw.real((2, 1))
        out.append({"Y": np.repeat(y, 1 if k % 2 else 3, axis=1), "alpha": alpha, "kind": "fixed point"})
    return out


def _mm_descent_pair(inst: dict[str, Any], prec: int) -> tuple[Any, Any]:
    ar = Ball(prec)
    Y = ar.array(inst["Y"])
    return alg.attention_energy(ar, alg.mm_step(ar, Y, inst["alpha"])), alg.attention_energy(ar, Y)


def _descent_result(tally: Tally, what: str, need: int, evidence: str = "certified", mode: str = "ball") -> CheckResult:
    if tally.violated:
        inst, lhs, rhs = tally.violated[0]
        return CheckResult(mode, evidence, tally.total, None, 0.0, "fails",
                           tally.summary(what) + f"; first violation: after {lhs} > before {rhs}")
    # exact equalities are certified "≤" (reported separately); undecided ties are not counted
    status = "holds" if tally.certified >= need else "fails"
    return CheckResult(mode, evidence, tally.total, None, 0.0, status, tally.summary(what),
                       data={"certified": tally.certified, "exact_ties": tally.exact_ties,
                             "undecided": len(tally.undecided), "violated": len(tally.violated)})


def _check_mm_descent(ctx: Context) -> CheckResult:
    tally = certify_le(_mm_descent_instances(ctx), _mm_descent_pair)
    return _descent_result(tally, "E_1(MM step) ≤ E_1(Y)", ctx.count(CERTIFIED_INSTANCES))


def _check_mm_damped(ctx: Context) -> CheckResult:
    """Our extension: the damped step (1 − α)Y + α·MM(Y) descends for α ∈ (0, 2]
    (the Gaussian kernel matrix B is PSD, so (2/α − 1)D + B ⪰ 0)."""
    insts = [dict(i, alpha=Fraction(2)) for i in _mm_descent_instances(Context(ctx.seed, ctx.effort * 0.2), salt="mm-damped")]
    tally = certify_le(insts, _mm_descent_pair)
    return _descent_result(tally, "E_1((1 − α)Y + α MM(Y)) ≤ E_1(Y) at α = 2 (the largest step our proof allows)",
                           ctx.count(CERTIFIED_INSTANCES * 0.2), mode="ball (damped α = 2)")


def _violation_falsifier(name: str, description: str, instances: Any, pair: Any) -> Falsifier:
    def run(ctx: Context) -> tuple[bool, str]:
        tally = certify_le(instances(ctx), pair, stop_at_violation=True)
        if tally.violated:
            _, lhs, rhs = tally.violated[0]
            return True, f"certified increase after {tally.total} instances: {lhs} > {rhs}"
        return False, tally.summary("no certified increase")
    return Falsifier(name, description, run)


MM_STEP_TOO_LARGE = _violation_falsifier(
    "step size too large", "damped MM step with α = 3 (outside (0, 2]): the descent check must find a certified increase",
    lambda ctx: _mm_descent_instances(Context(ctx.seed, 0.2), alpha=3, salt="mm-large"), _mm_descent_pair)


def _figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from pathlib import Path

    f, rng, L = Float64(), np.random.default_rng([ctx.seed, 6]), 12
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for k in range(4):  # attention: MM step (α = 1) vs a step too large (α = 3)
        Y0 = rng.standard_normal((2, 4)) * 0.6
        for alpha, style in ((1, "-"), (3, "--")):
            Y, es = Y0, []
            for _ in range(L + 1):
                es.append(alg.attention_energy(f, Y))
                Y = alg.mm_step(f, Y, alpha)
            axes[0].plot(es, style, color=f"C{k}", label=(f"α = {alpha}" if k == 0 else None))
    axes[0].set_title("E_1 (attention, MM step)")
    for k in range(4):  # feed-forward: spectrum in (−1, 1] vs λ_min < −1
        Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        y0, b = np.abs(rng.standard_normal((3, 1))), rng.standard_normal(3)
        for lam, style in ((rng.uniform(-0.95, 1.0, 3), "-"), (np.array([-1.6, 0.3, 0.8]), "--")):
            W = Q @ np.diag(lam) @ Q.T
            y, es = y0, []
            for _ in range(L + 1):
                es.append(alg.feedforward_energy(f, W, b, y))
                y = alg.pgd_step(f, W, b, y)
            axes[1].plot(es, style, color=f"C{k}", label=("spectrum in (−1, 1]" if style == "-" else "λ_min = −1.6") if k == 0 else None)
    axes[1].set_title("½yᵀ(I − W)y − bᵀy (ReLU layer)")
    for k in range(4):  # Hopfield: the update vs an over-relaxed step, β large
        X = rng.standard_normal((3, 5))
        hm = 0.5 * float((X * X).sum(axis=0).max())
        xi0 = rng.standard_normal(3) * 2
        for alpha, style in ((1, "-"), (3, "--")):
            xi, es = xi0, []
            for _ in range(L + 1):
                es.append(alg.hopfield_energy(f, X, 4.0, xi, hm))
                xi = xi + alpha * (alg.hopfield_update(f, X, 4.0, xi) - xi)
            axes[2].plot(es, style, color=f"C{k}", label=(f"step α = {alpha}" if k == 0 else None))
    axes[2].set_yscale("symlog", linthresh=1.0)
    axes[2].set_title("Hopfield E (β = 4, symlog scale)")
    for ax in axes:
        ax.set_xlabel("layer")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("energy")
    fig.tight_layout()
    name = "energy_vs_layer.png"
    fig.savefig(Path(outdir) / name, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return name, ("Energy against layer (float64, for display; the checks certify it with arb). Solid: the theorem's "
                  "conditions met (MM step; spectrum in (−1, 1]; Hopfield update) - the energy never rises. Dashed: "
                  "broken (damped step α = 3; λ_min(W) = −1.6; over-relaxed Hopfield step α = 3) - it can rise or oscillate.")


def _torch_key_bias_scores(q: Any, k: Any) -> Any:
    """q kᵀ − ½‖k‖² per key: [.., N_q, N_k]."""
    return q @ k.transpose(-1, -2) - (k * k).sum(-1)[..., None, :] / 2


def _torch_key_bias_softmax(q: Any, k: Any) -> Any:
    """Torch twin of key_bias_softmax: softmax over the keys of q_jᵀk_i − ½‖k_i‖², [.., N_q, N_k]."""
    import torch

    return torch.softmax(_torch_key_bias_scores(q, k), dim=-1)


def _torch_key_bias_exp_unnormalised(q: Any, k: Any) -> Any:
    """Torch twin of the falsifier's kernel key_bias_exp_unnormalised."""
    import torch

    return torch.exp(_torch_key_bias_scores(q, k))


TORCH_KERNELS[key_bias_softmax] = _torch_key_bias_softmax
TORCH_KERNELS[key_bias_exp_unnormalised] = _torch_key_bias_exp_unnormalised

MM_TORCH = torch_checks(MM_SPEC, lambda ar, i: ar.array(i["Y"]), lens=True,
                        output=lambda ar, Z, i: last_block(Z, i["d"]))


register(Claim(
    id="energy.attention_mm", paper=YANG, kind="identity",
    statement=("With β_ij = ρ'(½‖y_i − y_j‖²) = e^{−½‖y_i − y_j‖²}, the β-normalised step y_j ← Σ_i β_ij y_i / Σ_i β_ij "
               "(i = j included) equals softmax attention y_j ← Σ_i softmax_i(y_iᵀy_j − ½‖y_i‖²) y_i (identity "
               "query/key/value; plain softmax when all token norms are equal), and it never raises "
               "E_1(Y) = −Σ_{i,j} e^{−½‖y_i − y_j‖²}."),
    checks={**identity_checks(MM_SPEC), **MM_TORCH,
            "rational": lambda ctx: _guard("rational", "exact", lambda: _check_exact_core(ctx)),
            "equal-norms": lambda ctx: _guard("mpmath", "multiprecision", lambda: replace(check_mpmath(EQUAL_NORM_SPEC, ctx), mode="mpmath (equal norms, no bias)")),
            "ball": lambda ctx: _guard("ball", "certified", lambda: _check_mm_descent(ctx)),
            "ball (α = 2)": lambda ctx: _guard("ball", "certified", lambda: _check_mm_damped(ctx))},
    falsifiers=identity_falsifiers(MM_SPEC) + [MM_STEP_TOO_LARGE],
    figure=_figure,
    notes=("Tokens are columns here (Yang et al. use rows). The β normalisation is needed: it is what cancels e^{−½‖y_j‖²} "
           "and turns the β weights into the softmax with the key bias −½‖y_i‖² (the unnormalised mutant is caught). "
           "The step is the minimiser over y_j of Σ_i β_ij ½‖y_j − y_i⁰‖² (other tokens frozen at Y⁰); for the full "
           "majoriser Σ_{i,j} β_ij ½‖y_i − y_j‖² (whose global minimisers are all constant Y) it is one preconditioned "
           "gradient step with per-token step 1/(2Σ_i β_ij), which descends because D + B ⪰ 0 - so E_1 descends. Ours: "
           "the damped step (1 − α)Y + α·MM(Y) descends for all α ∈ (0, 2] (B, a Gaussian kernel matrix, is PSD); "
           "α = 3 is caught raising E_1. The engine layer appends each new Y to a concatenated residual stream (the "
           "MM step replaces Y: no skip).")))


# ---------------------------------------------------------------------------
# energy.feedforward_pgd
# ---------------------------------------------------------------------------


def _cayley_orthogonal(draw: Draw, d: int) -> np.ndarray:
    """Q = (I − S)(I + S)⁻¹ for a dyadic skew-symmetric S: an exactly orthogonal rational matrix."""
    A = draw.real((d, d), scale=0.5)
    S = A - A.T
    I = flint.fmpq_mat(d, d, [int(i == j) for i in range(d) for j in range(d)])
    Sm = flint.fmpq_mat(d, d, [flint.fmpq(v.numerator, v.denominator) for v in S.ravel()])
    Q = (I - Sm) * (I + Sm).inv()
    return _frac_matrix(_arr(Q.entries(), (d, d)))


def symmetric_with_spectrum(draw: Draw, lams: list[Fraction]) -> np.ndarray:
    """W = Q diag(λ) Qᵀ exactly (rational), Q an exact rational rotation."""
    d = len(lams)
    Q = _cayley_orthogonal(draw, d)
    D = np.diag(_arr(list(lams), (d,)))
    return Q.dot(D).dot(Q.T)


def _lams(draw: Draw, d: int, lo: int = -63, hi: int = 64) -> list[Fraction]:
    """Eigenvalues k/64 with k in [lo, hi]: (−1, 1] by default, ±1 reachable at the ends."""
    return [Fraction(draw.integer(lo, hi), 64) for _ in range(d)]


def _sample_ff(draw: Draw, sizes: dict[str, int]) -> dict[str, Any]:
    d, n = sizes["d"], sizes["n"]
    W = symmetric_with_spectrum(draw, _lams(draw, d))
    Y = _arr([abs(v) for v in draw.real((d, n)).ravel()], (d, n))  # y ≥ 0: the feasible set
    return {"d": d, "n": n, "L": sizes.get("L", 1), "W": W, "b": draw.real((d,)), "Y": Y}


def _build_ff(inst: dict[str, Any]) -> Any:
    return feedforward_stack(inst["W"], inst["b"], inst["L"])


def _run_ff(ar: Arithmetic, model: Any, inst: dict[str, Any]) -> Any:
    return forward(ar, model, ar.array(inst["Y"]))


def _sym_part(W: Any) -> np.ndarray:
    W = np.asarray(W, dtype=object)
    return (W + W.T) * Fraction(1, 2)


def _reference_ff(ar: Arithmetic, inst: dict[str, Any]) -> Any:
    """L steps y ← Π_{y≥0}(y − ∇f(y)), ∇f(y) = (I − sym(W))y − b: the true gradient of f."""
    Y = ar.array(inst["Y"])
    for _ in range(inst["L"]):
        Y = alg.pgd_step(ar, _sym_part(inst["W"]), inst["b"], Y)
    return Y


def _non_symmetric(model: Any, inst: dict[str, Any]) -> Any:
    """W + K with K skew (nonzero): the same energy f (its quadratic form sees
    only sym(W)), but ReLU((W + K)y + b) is no gradient step of it."""
    d = inst["d"]
    K = np.zeros((d, d), dtype=object) + Fraction(0)
    if d == 1:  # a 1 x 1 matrix is symmetric: nothing to mutate (the d >= 2 instances catch it)
        return model
    K[0, 1], K[1, 0] = Fraction(1, 2), Fraction(-1, 2)
    return feedforward_stack(np.asarray(inst["W"], dtype=object) + K, inst["b"], inst["L"], enforce=False)


def _skip_kept(model: Any, inst: dict[str, Any]) -> Any:
    """y + ReLU(Wy + b): the ReLU pair that cancels the skip connection dropped."""
    d = inst["d"]
    return model.with_layers([replace(l, W_out=np.concatenate([np.eye(d, dtype=int).astype(object),
                                                               np.zeros((d, 2 * d), dtype=object)], axis=1))
                              for l in model.layers])


FF_SPEC = IdentitySpec(
    sample=_sample_ff, build=_build_ff, run=_run_ff, reference=_reference_ff,
    sizes={"float64": [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 3, "L": 2}, {"d": 3, "n": 4, "L": 3}],
           "rational": [{"d": 2, "n": 2, "L": 1}, {"d": 3, "n": 3, "L": 3}]},
    modes=("float64", "mpmath", "rational"),
    not_applicable={"prime-field": "ReLU needs an order; GF(p) has none",
                    "symbolic": "the spectral condition is decided exactly on numbers; the exact check covers the identity"},
    mutants=(
        Mutant("non-symmetric weight", "W + K, K skew (same energy f): ReLU((W + K)y + b) is no projected gradient step of f",
               _non_symmetric),
        Mutant("skip connection kept", "y + ReLU(Wy + b) instead of ReLU(Wy + b)", _skip_kept),
        Mutant("one layer fewer", "L − 1 steps", lambda m, i: mutants.drop_last_layer(m)),
    ))


def _ff_instances(ctx: Context, salt: str, lo: int = -63, hi: int = 64, eta: Any = 1, count: int | None = None) -> list[dict[str, Any]]:
    rng = _rng(ctx, salt)
    draw = DyadicDraw(rng)
    out = []
    for k in range(count if count is not None else ctx.count(CERTIFIED_INSTANCES)):
        d = 1 + k % 3
        W = symmetric_with_spectrum(draw, _lams(draw, d, lo, hi))
        y = _arr([abs(v) for v in draw.real((d, 1)).ravel()], (d, 1))
        out.append({"W": W, "b": draw.real((d,)), "Y": y, "eta": eta})
    return out


def _ff_exact_pair(inst: dict[str, Any]) -> tuple[Any, Any]:
    ar = Rational()
    Y = ar.array(inst["Y"])
    Y1 = alg.pgd_step(ar, inst["W"], inst["b"], Y, inst["eta"])
    return alg.feedforward_energy(ar, inst["W"], inst["b"], Y1), alg.feedforward_energy(ar, inst["W"], inst["b"], Y)


def _exact_tally(instances: list[dict[str, Any]]) -> tuple[int, int, list[Any]]:
    """(strict decreases, exact ties, violations) decided in exact rationals."""
    strict, ties, bad = 0, 0, []
    for inst in instances:
        after, before = _ff_exact_pair(inst)
        if after < before:
            strict += 1
        elif after == before:
            ties += 1
        else:
            bad.append((inst, after, before))
    return strict, ties, bad


def _check_ff_descent(ctx: Context) -> CheckResult:
    insts = _ff_instances(ctx, "ff-descent")
    strict, ties, bad = _exact_tally(insts)
    detail = (f"f(ReLU(Wy + b)) ≤ f(y) exactly on {strict + ties} of {len(insts)} drawn (W symmetric, spectrum in (−1, 1] "
              f"exactly, y ≥ 0): {strict} strict decreases, {ties} exact ties (fixed points)")
    if bad:
        return CheckResult("rational (descent)", "exact", len(insts), None, 0.0, "fails", detail + f"; {len(bad)} increases")
    return CheckResult("rational (descent)", "exact", len(insts), 0.0, 0.0, "holds" if strict + ties >= ctx.count(CERTIFIED_INSTANCES) else "fails",
                       detail, data={"strict": strict, "ties": ties})


def _check_ff_conditions(ctx: Context) -> CheckResult:
    """Outside the stated spectrum: which half of the condition descent needs."""
    n = ctx.count(200)
    below = _ff_instances(ctx, "ff-below", lo=-192, hi=-65, count=n)  # λ_min(W) < −1 (every eigenvalue in [−3, −1))
    _, _, bad_below = _exact_tally(below)
    refused = 0
    for inst in below[:20]:
        try:
            feedforward_layer(inst["W"], inst["b"])
        except ConditionError:
            refused += 1
    above = _ff_instances(ctx, "ff-above", lo=-64, hi=192, count=n)  # λ ∈ [−1, 3]: λ_max > 1 allowed
    s_above, t_above, bad_above = _exact_tally(above)
    boundary = [{"W": _arr([Fraction(-1)], (1, 1)), "b": _arr([Fraction(1)], (1,)), "Y": _arr([Fraction(1, 4)], (1, 1)), "eta": 1}]
    _, t_boundary, bad_boundary = _exact_tally(boundary)
    ok = bool(bad_below) and not bad_above and not bad_boundary and t_boundary == 1 and refused == min(20, len(below))
    detail = (f"λ_min(W) < −1 (outside the theorem's conditions): f increased exactly on {len(bad_below)} of {len(below)} "
              f"instances, and feedforward_layer refused {refused} of {min(20, len(below))} such W with ConditionError. "
              f"λ_min ≥ −1 with λ_max up to 3 (upper bound broken): no increase on {len(above)} instances "
              f"({s_above} strict, {t_above} ties) - descent needs only λ_min(W) ≥ −1 (descent lemma: the step is 1 ≤ 2/λ_max(I − W)); "
              "λ_max ≤ 1 makes f convex (a global minimiser), it is not needed for descent. Boundary λ = −1 "
              "(W = −1, b = 1, y = 1/4): f(3/4) = f(1/4) exactly, a 2-cycle - the open end at −1 is needed for strict descent.")
    return CheckResult("rational (conditions)", "exact", len(below) + len(above) + 1, None, None, "holds" if ok else "fails", detail,
                       data={"increases_below": len(bad_below), "increases_above": len(bad_above)})


def _ff_step_too_large_run(ctx: Context) -> tuple[bool, str]:
    insts = _ff_instances(Context(ctx.seed, 0.2), "ff-eta", lo=-63, hi=0, eta=3)  # 2/λ_max(I − W) ≤ 2 < 3
    _, _, bad = _exact_tally(insts)
    if bad:
        return True, f"exact increase of f on {len(bad)} of {len(insts)} instances with step η = 3"
    return False, f"no increase on {len(insts)} instances with η = 3"


FF_STEP_TOO_LARGE = Falsifier("step size too large", "projected gradient step η = 3 with spectrum in (−1, 0]: must raise f",
                              _ff_step_too_large_run)


def _ff_non_symmetric_refused(ctx: Context) -> tuple[bool, str]:
    try:
        feedforward_layer(_arr([Fraction(0), Fraction(1, 2), Fraction(-1, 2), Fraction(0)], (2, 2)), _arr([Fraction(0)] * 2, (2,)))
    except ConditionError as exc:
        return True, f"ConditionError: {exc}"
    return False, "a non-symmetric W was accepted"


register(Claim(
    id="energy.feedforward_pgd", paper=YANG, kind="identity",
    statement=("For symmetric W with spectrum in (−1, 1], the layer y ← ReLU(Wy + b) is one projected gradient step, unit "
               "step, of f(y) = ½yᵀ(I − W)y − bᵀy over y ≥ 0, and f(ReLU(Wy + b)) ≤ f(y) for every y ≥ 0."),
    checks={**identity_checks(FF_SPEC), **torch_checks(FF_SPEC, lambda ar, i: ar.array(i["Y"]), lens=True),
            "descent": lambda ctx: _guard("rational", "exact", lambda: _check_ff_descent(ctx)),
            "conditions": lambda ctx: _guard("rational", "exact", lambda: _check_ff_conditions(ctx))},
    falsifiers=identity_falsifiers(FF_SPEC) + [FF_STEP_TOO_LARGE,
                                               Falsifier("non-symmetric weight refused", "feedforward_layer must refuse a skew W",
                                                         _ff_non_symmetric_refused)],
    notes=("Descent is decided in exact rationals (W = Q diag(λ) Qᵀ with Q an exact Cayley rotation, so the spectrum is known "
           "exactly): stronger than ball evidence, and ties are decided. Finding: the printed condition is sufficient; "
           "descent needs only λ_min(W) ≥ −1 (λ_max ≤ 1 gives convexity), and at λ_min = −1 the energy can stall in a "
           "2-cycle. The engine's MLP has an additive skip, cancelled by the pair ReLU(y) − ReLU(−y) = y (y ≥ 0 is not "
           "assumed by the construction).")))


# ---------------------------------------------------------------------------
# energy.hopfield
# ---------------------------------------------------------------------------


def _sample_hopfield(draw: Draw, sizes: dict[str, int]) -> dict[str, Any]:
    return {"d": sizes["d"], "N": sizes["N"], "X": draw.real((sizes["d"], sizes["N"])),
            "xi": draw.real((sizes["d"],), scale=2.0), "beta": draw.step(2.0)}


def _run_hopfield(ar: Arithmetic, model: Any, inst: dict[str, Any]) -> Any:
    out = forward(ar, model, ar.array(hopfield_prompt(inst["X"], inst["xi"])))
    return out[inst["d"]:, -1]


def _reference_hopfield(ar: Arithmetic, inst: dict[str, Any]) -> Any:
    return alg.hopfield_update(ar, inst["X"], inst["beta"], ar.array(inst["xi"]))


HOPFIELD_SPEC = IdentitySpec(
    sample=_sample_hopfield, build=lambda i: hopfield_transformer(i["d"], i["N"], i["beta"]),
    run=_run_hopfield, reference=_reference_hopfield,
    sizes={"float64": [{"d": 1, "N": 2}, {"d": 2, "N": 4}, {"d": 3, "N": 6}]},
    modes=("float64", "mpmath"), falsify_with="float64",
    not_applicable={"prime-field": _NO_EXP},
    mutants=(
        Mutant("β dropped", "query ξ instead of βξ", lambda m, i: mutants.map_heads(
            m, lambda h: replace(h, W_Q=np.eye(i["d"], dtype=int).astype(object)))),
        Mutant("state token not masked", "ξ joins the stored patterns as key and value", lambda m, i: mutants.unmask_all_keys(m)),
    ))


def _check_cccp_symbolic(ctx: Context) -> CheckResult:
    """∇_ξ lse(β, Xᵀξ) = X softmax(βXᵀξ) for symbolic X (d × N), ξ, β: so ξ' = X softmax(βXᵀξ)
    solves ∇(½‖ξ'‖²) = −∇(−lse)(ξ), the CCCP step of E = (½ξᵀξ + const) + (−lse)."""
    import sympy as sp

    count = 0
    for d, N in [(1, 2), (2, 3)]:
        X = sp.Matrix(d, N, lambda k, i: sp.Symbol(f"x_{k}_{i}", real=True))
        xi = sp.Matrix(d, 1, lambda k, _: sp.Symbol(f"xi_{k}", real=True))
        beta = sp.Symbol("beta", positive=True)
        z = X.T * xi
        lse = sp.log(sum(sp.exp(beta * z[i]) for i in range(N))) / beta
        grad = sp.Matrix([sp.diff(lse, xi[k]) for k in range(d)])
        w = [sp.exp(beta * z[i]) for i in range(N)]
        soft = X * sp.Matrix(N, 1, [wi / sum(w) for wi in w])
        diff = sp.simplify(grad - soft)
        if diff != sp.zeros(d, 1):
            return CheckResult("symbolic", "symbolic", count, None, 0.0, "fails", f"∇lse − X softmax = {diff}")
        # the CCCP step solves ∇E_convex(ξ') = ∇lse(ξ) with E_convex = ½‖ξ‖² + β⁻¹ log N + ½M²
        count += 1
    return CheckResult("symbolic", "symbolic", count, 0.0, 0.0, "holds",
                       "sympy: ∇_ξ lse(β, Xᵀξ) − X softmax(βXᵀξ) simplifies to 0 for symbolic X, ξ, β at (d, N) = (1, 2), (2, 3); "
                       "so ξ' = X softmax(βXᵀξ) is the CCCP step ∇(½‖ξ'‖²) = ∇lse(ξ)")


def _hop_instances(ctx: Context, salt: str, kind: str, count: int | None = None) -> list[dict[str, Any]]:
    rng = _rng(ctx, salt)
    draw = DyadicDraw(rng)
    out = []
    for k in range(count if count is not None else ctx.count(CERTIFIED_INSTANCES * DRAW_SURPLUS)):
        d, N = 1 + k % 3, 1 + (k // 3) % 4
        X = draw.real((d, N))
        beta = draw.step(4.0)
        if kind == "hull":  # ξ = X p, p a rational probability vector: ‖ξ‖ ≤ M
            p = [abs(v) + Fraction(1, 64) for v in draw.real((N,))]
            s = sum(p)
            xi = X.dot(_arr([v / s for v in p], (N,)))
        elif kind == "near":  # ξ near a stored pattern x_i (N ≥ 2)
            N = max(N, 2)
            X = draw.real((d, N), scale=2.0)
            i = k % N
            xi = X[:, i] + draw.real((d,), scale=0.1)
            out.append({"X": X, "beta": beta, "xi": xi, "i": i})
            continue
        else:
            xi = draw.real((d,), scale=[0.5, 2.0, 6.0][k % 3])
        out.append({"X": X, "beta": beta, "xi": xi})
    return out


def _hop_descent_pair(inst: dict[str, Any], prec: int, alpha: Any = 1) -> tuple[Any, Any]:
    ar = Ball(prec)
    xi = ar.array(inst["xi"])
    new = alg.hopfield_update(ar, inst["X"], inst["beta"], xi)
    if alpha != 1:
        new = xi + (new - xi) * ar.const(alpha)
    return alg.hopfield_energy(ar, inst["X"], inst["beta"], new), alg.hopfield_energy(ar, inst["X"], inst["beta"], xi)


def _check_hop_descent(ctx: Context) -> CheckResult:
    insts = _hop_instances(ctx, "hop-descent", "any")
    # converged states: every pattern equals ξ, so f(ξ) = ξ (a tie the balls cannot decide)
    fixed = [{"X": _arr([Fraction(3, 4)] * 2, (1, 2)), "beta": Fraction(1), "xi": _arr([Fraction(3, 4)], (1,))}
             for _ in range(ctx.count(5))]
    tally = certify_le(insts + fixed, _hop_descent_pair)
    return _descent_result(tally, "E(X softmax(βXᵀξ)) ≤ E(ξ)", ctx.count(CERTIFIED_INSTANCES))


def _hop_bounds_result(ctx: Context, energy_without_logN: bool = False) -> tuple[Tally, Tally]:
    def lower(inst: dict[str, Any], prec: int) -> tuple[Any, Any]:
        ar = Ball(prec)
        E = alg.hopfield_energy(ar, inst["X"], inst["beta"], ar.array(inst["xi"]))
        if energy_without_logN:
            E = E - alg.log_scalar(ar, ar.const(np.asarray(inst["X"]).shape[1])) / ar.const(inst["beta"])
        return ar.const(0), E

    def upper(inst: dict[str, Any], prec: int) -> tuple[Any, Any]:
        ar = Ball(prec)
        E = alg.hopfield_energy(ar, inst["X"], inst["beta"], ar.array(inst["xi"]))
        return E, ar.const(4 * alg.hopfield_half_M_sq(inst["X"]))

    low = certify_le(_hop_instances(ctx, "hop-lower", "any"), lower, stop_at_violation=energy_without_logN)
    if energy_without_logN:
        return low, Tally()
    attained = [{"X": _arr([Fraction(1, 2), Fraction(-3, 4)], (2, 1)), "beta": Fraction(1),
                 "xi": _arr([Fraction(-1, 2), Fraction(3, 4)], (2,))}]  # N = 1, ξ = −x_1: E = 2M² exactly
    up = certify_le(_hop_instances(ctx, "hop-upper", "hull") + attained, upper)
    return low, up


def _check_hop_bounds(ctx: Context) -> CheckResult:
    low, up = _hop_bounds_result(ctx)
    need = ctx.count(CERTIFIED_INSTANCES)
    bad = low.violated or up.violated
    ok = not bad and low.certified >= need and up.certified >= need
    return CheckResult("ball (bounds)", "certified", low.total + up.total, None, 0.0, "holds" if ok else "fails",
                       low.summary("0 ≤ E(ξ) for all ξ") + ". " + up.summary("E(ξ) ≤ 2M² for ‖ξ‖ ≤ M (ξ in the convex hull of "
                                                                          "the patterns, where every update lands)")
                       + " - the undecided one is the attained bound N = 1, ξ = −x_1, E = 2M² exactly.",
                       data={"lower_certified": low.certified, "upper_certified": up.certified,
                             "upper_undecided": len(up.undecided)})


def _retrieval_pair(inst: dict[str, Any], prec: int) -> tuple[Any, Any]:
    """‖ξ' − x_i‖² ≤ (2M(N − 1) e^{−βΔ̃_i})², Δ̃_i = min_{j≠i} (x_i − x_j)ᵀξ."""
    ar = Ball(prec)
    X, i, beta = inst["X"], inst["i"], inst["beta"]
    N = X.shape[1]
    xi = ar.array(inst["xi"])
    new = alg.hopfield_update(ar, X, beta, xi)
    diff = new - ar.array(X[:, i])
    z = [sum(Fraction(X[k, j]) * Fraction(inst["xi"][k]) for k in range(X.shape[0])) for j in range(N)]  # exact
    gap = min(z[i] - z[j] for j in range(N) if j != i)
    M = (ar.const(2 * alg.hopfield_half_M_sq(X))).sqrt()
    bound = M * 2 * (N - 1) * (-(ar.const(beta) * ar.const(gap))).exp()
    return ar.sum(diff * diff, axis=0), bound * bound


def _check_retrieval(ctx: Context) -> CheckResult:
    tally = certify_le(_hop_instances(ctx, "hop-retrieval", "near"), _retrieval_pair)
    return _descent_result(tally, "‖f(ξ) − x_i‖ ≤ 2M(N − 1)exp(−βΔ̃_i)", ctx.count(CERTIFIED_INSTANCES),
                           mode="ball (retrieval)")


HOP_STEP_TOO_LARGE = _violation_falsifier(
    "step size too large", "over-relaxed update ξ + 3(f(ξ) − ξ): the descent check must find a certified increase",
    lambda ctx: _hop_instances(Context(ctx.seed, 0.2), "hop-large", "any"),
    lambda inst, prec: _hop_descent_pair(inst, prec, alpha=3))


def _no_logN_run(ctx: Context) -> tuple[bool, str]:
    low, _ = _hop_bounds_result(Context(ctx.seed, 0.2), energy_without_logN=True)
    if low.violated:
        _, lhs, rhs = low.violated[0]
        return True, f"certified E < 0 without the β⁻¹ log N term: {rhs} < 0"
    return False, low.summary("no negative energy")


register(Claim(
    id="energy.hopfield", paper=RAMSAUER, kind="identity",
    statement=("With E(ξ) = −lse(β, Xᵀξ) + ½ξᵀξ + β⁻¹ log N + ½M², M = max_i ‖x_i‖: the update ξ ← X softmax(βXᵀξ) (one "
               "attention head, query βξ, keys and values the patterns) is the CCCP step, E never increases, "
               "0 ≤ E(ξ) for all ξ and E(ξ) ≤ 2M² when ‖ξ‖ ≤ M, and ‖f(ξ) − x_i‖ ≤ 2M(N − 1)exp(−βΔ̃_i) with "
               "Δ̃_i = min_{j≠i}(x_i − x_j)ᵀξ."),
    checks={**identity_checks(HOPFIELD_SPEC),
            **torch_checks(HOPFIELD_SPEC, lambda ar, i: ar.array(hopfield_prompt(i["X"], i["xi"])), lens=True,
                           output=lambda ar, Z, i: Z[i["d"]:, -1]),
            "symbolic": lambda ctx: _guard("symbolic", "symbolic", lambda: _check_cccp_symbolic(ctx)),
            "ball": lambda ctx: _guard("ball", "certified", lambda: _check_hop_descent(ctx)),
            "ball (bounds)": lambda ctx: _guard("ball", "certified", lambda: _check_hop_bounds(ctx)),
            "ball (retrieval)": lambda ctx: _guard("ball", "certified", lambda: _check_retrieval(ctx))},
    falsifiers=identity_falsifiers(HOPFIELD_SPEC) + [
        HOP_STEP_TOO_LARGE,
        Falsifier("β⁻¹ log N dropped", "the energy without β⁻¹ log N: the lower bound must fail", _no_logN_run)],
    notes=("Ramsauer et al. already use columns. The upper bound is checked where it holds, ‖ξ‖ ≤ M (every update lands "
           "in the convex hull of the patterns); the unrestricted form is the erratum energy.hopfield_bound_printed. "
           "The retrieval estimate is in its separation form (the core estimate behind the paper's retrieval theorems: "
           "the weight off pattern i is at most (N − 1)e^{−βΔ̃_i}); we could not read the theorem's exact constants, so "
           "this is our statement, not a transcription.")))


# ---------------------------------------------------------------------------
# erratum: 0 ≤ E ≤ 2M² for every ξ
# ---------------------------------------------------------------------------


def _bound_counterexample() -> tuple[Fraction, Fraction] | None:
    """Smallest integer |ξ| with d = N = 1, x_1 = 1, β = 1 and
    E(ξ) > 2M².  With one pattern lse(β, x ξ) = x ξ exactly, so
    E(ξ) = −ξ + ½ξ² + 0 + ½ is rational: decided exactly."""
    for k in range(0, 64):
        for xi in (Fraction(k), Fraction(-k)):
            E = -xi + xi * xi / 2 + Fraction(1, 2)
            if E > 2:
                return xi, E
    return None


def _check_bound_printed(ctx: Context) -> CheckResult:
    found = _bound_counterexample()
    if found is None:
        return CheckResult("rational", "exact", 0, None, None, "fails", "no counterexample: the printed bound may hold")
    xi, E = found
    with arb_precision(PRECISIONS[0]):  # the generic energy (exp, log in arb) agrees
        ar = Ball(PRECISIONS[0])
        Eb = alg.hopfield_energy(ar, _arr([Fraction(1)], (1, 1)), Fraction(1), ar.array(_arr([xi], (1,))))
        certain = Eb > 2
    if not certain:
        return CheckResult("ball", "certified", 1, None, None, "fails", f"arb does not confirm E({xi}) > 2: {Eb}")
    text = (f"d = N = 1, x_1 = 1 (M = 1), β = 1, ξ = {xi}: E(ξ) = −ξ + ½ξ² + ½ = {E} > 2M² = 2 "
            f"(exact; arb agrees: E ∈ {Eb})")
    return CheckResult("rational", "exact", 1, None, 0.0, "refuted", "counterexample: " + text, data={"counterexample": text})


register(Claim(
    id="energy.hopfield_bound_printed", paper=RAMSAUER, kind="inequality",
    statement="As transcribed (CLAIMS.md §5): 0 ≤ E(ξ) ≤ 2M² for every ξ.",
    checks={"rational": lambda ctx: _guard("rational", "exact", lambda: _check_bound_printed(ctx))},
    erratum=Erratum(
        counterexample="d = N = 1, x_1 = 1, β = 1, ξ = −2: E = −(1)(−2) + ½·4 + 0 + ½ = 9/2 > 2M² = 2",
        correction=("E(ξ) ≥ ½(‖ξ‖ − M)² ≥ 0 for every ξ (lse ≤ max + β⁻¹ log N), but ½ξᵀξ is unbounded, so the upper bound "
                    "needs ‖ξ‖ ≤ M: then −lse + β⁻¹ log N ≤ −mean_i x_iᵀξ ≤ M‖ξ‖ (Jensen) gives E ≤ 2M², attained at "
                    "N = 1, ξ = −x_1. Every update lands in the convex hull of the patterns, so the bound holds from "
                    "the first iterate on."),
        corrected_claim="energy.hopfield"),
    notes=("Erratum against our transcription in shared/CLAIMS.md; we could not read the paper's lemma itself from our "
           "corpus. As we recall it, Ramsauer et al. state the bound for ξ in the convex hull / after an update, "
           "which is the corrected form.")))
