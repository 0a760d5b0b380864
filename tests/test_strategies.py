"""Each strategy keeps its promise."""

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import conditioned_matrix, dyadic, dyadic_array, regression_sizes, step_size


@given(dyadic())
def test_dyadic_is_an_exact_double(x: Fraction) -> None:
    assert Fraction(float(x)) == x and abs(x) <= 4


@given(dyadic_array((3, 2)))
def test_dyadic_array_shape(a: np.ndarray) -> None:
    assert a.shape == (3, 2) and all(Fraction(float(v)) == v for v in a.ravel())


@given(step_size())
def test_step_size_in_range(eta: Fraction) -> None:
    assert 0 < eta <= Fraction(1, 4)


@given(st.integers(1, 6), st.sampled_from([1.0, 10.0, 100.0]), st.data())
def test_conditioned_matrix_has_its_condition_number(d: int, kappa: float, data: st.DataObject) -> None:
    A = data.draw(conditioned_matrix(d, kappa))
    expected = kappa if d > 1 else 1.0
    # cond() is computed from an SVD: relative error about d·kappa·eps (generous factor 16).
    assert np.isclose(np.linalg.cond(A), expected, rtol=16 * d * kappa * np.finfo(float).eps)


@given(regression_sizes())
def test_regression_sizes_in_range(s: dict) -> None:
    assert 1 <= s["d"] <= 6 and 1 <= s["n"] <= 12 and 1 <= s["L"] <= 4
