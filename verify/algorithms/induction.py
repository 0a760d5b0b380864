"""Reference algorithms for the ``induction`` family (Nichani, Damian, Lee
2024, arXiv:2402.14735; Olsson et al. 2022), written plainly: no transformer.

Positions are 0-indexed, as in constructions/induction_head.py, whose
docstring states which positions count; the estimators below count the
same ones:

* the query at position t predicts s_{t+1}; the target's parents are
  (t, p₁(t), …, p_{k-1}(t)), so its context is (s_t, s_{p₁(t)}, …);
* the keys are the non-roots j ≤ t (j = t included: the causal mask lets the
  query attend to itself, and the pair (s_{p(t)}, s_t) is an observed
  transition); a key j matches when its parents' tokens equal the context;
* p̂_t = (1/m) Σ_{j∈M} e_{s_j}: the in-context conditional (for a chain,
  bigram) estimate; undefined when m = 0.

The sampler draws the paper's task (Task 2.4 as the authors' code
``problems.py`` draws it, class ``InContextTree``): transition rows π(·|a) ~
Dirichlet(α), the roots of the single-parent graph from the stationary law
μ_π of π, every other position from π(·|parent), and the query token s_T
drawn uniformly, outside the chain (its target is π(·|s_T)).  For k ≥ 2
parents (``InContextDAG``) the authors draw roots uniformly and the target's
parents are positions of the sequence.  All randomness from a numpy Generator.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any, Sequence

import flint
import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, ErrArray, _object_array
from transformer_proofs.constructions.induction_head import CausalGraph, GraphError, causal_graph, check_sequence
from transformer_proofs.verify.population.finite import stationary_law  # μ_π exactly (one implementation)

# ---------------------------------------------------------------------------
# sampler
# ---------------------------------------------------------------------------


def random_dag(rng: np.random.Generator, T: int, k: int = 1, root_prob: float = 0.0) -> CausalGraph:
    """Positions j < k are roots (they cannot have k distinct earlier
    parents); later ones are roots with probability ``root_prob``, otherwise
    get k distinct parents drawn uniformly from 0..j-1 (in random order).
    The last position always has parents (it is the query)."""
    if T < 1:
        raise GraphError(f"a graph needs T >= 1 positions, got {T}")
    if T <= k:
        raise GraphError(f"T = {T} positions cannot give the last one k = {k} parents")
    parents: list[Any] = []
    for j in range(T):
        if j < k or (j < T - 1 and rng.random() < root_prob):
            parents.append(None)
        else:
            parents.append(tuple(int(q) for q in rng.choice(j, size=k, replace=False)))
    return causal_graph(parents, k)


def dirichlet_transitions(rng: np.random.Generator, S: int, k: int = 1, alpha: float = 1.0,
                          bits: int = 12) -> np.ndarray:
    """π(·|context) for each context in [S]^k, rows ~ Dirichlet(α 1_S),
    returned as exact Fractions (shape (S,)*k + (S,)) with denominators 2^bits,
    every entry positive and every row summing to exactly 1."""
    if S < 1 or alpha <= 0:
        raise ValueError(f"need S >= 1 and alpha > 0, got S={S}, alpha={alpha}")
    if S > 2**bits:
        raise ValueError(f"S = {S} rows cannot have positive entries with denominator 2^{bits}")
    rows = rng.dirichlet(np.full(S, alpha), size=S**k)  # (S^k, S)
    out = np.empty((S**k, S), dtype=object)
    for r, row in enumerate(rows):
        q = [max(1, int(round(v * 2**bits))) for v in row]
        top = int(np.argmax(q))
        q[top] += 2**bits - sum(q)  # exact sum 1; the largest entry absorbs the rounding
        if q[top] < 1:
            raise ValueError("rounding a Dirichlet row failed; use more bits")
        out[r] = [Fraction(v, 2**bits) for v in q]
    return out.reshape((S,) * k + (S,))


def sample_task(rng: np.random.Generator, graph: CausalGraph, pi: np.ndarray, S: int) -> np.ndarray:
    """The single-parent task of the authors' code: ``graph`` has the query as
    its last position, a root; every other root is drawn from μ_π, every
    non-root from π(·|s_parent), the query uniformly on [S]."""
    if graph.k != 1:
        raise ValueError("the stationary-root task is the single-parent one (k = 1)")
    mu = np.array([float(v) for v in stationary_law(pi)])
    T = graph.T
    s = np.zeros(T, dtype=int)
    for j in range(T):
        if j == T - 1:
            s[j] = int(rng.integers(S))
        elif graph.is_root(j):
            s[j] = int(rng.choice(S, p=mu / mu.sum()))
        else:
            row = np.array([float(x) for x in pi[int(s[graph.parents[j][0]])]])
            s[j] = int(rng.choice(S, p=row / row.sum()))
    return s


def sample_sequence(rng: np.random.Generator, graph: CausalGraph, pi: np.ndarray, S: int,
                    length: int | None = None) -> np.ndarray:
    """s_j ~ π(·| s_{p₁(j)}, …, s_{p_k(j)}); roots uniform on [S].  ``length``
    (default T) may be T + 1 to include the target, whose parents are
    (T-1, p₁(T-1), …, p_{k-1}(T-1))."""
    T = graph.T
    L = T if length is None else length
    s = np.zeros(L, dtype=int)
    for j in range(L):
        ctx = context_positions(graph, j - 1) if j == T else graph.parents[j]
        if not ctx:
            s[j] = int(rng.integers(S))
        else:
            row = np.array([float(x) for x in pi[tuple(int(s[q]) for q in ctx)]])
            s[j] = int(rng.choice(S, p=row / row.sum()))
    return s


# ---------------------------------------------------------------------------
# estimators (which positions count: see the module docstring)
# ---------------------------------------------------------------------------


def context_positions(graph: CausalGraph, t: int) -> tuple[int, ...] | None:
    """The target s_{t+1}'s parents (t, p₁(t), …, p_{k-1}(t)); None when t
    lacks the k - 1 parents that needs (k >= 2 and t a root)."""
    if graph.k == 1:
        return (t,)
    if graph.is_root(t):
        return None
    return (t,) + graph.parents[t][: graph.k - 1]


def keys_of(graph: CausalGraph, t: int, count_roots: bool = False) -> list[int]:
    """The keys of the query at t: j ≤ t, non-roots (all j ≤ t if ``count_roots``)."""
    return [j for j in range(t + 1) if count_roots or not graph.is_root(j)]


def matching_keys(seq: Sequence[int], graph: CausalGraph, t: int) -> tuple[list[int], list[int]]:
    """(M, the other keys) at query t: M = keys whose parents' tokens equal
    the target's context tokens."""
    ctx = context_positions(graph, t)
    keys = keys_of(graph, t)
    if ctx is None:
        return [], keys
    want = tuple(int(seq[q]) for q in ctx)
    M = [j for j in keys if tuple(int(seq[q]) for q in graph.parents[j]) == want]
    return M, [j for j in keys if j not in M]


