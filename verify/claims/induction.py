"""Family ``induction``: induction heads and causal structure.

Papers:
- Nichani, Damian, Lee (2024), arXiv:2402.14735 (ICML 2024): ``induction.mixture``,
  ``induction.bigram_limit`` (+ erratum ``induction.bigram_limit_printed``),
  ``induction.causal_graph``, ``induction.chi2_gradient`` (+ erratum
  ``induction.chi2_gradient_printed``).
- Olsson et al. (2022), "In-context Learning and Induction Heads":
  ``induction.previous_token_head``.

We could not read the paper itself (only abstracts are in our corpus): the
statements and errata are against the transcription in shared/CLAIMS.md §4.
Which positions count is stated in constructions/induction_head.py and
verify/algorithms/induction.py; construction and reference count the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Callable, Iterable

import numpy as np
from transformer_proofs.constructions.arithmetic import UNIT_ROUNDOFF_64, Ball, Float64Bounded, Multiprecision, Rational
from transformer_proofs.constructions.engine import export_heads, forward
from transformer_proofs.constructions.induction_head import (
    CausalGraph,
    causal_graph,
    embed,
    induction_transformer,
    markov_chain,
    predictions,
    previous_token_transformer,
    residual_embed,
    residual_predictions,
)
from transformer_proofs.verify.algorithms import induction as alg
from transformer_proofs.verify.checks import Draw, IdentitySpec, Mutant
from transformer_proofs.verify.registry import CheckResult, Claim, Context, Erratum, Falsifier, Paper, register
from transformer_proofs.verify.torch_backend import NamedConstruction, register_construction, torch_checks

NDL = Paper("E. Nichani, A. Damian, J. D. Lee", 2024, "How Transformers Learn Causal Structure with Gradient Descent",
            "2402.14735", "§3-4: the disentangled two-layer construction (CLAIMS.md §4)")
OLSSON = Paper("C. Olsson, N. Elhage, N. Nanda, N. Joseph, et al.", 2022, "In-context Learning and Induction Heads",
               "2209.11895", "§2 (previous-token head + K-composition)")

BETA2_GRID = (1, 2, 4, 8, 16, 32, 50)
BALL = Ball(160)


def _at_prec(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` at BALL's working precision: arb operations made outside
    Ball (differences, norms, bounds) then keep the same precision."""
    return BALL.working_precision()(fn)


def _at_least_one(ctx: Context) -> Context:
    """Falsifiers never try fewer instances than at effort 1."""
    return Context(ctx.seed, max(ctx.effort, 1.0))


def _rng(ctx: Context, salt: int) -> np.random.Generator:
    return np.random.default_rng([ctx.seed, 5, salt])


# ---------------------------------------------------------------------------
# instances
# ---------------------------------------------------------------------------


def _instances(ctx: Context, salt: int, kind: str, count: int) -> list[tuple[CausalGraph, int, np.ndarray]]:
    """(graph, S, sequence): chains ("chain"), single-parent DAGs with roots
    ("dag"), or k-parent DAGs ("multi", k = 2, 3)."""
    rng = _rng(ctx, salt)
    out = []
    for r in range(ctx.count(count)):
        S = int(rng.integers(2, 4))
        if kind == "chain":
            g = markov_chain(int(rng.integers(6, 11)))
        elif kind == "dag":
            g = alg.random_dag(rng, int(rng.integers(6, 11)), 1, root_prob=0.25)
        else:
            k = 2 + r % 2
            g = alg.random_dag(rng, int(rng.integers(7, 11)), k, root_prob=0.15)
            S = 2
        pi = alg.dirichlet_transitions(rng, S, g.k, alpha=0.5)
        out.append((g, S, alg.sample_sequence(rng, g, pi, S)))
    return out


def _engine(ar: Any, g: CausalGraph, S: int, seq: np.ndarray, beta2: Any, beta1: Any = None,
            mask_roots: bool = True, model: Any = None) -> Any:
    model = induction_transformer(g, S, beta2, beta1, mask_roots) if model is None else model
    return predictions(forward(ar, model, embed(seq, S)), S, g)


def _closed(ar: Any, g: CausalGraph, S: int, seq: np.ndarray, beta2: Any) -> Any:
    return ar.concat([alg.mixture_closed_form(ar, seq, g, S, beta2, t).reshape(S, 1) for t in range(g.T)], axis=1)


