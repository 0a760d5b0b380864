"""constructions/associative_memory.py and verify/algorithms/memory.py."""

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions import associative_memory as M
from transformer_proofs.constructions.arithmetic import Rational
from transformer_proofs.constructions.engine import forward
from transformer_proofs.verify.algorithms import memory as alg

W1 = [Fraction(1), Fraction(-2), Fraction(3, 4), Fraction(1, 2), Fraction(5), Fraction(-1, 8), Fraction(2),
      Fraction(1, 3), Fraction(-3), Fraction(7, 2), Fraction(1, 5), Fraction(-1), Fraction(4), Fraction(2, 3),
      Fraction(-5, 4), Fraction(1, 7)]


def test_householder_basis_is_orthogonal():
    Q = M.orthonormal_basis([W1[:6], W1[6:12]])
    assert (Q.T @ Q == np.eye(6, dtype=int)).all()


def test_memory_retrieves_exactly_with_orthonormal_embeddings():
    Q = M.orthonormal_basis([W1[:5]])
    U, V = Q[:, :3], Q[:, 2:5]  # overlapping columns are still orthonormal within each set
    pairs = [(0, 1), (2, 1), (1, 0)]
    R = V.T @ M.memory(V, U, pairs) @ U
    want = np.zeros((3, 3), dtype=int)
    for i, j in pairs:
        want[j, i] = 1
    assert (R == want).all()


def test_induction_head_counts_bigrams():
    seq = [0, 1, 0, 1, 1, 0, 1]
    V, T = 2, len(seq)
    emb = M.split_basis(M.orthonormal_basis([W1[:3 * V + T]]), V, T)
    ar = Rational()
    Z = forward(ar, M.induction_head(emb), M.induction_prompt(emb, seq))
    logits = ar.matmul(ar.T(ar.array(emb.U)), Z)
    assert (logits == np.array(alg.bigram_counts(seq, V))).all()
    assert alg.bigram_copy(seq, V) == 0  # after token 1 came 0 twice and 1 once


def test_softmax_head_approaches_counts_normalised():
    from transformer_proofs.constructions.arithmetic import Float64

    seq = [0, 1, 0, 1, 1, 0, 1]
    V, T = 2, len(seq)
    emb = M.split_basis(M.orthonormal_basis([W1[:3 * V + T]]), V, T)
    Z = forward(Float64(), M.induction_head(emb, score="softmax", beta=40), M.induction_prompt(emb, seq))
    probs = (np.asarray(emb.U, dtype=float).T @ Z)[:, -1]
    counts = np.array(alg.bigram_counts(seq, V))[:, -1]
    assert np.abs(probs - counts / counts.sum()).max() < 1e-6  # e^-40 leakage, after two layers


def test_bigram_counts():
    assert alg.bigram_counts([0, 0, 1], 2) == [[0, 1, 0], [0, 0, 0]]
    assert alg.bigram_copy([0, 1], 2) is None


def test_moments():
    assert alg.stored_error_moment(4, 1) == Fraction(9, 4) - 1
    assert alg.unstored_error_moment(2, 2) == 2


@pytest.mark.parametrize("call,match", [
    (lambda: M.split_basis(np.eye(5, dtype=int), 2, 2), "need d >= 8"),
    (lambda: M.memory(np.eye(3, dtype=int), np.eye(2, dtype=int), []), "dimension"),
    (lambda: M.memory(np.eye(2, dtype=int), np.eye(2, dtype=int), [(0, 5)]), "outside"),
    (lambda: M.householder([0, 0]), "nonzero"),
    (lambda: M.orthonormal_basis([]), "at least one"),
    (lambda: M.induction_head(M.split_basis(np.eye(8, dtype=int), 2, 2), score="relu"), "score"),
])
def test_errors(call, match):
    with pytest.raises(M.MemoryError_, match=match):
        call()


def test_prompt_errors():
    emb = M.split_basis(np.eye(8, dtype=int), 2, 2)
    with pytest.raises(M.MemoryError_, match="2 positions"):
        M.induction_prompt(emb, [0, 1, 0])
    with pytest.raises(M.MemoryError_, match="tokens must lie"):
        M.induction_prompt(emb, [0, 3])