def conditional_estimate(seq: Sequence[int], graph: CausalGraph, S: int, t: int) -> list[Fraction] | None:
    """p̂_t(b) = #{j ∈ M : s_j = b} / m, exactly; None when m = 0."""
    s = check_sequence(seq, S, graph)
    M, _ = matching_keys(s, graph, t)
    if not M:
        return None
    return [Fraction(sum(1 for j in M if s[j] == b), len(M)) for b in range(S)]


def posterior_mean(seq: Sequence[int], graph: CausalGraph, S: int, t: int, alpha: Fraction) -> list[Fraction]:
    """The Dirichlet(α) posterior mean of π(·|context) from the same counts:
    (count_b + α) / (m + S α)."""
    s = check_sequence(seq, S, graph)
    M, _ = matching_keys(s, graph, t)
    return [(sum(1 for j in M if s[j] == b) + alpha) / (len(M) + S * alpha) for b in range(S)]


# ---------------------------------------------------------------------------
# the forward computation, written plainly
# ---------------------------------------------------------------------------


def exp_scalar(ar: Arithmetic, x: Any) -> Any:
    """exp of one scalar of ``ar`` (an ErrArray of shape () for float64+bound)."""
    if isinstance(x, ErrArray):
        return ar.exp(x)
    if isinstance(x, (float, np.floating)):  # plain float64: numpy's exp wants a float array, not an object one
        return ar.exp(np.array([x], dtype=np.float64))[0]
    return ar.exp(_object_array([x], (1,)))[0]


