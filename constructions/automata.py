"""Shortcuts to automata: transformers that simulate a semiautomaton over T
steps with far fewer than T layers (Liu, Ash, Goel, Krishnamurthy, Zhang,
"Transformers Learn Shortcuts to Automata", ICLR 2023, arXiv:2210.10749).

A semiautomaton A = (Q, Σ, δ) with Q = {0, …, n−1}; on input σ_1 … σ_T from
the start state q_0 it visits q_t = δ(q_{t−1}, σ_t).  A transformer
*simulates* A at length T when its output at every position t is q_t (here:
the one-hot vector e_{q_t}).  Three exact constructions, all ours in their
weights (the paper's statements are read in its abstract; see the claims):

1. :func:`cyclic_transformer` — the cyclic group Z_p (parity for p = 2) in
   **one** attention layer and one MLP.  Each symbol σ is embedded as the group
   element a(σ) ∈ {0, …, p−1} it adds.  Uniform causal attention (the softmax
   of equal scores over the keys i ≤ t) gives the prefix mean
   m_t = (1/t) Σ_{i≤t} a(σ_i); the MLP recovers the count c_t = t·m_t, an
   integer in [0, (p−1)t], position by position, and outputs the one-hot of
   c_t mod p = q_t through ReLU hat functions.  The uniform average is
   the softmax of equal scores (``attention="softmax"``, the paper's form,
   which needs exp); the default writes it as linear attention with key 1 and
   query 1/t (the positional coordinate ``inv_pos``): weight 1/t on every key
   i ≤ t, the same average, which keeps the construction rational.

2. :func:`prefix_transformer` — any semiautomaton in ⌈log₂ T⌉ layers (one
   attention + one MLP each), by parallel prefix composition of the
   transition maps (Hillis–Steele).  Token t carries the 0/1 matrix G_t of the
   map f_{σ_t}: G[b, a] = [δ(a, σ_t) = b]; a BOS token at position 0 carries
   the identity.  In level ℓ (offset 2^ℓ) a hard attention head copies
   G_{max(t−2^ℓ, 0)} into a scratch block P, and the MLP forms the product
   G_t · P — the map "earlier block, then this block" — with ReLU(x + y − 1)
   = x·y on {0, 1}, then clears P.  After level ℓ token t holds the
   composition of the last min(t, 2^{ℓ+1}) maps, so after ⌈log₂ T⌉ levels it
   holds f_{σ_t} ∘ … ∘ f_{σ_1}, whose column q_0 is e_{q_t}.

3. :func:`dihedral_transformer` — S_3 (a solvable, non-abelian group:
   Z_3 ⋊ Z_2) in **constant** depth, the Krohn–Rhodes route: a Z_2 counter of
   the flips, a twist of each rotation by its prefix flip parity, a Z_3 counter
   of the twisted rotations, and a read-out — two attention layers and four
   MLPs whatever T.

All use explicit positional coordinates (one-hot positions; for the
counters also 1/t); every weight is an integer or a Fraction, so the forward
pass is exact in rational arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from transformer_proofs.constructions.engine import MLP, Attention, Head, Transformer


class AutomatonError(ValueError):
    """An invalid semiautomaton or input word."""


@dataclass(frozen=True)
class Semiautomaton:
    """(Q, Σ, δ) with Q = {0, …, n−1}, Σ = {0, …, |Σ|−1}:
    ``table[σ][q] = δ(q, σ)``; ``start`` is q_0."""

    n: int
    table: tuple[tuple[int, ...], ...]
    start: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise AutomatonError(f"a semiautomaton needs at least one state, got n = {self.n}")
        if not self.table:
            raise AutomatonError("a semiautomaton needs at least one input symbol")
        for s, row in enumerate(self.table):
            if len(row) != self.n or any(not 0 <= q < self.n for q in row):
                raise AutomatonError(f"transition row of symbol {s} must map each of the {self.n} states into "
                                     f"0..{self.n - 1}, got {row}")
        if not 0 <= self.start < self.n:
            raise AutomatonError(f"start state {self.start} is not in 0..{self.n - 1}")

    @property
    def symbols(self) -> int:
        return len(self.table)

    def map_matrix(self, symbol: int) -> np.ndarray:
        """G[b, a] = [δ(a, σ) = b]: column a is the one-hot of f_σ(a)."""
        G = np.zeros((self.n, self.n), dtype=int)
        for a, b in enumerate(self.table[symbol]):
            G[b, a] = 1
        return G


def check_word(word: Sequence[int], symbols: int, T: int) -> None:
    if len(word) == 0:
        raise AutomatonError("an input word needs at least one symbol")
    if len(word) != T:
        raise AutomatonError(f"the construction was built for words of length {T}, got {len(word)}")
    bad = [s for s in word if not 0 <= int(s) < symbols]
    if bad:
        raise AutomatonError(f"symbol {bad[0]} is not in the alphabet 0..{symbols - 1}")


def _block(D: int, rows: Sequence[int], cols: Sequence[int] | None = None) -> np.ndarray:
    """A 0/1 selection matrix with ones at (k, rows[k]) (or (rows[k], cols[k]))."""
    if cols is None:
        W = np.zeros((len(rows), D), dtype=object) + 0
        for k, r in enumerate(rows):
            W[k, r] = 1
        return W
    W = np.zeros((D, len(cols)), dtype=object) + 0
    for r, c in zip(rows, cols):
        W[r, c] = 1
    return W


def mean_attention(coordinates: Sequence[str], T: int, source: str, target: str,
                   attention: str = "linear") -> Attention:
    """Uniform causal attention writing mean_t = (1/t) Σ_{i<=t} source_i into ``target``.

    Key k_i = 1 ("one"), query q_t = 1/t ("inv_pos"): score 1/t on each causal key i <= t,
    the uniform average (``"linear"``).  ``"softmax"``: zero query/key weights, so every
    causal score is 0 and softmax weighs each key e⁰ / (t e⁰) = 1/t — the same average."""
    if attention not in ("linear", "softmax"):
        raise AutomatonError(f"attention must be 'linear' or 'softmax', got {attention!r}")
    D, index = len(coordinates), list(coordinates).index
    W_Q, W_K = _block(D, [index("inv_pos")]), _block(D, [index("one")])
    if attention == "softmax":
        W_Q, W_K = W_Q * 0, W_K * 0  # equal (zero) scores: uniform over the causal keys
    head = Head(W_Q=W_Q, W_K=W_K, W_V=_block(D, [index(source)]), W_O=_block(D, [index(target)], [0]))
    return Attention(heads=(head,), score=attention, key_mask=np.ones(T, dtype=int), causal=True)


def counter_mlp(coordinates: Sequence[str], T: int, p: int, mean: str, outputs: Sequence[str]) -> MLP:
    """ReLU MLP adding e_{c_t mod p} to ``outputs`` at every position t <= T, where c_t = t·mean_t is
    an integer in [0, (p−1)t] (a prefix sum of values in {0, …, p−1}).

    For position t and knot k in {−1, 0, …, (p−1)t + 1} one unit
        u_{t,k} = ReLU(t·mean + B·pos_t − B − k),  B = (p−1)T + 1.
    At position t (pos_t = 1) it is ReLU(c_t − k); at another position s (pos_t = 0) its argument is
    t·mean_s − B − k <= (p−1)t − B − k < 0.  The hat h_m(c) = ReLU(c−m+1) − 2ReLU(c−m) + ReLU(c−m−1)
    is [c = m] on the integers, and Σ_{m ≡ q (mod p)} h_m(c_t) = [c_t mod p = q]."""
    D, index = len(coordinates), list(coordinates).index
    B = (p - 1) * T + 1
    units: list[tuple[int, int]] = [(t, k) for t in range(1, T + 1) for k in range(-1, (p - 1) * t + 2)]
    W_in = np.zeros((len(units), D), dtype=object) + 0
    b_in = np.zeros(len(units), dtype=object) + 0
    W_out = np.zeros((D, len(units)), dtype=object) + 0
    where = {u: r for r, u in enumerate(units)}
    for r, (t, k) in enumerate(units):
        W_in[r, index(mean)] = t
        W_in[r, index(f"pos:{t}")] = B
        b_in[r] = -B - k
    for t in range(1, T + 1):
        for m in range((p - 1) * t + 1):
            row = index(outputs[m % p])
            for k, coef in ((m - 1, 1), (m, -2), (m + 1, 1)):
                W_out[row, where[(t, k)]] += coef
    return MLP(W_in=W_in, W_out=W_out, b_in=b_in)


def product_mlp(coordinates: Sequence[str], left: Sequence[str], right: Sequence[str],
                table: dict[tuple[int, int], dict[str, Any]]) -> MLP:
    """A finite function of two one-hot blocks: for each pair (x, y) one unit
    ReLU(left_x + right_y − 1) = [left = e_x and right = e_y], adding ``table[(x, y)]``
    (coordinate → value) to the stream."""
    D, index = len(coordinates), list(coordinates).index
    pairs = sorted(table)
    W_in = np.zeros((len(pairs), D), dtype=object) + 0
    b_in = np.zeros(len(pairs), dtype=object) - 1
    W_out = np.zeros((D, len(pairs)), dtype=object) + 0
    for r, (x, y) in enumerate(pairs):
        W_in[r, index(left[x])] = 1
        W_in[r, index(right[y])] = 1
        for name, value in table[(x, y)].items():
            W_out[index(name), r] = value
    return MLP(W_in=W_in, W_out=W_out, b_in=b_in)


# ---------------------------------------------------------------------------
# 1. Z_p in one layer
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CyclicLayout:
    """Named residual coordinates of the Z_p construction."""

    p: int
    T: int

    @property
    def coordinates(self) -> tuple[str, ...]:
        return (("sigma", "one", "inv_pos") + tuple(f"pos:{t}" for t in range(1, self.T + 1))
                + ("mean",) + tuple(f"state:{q}" for q in range(self.p)))

    def index(self, name: str) -> int:
        return self.coordinates.index(name)

    @property
    def state_rows(self) -> list[int]:
        return [self.index(f"state:{q}") for q in range(self.p)]


def cyclic_prompt(word: Sequence[int], elements: Sequence[int], p: int, T: int) -> np.ndarray:
    """Token t (column t−1): [a(σ_t), 1, 1/t, e_t (one-hot position), 0 (mean), 0…0 (state)]."""
    check_word(word, len(elements), T)
    lay = CyclicLayout(p, T)
    Z = np.zeros((len(lay.coordinates), T), dtype=object) + 0
    for t, s in enumerate(word, start=1):
        Z[lay.index("sigma"), t - 1] = int(elements[int(s)])
        Z[lay.index("one"), t - 1] = 1
        Z[lay.index("inv_pos"), t - 1] = Fraction(1, t)
        Z[lay.index(f"pos:{t}"), t - 1] = 1
    return Z


def cyclic_transformer(p: int, T: int, attention: str = "linear") -> Transformer:
    """One attention layer + one ReLU MLP computing e_{q_t}, q_t = Σ_{i≤t} a_i mod p,
    at every position t ≤ T (a_i ∈ {0, …, p−1} the embedded group elements).

    ``attention="linear"``: key 1, query 1/t (rational); ``"softmax"``: the paper's form,
    zero query and key weights, so every causal score is 0 and softmax gives each key
    i <= t the weight e⁰ / (t e⁰) = 1/t — the same average (exp is needed: reals, balls)."""
    if p < 2:
        raise AutomatonError(f"Z_p needs p >= 2, got p = {p}")
    if T < 1:
        raise AutomatonError(f"the length bound T must be >= 1, got {T}")
    lay = CyclicLayout(p, T)
    layer = mean_attention(lay.coordinates, T, "sigma", "mean", attention)
    mlp = counter_mlp(lay.coordinates, T, p, "mean", [f"state:{q}" for q in range(p)])
    return Transformer(layers=(layer, mlp), coordinates=lay.coordinates, name=f"Z_{p} in one layer, T = {T}")


def cyclic_states(Z_final: Any, p: int, T: int) -> Any:
    """The (p, T) block of one-hot states read from the final stream (batched: (.., p, T))."""
    return Z_final[..., CyclicLayout(p, T).state_rows, :]


def cyclic_hidden_width(p: int, T: int) -> int:
    """MLP hidden units of :func:`cyclic_transformer`: Σ_t ((p−1)t + 3)."""
    return sum((p - 1) * t + 3 for t in range(1, T + 1))


# ---------------------------------------------------------------------------
# 3. S_3 in constant depth: the solvable group Z_3 ⋊ Z_2 as a cascade
# ---------------------------------------------------------------------------
#
# S_3 acting on {0, 1, 2} is the dihedral group: each permutation is x ↦ (−1)^b x + a (mod 3),
# the element (a, b).  The run g_t = σ_t ∘ … ∘ σ_1 has flip parity B_t = Σ_{i<=t} b_i (mod 2) and
# rotation a_t = (−1)^{B_t} Σ_{i<=t} (−1)^{B_i} a_i (mod 3)  (induction on t: a_t = (−1)^{b_t} a_{t−1} + a_t),
# so q_t = g_t(q_0) = (−1)^{B_t} (q_0 + A_t) mod 3 with A_t = Σ_{i<=t} c_i, c_i = (−1)^{B_i} a_i mod 3.
# A Z_2 counter (B), a twist (c), a Z_3 counter (A) and a read-out: constant depth, whatever T.


def dihedral_element(images: Sequence[int]) -> tuple[int, int]:
    """(a, b) with images[x] = (−1)^b x + a (mod 3) for x in {0, 1, 2}: every permutation of three points."""
    if sorted(int(v) for v in images) != [0, 1, 2]:
        raise AutomatonError(f"{list(images)} is not a permutation of {{0, 1, 2}}")
    a = int(images[0]) % 3
    b = 0 if (int(images[1]) - a) % 3 == 1 else 1
    if any((a + (x if b == 0 else -x)) % 3 != int(images[x]) for x in range(3)):
        raise AutomatonError(f"{list(images)} is not x ↦ ±x + a")  # unreachable for a permutation of 3 points
    return a, b


def dihedral_coordinates(T: int) -> tuple[str, ...]:
    return (("flip",) + tuple(f"rot:{k}" for k in range(3)) + ("one", "inv_pos")
            + tuple(f"pos:{t}" for t in range(1, T + 1))
            + ("mean_b", "B:0", "B:1", "c", "mean_c") + tuple(f"A:{k}" for k in range(3))
            + tuple(f"state:{q}" for q in range(3)))


def dihedral_prompt(word: Sequence[int], elements: Sequence[tuple[int, int]], T: int) -> np.ndarray:
    """Token t: [b(σ_t), e_{a(σ_t)}, 1, 1/t, e_t, 0 …] for the element (a, b) of each symbol."""
    check_word(word, len(elements), T)
    names = dihedral_coordinates(T)
    index = names.index
    Z = np.zeros((len(names), T), dtype=object) + 0
    for t, s in enumerate(word, start=1):
        a, b = elements[int(s)]
        Z[index("flip"), t - 1] = int(b)
        Z[index(f"rot:{int(a)}"), t - 1] = 1
        Z[index("one"), t - 1] = 1
        Z[index("inv_pos"), t - 1] = Fraction(1, t)
        Z[index(f"pos:{t}"), t - 1] = 1
    return Z


def dihedral_transformer(T: int, start: int, attention: str = "linear") -> Transformer:
    """S_3 at every length t <= T in two attention layers and four ReLU MLPs (depth independent of T)."""
    if T < 1:
        raise AutomatonError(f"the length bound T must be >= 1, got {T}")
    if start not in (0, 1, 2):
        raise AutomatonError(f"start state {start} is not in 0..2")
    names = dihedral_coordinates(T)
    B, A = ["B:0", "B:1"], [f"A:{k}" for k in range(3)]
    rot = [f"rot:{k}" for k in range(3)]
    layers = (
        mean_attention(names, T, "flip", "mean_b", attention),  # mean_b_t = (1/t) Σ b_i
        counter_mlp(names, T, 2, "mean_b", B),  # e_{B_t}, B_t = Σ b_i mod 2
        # the twist: c_t = (−1)^{B_t} a_t mod 3, one unit per (B_t, a_t) pair
        product_mlp(names, B, rot, {(beta, k): {"c": k if beta == 0 else (-k) % 3}
                                    for beta in range(2) for k in range(3)}),
        mean_attention(names, T, "c", "mean_c", attention),  # mean_c_t = (1/t) Σ c_i
        counter_mlp(names, T, 3, "mean_c", A),  # e_{A_t}, A_t = Σ c_i mod 3
        # the read-out: q_t = (−1)^{B_t} (q_0 + A_t) mod 3
        product_mlp(names, B, A, {(beta, alpha): {f"state:{((-1) ** beta * (start + alpha)) % 3}": 1}
                                  for beta in range(2) for alpha in range(3)}),
    )
    return Transformer(layers=layers, coordinates=names, name=f"S_3 cascade, T = {T}")


def dihedral_states(Z_final: Any, T: int) -> Any:
    """The (3, T) block of one-hot states (batched: (.., 3, T))."""
    index = dihedral_coordinates(T).index
    return Z_final[..., [index(f"state:{q}") for q in range(3)], :]


# ---------------------------------------------------------------------------
# 2. log-depth prefix composition
# ---------------------------------------------------------------------------


def levels_for(T: int) -> int:
    """⌈log₂ T⌉: the levels of parallel prefix composition for length T (0 for T = 1)."""
    if T < 1:
        raise AutomatonError(f"the length bound T must be >= 1, got {T}")
    return math.ceil(math.log2(T)) if T > 1 else 0


@dataclass(frozen=True)
class PrefixLayout:
    """Named residual coordinates: positions 0..T (0 = BOS), the map G and the scratch P."""

    n: int
    T: int

    @property
    def coordinates(self) -> tuple[str, ...]:
        pos = tuple(f"pos:{t}" for t in range(self.T + 1))
        G = tuple(f"G[{b},{a}]" for b in range(self.n) for a in range(self.n))
        P = tuple(f"P[{b},{a}]" for b in range(self.n) for a in range(self.n))
        return pos + G + P

    def pos(self, t: int) -> int:
        return t

    def G(self, b: int, a: int) -> int:
        return self.T + 1 + b * self.n + a

    def P(self, b: int, a: int) -> int:
        return self.T + 1 + self.n * self.n + b * self.n + a


def prefix_prompt(automaton: Semiautomaton, word: Sequence[int], T: int) -> np.ndarray:
    """Column 0: BOS [e_0, I, 0]; column t: [e_t, G(σ_t), 0] with G(σ)[b, a] = [δ(a, σ) = b]."""
    check_word(word, automaton.symbols, T)
    n, lay = automaton.n, PrefixLayout(automaton.n, T)
    Z = np.zeros((len(lay.coordinates), T + 1), dtype=object) + 0
    for t in range(T + 1):
        Z[lay.pos(t), t] = 1
        G = np.eye(n, dtype=int) if t == 0 else automaton.map_matrix(int(word[t - 1]))
        for b in range(n):
            for a in range(n):
                Z[lay.G(b, a), t] = int(G[b, a])
    return Z


def prefix_level(n: int, T: int, offset: int) -> tuple[Attention, MLP]:
    """One level of parallel prefix composition with offset 2^ℓ."""
    lay = PrefixLayout(n, T)
    D = len(lay.coordinates)
    # Attention (hard, linear scores on one-hot positions): key k_i = e_i, query
    # q_t = e_{max(t − offset, 0)}, so S[i, t] = [i = max(t − offset, 0)] <= t (causal).
    # Value: the G block, written into the scratch block P:  P_t = G_{max(t − offset, 0)}.
    W_K = _block(D, [lay.pos(t) for t in range(T + 1)])
    W_Q = np.zeros((T + 1, D), dtype=object) + 0
    for t in range(T + 1):
        W_Q[max(t - offset, 0), lay.pos(t)] = 1
    pairs = [(b, a) for b in range(n) for a in range(n)]
    W_V = _block(D, [lay.G(b, a) for b, a in pairs])
    W_O = _block(D, [lay.P(b, a) for b, a in pairs], list(range(len(pairs))))
    attention = Attention(heads=(Head(W_Q=W_Q, W_K=W_K, W_V=W_V, W_O=W_O),), score="linear",
                          key_mask=np.ones(T + 1, dtype=int), causal=True)
    # MLP: prod[c,b,a] = ReLU(G[c,b] + P[b,a] − 1) = G[c,b]·P[b,a] on {0,1};
    # G[c,a] ← G[c,a] − ReLU(G[c,a]) + Σ_b prod[c,b,a] = (G_t · P)[c, a];  P ← P − ReLU(P) = 0.
    triples = [(c, b, a) for c in range(n) for b in range(n) for a in range(n)]
    H = len(triples) + 2 * len(pairs)
    W_in = np.zeros((H, D), dtype=object) + 0
    b_in = np.zeros(H, dtype=object) + 0
    W_out = np.zeros((D, H), dtype=object) + 0
    for r, (c, b, a) in enumerate(triples):
        W_in[r, lay.G(c, b)] = 1
        W_in[r, lay.P(b, a)] = 1
        b_in[r] = -1
        W_out[lay.G(c, a), r] = 1
    for k, (b, a) in enumerate(pairs):
        rg, rp = len(triples) + k, len(triples) + len(pairs) + k
        W_in[rg, lay.G(b, a)] = 1
        W_out[lay.G(b, a), rg] = -1
        W_in[rp, lay.P(b, a)] = 1
        W_out[lay.P(b, a), rp] = -1
    return attention, MLP(W_in=W_in, W_out=W_out, b_in=b_in)


def prefix_transformer(n: int, T: int, levels: int | None = None) -> Transformer:
    """⌈log₂ T⌉ levels (attention + MLP) for a semiautomaton with n states at length T.
    The construction depends on n and T only: the automaton enters through the prompt."""
    if n < 1:
        raise AutomatonError(f"a semiautomaton needs at least one state, got n = {n}")
    L = levels_for(T) if levels is None else levels
    layers: list[Any] = []
    for ell in range(L):
        layers.extend(prefix_level(n, T, 2**ell))
    return Transformer(layers=tuple(layers), coordinates=PrefixLayout(n, T).coordinates,
                       name=f"prefix composition, n = {n}, T = {T}, {L} levels")


def prefix_states(Z_final: Any, n: int, T: int, start: int) -> Any:
    """The (n, T+1) block of one-hot states: column q_0 of each token's map G_t (batched: (.., n, T+1))."""
    lay = PrefixLayout(n, T)
    return Z_final[..., [lay.G(b, start) for b in range(n)], :]


def prefix_widths(n: int, T: int) -> dict[str, int]:
    """d_model, MLP hidden units and attention head width of :func:`prefix_transformer`."""
    return {"d_model": T + 1 + 2 * n * n, "mlp_hidden": n**3 + 2 * n * n, "head_qk": T + 1, "head_v": n * n}

