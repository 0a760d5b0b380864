"""Family ``automata``: Liu et al. (2023), arXiv:2210.10749.

- ``automata.cyclic_one_layer``: Z_p (parity for p = 2) at every length
  t <= T in one attention layer and one MLP.
- ``automata.prefix_log_depth``: every semiautomaton at length T in
  ⌈log₂ T⌉ levels (attention + MLP) of parallel prefix composition.

Both are checked exactly, in rational arithmetic, on every word of length T
(:mod:`.exhaustive`); the falsifiers are mutants run through the same check.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np
from transformer_proofs.constructions import automata as A
from transformer_proofs.constructions.arithmetic import Ball
from transformer_proofs.constructions.engine import MLP, Attention
from transformer_proofs.constructions.exact_batch import BatchedRational, Integers
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import automata as alg
from transformer_proofs.verify.checkers import falsifier_from_check
from transformer_proofs.verify.claims.automata.exhaustive import Simulator, check_every_word, every_word_check
from transformer_proofs.verify.claims.automata.figures import layers_figure
from transformer_proofs.verify.claims.automata.instances import (
    CyclicCase,
    DihedralCase,
    PrefixCase,
    cyclic_cases,
    dihedral_cases,
    prefix_cases,
    softmax_cases,
)
from transformer_proofs.verify.claims.automata.papers import LIU
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Claim, Falsifier, Provenance

ABSTRACT = ("By representing automata using the algebraic structure of their underlying transformation semigroups, "
            "we obtain O(log T)-depth simulators for all automata and O(1)-depth simulators for all automata whose "
            "associated groups are solvable.")

# ---------------------------------------------------------------------------
# Z_p in one layer
# ---------------------------------------------------------------------------


def build_cyclic(case: CyclicCase, attention: str = "linear") -> Simulator:
    p, T = case.p, case.T
    return Simulator(
        model=A.cyclic_transformer(p, T, attention),
        embed=lambda w: A.cyclic_prompt(w, case.elements, p, T),
        read=lambda Z: A.cyclic_states(Z, p, T),
        reference=lambda w: alg.one_hot_columns(alg.cyclic_run(case.elements, p, w), p),
        symbols=len(case.elements), T=T)


def _strict_causal(ar: Any, K: Any, Q: Any) -> Any:
    """Linear scores with the diagonal removed: with the engine's causal mask, keys i < t only."""
    S = ar.matmul(ar.T(K), Q)
    N = S.shape[-1]
    return ar.apply_mask(S, 1 - np.eye(N, dtype=int))


def _attention(sim: Simulator, fn: Callable[[Attention], Attention]) -> Simulator:
    return replace(sim, model=mutants.map_attention(sim.model, fn))


def _query_one(sim: Simulator, case: CyclicCase) -> Simulator:
    lay = A.CyclicLayout(case.p, case.T)
    W_Q = np.zeros((1, len(lay.coordinates)), dtype=object) + 0
    W_Q[0, lay.index("one")] = 1
    return replace(sim, model=mutants.map_heads(sim.model, lambda h: replace(h, W_Q=W_Q)))


def _wrong_elements(sim: Simulator, case: CyclicCase) -> Simulator:
    wrong = tuple(reversed(case.elements)) if case.p == 2 else (case.elements[0], case.elements[2], case.elements[1]) \
        + case.elements[3:]
    return replace(sim, embed=lambda w: A.cyclic_prompt(w, wrong, case.p, case.T))


def _rotated_readout(sim: Simulator, case: CyclicCase) -> Simulator:
    return replace(sim, read=lambda Z: np.roll(A.cyclic_states(Z, case.p, case.T), 1, axis=-2))