def one_hot(ar: Arithmetic, a: int, S: int) -> Any:
    return ar.array(np.array([1 if b == a else 0 for b in range(S)], dtype=object))


def copied_tokens(ar: Arithmetic, seq: Sequence[int], graph: CausalGraph, S: int, beta1: Any = None) -> list[list[Any]]:
    """c[h][i]: the token that layer 1's head h copies to position i, the
    softmax over j ≤ i of β₁[j = p_h(i)] (β₁ = None: the β₁ → ∞ limit; a
    root has all scores 0 and takes the uniform average over j ≤ i)."""
    s = check_sequence(seq, S, graph)
    big = None if beta1 is None else ar.exp(ar.array(np.array([beta1], dtype=object)))[0]
    out = []
    for h in range(graph.k):
        col = []
        for i in range(graph.T):
            ps = graph.parents[i]
            if ps and big is None:
                col.append(one_hot(ar, int(s[ps[h]]), S))
                continue
            weights = [big if (ps and j == ps[h]) else ar.const(1) for j in range(i + 1)]
            total = weights[0]
            for w in weights[1:]:
                total = total + w
            acc = None
            for j, w in enumerate(weights):
                term = one_hot(ar, int(s[j]), S) * (w / total)
                acc = term if acc is None else acc + term
            col.append(acc)
        out.append(col)
    return out


def dot(ar: Arithmetic, x: Any, y: Any) -> Any:
    return ar.sum(x * y, axis=0)


def layer2_prediction(ar: Arithmetic, seq: Sequence[int], graph: CausalGraph, S: int, beta2: Any,
                      copies: list[list[Any]], count_roots: bool = False) -> list[Any]:
    """ŷ_t for every t: Σ_j w_j e_{s_j} over the keys j ≤ t with
    w ∝ exp(β₂ a_{tj}), a_{tj} = ⟨e_{s_t}, c₁(j)⟩ + Σ_{h≥1} ⟨c_h(t), c_{h+1}(j)⟩
    (the agreement of the query's context with the key's copied parents).
    A query without keys gets 0 (the empty sum)."""
    s = check_sequence(seq, S, graph)
    b2 = ar.const(beta2)
    preds = []
    for t in range(graph.T):
        keys = keys_of(graph, t, count_roots)
        if not keys:
            preds.append(ar.zeros((S,)))
            continue
        ctx = [one_hot(ar, int(s[t]), S)] + [copies[h - 1][t] for h in range(1, graph.k)]
        agree = [sum((dot(ar, ctx[h], copies[h][j]) for h in range(1, graph.k)), dot(ar, ctx[0], copies[0][j]))
                 for j in keys]
        w = [exp_scalar(ar, a * b2) for a in agree]
        total = w[0]
        for wj in w[1:]:
            total = total + wj
        acc = None
        for wj, j in zip(w, keys):
            term = one_hot(ar, int(s[j]), S) * (wj / total)
            acc = term if acc is None else acc + term
        preds.append(acc)
    return preds


