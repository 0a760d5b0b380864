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
    assert s == X / Y and not s.is_polynomial()
    assert (X / (X + Y)) ** 0 == 1 and ((X / (X + Y)) ** 0).is_polynomial()
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


def test_polynomials_over_a_common_denominator_compare_by_cross_products() -> None:
    half_x = X / 2
    assert half_x.is_polynomial() and isinstance(half_x.den, int)  # an integer polynomial over 2, no content taken
    assert X / 2 + Y / 3 == (3 * X + 2 * Y) / 6
    assert RationalFunction(X.num * 2, 2) == X  # 2x/2 and x/1: two representations of one polynomial
    assert RationalFunction(X.num * 2, 2) != Y
    assert X / 2 - X / 2 == 0 and not (X / 2 - X / 2)
    assert ((X / 8) * 8).den == 1  # a constant factor cancels against the denominator


def test_quotient_and_polynomial_mixed() -> None:
    q = X / (X + Y)
    assert q + Y / (X + Y) == 1
    assert (q * (X + Y)).is_polynomial() and q * (X + Y) == X
    assert q != X  # a reduced quotient is never a polynomial
    assert (X + Y) / (2 * X + 2 * Y) == Fraction(1, 2)  # the integer content cancels too
    with pytest.raises(ZeroDivisionError):
        RationalFunction(X.num, 0)


def test_balanced_sum() -> None:
    from transformer_proofs.constructions.rational_functions import polynomial_sum

    terms = [X**k / (k + 1) for k in range(7)] + [X - X]
    running = RationalFunction(CTX.constant(0))
    for t in terms:
        running = running + t
    assert polynomial_sum(terms, CTX) == running
    assert polynomial_sum([], CTX) == 0


def test_values_at_rational_points_of_large_degree() -> None:
    f = (X**5 * Fraction(3, 7) - X * Y**3 + 2) / (Y**2 + 1)
    x, y = Fraction(-3, 4), Fraction(5, 6)
    assert f(x, y) == (Fraction(3, 7) * x**5 - x * y**3 + 2) / (y**2 + 1)
    assert f(2, 3) == (Fraction(3, 7) * 32 - 2 * 27 + 2) / 10


def test_a_point_must_give_every_variable() -> None:
    """(X·Y + X/2) at a point of one value is refused (extra variables were read as 1)."""
    with pytest.raises(ValueError, match="1 values for a polynomial in 2 variables"):
        (X * Y + X / 2)(Fraction(1, 2))
    assert (X * Y + X / 2)(Fraction(1, 2), 3) == Fraction(7, 4)