CYCLIC_MUTANTS: tuple[tuple[str, str, Callable[[Simulator, Any], Simulator]], ...] = (
    ("off-by-one causal mask", "keys i < t only (the token does not attend to itself)",
     lambda s, c: _attention(s, lambda a: replace(a, score=_strict_causal))),
    ("no causal mask", "every token attends to the whole word (causal = False)",
     lambda s, c: _attention(s, lambda a: replace(a, causal=False))),
    ("dropped normalisation", "query 1 instead of 1/t: the prefix sum, not the prefix mean, reaches the MLP",
     _query_one),
    ("wrong group element table", "symbols embedded as the wrong elements of Z_p (parity: 0 ↔ 1; Z_3: 1 ↔ 2)",
     _wrong_elements),
    ("one layer fewer", "the MLP dropped: the mean is never read out as a state",
     lambda s, c: replace(s, model=mutants.drop_last_layer(s.model))),
    ("wrong read-out", "the state block read with its rows rotated by one", _rotated_readout),
)


def build_softmax(case: CyclicCase) -> Simulator:
    return build_cyclic(case, "softmax")


SOFTMAX_MODE = "arb[128 bits] (every word)"
SOFTMAX_MUTANTS: tuple[tuple[str, str, Callable[[Simulator, Any], Simulator]], ...] = (
    ("softmax form: no causal mask", "the paper's softmax form attending to the whole word",
     lambda s, c: _attention(s, lambda a: replace(a, causal=False))),
    ("softmax form: wrong group element table", "the softmax form with symbols embedded as the wrong elements",
     _wrong_elements),
)


def _cyclic_widths(case: CyclicCase) -> str:
    D = len(A.CyclicLayout(case.p, case.T).coordinates)
    return f"1 attention + 1 MLP layer, d_model = {D}, MLP width {A.cyclic_hidden_width(case.p, case.T)}"


def _falsifiers(cases: Callable, build: Callable, table: tuple, arithmetic: Callable = BatchedRational) -> list[Falsifier]:
    return [falsifier_from_check(name, desc, (lambda m: lambda ctx: check_every_word(
        cases, build, ctx, m, arithmetic=arithmetic))(fn)) for name, desc, fn in table]


register(Claim(
    id="automata.cyclic_one_layer", paper=replace(LIU, where="Z_p / parity in one layer (recalled)"),
    kind="identity",
    statement=("The cyclic group Z_p (parity for p = 2) is simulated at every length t <= T by one attention layer "
               "and one ReLU MLP: uniform causal attention gives the prefix mean (1/t) Σ_{i<=t} a(σ_i), and the MLP "
               "reads out e_{q_t}, q_t = Σ_{i<=t} a(σ_i) mod p, exactly."),
    checks={"rational (every word)": every_word_check(cyclic_cases, build_cyclic, describe_model=_cyclic_widths),
            SOFTMAX_MODE: every_word_check(softmax_cases, build_softmax, arithmetic=Ball)},
    falsifiers=_falsifiers(cyclic_cases, build_cyclic, CYCLIC_MUTANTS) + _falsifiers(
        softmax_cases, build_softmax, SOFTMAX_MUTANTS, Ball),
    provenance=Provenance(
        "recalled", "§3 (the modular counter / parity in one layer: prefix mean by uniform attention, then an MLP)",
        read_in="the abstract only; the theorem's text could not be retrieved here",
        note="the weights are ours: uniform causal attention as linear attention with key 1 and query 1/t (exactly "
             "the softmax of equal scores), then a ReLU MLP of hat functions gated by one-hot positions that maps "
             "(t, mean) to e_{t·mean mod p}; width O(p T²)"),
    trust=("exact: rational arithmetic on every word of length T, every position (prefixes by the causal mask)",
           "certified: the paper's softmax form (equal scores) in arb ball arithmetic on every word of a smaller "
           "length, each state entry enclosing the run's 0 or 1 (as exact reals it equals the linear form: e⁰ = 1)",
           "the positional coordinates 1/t and one-hot t are part of the embedding (as in the paper, positions are "
           "given)", "recalled: the paper's one-layer statement was not re-read"),
    notes=("The paper's softmax attention with equal scores is written as linear attention with query 1/t, which is "
           "the same average and keeps the check rational; the softmax form itself is checked in ball arithmetic.  The MLP's width grows as Σ_t ((p−1)t + 3): a finite "
           "look-up table over the finitely many (t, mean) pairs, built exactly from ReLU hats.")))

# ---------------------------------------------------------------------------
# every semiautomaton in ⌈log₂ T⌉ levels
# ---------------------------------------------------------------------------


