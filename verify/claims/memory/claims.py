"""Family ``memory``: exact identities of associative memories (Bietti et al.
2023, arXiv:2306.00802).

- ``memory.orthonormal_retrieval``: with orthonormal embeddings (d at least
  the number of items), W = Σ_{(i,j)∈M} v_j u_iᵀ retrieves exactly:
  v_kᵀ W u_i = [(i, k) ∈ M].
- ``memory.induction_head``: the two-layer induction head whose four weight
  matrices are such memories (previous-token memory, value remap, key-query
  memory, output memory) outputs, at every position, exactly the in-context
  bigram counts of the current token (hard attention, orthonormal embeddings);
  its argmax is the bigram-copy prediction.

The sampled claims (random Gaussian embeddings) are in :mod:`.empirical`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from transformer_proofs.constructions import associative_memory as M
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.verify import mutants
from transformer_proofs.verify.algorithms import memory as alg
from transformer_proofs.verify.checkers import spec_checks, spec_falsifiers
from transformer_proofs.verify.claims.memory.instances import (
    MemoryInstance,
    SequenceInstance,
    draw_memory,
    draw_sequence,
)
from transformer_proofs.verify.claims.memory.papers import BIETTI
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Claim, ClaimSpec, Mutant, Provenance

FIGURE_1 = ("The first layer is a previous token head, which attends to the previous token based on positional "
            "embeddings (p_t → p_{t−1}) and copies it after a remapping (w_E(a) → w_1(a) := W¹_O W¹_V w_E(a)). The "
            "second layer is the induction head, which attends based on the output of the previous token head "
            "(w_E(a) → w_1(a)) and outputs the attended token, remapped to output embeddings (w_E(b) → w_U(b)).")

# ---------------------------------------------------------------------------
# exact retrieval with orthonormal embeddings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMemory:
    """Input embeddings U (d, n_in), output embeddings V (d, n_out), the memory W (d, d)."""

    U: np.ndarray
    V: np.ndarray
    W: np.ndarray


def build_memory(inst: MemoryInstance) -> StoredMemory:
    U = M.orthonormal_basis(inst.ws_in)[:, :inst.n_in]
    V = M.orthonormal_basis(inst.ws_out)[:, :inst.n_out]
    return StoredMemory(U, V, M.memory(V, U, inst.pairs))


def retrieve(ar: Arithmetic, mem: StoredMemory, inst: MemoryInstance) -> Any:
    """R[k, i] = v_kᵀ W u_i, in ``ar``."""
    V = ar.array(mem.V)
    return ar.matmul(ar.T(V), ar.matmul(ar.array(mem.W), ar.array(mem.U)))  # (n_out, n_in)


def relation_matrix(ar: Arithmetic, inst: MemoryInstance) -> Any:
    R = np.zeros((inst.n_out, inst.n_in), dtype=int)
    for i, j in inst.pairs:
        R[j, i] = 1
    return ar.array(R)


def _transposed(mem: StoredMemory, inst: MemoryInstance) -> StoredMemory:
    return replace(mem, W=M.memory(mem.U, mem.V, [(j, i) for i, j in inst.pairs]))


def _unnormalised(mem: StoredMemory, inst: MemoryInstance) -> StoredMemory:
    U = np.array(mem.U, dtype=object)
    i0 = inst.pairs[0][0]  # an item that is stored (the relation is never empty)
    U[:, i0] = U[:, i0] * 2
    return StoredMemory(U, mem.V, M.memory(mem.V, U, inst.pairs))


def _too_many_items(mem: StoredMemory, inst: MemoryInstance) -> StoredMemory:
    """One more input item than orthonormality allows: u_extra = u_0 + u_1, stored with output 0."""
    extra = mem.U[:, 0:1] + mem.U[:, 1:2]
    return replace(mem, W=mem.W + mem.V[:, 0:1] @ extra.T)


RETRIEVAL_SPEC: ClaimSpec[MemoryInstance] = ClaimSpec(
    draw=draw_memory, build=build_memory, run=retrieve, reference=relation_matrix,
    sizes={"float64": [{"d": 3, "n_in": 2, "n_out": 3, "r": 1}, {"d": 8, "n_in": 8, "n_out": 5, "r": 2}],
           "mpmath": [{"d": 5, "n_in": 4, "n_out": 5, "r": 2}],
           "rational": [{"d": 3, "n_in": 2, "n_out": 3, "r": 1}, {"d": 8, "n_in": 8, "n_out": 5, "r": 2}],
           "prime-field": [{"d": 4, "n_in": 3, "n_out": 4, "r": 1}, {"d": 8, "n_in": 8, "n_out": 5, "r": 3}],
           "symbolic": [{"d": 3, "n_in": 2, "n_out": 2, "r": 1}]},
    counts={"float64": 5, "mpmath": 1, "rational": 2},
    degree=lambda s: 8 * s.get("r", 2),  # R is of degree 4 in Q's entries, each of degree 2r over a common denominator
    mutants=(
        Mutant("memory transposed", "W = Σ u_i v_jᵀ (input and output embeddings swapped)", _transposed),
        Mutant("dropped normalisation", "a stored input u_i written and read as 2u_i (not of unit norm)",
               _unnormalised),
        Mutant("more items than orthonormality allows", "an extra input item u_0 + u_1 stored with output 0",
               _too_many_items),
    ))

register(Claim(
    id="memory.orthonormal_retrieval", paper=BIETTI, kind="identity",
    statement=("With orthonormal input embeddings u_i and output embeddings v_j (d at least the number of items), "
               "the memory W = Σ_{(i,j)∈M} v_j u_iᵀ retrieves exactly: v_kᵀ W u_i = 1 if (i, k) ∈ M and 0 otherwise, "
               "for every relation M."),
    checks=spec_checks(RETRIEVAL_SPEC), falsifiers=spec_falsifiers(RETRIEVAL_SPEC),
    provenance=Provenance(
        "recalled", "§4 (associative memories W = Σ_{(i,j)∈M} v_j u_iᵀ and their retrieval v_jᵀ W u_i ≈ 1{(i,j)∈M} "
                    "for near-orthonormal high-dimensional embeddings)",
        read_in="the abstract and Figure 1's caption (through a review quoting it); §4 could not be retrieved here",
        note="the exact statement for orthonormal embeddings is ours: the limit of the paper's approximate one; the "
             "orthonormal bases are products of Householder reflections, so the check is exact"),
    trust=("exact: rationals and GF(2^61−1) (Schwartz–Zippel: degree 8r in the reflection vectors)",
           "symbolic: for all reflection vectors of the size shown (one reflection, d = 3)",
           "float64: running error bounds"),
    notes="Any relation M (not only a bijection) is drawn: each pair present with probability 1/2."))

# ---------------------------------------------------------------------------
# the induction head built from memories
# ---------------------------------------------------------------------------


_LAST: list[Any] = [None, None]  # the last instance and its embeddings (build, prompt and read-out share them)


def embeddings(inst: SequenceInstance) -> M.InductionEmbeddings:
    if _LAST[0] is not inst:
        _LAST[:] = [inst, M.split_basis(M.orthonormal_basis(inst.ws), inst.V, inst.T)]
    return _LAST[1]


def build_induction(inst: SequenceInstance) -> Any:
    return M.induction_head(embeddings(inst))


def induction_prompt(ar: Arithmetic, inst: SequenceInstance) -> Any:
    return ar.array(M.induction_prompt(embeddings(inst), inst.seq))


def logits(ar: Arithmetic, model: Any, state: Any, inst: SequenceInstance) -> Any:
    """logits[k, t] = w_U(k)ᵀ x_t (the output memory's unembedding), every position."""
    return ar.matmul(ar.T(ar.array(embeddings(inst).U)), state)


def bigram_reference(ar: Arithmetic, inst: SequenceInstance) -> Any:
    return ar.array(np.array(alg.bigram_counts(inst.seq, inst.V), dtype=int))


def _set_layer(model: Any, k: int, **changes: Any) -> Any:
    return mutants.map_heads(model, lambda h: replace(h, **changes), only=k)


def _shifted_previous(model: Any, inst: SequenceInstance) -> Any:
    return _set_layer(model, 0, W_K=M.previous_token_memory(embeddings(inst), shift=2))


def _transposed_key_query(model: Any, inst: SequenceInstance) -> Any:
    emb = embeddings(inst)
    return _set_layer(model, 1, W_K=M.memory(emb.E1, emb.E, [(k, k) for k in range(inst.V)]))


def _value_reads_previous(model: Any, inst: SequenceInstance) -> Any:
    emb = embeddings(inst)
    return _set_layer(model, 1, W_V=M.memory(emb.U, emb.E1, [(k, k) for k in range(inst.V)]))


def _unnormalised_output(model: Any, inst: SequenceInstance) -> Any:
    emb = embeddings(inst)
    U = np.array(emb.U, dtype=object)
    k = int(np.argmax([row[-1] for row in alg.bigram_counts(inst.seq, inst.V)]))  # a token counted at the end
    U[:, k] = U[:, k] * 2
    return _set_layer(model, 1, W_V=M.memory(U, emb.E, [(k, k) for k in range(inst.V)]))


INDUCTION_SPEC: ClaimSpec[SequenceInstance] = ClaimSpec(
    draw=draw_sequence, build=build_induction, prompt=induction_prompt, readout=logits, reference=bigram_reference,
    sizes={"float64": [{"V": 2, "T": 5, "r": 1}, {"V": 3, "T": 8, "extra": 2}],
           "mpmath": [{"V": 2, "T": 6, "r": 1}],
           "rational": [{"V": 2, "T": 5, "r": 1}, {"V": 3, "T": 7}],
           "prime-field": [{"V": 2, "T": 5, "r": 1}, {"V": 3, "T": 8}]},
    counts={"float64": 3, "mpmath": 1, "rational": 2},
    degree=lambda s: 52 * s.get("r", 2),  # logits: degree 26 in Q's entries, each of degree 2r / 2r
    modes=("float64", "mpmath", "rational", "prime-field"),
    not_applicable={"symbolic": "the logits are rational functions of degree ~100 in the reflection vectors, beyond "
                                "sympy at any size that holds a sequence; the prime-field check (Schwartz–Zippel) "
                                "covers the identity"},
    mutants=(
        Mutant("previous-token memory off by one", "W_K¹ = Σ p_t p_{t−2}ᵀ: the token two back is copied",
               _shifted_previous),
        Mutant("key-query memory transposed", "W_K² = Σ w_1(k) w_E(k)ᵀ instead of Σ w_E(k) w_1(k)ᵀ",
               _transposed_key_query),
        Mutant("one layer fewer", "the previous-token layer dropped", lambda m, i: m.with_layers(m.layers[1:])),
        Mutant("value memory reads the previous token", "W_O²W_V² = Σ w_U(k) w_1(k)ᵀ", _value_reads_previous),
        Mutant("dropped normalisation", "the output memory stores 2 w_U(k) for a token k counted at the last position",
               _unnormalised_output),
        Mutant("no causal mask", "keys after the query are counted",
               lambda m, i: mutants.map_attention(m, lambda a: replace(a, causal=False))),
    ))

register(Claim(
    id="memory.induction_head", paper=replace(BIETTI, where="Figure 1 and §4 (the induction head as memories)"),
    kind="identity",
    statement=("The two-layer induction head whose weights are associative memories — W_K¹ = Σ_t p_t p_{t−1}ᵀ, "
               "W_O¹W_V¹ = Σ_k w_1(k) w_E(k)ᵀ, W_K² = Σ_k w_E(k) w_1(k)ᵀ, W_O²W_V² = Σ_k w_U(k) w_E(k)ᵀ, W_Q = I — with "
               "orthonormal embeddings and hard (0/1-score) causal attention outputs at every position t the logits "
               "w_U(k)ᵀ x_t = #{1 <= i <= t : s_{i−1} = s_t, s_i = k}, the in-context bigram counts; their argmax is "
               "the bigram-copy prediction."),
    checks=spec_checks(INDUCTION_SPEC), falsifiers=spec_falsifiers(INDUCTION_SPEC),
    provenance=Provenance(
        "secondary", "Figure 1's caption (the previous-token head p_t → p_{t−1}, w_E(a) → w_1(a); the induction head "
                     "w_E(a) → w_1(a), w_E(b) → w_U(b)); §4's memories recalled",
        quote=FIGURE_1, read_in="Figure 1's caption as quoted by a review of the paper; W_Q = I and the causal mask "
                                "from the authors' code (ihead_basic_model.py)",
        note="the caption states the mechanism; the exact counts with orthonormal embeddings and hard attention are "
             "our formalisation (the paper's softmax normalises them to the empirical bigram distribution)"),
    trust=("exact: rationals and GF(2^61−1) (Schwartz–Zippel), float64 with running error bounds",
           "hard attention: linear scores that are exactly 0/1 with orthonormal embeddings (the β → ∞ limit of the "
           "paper's softmax); the normalisation by the number of matches is dropped, so the counts are compared"),
    notes=("0-indexed positions: the key i = t itself counts (the causal mask lets the query attend to itself, and "
           "(s_{t−1}, s_t) is an observed transition); the first position has no previous token and is never a "
           "matching key.  Random near-orthogonal embeddings: memory.gaussian_* (sampled).")))
