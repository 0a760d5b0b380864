"""Population gradient descent on the reduced two-layer model of Nichani,
Damian, Lee (2024, arXiv:2402.14735), written plainly: exact population
gradients by enumerating every sequence of the task's law.

The model (the disentangled transformer of the induction family, reduced to
its two trained blocks; our transcription, see the claim's provenance).
Positions 0..L−1, the last, q = L − 1, is the query; X_j = e_{s_j}:

* layer 1, positions only: P = causal-softmax(A⁽¹⁾) (row i over j ≤ i),
  c_i = Σ_{j≤i} P_ij X_j — position i copies the token of the positions it attends to;
* layer 2, query token against copied token: z_j = X_qᵀ A⁽²⁾ c_j for every
  key j ≤ q, w = softmax(z), ŷ = Σ_j w_j X_j — the prediction for the target;
* loss: cross-entropy against the target's law, L = −E Σ_b y_b log(ŷ_b + ε)
  (ε > 0 keeps a token absent from the keys finite), or the linear loss
  −E Σ_b y_b ŷ_b (``eps=None``).

The law enters as a :class:`TargetLaw`: every input sequence s (length L)
with the vector W[s, b] = P(s, target = b), exact rationals.  Everything is
written once, vectorised over sequences, for float64 arrays *and* numpy
object arrays of arb balls (numpy calls each ball's own exp / log), so the
same recursion gives the numerical trajectory and the certified one.

Backward pass (chain rule, per sequence): g_ŷ = W·ℓ'(ŷ); g_w_j = ⟨g_ŷ, X_j⟩;
g_z = w ⊙ (g_w − ⟨w, g_w⟩); ∂L/∂A⁽²⁾ = Σ_j g_z_j X_q c_jᵀ; g_c_j = g_z_j A⁽²⁾ᵀX_q;
g_P_ij = ⟨g_c_i, X_j⟩; ∂L/∂A⁽¹⁾_ij = P_ij (g_P_ij − Σ_k P_ik g_P_ik) for j ≤ i.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import flint
import numpy as np
from transformer_proofs.constructions.arithmetic import arb_precision
from transformer_proofs.verify.population.finite import FiniteLaw, LawError, rational_matrix, stationary_law


@dataclass(frozen=True)
class TargetLaw:
    """Input sequences (M, L) with W[m, b] = P(sequence m, target b), exact."""

    S: int
    seqs: np.ndarray  # (M, L) ints
    W: np.ndarray  # (M, S) Fractions
    parents: tuple[int | None, ...]  # of the L positions (the query, last, a root)
    description: str = ""
    W64: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if sum(self.W.flatten()) != 1:
            raise LawError("a target law's masses must sum to 1")
        object.__setattr__(self, "W64", np.array(self.W, dtype=float))

    @property
    def L(self) -> int:
        return self.seqs.shape[1]


def task_target_law(parents: Sequence[int | None], S: int, pis: Sequence[Any], root: str = "stationary",
                    query_in_chain: bool = False) -> TargetLaw:
    """The authors' task (problems.py, InContextTree) with π uniform over the
    finite list ``pis``: context positions on the DAG ``parents``, roots ~ μ_π
    (``root="stationary"``) or uniform, the query token uniform and outside
    the chain (appended as the last position), target ~ π(·|s_q).
    ``query_in_chain``: the query is the last chain token instead (a mutant)."""
    parents = list(parents)
    n = len(parents)
    fracs = [rational_matrix(pi, S) for pi in pis]
    mus = [[_fmpq(v) for v in (stationary_law(r) if root == "stationary" else [Fraction(1, S)] * S)] for r in fracs]
    rows = [[[_fmpq(v) for v in row] for row in r] for r in fracs]  # the products in flint.fmpq: exact, and fast
    L = n if query_in_chain else n + 1
    seqs = list(itertools.product(range(S), repeat=L))
    W = np.empty((len(seqs), S), dtype=object)
    W[:, :] = Fraction(0)
    for m, s in enumerate(seqs):
        acc = [flint.fmpq(0)] * S
        for r, mu in zip(rows, mus):
            p = flint.fmpq(1, len(rows))
            for j in range(n):
                p *= mu[s[j]] if parents[j] is None else r[s[parents[j]]][s[j]]
                if not p:
                    break
            if not query_in_chain:
                p /= S
            if p:
                acc = [a + p * r[s[L - 1]][b] for b, a in enumerate(acc)]
        for b, a in enumerate(acc):
            if a:
                W[m, b] = Fraction(int(a.p), int(a.q))
    full = tuple(parents) if query_in_chain else tuple(parents) + (None,)
    return TargetLaw(S, np.array(seqs, dtype=int), W, full, f"S={S}, parents={parents}, {len(pis)} π's, roots {root}")


def _fmpq(x: Fraction) -> flint.fmpq:
    return flint.fmpq(x.numerator, x.denominator)


def from_finite_law(law: FiniteLaw, parents: Sequence[int | None]) -> TargetLaw:
    """A law over (inputs…, target) as a TargetLaw (the last token is the target)."""
    S = law.S
    L = law.length - 1
    seqs = list(itertools.product(range(S), repeat=L))
    index = {s: m for m, s in enumerate(seqs)}
    W = np.empty((len(seqs), S), dtype=object)
    W[:, :] = Fraction(0)
    for s, p in law.outcomes:
        W[index[s[:L]], s[L]] += p
    return TargetLaw(S, np.array(seqs, dtype=int), W, tuple(parents))


# ---------------------------------------------------------------------------
# the model, its loss and its exact population gradient
# ---------------------------------------------------------------------------


def _is_ball(a: np.ndarray) -> bool:
    return a.dtype == object


def causal_softmax(A1: np.ndarray, causal: bool = True) -> np.ndarray:
    """Row i: softmax of A1[i, j] over j ≤ i (over all j when not causal)."""
    L = A1.shape[0]
    mask = np.tril(np.ones((L, L), dtype=bool)) if causal else np.ones((L, L), dtype=bool)
    if _is_ball(A1):
        E = np.where(mask, np.exp(A1), flint.arb(0))
    else:
        shifted = np.where(mask, A1, -np.inf)
        E = np.exp(shifted - shifted.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_rows(Z: np.ndarray) -> np.ndarray:
    E = np.exp(Z) if _is_ball(Z) else np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Forward:
    P: np.ndarray  # (L, L) layer-1 pattern
    C: np.ndarray  # (M, L, S) copied tokens
    V: np.ndarray  # (M, S) A2ᵀ X_q
    w: np.ndarray  # (M, L) layer-2 pattern of the query
    y: np.ndarray  # (M, S) prediction


def forward(law: TargetLaw, A1: np.ndarray, A2: np.ndarray, causal: bool = True) -> Forward:
    X = np.eye(law.S, dtype=int)[law.seqs]  # (M, L, S)
    Xq = X[:, -1, :]
    P = causal_softmax(A1, causal)
    C = np.einsum("ij,mjb->mib", P, X)
    V = np.einsum("ma,ab->mb", Xq, A2)
    Z = np.einsum("mb,mjb->mj", V, C)
    w = _softmax_rows(Z)
    y = np.einsum("mj,mjb->mb", w, X)
    return Forward(P, C, V, w, y)


def _weights(law: TargetLaw, like: np.ndarray) -> np.ndarray:
    if not _is_ball(like):
        return law.W64
    return np.vectorize(lambda f: flint.arb(f.numerator) / f.denominator, otypes=[object])(law.W)


def loss(law: TargetLaw, A1: np.ndarray, A2: np.ndarray, eps: Any = Fraction(1, 10), causal: bool = True) -> Any:
    f = forward(law, A1, A2, causal)
    W = _weights(law, A1)
    if eps is None:
        return -(W * f.y).sum()
    e = _const(eps, A1)
    return -(W * np.log(f.y + e)).sum()


def _const(x: Any, like: np.ndarray) -> Any:
    if _is_ball(like):
        q = Fraction(x)
        return flint.arb(q.numerator) / q.denominator
    return float(x)


def gradients(law: TargetLaw, A1: np.ndarray, A2: np.ndarray, eps: Any = Fraction(1, 10),
              causal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(∂L/∂A⁽¹⁾, ∂L/∂A⁽²⁾) exactly as the enumeration's sum (the chain rule in the module docstring)."""
    X = np.eye(law.S, dtype=int)[law.seqs]
    Xq = X[:, -1, :]
    f = forward(law, A1, A2, causal)
    W = _weights(law, A1)
    g_y = -W if eps is None else -W / (f.y + _const(eps, A1))
    g_w = np.einsum("mb,mjb->mj", g_y, X)
    g_z = f.w * (g_w - (f.w * g_w).sum(axis=1, keepdims=True))
    g_A2 = np.einsum("mj,ma,mjb->ab", g_z, Xq, f.C)
    g_C = np.einsum("mj,mb->mjb", g_z, f.V)
    g_P = np.einsum("mib,mjb->ij", g_C, X)
    g_A1 = f.P * (g_P - (f.P * g_P).sum(axis=1, keepdims=True))
    return g_A1, g_A2


