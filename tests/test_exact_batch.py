"""constructions/exact_batch.py: exact batched number systems."""

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions.arithmetic import ArithmeticDomainError, Rational
from transformer_proofs.constructions.exact_batch import LIMIT, BatchedRational, Integers


def test_integers_exact_batched_matmul():
    ar = Integers()
    a = ar.array(np.array([[1, -2], [3, 4]], dtype=object))
    b = ar.array(np.arange(12).reshape(3, 2, 2))
    assert (ar.matmul(a, b) == np.matmul(np.array([[1, -2], [3, 4]]), np.arange(12).reshape(3, 2, 2))).all()
    assert (ar.relu(ar.array([-3, 0, 5])) == np.array([0, 0, 5])).all()


def test_integers_refuse_non_integers_and_overflow():
    ar = Integers()
    with pytest.raises(ArithmeticDomainError, match="not an integer"):
        ar.array(np.array([Fraction(1, 2)], dtype=object))
    with pytest.raises(ArithmeticDomainError, match="not an integer"):
        ar.scalar(0.5)
    big = ar.array(np.array([[2**40]], dtype=object))
    with pytest.raises(ArithmeticDomainError, match="2\\^62"):
        ar.matmul(big, big)
    with pytest.raises(ArithmeticDomainError, match="exceeds 2\\^62"):
        ar.array(np.array([LIMIT], dtype=object))


def test_batched_rational_equals_rational():
    rng = np.random.default_rng(0)
    a = np.array([[Fraction(int(x), 3) for x in row] for row in rng.integers(-5, 5, (4, 3))], dtype=object)
    b = np.array([[[Fraction(int(x), 7) for x in row] for row in m] for m in rng.integers(-5, 5, (5, 3, 2))],
                 dtype=object)
    ra, rb = Rational(), BatchedRational()
    assert (rb.matmul(rb.array(a), rb.array(b)) == ra.matmul(ra.array(a), ra.array(b))).all()
    assert (rb.matmul(rb.array(a), rb.array(b[0])) == ra.matmul(ra.array(a), ra.array(b[0]))).all()
