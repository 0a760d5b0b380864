"""Reference algorithms for the ``memory`` family (Bietti et al. 2023,
arXiv:2306.00802), written plainly: the in-context bigram counts an
induction head should output, and our closed-form second moments of the
retrieval error of a random outer-product memory."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence


def bigram_counts(seq: Sequence[int], V: int) -> list[list[int]]:
    """c[k][t] = #{1 <= i <= t : s_{i−1} = s_t, s_i = k} (0-indexed positions): the
    transitions out of the current token seen so far, the current one included."""
    T = len(seq)
    out = [[0] * T for _ in range(V)]
    for t in range(T):
        for i in range(1, t + 1):
            if seq[i - 1] == seq[t]:
                out[seq[i]][t] += 1
    return out


def bigram_copy(seq: Sequence[int], V: int) -> int | None:
    """The bigram-copy prediction at the last position: the most frequent successor of
    the last token in context (smallest token on a tie); None when it has none."""
    counts = [row[-1] for row in bigram_counts(seq, V)]
    best = max(counts)
    return None if best == 0 else counts.index(best)


def stored_error_moment(d: int, N: int) -> Fraction:
    """E[(v_σ(i)ᵀ W u_i − 1)²] for W = Σ_m v_σ(m) u_mᵀ over a bijection σ of N pairs, all
    embeddings independent N(0, I/d) [ours]: (1 + 2/d)² − 1 from the norms, (N − 1)/d² cross-talk."""
    return (1 + Fraction(2, d)) ** 2 - 1 + Fraction(N - 1, d * d)


def unstored_error_moment(d: int, N: int) -> Fraction:
    """E[(v_kᵀ W u_i)²] for k ≠ σ(i) [ours]: 2(1 + 2/d)/d + (N − 2)/d²."""
    return 2 * (1 + Fraction(2, d)) / d + Fraction(N - 2, d * d)