def reference_predictions(ar: Arithmetic, seq: Sequence[int], graph: CausalGraph, S: int, beta2: Any,
                          beta1: Any = None, count_roots: bool = False) -> Any:
    """(S, T) array of ŷ_t: the plain two-step algorithm (copy parents, then
    attend to the keys whose copied parents agree with the query's context)."""
    preds = layer2_prediction(ar, seq, graph, S, beta2, copied_tokens(ar, seq, graph, S, beta1), count_roots)
    return ar.concat([p.reshape(S, 1) for p in preds], axis=1)


def mixture_closed_form(ar: Arithmetic, seq: Sequence[int], graph: CausalGraph, S: int, beta2: Any,
                        t: int) -> Any:
    """The printed closed form at a query t (hard layer 1, keys = non-roots):
    (e^{β₂} Σ_{j∈M} e_{s_j} + Σ_{j∉M} e_{s_j}) / (m e^{β₂} + n).  For k ≥ 2
    the non-matching keys agree on a < k parents and carry e^{β₂(a - k)}
    relative weight (the k = 1 form is the case a = 0); here k = 1 only."""
    if graph.k != 1:
        raise ValueError("the printed closed form is for one parent per position (k = 1)")
    s = check_sequence(seq, S, graph)
    M, rest = matching_keys(s, graph, t)
    x = ar.exp(ar.array(np.array([beta2], dtype=object)))[0]
    counts_M = ar.array(np.array([sum(1 for j in M if s[j] == b) for b in range(S)], dtype=object))
    counts_rest = ar.array(np.array([sum(1 for j in rest if s[j] == b) for b in range(S)], dtype=object))
    if not M and not rest:
        return ar.zeros((S,))
    return (counts_M * x + counts_rest) / (x * ar.const(len(M)) + ar.const(len(rest)))


# ---------------------------------------------------------------------------
# the bounds
# ---------------------------------------------------------------------------


def printed_bound(ar: Arithmetic, positions: int, m: int, beta2: Any) -> Any:
    """2 (T - m) e^{-β₂} / m with T the number of positions the query sees."""
    e = ar.exp(ar.array(np.array([-Fraction(beta2)], dtype=object)))[0]
    return e * ar.const(Fraction(2 * (positions - m), m))


def sharp_bound(ar: Arithmetic, n: int, m: int, beta2: Any) -> Any:
    """2n / (m e^{β₂} + n): the exact worst case of ‖ŷ - p̂‖₁ over the tokens
    of the n non-matching keys (attained when they avoid the support of p̂)."""
    x = ar.exp(ar.array(np.array([Fraction(beta2)], dtype=object)))[0]
    return ar.const(2 * n) / (x * ar.const(m) + ar.const(n))


def leakage_bound(ar: Arithmetic, t: int, k: int, beta1: Any, beta2: Any) -> Any:
    """Extra ℓ₁ error at query t from a finite β₁:
    exp(2 β₂ (2k - 1) t / (e^{β₁} + t)) - 1 = O(β₂ T e^{-β₁}).

    Proof: a non-root i ≤ t puts 1 - i/(e^{β₁}+i) ≥ 1 - ε on its parent,
    ε = t/(e^{β₁}+t), so each copied block moves by ε(w̄ - e_p) and each of
    the 2k - 1 inner products in a layer-2 score by at most ε: every score
    moves by at most Δ = β₂(2k-1)ε.  Softmax weights then change by a factor
    in [e^{-2Δ}, e^{2Δ}], so ‖w' - w‖₁ ≤ e^{2Δ} - 1, and ŷ is a combination of
    one-hot values: ‖ŷ' - ŷ‖₁ ≤ ‖w' - w‖₁."""
    e1 = ar.exp(ar.array(np.array([Fraction(beta1)], dtype=object)))[0]
    eps = ar.const(t) / (e1 + ar.const(t))
    delta = eps * ar.const(2 * Fraction(beta2) * (2 * k - 1))
    return ar.exp(ar.array(np.array([delta], dtype=object)))[0] - ar.const(1)


# ---------------------------------------------------------------------------
# the population gradient at initialisation (exact enumeration)
# ---------------------------------------------------------------------------


