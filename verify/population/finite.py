"""Exact expectations over finite laws, by enumeration.

A *finite law* is a list of outcomes (token sequences over a vocabulary
[S] = {0, …, S−1}) with exact rational probabilities.  The laws built here
are the ones the induction family's papers sample:

* :func:`dag_law`: s_j ~ π(·|s_{p(j)}) on a single-parent DAG (a Markov chain
  when p(j) = j − 1), roots from a given law (uniform, or π's stationary law
  μ_π, :func:`stationary_law`), π a rational transition matrix;
* :func:`mixture`: a finite prior over such laws (a finite list of π's);
* :func:`dirichlet_dag_law`: π's rows ~ Dirichlet(α 1_S) integrated out
  exactly (Dirichlet–multinomial moments, :func:`dirichlet_moment`; rational
  for rational α), roots uniform.

Expectations of functions of the sequence are exact (``Fraction``) when the
function is rational (:meth:`FiniteLaw.expectation`), and certified balls
(python-flint arb) when it is not — a softmax (:meth:`FiniteLaw.expectation_ball`).
:func:`hoeffding_halfwidth` gives the Monte Carlo comparison its stated
confidence: for f with values in [a, b], the mean of n i.i.d. samples is
within (b − a)·sqrt(log(2/δ)/(2n)) of E f with probability ≥ 1 − δ.
The cost of enumeration is S^L outcomes for sequences of length L
(benchmarks/bench_population_finite.py).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

import flint
import numpy as np
from transformer_proofs.constructions.arithmetic import arb_precision

Seq = tuple[int, ...]
Matrix = Sequence[Sequence[Any]]


class LawError(ValueError):
    """A law that is not one: negative or non-rational masses, a total other than 1, a bad graph."""


def as_fraction(x: Any) -> Fraction:
    """An exact rational; floats are refused (0.1 is not 1/10 as a double)."""
    if isinstance(x, float):
        raise LawError(f"a probability must be an exact rational, got the float {x!r}")
    if isinstance(x, flint.fmpq):
        return Fraction(int(x.p), int(x.q))
    try:
        return Fraction(x)
    except (TypeError, ValueError) as exc:
        raise LawError(f"not an exact rational: {x!r}") from exc


def rational_matrix(pi: Any, S: int | None = None) -> list[list[Fraction]]:
    """π as rows of Fractions; each row nonnegative and summing to exactly 1."""
    rows = [[as_fraction(v) for v in row] for row in np.asarray(pi, dtype=object)]
    S = len(rows) if S is None else S
    if len(rows) != S or any(len(r) != S for r in rows):
        raise LawError(f"a transition matrix over S = {S} tokens must be {S}×{S}")
    for a, r in enumerate(rows):
        if any(v < 0 for v in r) or sum(r) != 1:
            raise LawError(f"row {a} of the transition matrix is not a probability vector: {[str(v) for v in r]}")
    return rows


@dataclass(frozen=True)
class FiniteLaw:
    """Outcomes with exact probabilities summing to 1."""

    S: int
    outcomes: tuple[tuple[Seq, Fraction], ...]

    def __post_init__(self) -> None:
        if any(p < 0 for _, p in self.outcomes):
            raise LawError("a law has a negative mass")
        total = sum((p for _, p in self.outcomes), Fraction(0))
        if total != 1:
            raise LawError(f"a law's masses sum to {total}, not 1")

    @property
    def length(self) -> int:
        return len(self.outcomes[0][0]) if self.outcomes else 0

    def expectation(self, f: Callable[[Seq], Any]) -> Fraction:
        """E f(s), exactly (f returns ints or Fractions)."""
        return sum((p * as_fraction(f(s)) for s, p in self.outcomes if p), Fraction(0))

    def expectation_ball(self, f: Callable[[Seq], Any], prec: int = 128) -> flint.arb:
        """E f(s) as a certified ball, f returning arb balls (computed at ``prec`` bits)."""
        with arb_precision(prec):
            acc = flint.arb(0)
            for s, p in self.outcomes:
                if p:
                    acc += (flint.arb(p.numerator) / p.denominator) * f(s)
            return acc

    def marginal(self, positions: Sequence[int]) -> FiniteLaw:
        """The law of (s_j)_{j ∈ positions}."""
        out: dict[Seq, Fraction] = {}
        for s, p in self.outcomes:
            key = tuple(s[j] for j in positions)
            out[key] = out.get(key, Fraction(0)) + p
        return FiniteLaw(self.S, tuple(sorted(out.items())))

    def probability(self, event: Callable[[Seq], bool]) -> Fraction:
        return sum((p for s, p in self.outcomes if event(s)), Fraction(0))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n i.i.d. outcomes as an (n, length) int array (for Monte Carlo comparisons)."""
        probs = np.array([float(p) for _, p in self.outcomes])
        idx = rng.choice(len(self.outcomes), size=n, p=probs / probs.sum())
        seqs = np.array([s for s, _ in self.outcomes], dtype=int)
        return seqs[idx]