def _ball_gap(a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
    """(largest upper bound of |a - b|, whether some entry certainly differs)."""
    d = [x - y for x, y in zip(np.asarray(a).ravel(), np.asarray(b).ravel())]
    upper = max(float((abs(x)).mid() + (abs(x)).rad()) for x in d)
    return upper, any(not (x.contains(0)) for x in d)


def _l1(ar: Any, col: Any, ref: list[Fraction]) -> Any:
    acc = ar.const(0)
    for v, r in zip(col, ref):
        acc = acc + abs(v - ar.const(r))
    return acc


# ---------------------------------------------------------------------------
# induction.mixture
# ---------------------------------------------------------------------------


def _mixture_items(ctx: Context) -> list[tuple[CausalGraph, int, np.ndarray]]:
    return _instances(ctx, 1, "chain", 3) + _instances(ctx, 2, "dag", 3)


@_at_prec
def _check_mixture_mp(ctx: Context) -> CheckResult:
    """Identity in multiprecision: engine (hard layer 1) vs the closed form at
    every query, β₂ up to 50; tolerance = the float64 running error bound of
    both sides scaled by u_p / u_64.  Also reports how tight the bound is at β₂ = 50."""
    worst, worst_tol, n = 0.0, 0.0, 0
    tight: list[float] = []
    f64_err_at_50 = 0.0
    fb = Float64Bounded()
    for g, S, seq in _mixture_items(ctx):
        for beta2 in (1, 5, 20, 50):
            m64 = _engine(fb, g, S, seq, beta2)
            c64 = _closed(fb, g, S, seq, beta2)
            bound64 = float(np.max(m64.err + c64.err))
            for dps in (30, 60):
                ar = Multiprecision(dps)
                diff = np.abs(ar.to_float(_engine(ar, g, S, seq, beta2) - _closed(ar, g, S, seq, beta2))).max()
                tol = bound64 * ar.unit_roundoff / UNIT_ROUNDOFF_64
                n += 1
                if diff > tol:
                    return CheckResult("mpmath", "multiprecision", n, float(diff), tol, "fails",
                                       f"closed form missed by {diff:.3g} > {tol:.3g} at {dps} digits, β₂={beta2}, seq={seq.tolist()}")
                if diff / tol >= worst / max(worst_tol, 1e-300):
                    worst, worst_tol = float(diff), tol
            if beta2 == 50:
                ar = Multiprecision(60)
                y = _engine(ar, g, S, seq, 50)
                for t in range(g.T):
                    M, rest = alg.matching_keys(seq, g, t)
                    p_hat = alg.conditional_estimate(seq, g, S, t)
                    if p_hat is None or not rest:
                        continue
                    err = _l1(ar, y[:, t], p_hat)
                    tight.append(float(err / alg.sharp_bound(ar, len(rest), len(M), 50)))
                    f64_err_at_50 = max(f64_err_at_50, float(np.abs(m64.val[:, t] - np.array([float(v) for v in p_hat])).sum()))
    detail = (f"engine = closed form at every query to ≤ {worst:.3g} (tolerance {worst_tol:.3g}) at 30 and 60 digits, "
              f"β₂ ∈ {{1, 5, 20, 50}}; at β₂ = 50 the 60-digit ‖ŷ − p̂‖₁ / (2n/(m e^β₂ + n)) lies in "
              f"[{min(tight):.3g}, {max(tight):.3g}] (1 = the bound attained), while float64's ‖ŷ − p̂‖₁ is "
              f"{f64_err_at_50:.3g}: rounding, not the e^-50 ≈ 2e-22 signal")
    return CheckResult("mpmath", "multiprecision", n, worst, worst_tol, "holds", detail,
                       data={"tightness_at_beta2_50": [min(tight), max(tight)]})


@_at_prec
def _check_mixture_ball(ctx: Context) -> CheckResult:
    worst, n = 0.0, 0
    for g, S, seq in _mixture_items(ctx):
        for beta2 in BETA2_GRID:
            upper, differ = _ball_gap(_engine(BALL, g, S, seq, beta2), _closed(BALL, g, S, seq, beta2))
            n += 1
            worst = max(worst, upper)
            if differ or upper > 2.0**-120:
                return CheckResult("ball", "certified", n, upper, 2.0**-120, "fails",
                                   f"engine and closed form certainly differ (β₂={beta2}, seq={seq.tolist()})")
    return CheckResult("ball", "certified", n, worst, 2.0**-120, "holds",
                       f"|engine − closed form| certainly ≤ {worst:.3g} at every query (arb, {BALL.prec} bits), β₂ ∈ {BETA2_GRID}")


@_at_prec
def _check_mixture_f64(ctx: Context) -> CheckResult:
    fb, worst, worst_tol, n = Float64Bounded(), 0.0, 0.0, 0
    for g, S, seq in _mixture_items(ctx):
        for beta2 in BETA2_GRID:
            a, b = _engine(fb, g, S, seq, beta2), _closed(fb, g, S, seq, beta2)
            err, tol = np.abs(a.val - b.val), a.err + b.err
            n += 1
            if np.any(err > tol):
                return CheckResult("float64", "numerical", n, float(err.max()), float(tol.max()), "fails",
                                   f"beyond the running error bound at β₂={beta2}, seq={seq.tolist()}")
            worst, worst_tol = max(worst, float(err.max())), max(worst_tol, float(tol.max()))
    return CheckResult("float64", "numerical", n, worst, worst_tol, "holds",
                       "|engine − closed form| within the running error bound of both at every query")


# mutants shared by the family ------------------------------------------------


def _wrong_parent(g: CausalGraph) -> CausalGraph:
    """Every non-root whose first parent can move gets parent p - 1 (else p + 1)."""
    parents = [list(p) for p in g.parents]
    moved = False
    for j in range(g.T):
        if parents[j]:
            p = parents[j][0]
            for alt in (p - 1, p + 1):
                if 0 <= alt < j and alt not in parents[j]:
                    parents[j][0] = alt
                    moved = True
                    break
    if not moved:
        raise ValueError("no parent can move")
    return causal_graph([tuple(p) if p else None for p in parents], g.k)


def _mutant_models(g: CausalGraph, S: int, beta2: Any, beta1: Any = None) -> dict[str, Any]:
    good = induction_transformer(g, S, beta2, beta1)
    wrong_parent = good.with_layers([induction_transformer(_wrong_parent(g), S, beta2, beta1).layers[0], good.layers[1]])
    l2 = good.layers[1]
    h = l2.heads[0]
    D0 = S + g.T
    W_Q = np.roll(np.asarray(h.W_Q, dtype=object), D0 * g.k, axis=1)  # query reads its last copied block, not its token
    wrong_block = good.with_layers([good.layers[0], replace(l2, heads=(replace(h, W_Q=W_Q),))])
    no_causal = good.with_layers([replace(a, causal=False) for a in good.layers])
    return {"wrong parent": wrong_parent, "wrong block of A2": wrong_block, "no causal mask": no_causal}


MUTANT_BETA2 = 3  # the falsifiers' layer-2 temperature: mismatches of order 1, far above arb radii


@_at_prec
def _certified_mismatch(items: Iterable[tuple[Any, int, np.ndarray]],
                        predictions: Callable[[Any, int, np.ndarray, int], np.ndarray]) -> tuple[bool, str]:
    """A mutant is caught when, on some drawn sequence, its predictions
    certainly (arb) differ from the reference estimator's."""
    for g, S, seq in items:
        ref = alg.reference_predictions(BALL, seq, g, S, MUTANT_BETA2)
        _, differ = _ball_gap(predictions(g, S, seq, MUTANT_BETA2), ref)
        if differ:
            return True, f"certified mismatch with the reference (arb) on seq={seq.tolist()}, parents={g.parents}"
    return False, "no certified mismatch"


def _identity_falsifier(name: str, kind: str, salt: int) -> Falsifier:
    def run(ctx: Context) -> tuple[bool, str]:
        return _certified_mismatch(
            _instances(_at_least_one(ctx), salt, kind, 3),
            lambda g, S, seq, beta2: _engine(BALL, g, S, seq, beta2, model=_mutant_models(g, S, beta2)[name]))
    descr = {"wrong parent": "layer 1 built from a graph with one parent moved by one position",
             "wrong block of A2": "A⁽²⁾ on (query's copied parent token, key's copied parent token) instead of the query's own token",
             "no causal mask": "both layers attend to all positions"}[name]
    return Falsifier(name, descr, run)


# ---------------------------------------------------------------------------
# the constructions in PyTorch and TransformerLens (evidence "torch")
# ---------------------------------------------------------------------------
# Identity specs for the library checks of verify/torch_backend.py: the
# library's float64 forward pass of the exported model against the plain
# two-step algorithm (alg.reference_predictions, same β₁ and β₂), tolerance
# from the running error bounds.  sizes: S (vocabulary), T (positions),
# b1 (β₁; 0 = hard layer 1), b2 (β₂), roots (0: a Markov chain; 1: a random
# single-parent DAG with roots).


@dataclass
class _Sequence:
    g: CausalGraph
    S: int
    seq: np.ndarray
    beta1: Any
    beta2: Any


def _sample_sequence(draw: Draw, sizes: dict[str, int]) -> _Sequence:
    S, T = sizes["S"], sizes["T"]
    g = markov_chain(T) if not sizes.get("roots") else alg.random_dag(draw.rng, T, 1, root_prob=0.25)
    if g.non_roots().sum() == 0:
        g = markov_chain(T)
    pi = alg.dirichlet_transitions(draw.rng, S, g.k, alpha=0.5)
    return _Sequence(g, S, alg.sample_sequence(draw.rng, g, pi, S), sizes["b1"] or None, sizes["b2"])


def _reference_sequence(ar: Any, i: _Sequence) -> Any:
    return alg.reference_predictions(ar, i.seq, i.g, i.S, i.beta2, i.beta1)


def _spec_run(prompt: Callable[[_Sequence], Any], output: Callable[[Any, _Sequence], Any]) -> Callable[..., Any]:
    return lambda ar, model, i: output(forward(ar, model, ar.array(prompt(i))), i)


def _prev_mutant(name: str) -> Mutant:
    def apply(model: Any, i: _Sequence) -> Any:
        if name == "previous-token offset 2":
            return previous_token_transformer(i.S, i.g.T, i.beta2, i.beta1, offset=2, mask_roots=True)
        if name == "no causal mask":
            return model.with_layers([replace(a, causal=False) for a in model.layers])
        l1 = model.layers[1]
        h = l1.heads[0]
        W_K = np.roll(np.array(h.W_K, dtype=object), -(i.S + i.g.T), axis=1)  # prev block -> tok block
        return model.with_layers([model.layers[0], replace(l1, heads=(replace(h, W_K=W_K),))])
    descr = {"previous-token offset 2": "layer 0 attends to i − 2 (a wrong parent)",
             "induction keys read the token": "K-composition missing: the induction head's W_K reads the token, not prev",
             "no causal mask": "both heads attend to all positions"}[name]
    return Mutant(name, descr, apply)


PREV_TORCH_SPEC = IdentitySpec(
    sample=_sample_sequence,
    build=lambda i: previous_token_transformer(i.S, i.g.T, i.beta2, i.beta1),
    run=_spec_run(lambda i: residual_embed(i.seq, i.S), lambda Z, i: residual_predictions(Z, i.S, i.g.T)),
    reference=_reference_sequence,
    sizes={"float64": [{"S": 2, "T": 6, "b1": 0, "b2": 3}, {"S": 3, "T": 9, "b1": 6, "b2": 4}]},
    mutants=tuple(_prev_mutant(n) for n in ("previous-token offset 2", "induction keys read the token", "no causal mask")),
    modes=("float64",), falsify_with="float64")


def _mixture_mutant(name: str) -> Mutant:
    return Mutant(name, {"wrong parent": "layer 1 built from a graph with one parent moved by one position",
                         "wrong block of A2": "A⁽²⁾ reads the query's copied parent token instead of its own token",
                         "no causal mask": "both layers attend to all positions"}[name],
                  lambda model, i: _mutant_models(i.g, i.S, i.beta2, i.beta1)[name])


MIXTURE_TORCH_SPEC = IdentitySpec(
    sample=_sample_sequence,
    build=lambda i: induction_transformer(i.g, i.S, i.beta2, i.beta1),
    run=_spec_run(lambda i: embed(i.seq, i.S), lambda Z, i: predictions(Z, i.S, i.g)),
    reference=_reference_sequence,
    sizes={"float64": [{"S": 2, "T": 6, "b1": 0, "b2": 3, "roots": 0}, {"S": 3, "T": 8, "b1": 0, "b2": 5, "roots": 1},
                       {"S": 2, "T": 7, "b1": 8, "b2": 3, "roots": 1}]},
    mutants=tuple(_mixture_mutant(n) for n in ("wrong parent", "wrong block of A2", "no causal mask")),
    modes=("float64",), falsify_with="float64")

PREV_TORCH = torch_checks(PREV_TORCH_SPEC, lambda ar, i: ar.array(residual_embed(i.seq, i.S)), lens=True,
                          output=lambda ar, Z, i: residual_predictions(Z, i.S, i.g.T))


def _repeated_permutation(rng: np.random.Generator, S: int = 5, beta2: int = 8, beta1: int = 12) -> tuple[Any, np.ndarray]:
    """The previous-token + induction head on a random permutation of the
    vocabulary, twice: in the second half every token has one earlier
    occurrence, and the head predicts the token that followed it."""
    half = rng.permutation(S)
    seq = np.concatenate([half, half])
    return previous_token_transformer(S, 2 * S, beta2, beta1), residual_embed(seq, S).astype(np.float64)


register_construction(NamedConstruction(
    "induction_head", "Olsson et al.'s previous-token head + induction head (additive residual, softmax), "
    "a random permutation repeated", _repeated_permutation))

MIXTURE_TORCH = torch_checks(MIXTURE_TORCH_SPEC, lambda ar, i: ar.array(embed(i.seq, i.S)), lens=True,
                             output=lambda ar, Z, i: predictions(Z, i.S, i.g))


register(Claim(
    id="induction.mixture", paper=NDL, kind="identity",
    statement=("With layer 1 hard (β₁ = ∞), the token block of the layer-2 output at every query t is exactly "
               "(e^{β₂} Σ_{j∈M} e_{s_j} + Σ_{j∉M} e_{s_j}) / (m e^{β₂} + n), M the keys whose copied parent token equals "
               "the query token, n the other keys; keys = non-roots j ≤ t (the query itself included)."),
    checks={"mpmath": _check_mixture_mp, "ball": _check_mixture_ball, "float64": _check_mixture_f64, **MIXTURE_TORCH},
    falsifiers=[_identity_falsifier(n, "chain", 11) for n in ("wrong parent", "wrong block of A2", "no causal mask")],
    notes=("Hard layer 1 is the β₁ → ∞ limit as a linear attention layer with the limiting pattern (exact weights). "
           "Checked at every query position of chains and single-parent DAGs with roots; β₂ up to 50, where float64 "
           "cannot resolve ‖ŷ − p̂‖₁ ≈ e^{-50} but 60-digit arithmetic can.")))


# ---------------------------------------------------------------------------
# induction.bigram_limit (and the printed version)
# ---------------------------------------------------------------------------


def _stated_beta1(beta2: int) -> int:
    """The β₁ paired with β₂ in the checks: leakage ≈ 2β₂T e^{-β₁} far below e^{-β₂}."""
    return 2 * beta2 + 12


def _bound_check(ctx: Context, items: list[tuple[CausalGraph, int, np.ndarray]], grid: tuple[int, ...],
                 model_for: Callable[[CausalGraph, int, int, Any], Any] | None = None,
                 beta1_for: Callable[[int], Any] = _stated_beta1) -> tuple[bool, dict[str, Any]]:
    """Certified: ‖ŷ_t − p̂_t‖₁ < 2(T_t − m)e^{-β₂}/m (hard layer 1) and
    < that + leakage(β₁) (finite β₁), at every query with m ≥ 1; T_t = t + 1."""
    stats = {"n": 0, "ratio_printed": 0.0, "ratio_sharp": 0.0, "fail": None}
    for g, S, seq in items:
        for beta2 in grid:
            for beta1 in (None, beta1_for(beta2)):
                model = model_for(g, S, beta2, beta1) if model_for else None
                y = _engine(BALL, g, S, seq, beta2, beta1, model=model)
                for t in range(g.T):
                    M, rest = alg.matching_keys(seq, g, t)
                    p_hat = alg.conditional_estimate(seq, g, S, t)
                    if p_hat is None:
                        continue
                    err = _l1(BALL, y[:, t], p_hat)
                    bound = alg.printed_bound(BALL, t + 1, len(M), beta2)
                    if beta1 is not None:
                        bound = bound + alg.leakage_bound(BALL, t, g.k, beta1, beta2)
                    stats["n"] += 1
                    if not err < bound:
                        stats["fail"] = (f"‖ŷ − p̂‖₁ = {float(err.mid()):.4g} not certainly below {float(bound.mid()):.4g} "
                                         f"at t={t}, β₂={beta2}, β₁={'∞' if beta1 is None else beta1}, seq={seq.tolist()}, "
                                         f"parents={g.parents}")
                        return False, stats
                    if beta1 is None and rest:
                        stats["ratio_printed"] = max(stats["ratio_printed"], float((err / bound).mid()))
                        stats["ratio_sharp"] = max(stats["ratio_sharp"],
                                                   float((err / alg.sharp_bound(BALL, len(rest), len(M), beta2)).mid()))
    return True, stats


@_at_prec
def _check_bigram(ctx: Context) -> CheckResult:
    ok, st = _bound_check(ctx, _instances(ctx, 3, "chain", 4), BETA2_GRID)
    if not ok:
        return CheckResult("ball", "certified", st["n"], None, None, "fails", st["fail"])
    return CheckResult("ball", "bound", st["n"], st["ratio_printed"], 1.0, "holds",
                       f"certified (arb) on {st['n']} (query, β₂, β₁) cases: ‖ŷ − p̂‖₁ < 2(T−m)e^(−β₂)/m with β₁ = ∞, "
                       f"and < that + (exp(2β₂ t/(e^β₁+t)) − 1) with β₁ = 2β₂ + 12; largest error/bound "
                       f"{st['ratio_printed']:.3g}, largest error/(2n/(m e^β₂ + n)) {st['ratio_sharp']:.6g} (≤ 1: sharp form)",
                       data={"max_error_over_printed_bound": st["ratio_printed"],
                             "max_error_over_sharp_bound": st["ratio_sharp"]})


def _bound_falsifier(name: str, kind: str, salt: int) -> Falsifier:
    @_at_prec
    def run(ctx: Context) -> tuple[bool, str]:
        items = _instances(_at_least_one(ctx), salt, kind, 3)
        if name == "β₁ too small for β₂":
            # the mutant's layer 1 uses β₁ = 0; the bound is computed for the stated β₁ = 2β₂ + 12
            model_for = lambda g, S, b2, b1: induction_transformer(g, S, b2, None if b1 is None else 0)
            grid: tuple[int, ...] = (8, 16)
        else:
            model_for = lambda g, S, b2, b1: _mutant_models(g, S, b2, b1)[name]
            grid = (16,)
        ok, st = _bound_check(ctx, items, grid, model_for)
        return (not ok), (st["fail"] or "every case within the bound")
    descr = {"β₁ too small for β₂": "layer 1 at β₁ = 0 while the bound uses the stated β₁ = 2β₂ + 12",
             "wrong parent": "layer 1 copies a wrong parent for one position",
             "wrong block of A2": "A⁽²⁾ reads the query's copied block instead of its token",
             "no causal mask": "both layers attend to all positions (queries see later keys)"}[name]
    return Falsifier(name, descr, run)


@_at_prec
def _bigram_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from pathlib import Path
    seq = np.array([0, 1, 2, 0, 2, 1, 0, 1, 2, 1, 0])  # chain, S = 3; the last query (token 0) has m = 3, n = 7
    g, S, t = markov_chain(len(seq)), 3, len(seq) - 1
    M, rest = alg.matching_keys(seq, g, t)
    p_hat = alg.conditional_estimate(seq, g, S, t)
    ar = Multiprecision(60)
    betas = list(range(0, 51, 2))
    measured, printed, sharp, soft = [], [], [], []
    for b in betas:
        y = _engine(ar, g, S, seq, b)
        measured.append(float(_l1(ar, y[:, t], p_hat)))
        printed.append(float(alg.printed_bound(ar, t + 1, len(M), b)))
        sharp.append(float(alg.sharp_bound(ar, len(rest), len(M), b)))
        ys = _engine(ar, g, S, seq, b, beta1=8)
        soft.append(float(_l1(ar, ys[:, t], p_hat)))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(betas, measured, "o", label="measured ‖ŷ − p̂‖₁ (β₁ = ∞, 60 digits)")
    ax.semilogy(betas, soft, "x", label="measured, β₁ = 8 (leakage floor)")
    ax.semilogy(betas, printed, "-", label="printed bound 2(T−m)e^(−β₂)/m")
    ax.semilogy(betas, sharp, "--", label="sharp bound 2n/(m e^β₂ + n)")
    ax.set_xlabel("β₂")
    ax.set_ylabel("ℓ₁ error")
    ax.set_title("Induction head vs in-context bigram estimate")
    ax.legend(fontsize=7)
    fig.tight_layout()
    name = "induction_bigram_limit.png"
    fig.savefig(Path(outdir) / name, metadata={"Software": None})
    plt.close(fig)
    return name, (f"‖ŷ − p̂‖₁ at the last query of s = {seq.tolist()} (chain, S = 3, m = {len(M)}, n = {len(rest)}) "
                  "against β₂: measured in 60-digit arithmetic with hard layer 1 and with β₁ = 8, the printed bound and "
                  "the sharp bound (which the measurement meets: the non-matching keys avoid p̂'s support).")


register(Claim(
    id="induction.bigram_limit", paper=NDL, kind="bound",
    statement=("With roots kept out of the layer-2 keys, at every query t with m ≥ 1 matching keys, "
               "‖ŷ_t − p̂_t‖₁ ≤ 2(T − m)e^{−β₂}/m (T = t + 1 positions seen; sharp form 2n/(m e^{β₂} + n), n the "
               "non-matching keys), p̂ the in-context bigram estimate over the same keys; a finite β₁ adds at most "
               "exp(2β₂ t/(e^{β₁}+t)) − 1 = O(β₂ T e^{−β₁})."),
    checks={"ball": _check_bigram},
    falsifiers=[_bound_falsifier(n, "chain", 13) for n in
                ("β₁ too small for β₂", "wrong parent", "wrong block of A2", "no causal mask")],
    figure=_bigram_figure,
    notes=("Corrected form of induction.bigram_limit_printed (roots masked as keys). The printed bound holds and is "
           "loose only by (T − m)/n ≥ 1 and (m e^β₂ + n)/(m e^β₂); the sharp form is attained. Keys: non-roots j ≤ t, "
           "the query's own (s_{t−1}, s_t) pair included.")))


def _printed_counterexample(beta2: int = 10) -> tuple[str, dict[str, Any]] | None:
    """Smallest chain (S = 2, then T, then sequence in lexicographic order) on
    which the printed construction (roots are keys) breaks the printed bound
    at the last query; certified in arb at β₂, and exactly in the β₂ → ∞ limit."""
    import itertools
    for T in range(2, 6):
        g = markov_chain(T)
        for seq in itertools.product(range(2), repeat=T):
            seq = np.array(seq)
            t = T - 1
            p_hat = alg.conditional_estimate(seq, g, 2, t)
            if p_hat is None:
                continue
            y = _engine(BALL, g, 2, seq, beta2, mask_roots=False)
            # the printed M: all keys j <= t whose copied token (hard layer 1; position 0 copies itself) is s_t
            copies = alg.copied_tokens(Rational(), seq, g, 2)[0]
            M = [j for j in range(t + 1) if copies[j][seq[t]] == 1]
            err = _l1(BALL, y[:, t], p_hat)
            bound = alg.printed_bound(BALL, t + 1, len(M), beta2)
            if err > bound:
                limit = [Fraction(sum(1 for j in M if seq[j] == b), len(M)) for b in range(2)]
                gap = sum(abs(a - b) for a, b in zip(limit, p_hat))
                text = (f"chain, S=2, T={T}, s={seq.tolist()}, query t={t} (token {seq[t]}): as printed, position 0 is a "
                        f"key and copies its own token {seq[0]}, so M={M} (m={len(M)}) while the bigram keys give "
                        f"p̂={[str(v) for v in p_hat]}; at β₂={beta2} ‖ŷ − p̂‖₁ ∈ [{float(err.mid()):.6f} ± {float(err.rad()):.1g}] "
                        f"certainly exceeds the bound {float(bound.mid()):.3g}; as β₂ → ∞, ŷ → {[str(v) for v in limit]} "
                        f"exactly, so the error tends to {gap} ≠ 0")
                return text, {"T": T, "seq": seq.tolist(), "limit_gap": str(gap)}
    return None


@_at_prec
def _check_printed(ctx: Context) -> CheckResult:
    found = _printed_counterexample()
    if found is None:
        return CheckResult("ball", "certified", 0, None, None, "fails", "no counterexample: the printed statement may hold")
    text, data = found
    return CheckResult("ball", "certified", 1, None, None, "refuted", "counterexample: " + text, data=data)


register(Claim(
    id="induction.bigram_limit_printed", paper=NDL, kind="bound",
    statement=("As transcribed: the construction with every position a layer-2 key satisfies ‖ŷ − p̂‖₁ ≤ 2(T − m)e^{−β₂}/m, "
               "M = keys whose copied parent token equals the query token."),
    checks={"ball": _check_printed},
    erratum=Erratum(
        counterexample=("chain, S = 2, T = 3, s = (0, 1, 0), query t = 2: position 0 is a root, attends only to itself and "
                        "copies its own token 0 = s_t, so it joins M = {0, 1}; p̂ = e_1 (one transition 0 → 1) but "
                        "ŷ → (e_0 + e_1)/2 as β₂ → ∞: the error tends to 1 while the bound tends to 0"),
        correction=("keep roots out of the layer-2 keys (key mask = positions with a parent), or equivalently count only "
                    "keys with a parent in M and in T − m; then the bound holds, with the sharp form 2n/(m e^{β₂} + n)"),
        corrected_claim="induction.bigram_limit"),
    notes=("Against the transcription (CLAIMS.md §4); we could not read the paper's statement. The smallest "
           "counterexample is found by exhaustive search at check time and certified in arb.")))


# ---------------------------------------------------------------------------
# induction.causal_graph
# ---------------------------------------------------------------------------


def _graph_items(ctx: Context) -> list[tuple[CausalGraph, int, np.ndarray]]:
    return _instances(ctx, 4, "dag", 3) + _instances(ctx, 5, "multi", 4)


@_at_prec
def _check_graph_identity(ctx: Context) -> CheckResult:
    worst, n = 0.0, 0
    for g, S, seq in _graph_items(ctx):
        for beta2, beta1 in ((3, None), (3, 5), (50, None), (20, 30)):
            upper, differ = _ball_gap(_engine(BALL, g, S, seq, beta2, beta1),
                                      alg.reference_predictions(BALL, seq, g, S, beta2, beta1))
            n += 1
            worst = max(worst, upper)
            if differ or upper > 2.0**-100:
                return CheckResult("ball", "certified", n, upper, 2.0**-100, "fails",
                                   f"engine ≠ reference (k={g.k}, parents={g.parents}, seq={seq.tolist()}, β₂={beta2}, β₁={beta1})")
    return CheckResult("ball", "certified", n, worst, 2.0**-100, "holds",
                       f"k heads copy k parents: |engine − plain algorithm| certainly ≤ {worst:.3g} at every query, "
                       "single-parent DAGs with roots and 2-, 3-parent DAGs, hard and finite β₁")


@_at_prec
def _check_graph_bound(ctx: Context) -> CheckResult:
    ok, st = _bound_check(ctx, _graph_items(ctx), (4, 16, 50), beta1_for=lambda b2: 2 * b2 + 14)
    if not ok:
        return CheckResult("ball", "certified", st["n"], None, None, "fails", st["fail"])
    return CheckResult("ball", "bound", st["n"], st["ratio_printed"], 1.0, "holds",
                       f"certified on {st['n']} cases: ‖ŷ − p̂‖₁ < 2(T−m)e^(−β₂)/m (+ leakage exp(2β₂(2k−1)t/(e^β₁+t)) − 1), "
                       f"p̂ the in-context conditional estimate given all k parents; largest error/bound {st['ratio_printed']:.3g}")


def _one_head_fewer() -> Falsifier:
    @_at_prec
    def run(ctx: Context) -> tuple[bool, str]:
        for g, S, seq in _instances(_at_least_one(ctx), 15, "multi", 3):
            good = induction_transformer(g, S, 3)
            l1 = good.layers[0]
            heads = list(l1.heads)
            heads[-1] = replace(heads[-1], W_Q=heads[0].W_Q)  # the last head copies parent 1 again
            model = good.with_layers([replace(l1, heads=tuple(heads)), good.layers[1]])
            _, differ = _ball_gap(_engine(BALL, g, S, seq, 3, model=model), alg.reference_predictions(BALL, seq, g, S, 3))
            if differ:
                return True, f"certified mismatch (k={g.k}, parents={g.parents})"
        return False, "no certified mismatch"
    return Falsifier("one head fewer", "k-parent graph with k−1 distinct heads (the last duplicates parent 1)", run)


def _graph_falsifier(name: str) -> Falsifier:
    f = _identity_falsifier(name, "multi", 16)
    return f


register(Claim(
    id="induction.causal_graph", paper=NDL, kind="identity",
    statement=("For a general DAG (roots anywhere; k parents per non-root) layer 1 with k heads copies the k parents' "
               "tokens, layer 2 with A⁽²⁾ = β₂ Σ_h (query context h) ⊗ (key's copied parent h) computes the plain "
               "two-step algorithm exactly, and its prediction is within 2(T−m)e^{−β₂}/m (+ finite-β₁ leakage) of the "
               "in-context conditional estimate given all k parents."),
    checks={"ball": _check_graph_identity, "bound": _check_graph_bound},
    falsifiers=[_graph_falsifier("wrong parent"), _graph_falsifier("wrong block of A2"),
                _graph_falsifier("no causal mask"), _one_head_fewer()],
    notes=("Ours: the target s_{t+1}'s parents are (t, p₁(t), …, p_{k−1}(t)), so the query's context is its own token "
           "and its first k−1 copied parents (for k = 1, the Markov-chain case). Roots are masked as keys.")))


# ---------------------------------------------------------------------------
# induction.previous_token_head (Olsson et al.)
# ---------------------------------------------------------------------------


def _export_forward(ar: Any, heads: list[list[dict[str, np.ndarray]]], X: Any, causal: bool = True,
                    key_masks: list[np.ndarray] | None = None, hard: list[bool] | None = None) -> Any:
    """A TransformerLens-orientation forward pass (tokens as rows, x ← x + Σ_h
    attn(x W_Q, x W_K) x W_V W_O) from exported weights only."""
    Xr = ar.T(X)  # (T, d_model)
    T = Xr.shape[0]
    for layer, hs in enumerate(heads):
        add = None
        mask = np.tril(np.ones((T, T), dtype=int)) if causal else np.ones((T, T), dtype=int)  # [query, key]
        if key_masks is not None:
            mask = mask * key_masks[layer][None, :]
        for h in hs:
            Q = ar.matmul(Xr, ar.array(h["W_Q"]))
            K = ar.matmul(Xr, ar.array(h["W_K"]))
            scores = ar.matmul(Q, ar.T(K))  # (T_query, T_key)
            if hard is not None and hard[layer]:
                pattern = ar.apply_mask(scores, mask)
            else:
                shift = ar.softmax_shift(ar.T(scores), mask.T)
                shifted = ar.T(scores) if shift is None else ar.T(scores) - shift
                E = ar.apply_mask(ar.exp(ar.apply_mask(shifted, mask.T)), mask.T)  # (key, query)
                total = ar.sum(E, axis=-2) + ar.array((mask.sum(axis=1) == 0).astype(int))
                pattern = ar.T(E / total[None, :])
            out = ar.matmul(ar.matmul(pattern, ar.matmul(Xr, ar.array(h["W_V"]))), ar.array(h["W_O"]))
            add = out if add is None else add + out
        Xr = Xr + add
    return ar.T(Xr)


def _chain_items(ctx: Context, salt: int) -> list[tuple[CausalGraph, int, np.ndarray]]:
    return _instances(ctx, salt, "chain", 4)


@_at_prec
def _check_prev_identity(ctx: Context) -> CheckResult:
    worst, n = 0.0, 0
    for g, S, seq in _chain_items(ctx, 6):
        for beta2, beta1 in ((3, None), (3, 4), (40, 60)):
            add = residual_predictions(forward(BALL, previous_token_transformer(S, g.T, beta2, beta1),
                                               residual_embed(seq, S)), S, g.T)
            upper, differ = _ball_gap(add, _engine(BALL, g, S, seq, beta2, beta1))
            n += 1
            worst = max(worst, upper)
            if differ or upper > 2.0**-100:
                return CheckResult("ball", "certified", n, upper, 2.0**-100, "fails",
                                   f"additive ≠ disentangled at β₂={beta2}, β₁={beta1}, seq={seq.tolist()}")
    return CheckResult("ball", "certified", n, worst, 2.0**-100, "holds",
                       f"previous-token head + K-composition induction head (additive residual) = the disentangled "
                       f"construction at every position: certainly within {worst:.3g}")


@_at_prec
def _check_prev_export(ctx: Context) -> CheckResult:
    fb, worst, worst_tol, n = Float64Bounded(), 0.0, 0.0, 0
    for g, S, seq in _chain_items(ctx, 7):
        model = previous_token_transformer(S, g.T, 5, 9)
        heads = export_heads(model)
        shapes_ok = all(h["W_Q"].shape[0] == model.d_model and h["W_O"].shape[1] == model.d_model
                        for hs in heads for h in hs) and [len(hs) for hs in heads] == [1, 1]
        if not shapes_ok:
            return CheckResult("float64", "numerical", n, None, None, "fails", "exported shapes are not [d_model, d_head] / [d_head, d_model]")
        X = residual_embed(seq, S)
        ours = forward(fb, model, X)
        theirs = _export_forward(fb, heads, fb.array(X), key_masks=[l.key_mask for l in model.layers])
        err, tol = np.abs(ours.val - theirs.val), ours.err + theirs.err
        n += 1
        if np.any(err > tol):
            return CheckResult("float64", "numerical", n, float(err.max()), float(tol.max()), "fails",
                               "the exported W_Q, W_K, W_V, W_O do not reproduce the forward pass")
        worst, worst_tol = max(worst, float(err.max())), max(worst_tol, float(tol.max()))
    return CheckResult("float64", "numerical", n, worst, worst_tol, "holds",
                       "exported W_Q, W_K, W_V ([d_model, d_head]) and W_O ([d_head, d_model]) per head reproduce the "
                       "whole residual stream in a TransformerLens-orientation forward pass, within the running error bound")


def _prev_falsifier(name: str) -> Falsifier:
    """The additive induction head's mutants (shared with its library checks),
    caught by a certified mismatch with the reference estimator."""
    mutant = _prev_mutant(name)

    def predictions(g: Any, S: int, seq: np.ndarray, beta2: int) -> np.ndarray:
        inst = _Sequence(g, S, seq, None, beta2)  # hard layer 1
        model = mutant.apply(previous_token_transformer(S, g.T, beta2, None), inst)
        return residual_predictions(forward(BALL, model, residual_embed(seq, S)), S, g.T)

    def run(ctx: Context) -> tuple[bool, str]:
        return _certified_mismatch(_chain_items(_at_least_one(ctx), 17), predictions)

    return Falsifier(name, mutant.description, run)


register(Claim(
    id="induction.previous_token_head", paper=OLSSON, kind="identity",
    statement=("A previous-token head (q_i = β₁e_{i−1}, k_j = e_j, OV copying the token into a 'prev' subspace) followed "
               "by an induction head that K-composes with it (q = β₂ e_{s_t}, k = prev, OV copying the token into 'out') "
               "on one additive residual stream computes exactly the disentangled construction's prediction at every "
               "position; its weights export as W_Q, W_K, W_V, W_O per head."),
    checks={"ball": _check_prev_identity, "export": _check_prev_export, **PREV_TORCH},
    falsifiers=[_prev_falsifier(n) for n in ("previous-token offset 2", "induction keys read the token", "no causal mask")],
    notes="Residual layout [tok (S) | pos (T) | prev (S) | out (S)]; roots (position 0) are masked as induction keys."))


# ---------------------------------------------------------------------------
# induction.chi2_gradient
# ---------------------------------------------------------------------------

_CHI2_CASES = ((2, 4, Fraction(1)), (2, 5, Fraction(1, 2)), (3, 4, Fraction(1)))


def _chi2_data(S: int, T: int, alpha: Fraction, g: CausalGraph) -> tuple[np.ndarray, list]:
    law = alg.incontext_law(g, S, alpha, T + 1)
    return alg.init_gradient(g, S, law), law


@_at_prec
def _check_chi2_ranking(ctx: Context) -> CheckResult:
    """Chains: every non-root row must peak strictly at the parent (the claim).
    Random DAGs: rows that peak elsewhere are recorded and reported (a finding
    about DAGs, not part of the claim: see the notes)."""
    rng = _rng(ctx, 8)
    rows, n, dag_rows, dag_misses = 0, 0, 0, []
    for S, T, alpha in _CHI2_CASES:
        for g in (markov_chain(T), alg.random_dag(rng, T, 1), alg.random_dag(rng, T, 1)):
            G, _ = _chi2_data(S, T, alpha, g)
            n += 1
            chain = all(g.parents[i] == (i - 1,) for i in range(1, T))
            for i in range(T):
                if g.is_root(i):
                    continue
                row = [-G[i, j] for j in range(i + 1)]
                best = max(range(i + 1), key=lambda j, row=row: row[j])
                strict = sorted(row)[-2] < row[best]
                if not chain:
                    dag_rows += 1
                    if best != g.parents[i][0] or not strict:
                        dag_misses.append(f"S={S}, T={T}, α={alpha}, parents={g.parents}: row {i} peaks at {best}, "
                                          f"parent {g.parents[i][0]} ({[str(v) for v in row]})")
                    continue
                rows += 1
                if best != g.parents[i][0] or not strict:
                    return CheckResult("rational", "exact", n, None, None, "fails",
                                       f"row {i} of −∇A⁽¹⁾ peaks at {best}, not (strictly) at the parent {g.parents[i][0]} "
                                       f"(S={S}, T={T}, α={alpha}, chain): {[str(v) for v in row]}")
    return CheckResult("rational", "exact", n, None, None, "holds",
                       f"exact (rational enumeration of the in-context law, π ~ Dirichlet(α) per sequence): on chains, in "
                       f"all {rows} non-root rows the strictly largest entry of −∇_{{A⁽¹⁾}}L at initialisation is the "
                       f"parent; on random DAGs (not claimed) {len(dag_misses)} of {dag_rows} rows peak elsewhere"
                       + (f" (e.g. {dag_misses[0]})" if dag_misses else ""),
                       data={"dag_row_misses": dag_misses})


def _chi2_falsifier() -> Falsifier:
    @_at_prec
    def run(ctx: Context) -> tuple[bool, str]:
        # a wrong parent: the ranking check against a graph with one parent moved must fail
        S, T, alpha = _CHI2_CASES[0]
        g = markov_chain(T)
        G, _ = _chi2_data(S, T, alpha, g)
        bad = _wrong_parent(g)
        for i in range(T):
            if bad.parents[i] and bad.parents[i][0] != max(range(i + 1), key=lambda j: -G[i, j]):
                return True, f"row {i}: the gradient's peak is not the moved parent {bad.parents[i][0]}"
        return False, "the gradient also peaks at the wrong parent"
    return Falsifier("wrong parent", "the gradient's row maxima compared with a graph with one parent moved", run)


register(Claim(
    id="induction.chi2_gradient", paper=NDL, kind="ranking",
    statement=("In the in-context task (π ~ Dirichlet(α) afresh per sequence), at initialisation (A⁽¹⁾ = 0, "
               "A⁽²⁾ = β₀ I_S, β₀ → 0, loss −E ŷ(s_T)) the largest entry of each non-root row i of −∇_{A⁽¹⁾}L "
               "is the parent p(i), for in-context Markov chains (p(i) = i − 1), every non-root row."),
    checks={"rational": _check_chi2_ranking},
    falsifiers=[_chi2_falsifier()],
    notes=("Ours: the loss is the linear (first-order log-loss) term, the gradient is taken per unit β₀ as β₀ → 0; "
           "the self-attention entry j = i is included in the row. Exact rationals over all S^(T+1) sequences.  "
           "Restricted to chains: on general DAGs the row maximum is not always the parent (e.g. the star graph "
           "S = 2, T = 5, α = 1/2, every position's parent 0: row 1 is (−1/3200, 1/3200), peaking at the position "
           "itself); the check reports such rows of the random DAGs it draws.  First drafted for DAGs too, and "
           "narrowed when a run at seed 3 found the star graph.")))


@_at_prec
def _check_chi2_printed(ctx: Context) -> CheckResult:
    """Smallest chain (S = 2, T = 3, 4, …; α = 1) with a row where
    −∇A⁽¹⁾[i, j] / I_χ²(s_i; s_j) is not constant over j < i, or the two orders differ."""
    for T in range(3, 6):
        S, alpha = 2, Fraction(1)
        g = markov_chain(T)
        G, _ = _chi2_data(S, T, alpha, g)
        inputs = alg.incontext_law(g, S, alpha, T)
        for i in range(2, T):
            chi = [alg.chi2_mutual_information(alg.pair_joint(g, None, S, i, j, inputs)) for j in range(i)]
            grad = [-G[i, j] for j in range(i)]
            ratios = {grad[j] / chi[j] if chi[j] else None for j in range(i)}
            if len(ratios) > 1:
                text = (f"chain, S={S}, T={T}, α={alpha}, row {i}: I_χ²(s_{i}; s_j) = {[str(c) for c in chi]} for "
                        f"j = 0..{i - 1} but −∇A⁽¹⁾[{i}, j] = {[str(v) for v in grad]}: ratios "
                        f"{sorted(str(r) for r in ratios)} differ, so the gradient is not proportional to I_χ² "
                        "(and ranks pairs that I_χ² ties)")
                return CheckResult("rational", "exact", 1, None, None, "refuted", "counterexample (exact): " + text,
                                   data={"chi2": [str(c) for c in chi], "gradient": [str(v) for v in grad]})
    return CheckResult("rational", "exact", 1, None, None, "fails", "no counterexample for T <= 5")


register(Claim(
    id="induction.chi2_gradient_printed", paper=NDL, kind="ranking",
    statement=("As transcribed: the population gradient at initialisation ranks the pairs (i, j) by "
               "I_χ²(s_i; s_j) = Σ P(a,b)²/(P(a)P(b)) − 1 and is proportional to it."),
    checks={"rational": _check_chi2_printed},
    erratum=Erratum(
        counterexample=("chain, S = 2, T = 3, α = 1 (the task's law, π integrated out): I_χ²(s_2; s_0) = I_χ²(s_2; s_1) "
                        "= 1/36, but −∇A⁽¹⁾[2, ·] = (−1/324, 1/324) on j = 0, 1: ratios −1/9 and 1/9 (exact enumeration)"),
        correction=("what holds exactly at small S, T is the row maximum (induction.chi2_gradient); the χ²-information "
                    "that ranks the pairs must be taken given π (the population joint of (s_i, s_j) marginalises π away "
                    "and ties the parent with the grandparent); proportionality is at most asymptotic and is not checked here"),
        corrected_claim="induction.chi2_gradient"),
    notes="Against the transcription (CLAIMS.md §4), which does not fix the loss, the MI's law or the constant; we could not read the paper."))