def sequence_law(graph: CausalGraph, pi: np.ndarray, S: int, length: int) -> list[tuple[tuple[int, ...], Fraction]]:
    """Every sequence of ``length`` tokens (the T inputs, plus the target if
    length = T + 1) with its exact probability; roots uniform."""
    T = graph.T
    out = []
    for seq in itertools.product(range(S), repeat=length):
        p = Fraction(1)
        for j in range(length):
            ctx = context_positions(graph, j - 1) if j == T else graph.parents[j]
            p *= Fraction(1, S) if not ctx else pi[tuple(seq[q] for q in ctx)][seq[j]]
            if p == 0:
                break
        if p:
            out.append((seq, p))
    return out


def rising(a: Fraction, n: int) -> Fraction:
    """The rising factorial a (a+1) … (a+n-1)."""
    out = Fraction(1)
    for r in range(n):
        out *= a + r
    return out


def incontext_law(graph: CausalGraph, S: int, alpha: Fraction, length: int) -> list[tuple[tuple[int, ...], Fraction]]:
    """The paper's task: π drawn afresh for every sequence, rows ~ Dirichlet(α 1_S).
    Integrating π out (Dirichlet moments, exact for rational α):
    P(s) = S^{-#roots} Π_c [Π_b (α)_{n_cb}] / (Sα)_{n_c}, n_cb the number of
    transitions context c → b in s."""
    T = graph.T
    out = []
    for seq in itertools.product(range(S), repeat=length):
        counts: dict[tuple[int, ...], list[int]] = {}
        p = Fraction(1)
        for j in range(length):
            ctx = context_positions(graph, j - 1) if j == T else graph.parents[j]
            if not ctx:
                p *= Fraction(1, S)
                continue
            counts.setdefault(tuple(seq[q] for q in ctx), [0] * S)[seq[j]] += 1
        for n in counts.values():
            num = Fraction(1)
            for b in range(S):
                num *= rising(alpha, n[b])
            p *= num / rising(S * alpha, sum(n))
        out.append((seq, p))
    return out


def task_law(parents: Sequence[int | None], S: int, pis: Sequence[np.ndarray]) -> list[tuple[tuple[int, ...], Fraction]]:
    """The law of (s_0, …, s_{T-1}, s_q, target) in the authors' task with π
    drawn uniformly from the finite list ``pis`` (an empirical Dirichlet
    prior): roots ~ μ_π, children ~ π(·|parent), the query s_q uniform, the
    target ~ π(·|s_q); exact rationals."""
    T = len(parents)
    # the products in flint.fmpq (exact, as Fractions are, at a fraction of the cost); the law's values as Fractions
    mus = [[_fmpq(v) for v in stationary_law(pi)] for pi in pis]
    rows = [[[_fmpq(Fraction(v)) for v in r] for r in np.asarray(pi, dtype=object)] for pi in pis]
    norm = flint.fmpq(1, S * len(pis))
    out = []
    for seq in itertools.product(range(S), repeat=T + 2):
        total = flint.fmpq(0)
        for pi, mu in zip(rows, mus):
            p = flint.fmpq(1)
            for j in range(T):
                p *= mu[seq[j]] if parents[j] is None else pi[seq[parents[j]]][seq[j]]
                if not p:
                    break
            total += p * pi[seq[T]][seq[T + 1]]
        t = total * norm
        out.append((seq, Fraction(int(t.p), int(t.q))))
    return out


def _fmpq(x: Fraction) -> flint.fmpq:
    return flint.fmpq(x.numerator, x.denominator)


