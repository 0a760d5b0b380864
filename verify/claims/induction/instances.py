"""Typed instances of the induction family and their draws.

The draws follow the paper's task as the authors' code draws it
(``problems.py``): for one parent per position (``InContextTree``) the rows
of π ~ Dirichlet(α), roots from π's stationary law μ_π, children from
π(·|parent), and the query token — the last position, a root of our graph,
so it is never a layer-2 key — uniform on [S], outside the chain.  For k ≥ 2
parents (``InContextDAG``) the authors draw roots uniformly and the target's
parents are positions of the sequence: our draw does the same (the last
position has k parents).  Sizes are ints: ``S``, ``T`` (positions, the query
included), ``kind`` (0 chain, 1 single-parent DAG with roots, 2 k-parent
DAG), ``k``, ``b2`` (β₂), ``b1`` (β₁; 0 = hard layer 1), ``a10`` (10·α).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.induction_head import CausalGraph, causal_graph
from transformer_proofs.verify.algorithms import induction as alg
from transformer_proofs.verify.draws import Draw

CHAIN, TREE, MULTI = 0, 1, 2


@dataclass(frozen=True)
class SequenceInstance:
    """One sequence of the task with the temperatures the claim uses."""

    g: CausalGraph
    S: int
    seq: np.ndarray
    beta2: Any
    beta1: Any = None  # None: hard layer 1 (β₁ = ∞)
    pi: Any = None

    def describe(self) -> str:
        return (f"S={self.S}, s={self.seq.tolist()}, parents={list(self.g.parents)}, β₂={self.beta2}, "
                f"β₁={'∞' if self.beta1 is None else self.beta1}")


@dataclass(frozen=True)
class GradientInstance:
    """The population gradient at initialisation: a single-parent graph over
    the T context positions (the query and the target come after), S, α and
    the finite list of π's standing for the Dirichlet prior."""

    parents: tuple[int | None, ...]
    S: int
    alpha: Fraction
    pis: tuple[Any, ...]

    def describe(self) -> str:
        return f"S={self.S}, T={len(self.parents)}, α={self.alpha}, parents={list(self.parents)}, {len(self.pis)} π's"


def single_parent_graph(rng: np.random.Generator, T: int, kind: int, root_prob: float = 0.25) -> CausalGraph:
    """T positions, the last the query (a root); positions 0..T-2 a chain
    (kind 0) or a random single-parent DAG with roots (kind 1) whose
    position 1 always has parent 0 (so some key exists)."""
    parents: list[Any] = [None]
    for j in range(1, T - 1):
        if kind == CHAIN:
            parents.append(j - 1)
        elif j > 1 and rng.random() < root_prob:
            parents.append(None)
        else:
            parents.append(int(rng.integers(j)))
    parents.append(None)
    return causal_graph(parents, 1)


def draw_sequence(draw: Draw, sizes: dict[str, int]) -> SequenceInstance:
    rng, S, T = draw.rng, sizes["S"], sizes["T"]
    kind = sizes.get("kind", CHAIN)
    alpha = sizes.get("a10", 5) / 10
    if kind == MULTI:
        k = sizes.get("k", 2)
        g = alg.random_dag(rng, T, k, root_prob=0.15)
        pi = alg.dirichlet_transitions(rng, S, k, alpha=alpha)
        seq = alg.sample_sequence(rng, g, pi, S)  # roots uniform, as the authors' InContextDAG
    else:
        g = single_parent_graph(rng, T, kind)
        pi = alg.dirichlet_transitions(rng, S, 1, alpha=alpha)
        seq = alg.sample_task(rng, g, pi, S)
    return SequenceInstance(g, S, seq, sizes["b2"], sizes.get("b1") or None, pi)


def gradient_graph(rng: np.random.Generator, T: int, kind: int) -> tuple[int | None, ...]:
    """kind 0: chain; 1: star (every position's parent is 0); 2: a random tree."""
    if kind == 0:
        return (None,) + tuple(range(T - 1))
    if kind == 1:
        return (None,) + (0,) * (T - 1)
    return (None,) + tuple(int(rng.integers(j)) for j in range(1, T))


def relabelled(pi: np.ndarray) -> list[np.ndarray]:
    """π under every relabelling σ of the tokens, π'[σa, σb] = π[a, b]: the
    Dirichlet prior is exchangeable, so a finite prior closed under them is
    as symmetric as the true one."""
    S = pi.shape[0]
    out = []
    for sigma in itertools.permutations(range(S)):
        q = np.empty_like(pi)
        for a in range(S):
            for b in range(S):
                q[sigma[a], sigma[b]] = pi[a, b]
        out.append(q)
    return out


def draw_gradient(draw: Draw, sizes: dict[str, int]) -> GradientInstance:
    """N Dirichlet(α) draws of π (rows rounded to multiples of 2^-8), each
    with all its token relabellings: the finite prior standing for the
    Dirichlet one."""
    rng, S = draw.rng, sizes["S"]
    alpha = Fraction(sizes["a10"], 10)
    pis = tuple(q for _ in range(sizes["N"])
                for q in relabelled(alg.dirichlet_transitions(rng, S, 1, alpha=float(alpha), bits=8)))
    return GradientInstance(gradient_graph(rng, sizes["T"], sizes["kind"]), S, alpha, pis)
