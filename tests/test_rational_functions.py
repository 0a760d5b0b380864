"""constructions.rational_functions: flint-backed rational functions, the
symbolic number system's values."""

from fractions import Fraction

import pytest
from transformer_proofs.constructions.rational_functions import RationalFunction, polynomial_context

CTX = polynomial_context(["x", "y"])
X, Y = (RationalFunction(g) for g in CTX.gens())


def test_polynomial_identities_hold_and_false_ones_fail() -> None:
    assert (X + Y) ** 2 - (X * X + 2 * X * Y + Y * Y) == 0
    assert (X + Y) ** 2 != X * X + Y * Y
    assert (X + Y) * Fraction(1, 3) == X / 3 + Y / 3
    assert (X * Y).is_polynomial() and ((X * Y) / 2).is_polynomial()


def test_quotients_are_reduced_and_compare_as_functions() -> None:
    q = (X * X - Y * Y) / (X - Y)
    assert q.is_polynomial() and q == X + Y  # the gcd is divided out
    r = 1 / (1 + X) + X / (1 + X)
    assert r == 1 and r.is_polynomial()
    s = (X / (X + Y)) * ((X + Y) / Y)
    assert s == X / Y and s.denom_poly is not None
    assert (X / Y) ** -2 == (Y * Y) / (X * X)
    assert s.total_degree() == 2


def test_values_at_a_point_and_errors() -> None:
    f = (X + Fraction(1, 2)) / (Y - 1)
    assert f(Fraction(1), Fraction(3)) == Fraction(3, 4)
    with pytest.raises(ZeroDivisionError):
        f(Fraction(0), Fraction(1))
    with pytest.raises(ZeroDivisionError):
        X / (Y - Y)
    with pytest.raises(TypeError):
        float(X)  # no order, no float: relations treat it as unorderable


def test_sympy_expression() -> None:
    sympy = pytest.importorskip("sympy")
    x, y = sympy.symbols("x y")
    assert sympy.simplify(((X + 1) / Y).as_expr() - (x + 1) / y) == 0