def query_law_uniform_roots(parents: Sequence[int | None], S: int, alpha: Fraction) -> list[tuple[tuple[int, ...], Fraction]]:
    """The same task with every root uniform instead of μ_π, π's rows ~
    Dirichlet(α) integrated out exactly (Dirichlet moments)."""
    T = len(parents)
    out = []
    for seq in itertools.product(range(S), repeat=T + 2):
        counts: dict[int, list[int]] = {}
        p = Fraction(1)
        for j in range(T + 2):
            if j == T or (j < T and parents[j] is None):
                p *= Fraction(1, S)
                continue
            ctx = seq[T] if j == T + 1 else seq[parents[j]]
            counts.setdefault(ctx, [0] * S)[seq[j]] += 1
        for n in counts.values():
            num = Fraction(1)
            for b in range(S):
                num *= rising(alpha, n[b])
            p *= num / rising(S * alpha, sum(n))
        out.append((seq, p))
    return out


def init_gradient(graph: CausalGraph, S: int, law: list[tuple[tuple[int, ...], Fraction]]) -> np.ndarray:
    """G[i, j] = lim_{β₀→0} (1/β₀) ∂L/∂A⁽¹⁾[i, j] at A⁽¹⁾ = 0, A⁽²⁾ = β₀ I_S
    on (query token, copied token), all positions keys (k = 1), for the
    linear loss L = -E ŷ_{T-1}(s_T) (the first-order term of the log-loss),
    computed exactly by enumerating ``law``, the law of (s_0, …, s_T)
    (``sequence_law`` for a fixed π, ``incontext_law`` for the paper's task):

        G[i, j] = -(1 / (N (i+1))) E[([s_T = s_i] - ȳ(s_T)) ([s_q = s_j] - c_i(s_q))]

    for j ≤ i (0 above the diagonal), q = T - 1 the query, N = T keys,
    ȳ = (1/N) Σ_l e_{s_l}, c_i = (1/(i+1)) Σ_{r≤i} e_{s_r}.  (Chain rule:
    ∂w_l/∂c_i = β₀ w_l (δ_{li} - w_i) e_{s_q}ᵀ, ∂c_i/∂A[i,j] = a_{ij}(e_{s_j} - c_i),
    at w = 1/N, a_{ij} = 1/(i+1).)"""
    if graph.k != 1:
        raise ValueError("the gradient at initialisation is computed for one parent per position")
    T = graph.T
    N, q = T, T - 1
    G = np.empty((T, T), dtype=object)
    G[:, :] = Fraction(0)
    for seq, p in law:
        if len(seq) != T + 1:
            raise ValueError(f"the law must be over T + 1 = {T + 1} tokens (inputs and target), got {len(seq)}")
        target, sq = seq[T], seq[q]
        ybar_t = Fraction(sum(1 for l in range(N) if seq[l] == target), N)
        for i in range(T):
            left = (1 if seq[i] == target else 0) - ybar_t
            if left == 0:
                continue
            c_iq = Fraction(sum(1 for r in range(i + 1) if seq[r] == sq), i + 1)
            for j in range(i + 1):
                G[i, j] -= p * left * ((1 if seq[j] == sq else 0) - c_iq) / (N * (i + 1))
    return G


def pair_joint(graph: CausalGraph, pi: np.ndarray, S: int, i: int, j: int,
               law: list[tuple[tuple[int, ...], Fraction]] | None = None) -> np.ndarray:
    """P(s_i = a, s_j = b) exactly, shape (S, S)."""
    law = sequence_law(graph, pi, S, graph.T) if law is None else law
    P = np.empty((S, S), dtype=object)
    P[:, :] = Fraction(0)
    for seq, p in law:
        P[seq[i], seq[j]] += p
    return P


def chi2_mutual_information(P: np.ndarray) -> Fraction:
    """I_χ²(X; Y) = Σ_{a,b} P(a,b)² / (P(a) P(b)) - 1 (terms with P(a)P(b) = 0 vanish)."""
    rows, cols = P.sum(axis=1), P.sum(axis=0)
    total = Fraction(0)
    for a in range(P.shape[0]):
        for b in range(P.shape[1]):
            if rows[a] and cols[b]:
                total += Fraction(P[a, b]) ** 2 / (rows[a] * cols[b])
    return total - 1
