"""Associative memories and the induction head built from them (Bietti,
Cabannes, Bouchacourt, Jégou, Bottou, "Birth of a Transformer: A Memory
Viewpoint", NeurIPS 2023, arXiv:2306.00802).

An associative memory stores pairs (i, j) of a relation M between input
items with embeddings u_i and output items with embeddings v_j as the sum of
outer products

    W = Σ_{(i,j) ∈ M} v_j u_iᵀ,                     retrieval  v_kᵀ W u_i.

With orthonormal embeddings the retrieval is exactly [(i, k) ∈ M]; with
random near-orthogonal ones (N(0, I/d) entries) it is that plus cross-talk of
order 1/√d.

The induction head (the paper's Figure 1 and §4; weights ours): residual
stream x_t = w_E(s_t) + p_t (token and position embeddings), attention
scores x_tᵀ W_K x_i with W_Q = I (the authors' code), causal;

    layer 1 (previous-token head):  W_K¹ = Σ_{t≥2} p_t p_{t−1}ᵀ        (key p_{t−1} ↦ query p_t)
                                    W_O¹W_V¹ = Σ_k w_1(k) w_E(k)ᵀ      (copy s_{t−1} as w_1(s_{t−1}))
    layer 2 (induction head):       W_K² = Σ_k w_E(k) w_1(k)ᵀ          (key w_1(s_{i−1}) ↦ query w_E(s_t))
                                    W_O²W_V² = Σ_k w_U(k) w_E(k)ᵀ      (output w_U(s_i))
    read-out: logits_k = w_U(k)ᵀ x_t.

With orthonormal embeddings and hard (0/1 linear-score) attention the logits
at position t are exactly the in-context bigram counts
#{2 <= i <= t : s_{i−1} = s_t, s_i = k}, whose argmax is the bigram-copy
prediction.  With softmax attention at inverse temperature β the two layers
approach the normalised counts as β → ∞.

Embeddings here are exact: the columns of a product of Householder
reflections H(w) = I − 2 w wᵀ / (wᵀw), computed with whatever numbers the
vectors w hold (Fractions, prime-field elements, symbols).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from transformer_proofs.constructions.engine import Attention, Head, Transformer


class MemoryError_(ValueError):
    """Invalid memory or embedding sizes."""


def _obj(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=object)


def householder(w: Sequence[Any]) -> np.ndarray:
    """H(w) = I − 2 w wᵀ / (wᵀw): symmetric and orthogonal for any w with wᵀw ≠ 0."""
    w = _obj(w).reshape(-1, 1)
    d = w.shape[0]
    norm2 = (w.T @ w)[0, 0]
    if isinstance(norm2, (int, float)) and norm2 == 0:
        raise MemoryError_("a Householder vector must be nonzero")
    return _obj(np.eye(d, dtype=int)) - (w @ w.T) * 2 / norm2


def orthonormal_basis(ws: Sequence[Sequence[Any]]) -> np.ndarray:
    """Q = H(w_1) ⋯ H(w_r): an orthogonal matrix (QᵀQ = I exactly), columns the embeddings."""
    if not ws:
        raise MemoryError_("an orthonormal basis needs at least one reflection vector")
    Q = householder(ws[0])
    for w in ws[1:]:
        Q = Q @ householder(w)
    return Q


def memory(outputs: np.ndarray, inputs: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """W = Σ_{(i,j) ∈ pairs} v_j u_iᵀ, with u_i = inputs[:, i], v_j = outputs[:, j]."""
    V, U = np.asarray(outputs), np.asarray(inputs)  # exact (object) or float64 embeddings alike
    if V.shape[0] != U.shape[0]:
        raise MemoryError_(f"input embeddings have dimension {U.shape[0]}, output embeddings {V.shape[0]}")
    for i, j in pairs:
        if not (0 <= i < U.shape[1] and 0 <= j < V.shape[1]):
            raise MemoryError_(f"pair ({i}, {j}) outside {U.shape[1]} input and {V.shape[1]} output items")
    if not pairs:
        return np.zeros((V.shape[0], U.shape[0]), dtype=V.dtype if V.dtype == U.dtype else object) + 0
    ins, outs = [i for i, _ in pairs], [j for _, j in pairs]
    return V[:, outs] @ U[:, ins].T  # Σ_{(i,j)} v_j u_iᵀ as one product


@dataclass(frozen=True)
class InductionEmbeddings:
    """Columns: token embeddings w_E (d, V), positions p (d, T), remapped tokens w_1 (d, V),
    output embeddings w_U (d, V)."""

    E: np.ndarray
    P: np.ndarray
    E1: np.ndarray
    U: np.ndarray

    @property
    def d(self) -> int:
        return self.E.shape[0]

    @property
    def V(self) -> int:
        return self.E.shape[1]

    @property
    def T(self) -> int:
        return self.P.shape[1]


def split_basis(Q: np.ndarray, V: int, T: int) -> InductionEmbeddings:
    """The first 3V + T columns of an orthogonal Q as w_E, p, w_1, w_U (needs d >= 3V + T)."""
    d = Q.shape[0]
    if d < 3 * V + T:
        raise MemoryError_(f"orthonormal embeddings of {V} tokens (three roles) and {T} positions need d >= "
                           f"{3 * V + T}, got d = {d}")
    Q = np.asarray(Q)
    return InductionEmbeddings(E=Q[:, :V], P=Q[:, V:V + T], E1=Q[:, V + T:2 * V + T], U=Q[:, 2 * V + T:3 * V + T])


def previous_token_memory(emb: InductionEmbeddings, shift: int = 1) -> np.ndarray:
    """W_K¹ = Σ_{t > shift} p_t p_{t−shift}ᵀ (shift = 1 as in the construction)."""
    return memory(emb.P, emb.P, [(t - shift, t) for t in range(shift, emb.T)])


def induction_head(emb: InductionEmbeddings, score: str = "linear", beta: Any = None) -> Transformer:
    """The two-layer induction head of memories.  ``score="linear"``: hard 0/1 attention (exact);
    ``"softmax"`` with inverse temperature ``beta`` folded into W_K."""
    d, V = emb.d, emb.V
    exact = np.asarray(emb.E).dtype == object
    eye = _obj(np.eye(d, dtype=int)) if exact else np.eye(d)
    tokens = range(V)
    W_K1 = previous_token_memory(emb)  # query p_t · key p_{t-1} = 1, every other position pair 0
    W_OV1 = memory(emb.E1, emb.E, [(k, k) for k in tokens])  # w_E(a) ↦ w_1(a)
    W_K2 = memory(emb.E, emb.E1, [(k, k) for k in tokens])  # key's w_1(s_{i-1}) ↦ w_E(s_{i-1})
    W_OV2 = memory(emb.U, emb.E, [(k, k) for k in tokens])  # value w_E(s_i) ↦ w_U(s_i)
    if score == "softmax":
        W_K1, W_K2 = W_K1 * beta, W_K2 * beta
    elif score != "linear":
        raise MemoryError_(f"score must be 'linear' (hard) or 'softmax', got {score!r}")
    layers = tuple(
        Attention(heads=(Head(W_Q=eye, W_K=W_K, W_V=W_OV),), score=score, key_mask=np.ones(emb.T, dtype=int),
                  causal=True, empty_query="zero")
        for W_K, W_OV in ((W_K1, W_OV1), (W_K2, W_OV2)))
    return Transformer(layers=layers, coordinates=tuple(f"x:{r}" for r in range(d)), name="memory induction head")


def induction_prompt(emb: InductionEmbeddings, seq: Sequence[int]) -> np.ndarray:
    """Columns x_t = w_E(s_t) + p_t."""
    if len(seq) != emb.T:
        raise MemoryError_(f"the embeddings have {emb.T} positions, the sequence {len(seq)} tokens")
    if any(not 0 <= s < emb.V for s in seq):
        raise MemoryError_(f"tokens must lie in 0..{emb.V - 1}, got {list(seq)}")
    return np.stack([emb.E[:, s] + emb.P[:, t] for t, s in enumerate(seq)], axis=1)