def mixture(laws: Sequence[FiniteLaw], weights: Sequence[Any] | None = None) -> FiniteLaw:
    """Σ_k w_k law_k (uniform weights by default): a finite prior."""
    if not laws:
        raise LawError("a mixture needs at least one law")
    ws = [Fraction(1, len(laws))] * len(laws) if weights is None else [as_fraction(w) for w in weights]
    if len(ws) != len(laws) or sum(ws) != 1 or any(w < 0 for w in ws):
        raise LawError("mixture weights must be one nonnegative rational per law, summing to 1")
    out: dict[Seq, Fraction] = {}
    for w, law in zip(ws, laws):
        if law.S != laws[0].S:
            raise LawError("the laws of a mixture must share one vocabulary")
        for s, p in law.outcomes:
            out[s] = out.get(s, Fraction(0)) + w * p
    return FiniteLaw(laws[0].S, tuple(sorted(out.items())))


def stationary_law(pi: Any) -> list[Fraction]:
    """μ_π exactly: μᵀπ = μᵀ, Σ μ = 1, by Gaussian elimination over the
    rationals (unique when π is irreducible; refused otherwise)."""
    rows = rational_matrix(pi)
    S = len(rows)
    M = [[rows[b][a] - (1 if a == b else 0) for b in range(S)] + [Fraction(0)] for a in range(S)]
    M[-1] = [Fraction(1)] * S + [Fraction(1)]
    for c in range(S):
        piv = next((r for r in range(c, S) if M[r][c] != 0), None)
        if piv is None:
            raise LawError("the stationary law is not unique (π is not irreducible)")
        M[c], M[piv] = M[piv], M[c]
        for r in range(S):
            if r != c and M[r][c] != 0:
                f = M[r][c] / M[c][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [M[r][S] / M[r][r] for r in range(S)]


def check_parents(parents: Sequence[int | None]) -> list[int | None]:
    out = list(parents)
    for j, p in enumerate(out):
        if p is not None and not (0 <= p < j):
            raise LawError(f"position {j}'s parent must be an earlier position, got {p}")
    return out


def dag_law(S: int, parents: Sequence[int | None], pi: Any, root: Any = "uniform") -> FiniteLaw:
    """s_j ~ π(·|s_{p(j)}) for non-roots, roots ~ ``root`` ("uniform",
    "stationary" for μ_π, or a probability vector): every sequence with its
    exact probability, in lexicographic order."""
    parents = check_parents(parents)
    rows = rational_matrix(pi, S)
    if isinstance(root, str):
        if root == "uniform":
            mu = [Fraction(1, S)] * S
        elif root == "stationary":
            mu = stationary_law(rows)
        else:
            raise LawError(f"root law must be 'uniform', 'stationary' or a vector, got {root!r}")
    else:
        mu = [as_fraction(v) for v in root]
        if len(mu) != S or sum(mu) != 1 or any(v < 0 for v in mu):
            raise LawError("a root law must be a probability vector over the S tokens")
    out = []
    for s in itertools.product(range(S), repeat=len(parents)):
        p = Fraction(1)
        for j, pa in enumerate(parents):
            p *= mu[s[j]] if pa is None else rows[s[pa]][s[j]]
            if not p:
                break
        out.append((s, p))
    return FiniteLaw(S, tuple(out))


def rising(a: Fraction, n: int) -> Fraction:
    """(a)_n = a (a+1) … (a+n−1)."""
    out = Fraction(1)
    for r in range(n):
        out *= a + r
    return out


def dirichlet_moment(alpha: Any, counts: Sequence[int]) -> Fraction:
    """E Π_b π_b^{n_b} for π ~ Dirichlet(α 1_S): Π_b (α)_{n_b} / (Sα)_{Σ n}, exact."""
    a = as_fraction(alpha)
    if a <= 0:
        raise LawError(f"a Dirichlet parameter must be positive, got {a}")
    num = Fraction(1)
    for n in counts:
        num *= rising(a, n)
    return num / rising(len(counts) * a, sum(counts))


def transition_counts(s: Seq, parents: Sequence[int | None], S: int) -> dict[int, list[int]]:
    """n[a][b] = #{j : p(j) defined, s_{p(j)} = a, s_j = b}."""
    counts: dict[int, list[int]] = {}
    for j, pa in enumerate(parents):
        if pa is not None:
            counts.setdefault(s[pa], [0] * S)[s[j]] += 1
    return counts


def dirichlet_dag_law(S: int, parents: Sequence[int | None], alpha: Any) -> FiniteLaw:
    """The DAG law with π's rows ~ Dirichlet(α 1_S) integrated out, roots
    uniform: P(s) = S^{−#roots} Π_a Π_b (α)_{n_ab} / (Sα)_{n_a}, exact."""
    parents = check_parents(parents)
    roots = sum(1 for p in parents if p is None)
    out = []
    for s in itertools.product(range(S), repeat=len(parents)):
        p = Fraction(1, S**roots)
        for n in transition_counts(s, parents, S).values():
            p *= dirichlet_moment(alpha, n)
        out.append((s, p))
    return FiniteLaw(S, tuple(out))


def hoeffding_halfwidth(n: int, delta: float, span: float = 1.0) -> float:
    """The Hoeffding half-width: P(|mean − E| ≥ h) ≤ δ for n samples in an interval of length ``span``."""
    if n < 1 or not 0 < delta < 1:
        raise LawError("Hoeffding needs n ≥ 1 samples and 0 < δ < 1")
    return span * math.sqrt(math.log(2 / delta) / (2 * n))
