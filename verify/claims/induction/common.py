"""What the induction family's claims share: the built model with its
read-out, the mutants, and the falsifier search with a stated budget."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

import numpy as np
from transformer_proofs.constructions.arithmetic import _object_array
from transformer_proofs.constructions.engine import Transformer, forward
from transformer_proofs.constructions.induction_head import (
    CausalGraph,
    causal_graph,
    embed,
    induction_transformer,
    prediction_rows,
    residual_embed,
)
from transformer_proofs.verify.algorithms import induction as alg
from transformer_proofs.verify.checkers import run_mode
from transformer_proofs.verify.claims.induction.instances import SequenceInstance
from transformer_proofs.verify.spec import ClaimSpec, Context, Falsifier, Mutant


@dataclass(frozen=True)
class Built:
    """A construction and how its prediction is read: ``rows`` of the final
    state (every column t is ŷ_t), times ``sign``.  The read-out is part of
    what is compared, so a mutant may change it."""

    model: Transformer
    rows: slice
    sign: int = 1
    additive: bool = False  # the residual_embed prompt (Olsson et al.'s layout)


def prompt_of(ar: Any, b: Built, inst: SequenceInstance) -> Any:
    return ar.array(residual_embed(inst.seq, inst.S) if b.additive else embed(inst.seq, inst.S))


def read(ar: Any, b: Built, inst: SequenceInstance) -> Any:
    """(S, T): column t the prediction ŷ_t for s_{t+1}."""
    out = forward(ar, b.model, prompt_of(ar, b, inst))[b.rows, :]
    return out if b.sign == 1 else -out


def disentangled(inst: SequenceInstance, mask_roots: bool = True) -> Built:
    return Built(induction_transformer(inst.g, inst.S, inst.beta2, inst.beta1, mask_roots),
                 prediction_rows(inst.S, inst.g))


def copied_rows(inst: SequenceInstance) -> slice:
    """Rows of layer 1's first copied token block (a wrong read-out)."""
    D0 = inst.S + inst.g.T
    return slice(D0, D0 + inst.S)


def column(ar: Any, values: list[Any]) -> Any:
    """A vector of scalars of ``ar`` (object arithmetics only: mpmath, arb)."""
    return _object_array(values, (len(values),))


# mutants --------------------------------------------------------------------


def wrong_parent_graph(g: CausalGraph) -> CausalGraph:
    """Every non-root whose first parent can move gets parent p - 1 (else p + 1)."""
    parents = [list(p) for p in g.parents]
    for j in range(g.T):
        if parents[j]:
            p = parents[j][0]
            for alt in (p - 1, p + 1):
                if 0 <= alt < j and alt not in parents[j]:
                    parents[j][0] = alt
                    break
    return causal_graph([tuple(p) if p else None for p in parents], g.k)


def _wrong_parent(b: Built, inst: SequenceInstance) -> Built:
    bad = induction_transformer(wrong_parent_graph(inst.g), inst.S, inst.beta2, inst.beta1)
    return replace(b, model=b.model.with_layers([bad.layers[0], *b.model.layers[1:]]))


def _wrong_block(b: Built, inst: SequenceInstance) -> Built:
    l2 = b.model.layers[1]
    h = l2.heads[0]
    D0 = inst.S + inst.g.T
    W_Q = np.roll(np.asarray(h.W_Q, dtype=object), D0 * inst.g.k, axis=1)  # the query reads its last copied block
    return replace(b, model=b.model.with_layers([b.model.layers[0], replace(l2, heads=(replace(h, W_Q=W_Q),))]))


def _no_causal(b: Built, inst: Any) -> Built:
    return replace(b, model=b.model.with_layers([replace(a, causal=False) for a in b.model.layers]))


def _one_head_fewer(b: Built, inst: SequenceInstance) -> Built:
    l1 = b.model.layers[0]
    heads = list(l1.heads)
    heads[-1] = replace(heads[-1], W_Q=heads[0].W_Q)  # the last head copies parent 1 again
    return replace(b, model=b.model.with_layers([replace(l1, heads=tuple(heads)), *b.model.layers[1:]]))


