"""Typed instances of the memory family and their draws.

Orthonormal embeddings are the columns of a product of ``r`` Householder
reflections H(w) whose vectors w are drawn (dyadic rationals, prime-field
elements or free symbols: the same sampler serves every kind of evidence).
The relation M and the token sequences are drawn from ``draw.rng``.
Sizes: ``d`` (embedding dimension), ``r`` (reflections), ``n_in``,
``n_out`` (items), ``V`` (vocabulary), ``T`` (sequence length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from transformer_proofs.verify.algorithms import memory as alg
from transformer_proofs.verify.draws import Draw


@dataclass(frozen=True)
class MemoryInstance:
    """Two orthonormal bases (input and output items) and a relation."""

    ws_in: tuple[Any, ...]
    ws_out: tuple[Any, ...]
    n_in: int
    n_out: int
    pairs: tuple[tuple[int, int], ...]

    def describe(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, M={list(self.pairs)}"


@dataclass(frozen=True)
class SequenceInstance:
    """One orthonormal basis split into w_E, p, w_1, w_U, and a token sequence."""

    ws: tuple[Any, ...]
    V: int
    seq: tuple[int, ...]

    @property
    def T(self) -> int:
        return len(self.seq)

    def describe(self) -> str:
        return f"V={self.V}, s={list(self.seq)}"


def _vectors(draw: Draw, d: int, r: int) -> tuple[Any, ...]:
    """r reflection vectors.  Redraw rule: a w with wᵀw = 0 (the zero vector, or an isotropic
    vector of GF(p)) has 1 added to its first entry until wᵀw ≠ 0 (symbols are never zero)."""
    out = []
    for _ in range(r):
        w = draw.real(d)
        while _is_zero(sum(x * x for x in w)):
            w = w.copy()
            w[0] = w[0] + 1
        out.append(w)
    return tuple(out)


def _is_zero(x: Any) -> bool:
    try:
        return bool(x == 0)
    except TypeError:
        return False


def draw_memory(draw: Draw, sizes: dict[str, int]) -> MemoryInstance:
    """A relation with each pair present with probability 1/2 (and at least one pair)."""
    d, r, n_in, n_out = sizes["d"], sizes.get("r", 2), sizes["n_in"], sizes["n_out"]
    present = draw.rng.random((n_in, n_out)) < 0.5
    if not present.any():  # redraw rule: the empty relation checks nothing; keep one pair
        present[int(draw.rng.integers(n_in)), int(draw.rng.integers(n_out))] = True
    pairs = tuple((int(i), int(j)) for i, j in np.argwhere(present))
    return MemoryInstance(_vectors(draw, d, r), _vectors(draw, d, r), n_in, n_out, pairs)


def informative(seq: tuple[int, ...], V: int) -> bool:
    """The last token has been followed by at least two different tokens before: the bigram-copy
    question is non-trivial there, and a head that ignores the match, the successor or the order
    gives other counts."""
    last = [row[-1] for row in alg.bigram_counts(seq, V)]
    return sum(c > 0 for c in last) >= 2


def draw_sequence(draw: Draw, sizes: dict[str, int]) -> SequenceInstance:
    """Tokens uniform on [V], d = 3V + T + extra dimensions.  Redraw rule: a sequence that is not
    :func:`informative` is redrawn (the tokens only; at most 1000 times, then an error)."""
    V, T = sizes["V"], sizes["T"]
    d = 3 * V + T + sizes.get("extra", 0)
    for _ in range(1000):
        seq = tuple(int(s) for s in draw.rng.integers(0, V, T))
        if informative(seq, V):
            return SequenceInstance(_vectors(draw, d, sizes.get("r", 2)), V, seq)
    raise ValueError(f"no informative sequence of length {T} over {V} tokens in 1000 draws")
