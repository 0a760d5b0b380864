"""Induction heads and causal structure: the disentangled two-layer
attention-only transformer of Nichani, Damian and Lee (2024), "How
Transformers Learn Causal Structure with Gradient Descent", ICML 2024,
arXiv:2402.14735 (the construction their Stage-1/Stage-2 analysis converges
to), and the additive-residual induction head of Olsson et al. (2022), "In-context
Learning and Induction Heads" (previous-token head + K-composition).

The construction (the authors' CatFormer layout).  With one-hot embeddings h⁽⁰⁾_i = [e_{s_i}; e_i] and
causal softmax attention with identity value,

    layer 1:  A⁽¹⁾ = β₁ Σ_i e_i e_{p(i)}ᵀ  (position block)  copies the parent's token,
    layer 2:  A⁽²⁾ = β₂ I_S on (query's token, key's copied parent token),

the token block of the layer-2 output at a position t is the mixture
(e^{β₂} Σ_{j∈M} e_{s_j} + Σ_{j∉M} e_{s_j}) / (m e^{β₂} + n), which tends to
the in-context conditional ("bigram") estimate as β₂ → ∞.

Positions here are 0-indexed: the sequence is s_0 … s_{T-1}; the paper's
position i is our i - 1.  Which positions count (stated once, used by the
construction and by the reference in verify/algorithms/induction.py alike):

* a query at position t attends to the keys j ≤ t: the causal mask lets a
  position attend to itself, so the query's own (copied parent, token) pair
  — the transition s_{p(t)} → s_t, observed in context — is among the keys;
* the target of the query at t is s_{t+1}, whose parents are (t, p₁(t), …,
  p_{k-1}(t)) (for k = 1: the query itself, as in a Markov chain);
* a root (no parent) has nothing to copy: hard layer 1 at a root attends
  uniformly to j ≤ t (at position 0: to itself, so it "copies" its own
  token).  As printed, roots are keys of layer 2 like every other position;
  then position 0 counts as a spurious transition s_0 → s_0 whenever
  s_0 equals the query token and the β₂ → ∞ limit is *not* the bigram
  estimate (our earlier form, corrected in ``induction.bigram_limit``).  The corrected
  construction (``mask_roots=True``, the default) gives layer 2 the key mask
  "has a full parent set": then construction and reference count exactly the
  same keys, {j ≤ t : j not a root}.

k-parent graphs need k heads in layer 1: head h copies the token of the
h-th parent into its own block; layer 2 compares the query's context
(own token, its copied parents 1 … k-1) with each key's copied parents
1 … k, A⁽²⁾ = β₂ Σ_h (context block h) ⊗ (copied block h).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from transformer_proofs.constructions.engine import Attention, Head, PromptError, Transformer

Number = Any  # int | Fraction (exact weights)


class GraphError(ValueError):
    """An invalid causal graph (a cycle, a parent at or after its child, ...)."""


class SequenceError(ValueError):
    """An invalid token sequence (empty, tokens outside the vocabulary, ...)."""


# ---------------------------------------------------------------------------
# the causal graph
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CausalGraph:
    """Parents of each position (0-indexed): ``parents[j]`` is the ordered
    tuple (p₁(j), …, p_k(j)) or () for a root.  Every non-root has exactly k
    parents, all strictly before it (so the graph is a DAG in position order)."""

    parents: tuple[tuple[int, ...], ...]
    k: int

    @property
    def T(self) -> int:
        return len(self.parents)

    def is_root(self, j: int) -> bool:
        return len(self.parents[j]) == 0

    def non_roots(self) -> np.ndarray:
        """The layer-2 key mask of the corrected construction."""
        return np.array([0 if self.is_root(j) else 1 for j in range(self.T)])


def _find_cycle(parents: Sequence[Sequence[int]]) -> list[int] | None:
    """A cycle j → p(j) → … → j among the edges, if there is one."""
    T = len(parents)
    state = [0] * T  # 0 new, 1 on the stack, 2 done
    for start in range(T):
        stack, path = [(start, iter(parents[start]))], [start]
        if state[start]:
            continue
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif 0 <= nxt < T and state[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            elif 0 <= nxt < T and state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(parents[nxt])))
                path.append(nxt)
    return None


def causal_graph(parents: Sequence[Any], k: int | None = None) -> CausalGraph:
    """Validate and build a graph.  ``parents[j]`` is an int (one parent),
    None (a root) or a sequence of parents.  Errors name the problem: a
    cycle, a parent at or after its child, a parent outside the sequence,
    repeated parents, or a position with a number of parents other than k."""
    if len(parents) == 0:
        raise GraphError("a causal graph needs at least one position (got an empty parent list)")
    norm: list[tuple[int, ...]] = []
    for p in parents:
        if p is None:
            tup: tuple[int, ...] = ()
        elif isinstance(p, (int, np.integer)):
            tup = (int(p),)
        else:
            tup = tuple(int(q) for q in p)
        norm.append(tup)
    cycle = _find_cycle(norm)
    if cycle is not None:
        raise GraphError(f"the causal graph has a cycle {' -> '.join(map(str, cycle))} (child -> parent)")
    for j, tup in enumerate(norm):
        for q in tup:
            if not 0 <= q < len(norm):
                raise GraphError(f"position {j} has parent {q} outside the sequence 0..{len(norm) - 1}")
            if q >= j:
                raise GraphError(f"position {j} has parent {q} at or after itself: parents must come strictly "
                                 "before their child (causal attention cannot see later tokens)")
        if len(set(tup)) != len(tup):
            raise GraphError(f"position {j} lists a parent twice: {tup}")
    sizes = {len(t) for t in norm if t}
    if k is None:
        if len(sizes) > 1:
            raise GraphError(f"non-root positions have different numbers of parents {sorted(sizes)}; give k")
        k = sizes.pop() if sizes else 1
    if k < 1:
        raise GraphError(f"k (parents per non-root, = heads in layer 1) must be >= 1, got {k}")
    for j, tup in enumerate(norm):
        if tup and len(tup) != k:
            raise GraphError(f"position {j} has {len(tup)} parents; every non-root needs exactly k = {k}")
    return CausalGraph(tuple(norm), k)


def markov_chain(T: int) -> CausalGraph:
    """The in-context Markov chain p(i) = i - 1 (position 0 is the root)."""
    if T < 1:
        raise GraphError(f"a Markov chain needs T >= 1 positions, got {T}")
    return causal_graph([None] + list(range(T - 1)), k=1)


def check_sequence(seq: Sequence[int], S: int, graph: CausalGraph | None = None) -> np.ndarray:
    """Tokens as an int array, after checking: nonempty, integers in 0..S-1,
    length equal to the graph's."""
    if S < 1:
        raise SequenceError(f"the vocabulary size S must be >= 1, got {S}")
    arr = np.asarray(seq)
    if arr.ndim != 1:
        raise SequenceError(f"a token sequence must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise SequenceError("empty sequence: the transformer needs at least one token")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(int)
        else:
            raise SequenceError(f"tokens must be integers in 0..{S - 1}, got {list(seq)[:8]}")
    bad = [int(v) for v in arr if not 0 <= v < S]
    if bad:
        raise SequenceError(f"token {bad[0]} is outside the vocabulary 0..{S - 1}")
    if graph is not None and arr.size != graph.T:
        raise SequenceError(f"the sequence has {arr.size} tokens but the graph has {graph.T} positions")
    return arr.astype(int)


# ---------------------------------------------------------------------------
# embedding and coordinates
# ---------------------------------------------------------------------------


def embed(seq: Sequence[int], S: int) -> np.ndarray:
    """h⁽⁰⁾ = [e_{s_i}; e_i] as columns: shape (S + T, T), exact ints."""
    s = check_sequence(seq, S)
    T = len(s)
    H = np.zeros((S + T, T), dtype=object)  # (S+T, T)
    H[:, :] = 0
    for i, tok in enumerate(s):
        H[tok, i] = 1
        H[S + i, i] = 1
    return H


def input_coordinates(S: int, T: int) -> tuple[str, ...]:
    return tuple(f"tok:{a}" for a in range(S)) + tuple(f"pos:{i}" for i in range(T))


def _block(prefix: str, S: int, T: int) -> tuple[str, ...]:
    return tuple(f"{prefix}:{n}" for n in input_coordinates(S, T))


def _matrix(rows: int, cols: int) -> np.ndarray:
    M = np.zeros((rows, cols), dtype=object)
    M[:, :] = 0
    return M


# ---------------------------------------------------------------------------
# layer 1: copy the parents' tokens (k heads)
# ---------------------------------------------------------------------------


def parent_query(graph: CausalGraph, h: int, S: int, beta1: Number) -> np.ndarray:
    """W_Q of head h, shape (T, S+T): q_i = β₁ e_{p_h(i)}, so that the score
    ⟨k_j, q_i⟩ = h_iᵀ A⁽¹⁾ h_j = β₁ [j = p_h(i)] (A⁽¹⁾ = β₁ Σ_i e_i e_{p_h(i)}ᵀ
    on the position block); a root's query is 0 (uniform over j ≤ i)."""
    T = graph.T
    W_Q = _matrix(T, S + T)
    for i, ps in enumerate(graph.parents):
        if ps:
            W_Q[ps[h], S + i] = beta1
    return W_Q


def hard_parent_query(graph: CausalGraph, h: int, S: int) -> np.ndarray:
    """The β₁ → ∞ limit of softmax(β₁[j = p_h(i)]) over j ≤ i, as a linear
    pattern: column i is e_{p_h(i)}, or the uniform average (1/(i+1)) Σ_{j≤i} e_j
    at a root (whose scores are all 0 for every β₁)."""
    T = graph.T
    W_Q = _matrix(T, S + T)
    for i, ps in enumerate(graph.parents):
        if ps:
            W_Q[ps[h], S + i] = 1
        else:
            for j in range(i + 1):
                W_Q[j, S + i] = Fraction(1, i + 1)
    return W_Q


def position_key(S: int, T: int) -> np.ndarray:
    """W_K, shape (T, S+T): k_j = e_j (the position one-hot)."""
    W_K = _matrix(T, S + T)
    for j in range(T):
        W_K[j, S + j] = 1
    return W_K


def copy_layer(graph: CausalGraph, S: int, beta1: Number | None) -> Attention:
    """Layer 1: k heads, head h copying h⁽⁰⁾_{p_h(i)} (token and position)
    into block h of the appended coordinates.  ``beta1=None`` is the hard
    (β₁ = ∞) layer: linear attention with the limiting pattern."""
    T, k = graph.T, graph.k
    D0 = S + T
    heads = []
    for h in range(graph.k):
        W_O = _matrix(k * D0, D0)  # (k(S+T), S+T): write into block h
        for r in range(D0):
            W_O[h * D0 + r, r] = 1
        W_V = np.eye(D0, dtype=int).astype(object)  # identity value: the whole h⁽⁰⁾_j
        W_Q = hard_parent_query(graph, h, S) if beta1 is None else parent_query(graph, h, S, beta1)
        heads.append(Head(W_Q=W_Q, W_K=position_key(S, T), W_V=W_V, W_O=W_O))
    names = tuple(n for h in range(k) for n in _block(f"L1h{h}", S, T))
    return Attention(heads=tuple(heads), score="linear" if beta1 is None else "softmax",
                     key_mask=np.ones(T, dtype=int), causal=True, residual="concat", names=names)


# ---------------------------------------------------------------------------
# layer 2: match the query's context against the keys' copied parents
# ---------------------------------------------------------------------------


def context_block(h: int) -> int:
    """Block of h⁽¹⁾ holding the query's h-th context token: the own token
    (block 0) for h = 0, the copied parent h (block h) for h >= 1."""
    return h


def match_layer(graph: CausalGraph, S: int, beta2: Number, mask_roots: bool = True) -> Attention:
    """Layer 2: one head with A⁽²⁾ = β₂ Σ_{h<k} (query's context block h) ⊗
    (key's copied block h+1), each an I_S on the token coordinates; identity
    value; concatenated.  ``mask_roots`` keeps roots out of the keys (the
    correction); False is the construction as printed."""
    T, k = graph.T, graph.k
    D0 = S + T
    D1 = (1 + k) * D0
    W_Q = _matrix(k * S, D1)  # (kS, D1): β₂ · query's context tokens
    W_K = _matrix(k * S, D1)  # (kS, D1): key's copied parent tokens
    for h in range(k):
        for a in range(S):
            W_Q[h * S + a, context_block(h) * D0 + a] = beta2
            W_K[h * S + a, (h + 1) * D0 + a] = 1
    W_V = np.eye(D1, dtype=int).astype(object)
    base = input_coordinates(S, T) + tuple(n for h in range(k) for n in _block(f"L1h{h}", S, T))
    names = tuple(f"L2:{n}" for n in base)
    key_mask = graph.non_roots() if mask_roots else np.ones(T, dtype=int)
    # a query before the first non-root has no key: its output is the empty sum 0
    return Attention(heads=(Head(W_Q=W_Q, W_K=W_K, W_V=W_V),), score="softmax", key_mask=key_mask,
                     causal=True, residual="concat", names=names, empty_query="zero")


def induction_transformer(graph: CausalGraph, S: int, beta2: Number, beta1: Number | None = None,
                          mask_roots: bool = True) -> Transformer:
    """The two-layer disentangled transformer.  ``beta1=None``: hard layer 1.

    Error bound bought by the temperatures (see verify/algorithms/induction.py):
    at a query with m matching and n non-matching keys, the hard model is
    within 2n/(m e^{β₂} + n) ≤ 2 n e^{-β₂}/m of the conditional estimate
    (ℓ₁), and a finite β₁ adds at most exp(2β₂(2k-1) t/(e^{β₁}+t)) - 1."""
    if S < 1:
        raise SequenceError(f"the vocabulary size S must be >= 1, got {S}")
    for name, b in (("beta1", beta1), ("beta2", beta2)):
        if b is not None and not isinstance(b, (int, Fraction, np.integer)):
            raise PromptError(f"{name} must be an exact number (int or Fraction), got {type(b).__name__}")
    if mask_roots and graph.non_roots().sum() == 0:
        raise GraphError("every position is a root: with roots masked, layer 2 has no keys")
    layers = (copy_layer(graph, S, beta1), match_layer(graph, S, beta2, mask_roots))
    name = f"induction(k={graph.k}, β₁={'∞' if beta1 is None else beta1}, β₂={beta2})"
    return Transformer(layers=layers, coordinates=input_coordinates(S, graph.T), name=name)


def prediction_rows(S: int, graph: CausalGraph) -> slice:
    """Rows of the final state holding the layer-2 output's token block."""
    D1 = (1 + graph.k) * (S + graph.T)
    return slice(D1, D1 + S)


def predictions(final_state: Any, S: int, graph: CausalGraph) -> Any:
    """(S, T): column t is the prediction ŷ_t for s_{t+1}."""
    return final_state[prediction_rows(S, graph), :]


# ---------------------------------------------------------------------------
# Olsson et al.: the additive-residual induction head
# ---------------------------------------------------------------------------


def residual_coordinates(S: int, T: int) -> tuple[str, ...]:
    """[tok (S) | pos (T) | prev (S): the previous token, written by layer 1 |
    out (S): the prediction, written by layer 2]."""
    return (input_coordinates(S, T) + tuple(f"prev:{a}" for a in range(S))
            + tuple(f"out:{a}" for a in range(S)))


def previous_token_transformer(S: int, T: int, beta2: Number, beta1: Number | None = None,
                               offset: int = 1, mask_roots: bool = True) -> Transformer:
    """Two heads on one additive residual stream (TransformerLens layout):

    * layer 0, the previous-token head: q_i = β₁ e_{i-offset}, k_j = e_j
      (positions), v_j = e_{s_j}, W_O writes into ``prev``: the residual of
      position i gains the token of i-1 (β₁ = None: hard, linear limit);
    * layer 1, the induction head by K-composition: q_t = β₂ e_{s_t} (token),
      k_j = prev_j (what layer 0 wrote), v_j = e_{s_j}, W_O writes into ``out``.

    For the Markov chain this is the disentangled construction with its
    blocks laid over one stream; ``offset`` exists for the falsifier."""
    if T < 1:
        raise SequenceError("empty sequence: T must be >= 1")
    D = 3 * S + T
    tok, pos, prev, out = 0, S, S + T, 2 * S + T
    # layer 0: previous-token head
    W_Q0 = _matrix(T, D)
    for i in range(T):
        if i - offset >= 0:
            W_Q0[i - offset, pos + i] = 1 if beta1 is None else beta1
        elif beta1 is None:
            for j in range(i + 1):
                W_Q0[j, pos + i] = Fraction(1, i + 1)
    W_K0 = _matrix(T, D)
    for j in range(T):
        W_K0[j, pos + j] = 1
    W_V0 = _matrix(S, D)  # (S, D): read the token
    W_O0 = _matrix(D, S)  # (D, S): write into prev
    for a in range(S):
        W_V0[a, tok + a] = 1
        W_O0[prev + a, a] = 1
    layer0 = Attention(heads=(Head(W_Q0, W_K0, W_V0, W_O0),), score="linear" if beta1 is None else "softmax",
                       key_mask=np.ones(T, dtype=int), causal=True, residual="add")
    # layer 1: induction head (K-composition through prev)
    W_Q1, W_K1, W_V1, W_O1 = _matrix(S, D), _matrix(S, D), _matrix(S, D), _matrix(D, S)
    for a in range(S):
        W_Q1[a, tok + a] = beta2
        W_K1[a, prev + a] = 1
        W_V1[a, tok + a] = 1
        W_O1[out + a, a] = 1
    km = np.array([0 if i < offset else 1 for i in range(T)]) if mask_roots else np.ones(T, dtype=int)
    layer1 = Attention(heads=(Head(W_Q1, W_K1, W_V1, W_O1),), score="softmax", key_mask=km,
                       causal=True, residual="add", empty_query="zero")
    return Transformer(layers=(layer0, layer1), coordinates=residual_coordinates(S, T),
                       name=f"previous-token + induction head (β₁={'∞' if beta1 is None else beta1}, β₂={beta2})")


def residual_embed(seq: Sequence[int], S: int) -> np.ndarray:
    """[e_{s_i}; e_i; 0; 0]: shape (3S + T, T)."""
    H0 = embed(seq, S)
    T = H0.shape[1]
    return np.concatenate([H0, _matrix(2 * S, T)], axis=0)


def residual_predictions(final_state: Any, S: int, T: int) -> Any:
    return final_state[2 * S + T: 3 * S + T, :]
