"""Rational functions over Q on python-flint's sparse multivariate
polynomials (``fmpq_mpoly``): the values of the symbolic number system.

A :class:`RationalFunction` is a pair numerator / denominator of
``fmpq_mpoly`` in one context (one set of named variables), kept reduced:
the gcd of the two is divided out and the denominator's leading coefficient
is 1, so each rational function has one representation.  A polynomial (the
common case: linear and ReLU attention, gradient descent, Newton) is stored
with denominator 1 and costs no gcd at all; products and sums then run in
flint's C code on sparse polynomials.  Equality compares cross products, so
it is symbolic identity whatever the representation.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import flint

Mpoly = Any  # flint.fmpq_mpoly


class RationalFunction:
    """numer / denom (``denom`` None means 1), both ``fmpq_mpoly`` of one context."""

    __slots__ = ("numer_poly", "denom_poly")
    __array_priority__ = 0  # numpy object arrays hold these as plain Python objects

    def __init__(self, numer: Mpoly, denom: Mpoly | None = None) -> None:
        self.numer_poly, self.denom_poly = numer, denom

    # -- the representation ---------------------------------------------------
    @staticmethod
    def reduced(numer: Mpoly, denom: Mpoly | None) -> "RationalFunction":
        """numer / denom with the gcd divided out and a monic denominator."""
        if denom is None:
            return RationalFunction(numer)
        if denom.is_zero():
            raise ZeroDivisionError("rational function with a zero denominator")
        if denom.is_constant():
            return RationalFunction(numer / denom)
        g = numer.gcd(denom)
        if not g.is_one():
            numer, denom = numer / g, denom / g
        lc = denom.leading_coefficient()
        if lc != 1:
            numer, denom = numer / lc, denom / lc
        return RationalFunction(numer, None if denom.is_one() else denom)

    def _lift(self, other: Any) -> "RationalFunction | None":
        if isinstance(other, RationalFunction):
            return other
        ctx = self.numer_poly.context()
        if isinstance(other, flint.fmpq_mpoly):
            return RationalFunction(other)
        if isinstance(other, Fraction):
            return RationalFunction(ctx.constant(flint.fmpq(other.numerator, other.denominator)))
        if isinstance(other, (int, flint.fmpq, flint.fmpz)):
            return RationalFunction(ctx.constant(other))
        return None

    @property
    def numer(self) -> Mpoly:
        return self.numer_poly

    @property
    def denom(self) -> Mpoly:
        d = self.denom_poly
        return d if d is not None else self.numer_poly.context().constant(1)

    def is_polynomial(self) -> bool:
        return self.denom_poly is None

    # -- arithmetic ---------------------------------------------------------------
    def __add__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        a, b = self, o
        if a.denom_poly is None and b.denom_poly is None:
            return RationalFunction(a.numer_poly + b.numer_poly)
        if a.denom_poly is None:
            a, b = b, a
        if b.denom_poly is None:  # a has a denominator, b not
            return RationalFunction(a.numer_poly + b.numer_poly * a.denom_poly, a.denom_poly)
        if a.denom_poly == b.denom_poly:
            return RationalFunction.reduced(a.numer_poly + b.numer_poly, a.denom_poly)
        return RationalFunction.reduced(a.numer_poly * b.denom_poly + b.numer_poly * a.denom_poly,
                                        a.denom_poly * b.denom_poly)

    __radd__ = __add__

    def __neg__(self) -> "RationalFunction":
        return RationalFunction(-self.numer_poly, self.denom_poly)

    def __sub__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        if self.denom_poly is None and o.denom_poly is None:  # no negated copy of a large polynomial
            return RationalFunction(self.numer_poly - o.numer_poly)
        return self + (-o)

    def __rsub__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        return NotImplemented if o is None else o - self

    def __mul__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        if self.denom_poly is None and o.denom_poly is None:
            return RationalFunction(self.numer_poly * o.numer_poly)
        numer = self.numer_poly * o.numer_poly
        if self.denom_poly is None or o.denom_poly is None:
            return RationalFunction.reduced(numer, self.denom_poly if o.denom_poly is None else o.denom_poly)
        return RationalFunction.reduced(numer, self.denom_poly * o.denom_poly)

    __rmul__ = __mul__

    def inverse(self) -> "RationalFunction":
        if self.numer_poly.is_zero():
            raise ZeroDivisionError("division by the zero rational function")
        return RationalFunction.reduced(self.denom, self.numer_poly)

    def __truediv__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        if o.denom_poly is None and o.numer_poly.is_constant():
            if o.numer_poly.is_zero():
                raise ZeroDivisionError("division by zero")
            return RationalFunction(self.numer_poly / o.numer_poly, self.denom_poly)
        return self * o.inverse()

    def __rtruediv__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        return NotImplemented if o is None else o * self.inverse()

    def __pow__(self, k: int) -> "RationalFunction":
        if not isinstance(k, int):
            return NotImplemented
        base = self if k >= 0 else self.inverse()
        num, den = base.numer_poly ** abs(k), base.denom_poly ** abs(k) if base.denom_poly is not None else None
        return RationalFunction(num, den)  # a power of a reduced quotient is reduced

    # -- identity -------------------------------------------------------------------
    def __eq__(self, other: Any) -> bool:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        if self.denom_poly is None and o.denom_poly is None:
            return bool(self.numer_poly == o.numer_poly)
        return bool(self.numer_poly * o.denom == o.numer_poly * self.denom)

    def __ne__(self, other: Any) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return not self.numer_poly.is_zero()

    # -- reading ----------------------------------------------------------------------
    def __call__(self, *point: Any) -> Fraction:
        """The value at ``point`` (rationals, one per variable, in order)."""
        args = [flint.fmpq(x.numerator, x.denominator) if isinstance(x, Fraction) else x for x in point]
        num = self.numer_poly(*args) if args else self.numer_poly.leading_coefficient()
        den = (self.denom_poly(*args) if args else self.denom_poly.leading_coefficient()) \
            if self.denom_poly is not None else 1
        num, den = flint.fmpq(num), flint.fmpq(den)
        if den == 0:
            raise ZeroDivisionError("the rational function's denominator vanishes at the point")
        v = num / den
        return Fraction(int(v.p), int(v.q))

    def total_degree(self) -> int:
        """deg numer + deg denom: the degree of the polynomial identity it enters."""
        d = self.denom_poly
        return _degree(self.numer_poly) + (_degree(d) if d is not None else 0)

    def as_expr(self) -> Any:
        """The sympy expression (imports sympy)."""
        import sympy

        names = self.numer_poly.context().names()
        syms = sympy.symbols(names) if names else ()

        def expr(p: Mpoly) -> Any:
            return sympy.Add(*(sympy.Rational(int(c.p), int(c.q)) * sympy.Mul(*(s**e for s, e in zip(syms, m)))
                               for m, c in zip(p.monoms(), p.coeffs())))

        return expr(self.numer_poly) / (expr(self.denom_poly) if self.denom_poly is not None else 1)

    def __repr__(self) -> str:
        if self.denom_poly is None:
            return str(self.numer_poly)
        return f"({self.numer_poly})/({self.denom_poly})"


def _degree(p: Mpoly) -> int:
    return 0 if p.is_zero() else int(p.total_degree())


def polynomial_context(names: list[str]) -> Any:
    """flint's context of sparse polynomials over Q in ``names`` (lex order)."""
    return flint.fmpq_mpoly_ctx.get(tuple(names), "lex")