def build_prefix(case: PrefixCase, levels: int | None = None) -> Simulator:
    aut, T = case.automaton, case.T
    return Simulator(
        model=A.prefix_transformer(aut.n, T, levels),
        embed=lambda w: A.prefix_prompt(aut, w, T),
        read=lambda Z: A.prefix_states(Z, aut.n, T, aut.start),
        reference=lambda w: alg.one_hot_columns([aut.start] + alg.run(aut.table, aut.start, w), aut.n),
        symbols=aut.symbols, T=T)


def _off_by_one_offset(sim: Simulator, case: PrefixCase) -> Simulator:
    n, T = case.automaton.n, case.T
    layers = [layer for ell in range(A.levels_for(T)) for layer in A.prefix_level(n, T, 2**ell + 1)]
    return replace(sim, model=sim.model.with_layers(layers))


def _map_mlps(sim: Simulator, fn: Callable[[MLP], MLP]) -> Simulator:
    return replace(sim, model=sim.model.with_layers([fn(x) if isinstance(x, MLP) else x for x in sim.model.layers]))


def _swap_order(case: PrefixCase) -> Callable[[MLP], MLP]:
    """The product units read P[c,b] + G[b,a]: P·G (this block first, then the earlier one)."""
    n, T = case.automaton.n, case.T
    lay = A.PrefixLayout(n, T)
    g = [lay.G(b, a) for b in range(n) for a in range(n)]
    pp = [lay.P(b, a) for b in range(n) for a in range(n)]

    def fn(mlp: MLP) -> MLP:
        W = np.array(mlp.W_in, dtype=object)
        rows = slice(0, n**3)
        block_G, block_P = W[rows][:, g].copy(), W[rows][:, pp].copy()
        W[rows, g[0]:g[-1] + 1] = block_P
        W[rows, pp[0]:pp[-1] + 1] = block_G
        return replace(mlp, W_in=W)
    return fn


def _scratch_kept(case: PrefixCase) -> Callable[[MLP], MLP]:
    n, T = case.automaton.n, case.T
    lay = A.PrefixLayout(n, T)

    def fn(mlp: MLP) -> MLP:
        W = np.array(mlp.W_out, dtype=object)
        for b in range(n):
            for a in range(n):
                W[lay.P(b, a), :] = 0
        return replace(mlp, W_out=W)
    return fn


def _wrong_table(sim: Simulator, case: PrefixCase) -> Simulator:
    aut = case.automaton
    row = list(aut.table[0])
    row[0], row[1] = row[1], row[0]
    if row == list(aut.table[0]):  # a constant map: send state 0 elsewhere
        row[0] = (row[0] + 1) % aut.n
    wrong = replace(aut, table=(tuple(row),) + aut.table[1:])
    return replace(sim, embed=lambda w: A.prefix_prompt(wrong, w, case.T))


def _bos_zero(sim: Simulator, case: PrefixCase) -> Simulator:
    aut, T = case.automaton, case.T
    lay = A.PrefixLayout(aut.n, T)

    def embed(w: Any) -> np.ndarray:
        Z = A.prefix_prompt(aut, w, T)
        Z[[lay.G(b, b) for b in range(aut.n)], 0] = 0
        return Z
    return replace(sim, embed=embed)


PREFIX_MUTANTS: tuple[tuple[str, str, Callable[[Simulator, Any], Simulator]], ...] = (
    ("one layer fewer", "⌈log₂ T⌉ − 1 levels: the last level's attention and MLP dropped",
     lambda s, c: build_prefix(c, A.levels_for(c.T) - 1)),
    ("off-by-one offset", "level ℓ attends to t − 2^ℓ − 1 instead of t − 2^ℓ", _off_by_one_offset),
    ("composition order swapped", "the MLP forms P·G (earlier map after this block's) instead of G·P",
     lambda s, c: _map_mlps(s, _swap_order(c))),
    ("wrong transition table", "the embedding of symbol 0 with two entries of δ(·, 0) swapped", _wrong_table),
    ("BOS not the identity", "the BOS token carries the zero map instead of I", _bos_zero),
    ("scratch not cleared", "the MLP leaves the copied map in P, so the next level adds to it",
     lambda s, c: _map_mlps(s, _scratch_kept(c))),
)