WRONG_PARENT = Mutant("wrong parent", "layer 1 built from a graph with every movable parent moved by one position",
                      _wrong_parent)
WRONG_BLOCK = Mutant("wrong block of A2", "A⁽²⁾ reads the query's copied parent token instead of its own token",
                     _wrong_block)
NO_CAUSAL = Mutant("no causal mask", "both layers attend to all positions (queries see later keys)", _no_causal)
ONE_HEAD_FEWER = Mutant("one head fewer", "k-parent graph with k−1 distinct heads (the last duplicates parent 1)",
                        _one_head_fewer)
SIGN_FLIPPED = Mutant("read-out sign flipped", "the prediction read as −(token block)",
                      lambda b, inst: replace(b, sign=-b.sign))
WRONG_READOUT = Mutant("read-out of the wrong block", "the prediction read from layer 1's copied token block",
                       lambda b, inst: replace(b, rows=copied_rows(inst)))
CONSTRUCTION_MUTANTS = (WRONG_PARENT, WRONG_BLOCK, NO_CAUSAL, SIGN_FLIPPED, WRONG_READOUT)


# falsifiers -------------------------------------------------------------------

# CORE-CANDIDATE: verify.checkers.mutant_falsifier runs each mode on
# FALSIFIER_COUNTS instances per size, so a mutant that a drawn instance
# happens not to distinguish (a moved parent with the same token) escapes at
# some seeds.  This is the same falsifier with a stated search budget: each
# mode draws up to ``budget[mode]`` instances per size and stops at the first
# that certainly distinguishes the mutant (the checkers return at the first
# failing instance), so the budget bounds the work, not the luck.
FALSIFIER_BUDGET = {"float64": 40, "mpmath": 10, "ball": 20, "rational": 6, "prime-field": 4, "symbolic": 2}


def searched_falsifier(spec: ClaimSpec, mutant: Mutant, budget: dict[str, int] | None = None,
                       modes: Iterable[str] | None = None) -> Falsifier:
    chosen = tuple(mutant.modes or modes or spec.modes)
    budget = {**FALSIFIER_BUDGET, **(budget or {})}

    def run(ctx: Context) -> tuple[bool, str]:
        once = Context(ctx.seed, 1.0)
        parts, caught = [], True
        for mode in chosen:
            res = run_mode(spec, mode, once, mutant, per_size=budget[mode])
            ok = res.status == "fails"
            caught = caught and ok
            limit = f"search budget {budget[mode]} per size × {len(spec.sizes_for(mode))} sizes"
            parts.append(f"{mode}: caught at instance {res.instances} ({limit})" if ok
                         else f"{mode}: {res.status.upper()} within {limit} ({res.detail[:160]})")
        if mutant.modes:
            parts.append(f"not run through the other kinds: {mutant.why}")
        return caught, "; ".join(parts)

    return Falsifier(mutant.name, mutant.description, run)


def searched_falsifiers(spec: ClaimSpec, budget: dict[str, int] | None = None) -> list[Falsifier]:
    return [searched_falsifier(spec, m, budget) for m in spec.mutants]


def l1_errors(ar: Any, y: Any, inst: SequenceInstance, queries: list[int]) -> Any:
    """‖ŷ_t − p̂_t‖₁ at each query t of ``queries``."""
    out = []
    for t in queries:
        p_hat = alg.conditional_estimate(inst.seq, inst.g, inst.S, t)
        acc = ar.const(0)
        for b in range(inst.S):
            acc = acc + abs(y[b, t] - ar.const(p_hat[b]))
        out.append(acc)
    return column(ar, out)


def bound_queries(inst: SequenceInstance) -> list[int]:
    """The queries the bound speaks of: those with m ≥ 1 matching keys."""
    return [t for t in range(inst.g.T) if alg.conditional_estimate(inst.seq, inst.g, inst.S, t) is not None]


Evaluate = Callable[[Any, Built, SequenceInstance], Any]