# ---------------------------------------------------------------------------
# stage-wise gradient descent
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Stage 1: τ₁ steps of size η₁ on A⁽¹⁾ with A⁽²⁾ = β₀ I fixed; stage 2:
    τ₂ steps of size η₂ on A⁽²⁾ with A⁽¹⁾ fixed.  Rationals.  ``sign`` −1
    climbs the loss (a mutant); ``order`` "A2 first" swaps the stages."""

    eta1: Fraction
    tau1: int
    eta2: Fraction
    tau2: int
    beta0: Fraction = Fraction(1)
    eps: Fraction | None = Fraction(1, 10)
    sign: int = 1
    causal: bool = True
    order: str = "A1 first"


@dataclass
class Trajectory:
    A1: list[np.ndarray]  # after each step of stage 1 (index 0: the initialisation)
    A2: list[np.ndarray]  # after each step of stage 2 (index 0: the end of stage 1)
    losses: list[Any]  # after every step of both stages, index 0 at the initialisation
    prec: int | None = None  # arb bits (None: float64)


def _to(x: Any, ball: bool) -> Any:
    if not ball:
        return float(x)
    q = Fraction(x)
    return flint.arb(q.numerator) / q.denominator


def train(law: TargetLaw, sch: Schedule, prec: int | None = None, keep_losses: bool = True) -> Trajectory:
    """The two stages of population gradient descent, in float64
    (``prec=None``: numerical) or in arb balls at ``prec`` bits (certified:
    every iterate is a ball containing the exact iterate)."""
    ball = prec is not None
    L, S = law.L, law.S

    def run() -> Trajectory:
        zero = _to(0, ball)
        A1 = np.full((L, L), zero, dtype=object if ball else float)
        A2 = np.full((S, S), zero, dtype=object if ball else float)
        for a in range(S):
            A2[a, a] = _to(sch.beta0, ball)
        eta1, eta2 = _to(sch.eta1 * sch.sign, ball), _to(sch.eta2 * sch.sign, ball)
        out = Trajectory([A1.copy()], [], [], prec)
        if keep_losses:
            out.losses.append(loss(law, A1, A2, sch.eps, sch.causal))
        stages = [(1, sch.tau1), (2, sch.tau2)]
        if sch.order == "A2 first":
            stages.reverse()
        for which, tau in stages:
            if which == 2:
                out.A2.append(A2.copy())
            for _ in range(tau):
                g1, g2 = gradients(law, A1, A2, sch.eps, sch.causal)
                if which == 1:
                    A1 = A1 - eta1 * g1
                    out.A1.append(A1.copy())
                else:
                    A2 = A2 - eta2 * g2
                    out.A2.append(A2.copy())
                if keep_losses:
                    out.losses.append(loss(law, A1, A2, sch.eps, sch.causal))
        return out

    if not ball:
        return run()
    with arb_precision(prec):
        return run()


# ---------------------------------------------------------------------------
# reading the trajectory: certified comparisons
# ---------------------------------------------------------------------------


def certainly_greater(a: Any, b: Any) -> bool:
    """a > b certainly (balls) or as floats."""
    return bool(a > b)


def row_recovers(A1: np.ndarray, i: int, parent: int) -> bool:
    """Row i's largest entry over j ≤ i is the parent's, strictly (certainly, for balls)."""
    return all(certainly_greater(A1[i, parent], A1[i, j]) for j in range(i + 1) if j != parent)


def majority_weight(A1: np.ndarray, i: int, parent: int) -> bool:
    """softmax(A⁽¹⁾_i)_parent > 1/2, i.e. e^{A_ip} > Σ_{j≤i, j≠p} e^{A_ij} (certainly, for balls)."""
    if _is_ball(A1):
        rest = sum((A1[i, j].exp() for j in range(i + 1) if j != parent), flint.arb(0))
        return bool(A1[i, parent].exp() > rest)
    rest = sum(np.exp(A1[i, j] - A1[i, parent]) for j in range(i + 1) if j != parent)
    return bool(rest < 1)


def first_step(seq: Sequence[np.ndarray], test: Any) -> int | None:
    """The first index k from which ``test`` holds at every later index (None if never, or not at the end)."""
    k = None
    for idx, A in enumerate(seq):
        if test(A):
            if k is None:
                k = idx
        else:
            k = None
    return k


def diagonal_dominant(A2: np.ndarray) -> bool:
    """Every row of A⁽²⁾ has its strict maximum on the diagonal (the induction head's pattern)."""
    S = A2.shape[0]
    return all(certainly_greater(A2[a, a], A2[a, b]) for a in range(S) for b in range(S) if b != a)


def width(A: np.ndarray) -> float:
    """The largest ball radius of an object array of balls (0 for floats)."""
    if not _is_ball(A):
        return 0.0
    return max(float(x.rad()) for x in A.flatten())


def edge_steps(A1s: Sequence[np.ndarray], i: int, parent: int) -> tuple[int | None, int | None]:
    """(first step from which row i's argmax is the parent, first step from
    which the parent holds a majority of the row's attention), each to the end."""
    return (first_step(A1s, lambda A: row_recovers(A, i, parent)),
            first_step(A1s, lambda A: majority_weight(A, i, parent)))