def _prefix_widths(case: PrefixCase) -> str:
    w = A.prefix_widths(case.automaton.n, case.T)
    L = A.levels_for(case.T)
    return (f"{L} levels = ⌈log₂ {case.T}⌉ (attention + MLP each, {2 * L} layers), d_model = {w['d_model']}, "
            f"MLP width {w['mlp_hidden']} = n³ + 2n²")


register(Claim(
    id="automata.prefix_log_depth", paper=replace(LIU, where="O(log T)-depth simulators for all automata (abstract)"),
    kind="identity",
    statement=("Every semiautomaton (Q, Σ, δ) is simulated at length T by ⌈log₂ T⌉ levels of one hard-attention "
               "head and one ReLU MLP (parallel prefix composition of the transition maps as one-hot matrices): "
               "the output at every position t <= T is e_{q_t}, exactly — O(log T) depth against the T steps of "
               "the recurrence."),
    checks={"integers (every word)": every_word_check(prefix_cases, build_prefix, describe_model=_prefix_widths,
                                                      arithmetic=Integers)},
    falsifiers=_falsifiers(prefix_cases, build_prefix, PREFIX_MUTANTS, Integers), figure=layers_figure,
    provenance=Provenance(
        "printed", "Abstract (the O(log T)-depth simulators for all automata)",
        quote=ABSTRACT, read_in="the abstract (OpenReview De4FYqjFueZ / arXiv); the theorem's text could not be "
                                "retrieved here, so its width bounds are not compared",
        note="the depth statement is the paper's; the weights (one-hot positions, a BOS identity, hard attention by "
             "0/1 linear scores, products as ReLU(x + y − 1)) are ours, a recalled reading of the paper's "
             "divide-and-conquer construction"),
    trust=("exact: integer arithmetic (int64 with every product's bound checked below 2^62, so no overflow) on every "
           "word of length T over the alphabet, every position",
           "automata: S_3 (a non-abelian group), a 4-cell gridworld (aperiodic), the flip-flop (a memory)",
           "the depth ⌈log₂ T⌉ is checked to be needed by the construction: one level fewer is caught"),
    notes=("Depth and widths of our construction: ⌈log₂ T⌉ levels; d_model = T + 1 + 2|Q|² (one-hot positions, the map "
           "G and the scratch P), MLP width |Q|³ + 2|Q|², one head of width T + 1 (keys/queries) and |Q|² (values).  "
           "The paper's own width bounds were not read (see provenance).  A solvable-group O(1)-depth simulator "
           "(Krohn–Rhodes) is not built.")))

# ---------------------------------------------------------------------------
# a solvable group in constant depth: S_3 = Z_3 ⋊ Z_2
# ---------------------------------------------------------------------------


def _elements(case: DihedralCase) -> list[tuple[int, int]]:
    return [A.dihedral_element(row) for row in case.automaton.table]


def build_dihedral(case: DihedralCase) -> Simulator:
    aut, T = case.automaton, case.T
    elements = _elements(case)
    return Simulator(
        model=A.dihedral_transformer(T, aut.start),
        embed=lambda w: A.dihedral_prompt(w, elements, T),
        read=lambda Z: A.dihedral_states(Z, T),
        reference=lambda w: alg.one_hot_columns(alg.run(aut.table, aut.start, w), 3),
        symbols=aut.symbols, T=T)


def _replace_layer(sim: Simulator, k: int, layer: Any) -> Simulator:
    layers = list(sim.model.layers)
    layers[k] = layer
    return replace(sim, model=sim.model.with_layers(layers))


def _twist(case: DihedralCase, sign: Callable[[int, int], int]) -> Any:
    names = A.dihedral_coordinates(case.T)
    return A.product_mlp(names, ["B:0", "B:1"], [f"rot:{k}" for k in range(3)],
                         {(beta, k): {"c": sign(beta, k) % 3} for beta in range(2) for k in range(3)})


