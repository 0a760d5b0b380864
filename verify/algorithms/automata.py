"""Reference algorithms for the ``automata`` family, written plainly: the
recurrent run of a semiautomaton, and the words of a given length."""

from __future__ import annotations

import itertools
from typing import Iterator, Sequence


def run(table: Sequence[Sequence[int]], start: int, word: Sequence[int]) -> list[int]:
    """q_1, …, q_T with q_t = δ(q_{t−1}, σ_t), ``table[σ][q] = δ(q, σ)``."""
    states, q = [], start
    for s in word:
        q = table[s][q]
        states.append(q)
    return states


def cyclic_run(elements: Sequence[int], p: int, word: Sequence[int]) -> list[int]:
    """q_t = (a(σ_1) + … + a(σ_t)) mod p: the Z_p semiautomaton from q_0 = 0."""
    out, q = [], 0
    for s in word:
        q = (q + elements[s]) % p
        out.append(q)
    return out


def one_hot_columns(states: Sequence[int], n: int) -> list[list[int]]:
    """The (n, len(states)) 0/1 matrix whose column t is e_{states[t]}."""
    return [[1 if q == r else 0 for q in states] for r in range(n)]


def words(symbols: int, T: int) -> Iterator[tuple[int, ...]]:
    """Every word of length T over {0, …, symbols−1}, in lexicographic order."""
    return itertools.product(range(symbols), repeat=T)