def _readout_unflipped(sim: Simulator, case: DihedralCase) -> Simulator:
    names, q0 = A.dihedral_coordinates(case.T), case.automaton.start
    return _replace_layer(sim, 5, A.product_mlp(names, ["B:0", "B:1"], [f"A:{k}" for k in range(3)],
                                                {(beta, alpha): {f"state:{(q0 + alpha) % 3}": 1}
                                                 for beta in range(2) for alpha in range(3)}))


def _wrong_dihedral_table(sim: Simulator, case: DihedralCase) -> Simulator:
    elements = _elements(case)
    a, b = elements[0]
    wrong = [((a + 1) % 3, b)] + elements[1:]  # symbol 0 read as another permutation of the same parity
    return replace(sim, embed=lambda w: A.dihedral_prompt(w, wrong, case.T))


DIHEDRAL_MUTANTS: tuple[tuple[str, str, Callable[[Simulator, Any], Simulator]], ...] = (
    ("untwisted rotations", "c_t = a_t: S_3 treated as the abelian Z_3 × Z_2",
     lambda s, c: _replace_layer(s, 2, _twist(c, lambda beta, k: k))),
    ("twist by the opposite parity", "c_t = (−1)^{B_t + 1} a_t",
     lambda s, c: _replace_layer(s, 2, _twist(c, lambda beta, k: -k if beta == 0 else k))),
    ("read-out without the final flip", "q_t = q_0 + A_t instead of (−1)^{B_t}(q_0 + A_t)", _readout_unflipped),
    ("one layer fewer", "the read-out MLP dropped", lambda s, c: replace(s, model=mutants.drop_last_layer(s.model))),
    ("wrong group element table", "symbol 0 embedded as (a + 1, b): another permutation", _wrong_dihedral_table),
    ("off-by-one causal mask", "both counters' attention over keys i < t only",
     lambda s, c: _attention(s, lambda a: replace(a, score=_strict_causal))),
)


def _dihedral_widths(case: DihedralCase) -> str:
    model = A.dihedral_transformer(case.T, case.automaton.start)
    hidden = [layer.W_in.shape[0] for layer in model.layers if isinstance(layer, MLP)]
    return (f"2 attention + 4 MLP layers, d_model = {model.d_model}, MLP widths {hidden}")


register(Claim(
    id="automata.solvable_constant_depth",
    paper=replace(LIU, where="O(1)-depth simulators for solvable groups (abstract); S_3 = Z_3 ⋊ Z_2"),
    kind="identity",
    statement=("The symmetric group S_3 acting on three points (solvable: Z_3 ⋊ Z_2) is simulated at every length "
               "t <= T by two attention layers and four ReLU MLPs, a depth independent of T: a Z_2 counter of the "
               "flips B_t, each rotation twisted by its prefix parity, a Z_3 counter of the twisted rotations A_t, "
               "and the read-out q_t = (−1)^{B_t}(q_0 + A_t) mod 3 — exactly."),
    checks={"rational (every word)": every_word_check(dihedral_cases, build_dihedral,
                                                      describe_model=_dihedral_widths)},
    falsifiers=_falsifiers(dihedral_cases, build_dihedral, DIHEDRAL_MUTANTS),
    provenance=Provenance(
        "printed", "Abstract (O(1)-depth simulators for all automata whose associated groups are solvable)",
        quote=ABSTRACT, read_in="the abstract; the theorem's text could not be retrieved here",
        note="the constant-depth statement is the paper's; this cascade for S_3 (a Z_2 counter, a twist, a Z_3 "
             "counter, a read-out, each counter the one-layer Z_p construction) and its weights are ours; widths "
             "are not compared with the paper's"),
    trust=("exact: rational arithmetic on every word of length T, every position: S_3 with its two generators "
           "(a transposition and a 3-cycle) and with all six elements as symbols, two start states",
           "the identity q_t = (−1)^{B_t}(q_0 + Σ_i (−1)^{B_i} a_i) is ours, checked here against the recurrent run"),
    notes=("Depth 2 attention + 4 MLP layers for every T (the prefix composition needs 2⌈log₂ T⌉); the counters' "
           "MLPs grow as O(T²) units, the price of reading t·mean exactly.  Only S_3 is built: a general "
           "Krohn–Rhodes decomposition is not.")))
