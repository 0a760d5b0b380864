"""Rational functions over Q on python-flint's sparse multivariate integer
polynomials (``fmpz_mpoly``): the values of the symbolic number system.

A :class:`RationalFunction` is ``numer / denom`` with ``numer`` an
``fmpz_mpoly`` and ``denom`` either

- a positive Python ``int`` (a *polynomial* over Q, kept as an integer
  polynomial over a common denominator), or
- a non-constant ``fmpz_mpoly`` (a *quotient*), kept reduced: the gcd of
  numerator and denominator (content included) is divided out and the
  denominator's leading coefficient is positive, so a quotient has one
  representation.

The common case (linear and ReLU attention, gradient descent, Newton) is
polynomial, and then no gcd and no content is ever computed: the sum of two
polynomials over the same denominator is one pass of flint's sparse addition
(denominators that differ are brought to their lcm), a product multiplies the
integer polynomials and the denominators.  An integer polynomial over a
denominator is not unique (2x/2 = x/1), so equality compares cross products
``a·d_b == b·d_a``: symbolic identity whatever the representation.  (flint's
``fmpq_mpoly`` keeps a canonical content instead, and an addition of two
polynomials with different contents rescales both and recomputes the content
of the sum: two to three times the cost of the addition itself.)
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import Any, Iterable, Sequence

import flint

Mpoly = Any  # flint.fmpz_mpoly


class RationalFunction:
    """numer / denom: ``numer`` an fmpz_mpoly, ``denom`` a positive int (a
    polynomial over Q) or a non-constant fmpz_mpoly (a reduced quotient)."""

    __slots__ = ("num", "den", "__weakref__")
    __array_priority__ = 0  # numpy object arrays hold these as plain Python objects

    def __init__(self, numer: Mpoly, denom: Mpoly | int | None = None) -> None:
        if denom is None or (isinstance(denom, int) and denom > 0):
            self.num, self.den = numer, 1 if denom is None else denom
        else:  # a polynomial, zero or negative denominator given by a caller: normalise it (or refuse)
            r = RationalFunction.reduced(numer, denom)
            self.num, self.den = r.num, r.den

    @classmethod
    def _make(cls, numer: Mpoly, den: Any) -> "RationalFunction":
        r = object.__new__(cls)
        r.num, r.den = numer, den
        return r

    # -- the representation ---------------------------------------------------
    @staticmethod
    def reduced(numer: Mpoly, denom: Mpoly | int | None) -> "RationalFunction":
        """numer / denom with the gcd divided out and a positive leading
        coefficient of the denominator (an integer denominator when it is constant)."""
        make = RationalFunction._make
        if denom is None:
            return make(numer, 1)
        if isinstance(denom, int):
            if denom == 0:
                raise ZeroDivisionError("rational function with a zero denominator")
            return make(-numer, -denom) if denom < 0 else make(numer, denom)
        if denom.is_zero():
            raise ZeroDivisionError("rational function with a zero denominator")
        if _is_constant(denom):
            return RationalFunction.reduced(numer, int(denom.leading_coefficient()))
        g = numer.gcd(denom)  # flint's gcd: content included, positive leading coefficient
        if not g.is_one():
            numer, denom = numer / g, denom / g
        if denom.leading_coefficient() < 0:
            numer, denom = -numer, -denom
        if _is_constant(denom):
            return make(numer, int(denom.leading_coefficient()))
        return make(numer, denom)

    def _lift(self, other: Any) -> "RationalFunction | None":
        if isinstance(other, RationalFunction):
            return other
        ctx = self.num.context()
        if isinstance(other, (int, flint.fmpz)):
            return RationalFunction._make(ctx.constant(int(other)), 1)
        if isinstance(other, Fraction):
            return RationalFunction._make(ctx.constant(other.numerator), other.denominator)
        if isinstance(other, flint.fmpq):
            return RationalFunction._make(ctx.constant(int(other.p)), int(other.q))
        if isinstance(other, flint.fmpz_mpoly):
            return RationalFunction._make(other, 1)
        return None

    @property
    def numer(self) -> Mpoly:
        return self.num

    @property
    def denom(self) -> Mpoly:
        d = self.den
        return self.num.context().constant(d) if isinstance(d, int) else d

    def is_polynomial(self) -> bool:
        return isinstance(self.den, int)

    # -- arithmetic ---------------------------------------------------------------
    def __add__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return _add(self, o)

    __radd__ = __add__

    def __neg__(self) -> "RationalFunction":
        return RationalFunction._make(-self.num, self.den)

    def __sub__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return _add(self, o, subtract=True)

    def __rsub__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        return NotImplemented if o is None else _add(o, self, subtract=True)

    def __mul__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        a, b = self, o
        if isinstance(a.den, int) and isinstance(b.den, int):
            return _polynomial_product(a, b)
        numer = a.num * b.num
        da = a.num.context().constant(a.den) if isinstance(a.den, int) else a.den
        db = a.num.context().constant(b.den) if isinstance(b.den, int) else b.den
        return RationalFunction.reduced(numer, da * db)

    __rmul__ = __mul__

    def inverse(self) -> "RationalFunction":
        if self.num.is_zero():
            raise ZeroDivisionError("division by the zero rational function")
        if _is_constant(self.num):
            c = int(self.num.leading_coefficient())
            if isinstance(self.den, int):
                return _reduced_constant(self.num.context(), self.den, c)
            return RationalFunction.reduced(self.den, c)
        return RationalFunction.reduced(self.denom, self.num)

    def __truediv__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return self * o.inverse()

    def __rtruediv__(self, other: Any) -> "RationalFunction":
        o = self._lift(other)
        return NotImplemented if o is None else o * self.inverse()

    def __pow__(self, k: int) -> "RationalFunction":
        if not isinstance(k, int):
            return NotImplemented
        if k == 0:  # 1 as a polynomial (a quotient's den ** 0 would be the polynomial 1, not the integer)
            return RationalFunction._make(self.num.context().constant(1), 1)
        base = self if k >= 0 else self.inverse()
        den = base.den ** abs(k)
        return RationalFunction._make(base.num ** abs(k), den)  # a power of a reduced quotient is reduced

    # -- identity -------------------------------------------------------------------
    def __eq__(self, other: Any) -> bool:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        a, b = self, o
        if isinstance(a.den, int) and isinstance(b.den, int):
            if a.den == b.den:
                return bool(a.num == b.num)
            g = gcd(a.den, b.den)
            return bool(a.num * (b.den // g) == b.num * (a.den // g))
        if isinstance(a.den, int) != isinstance(b.den, int):
            return False  # a reduced quotient is not a polynomial
        return bool(a.num * b.den == b.num * a.den)

    def __ne__(self, other: Any) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return not self.num.is_zero()

    def is_zero(self) -> bool:
        return bool(self.num.is_zero())

    # -- reading ----------------------------------------------------------------------
    def __call__(self, *point: Any) -> Fraction:
        """The value at ``point`` (rationals, one per variable, in order)."""
        num = _evaluate(self.num, point)
        den = Fraction(self.den) if isinstance(self.den, int) else _evaluate(self.den, point)
        if den == 0:
            raise ZeroDivisionError("the rational function's denominator vanishes at the point")
        return num / den

    def total_degree(self) -> int:
        """deg numer + deg denom: the degree of the polynomial identity it enters."""
        return _degree(self.num) + (0 if isinstance(self.den, int) else _degree(self.den))

    def as_expr(self) -> Any:
        """The sympy expression (imports sympy)."""
        import sympy

        names = self.num.context().names()
        syms = sympy.symbols(names) if names else ()

        def expr(p: Mpoly) -> Any:
            return sympy.Add(*(sympy.Integer(int(c)) * sympy.Mul(*(s**e for s, e in zip(syms, m)))
                               for m, c in zip(p.monoms(), p.coeffs())))

        den = sympy.Integer(self.den) if isinstance(self.den, int) else expr(self.den)
        return expr(self.num) / den

    def __repr__(self) -> str:
        if isinstance(self.den, int):
            return str(self.num) if self.den == 1 else f"({self.num})/{self.den}"
        return f"({self.num})/({self.den})"


# ---------------------------------------------------------------------------
# the polynomial fast paths
# ---------------------------------------------------------------------------


def _add(a: RationalFunction, b: RationalFunction, subtract: bool = False) -> RationalFunction:
    """a + b (a - b with ``subtract``)."""
    da, db = a.den, b.den
    if isinstance(da, int) and isinstance(db, int):
        if da == db:  # the common case: one pass of flint's sparse addition
            return RationalFunction._make(a.num - b.num if subtract else a.num + b.num, da)
        if a.num.is_zero():
            return RationalFunction._make(-b.num if subtract else b.num, db)
        if b.num.is_zero():
            return a
        g = gcd(da, db)
        na, nb = a.num * (db // g), b.num * (da // g)  # over the lcm da·db/g
        return RationalFunction._make(na - nb if subtract else na + nb, da // g * db)
    ctx = a.num.context()
    Da = ctx.constant(da) if isinstance(da, int) else da
    Db = ctx.constant(db) if isinstance(db, int) else db
    if Da == Db:
        return RationalFunction.reduced(a.num - b.num if subtract else a.num + b.num, Da)
    na, nb = a.num * Db, b.num * Da
    return RationalFunction.reduced(na - nb if subtract else na + nb, Da * Db)


def _polynomial_product(a: RationalFunction, b: RationalFunction) -> RationalFunction:
    """(P/c)(Q/e) = PQ/(ce); a constant factor's numerator is first cancelled
    against the denominator ((x/n) · n = x/1, not n x / n), so denominators stay small."""
    an, bn, den = a.num, b.num, a.den * b.den
    if _is_constant(an) or _is_constant(bn):
        if _is_constant(an):
            an, bn = bn, an
        c = int(bn.leading_coefficient())  # b is the constant c / b.den
        if c == 0:
            return RationalFunction._make(bn, 1)
        g = gcd(c, den)
        c, den = c // g, den // g
        return RationalFunction._make(an * c if c != 1 else an, den)
    return RationalFunction._make(an * bn, den)


def _reduced_constant(ctx: Any, numer: int, denom: int) -> RationalFunction:
    f = Fraction(numer, denom)
    return RationalFunction._make(ctx.constant(f.numerator), f.denominator)


def polynomial_sum(terms: Sequence[RationalFunction], ctx: Any) -> RationalFunction:
    """Σ terms, added pairwise as a balanced tree (each term is copied about
    log₂(len) times, not len times as in a running sum); the empty sum is 0."""
    items = [t for t in terms if not t.num.is_zero()]
    if not items:
        return RationalFunction._make(ctx.constant(0), 1)
    while len(items) > 1:
        nxt = [_add(items[k], items[k + 1]) for k in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            nxt.append(items[-1])
        items = nxt
    return items[0]


def _is_constant(p: Mpoly) -> bool:
    """flint's is_constant reads every term's degrees; a constant has at most one term."""
    return len(p) <= 1 and bool(p.is_constant())


def _degree(p: Mpoly) -> int:
    return 0 if p.is_zero() else int(p.total_degree())


def _evaluate(p: Mpoly, point: Iterable[Any]) -> Fraction:
    """p at a rational point: with x_k = a_k / D (D the lcm of the
    denominators), D^t p(a/D) = Σ_m c_m a^m D^(t-|m|) is an integer sum."""
    pts = [Fraction(int(x.p), int(x.q)) if isinstance(x, flint.fmpq) else Fraction(x) for x in point]
    if pts and len(pts) != p.context().nvars():
        raise ValueError(f"a point of {len(pts)} values for a polynomial in {p.context().nvars()} variables")
    if p.is_zero():
        return Fraction(0)
    if not pts:
        return Fraction(int(p.leading_coefficient()))
    D = 1
    for x in pts:
        D = D * x.denominator // gcd(D, x.denominator)
    if D == 1:
        return Fraction(int(p(*[int(x) for x in pts])))
    a = [int(x * D) for x in pts]
    t = int(p.total_degree())
    total = 0
    for m, c in zip(p.monoms(), p.coeffs()):
        e = [int(k) for k in m]
        total += int(c) * _power_product(a, e) * D ** (t - sum(e))
    return Fraction(total, D**t)


def _power_product(a: Sequence[int], m: Sequence[int]) -> int:
    out = 1
    for x, e in zip(a, m):
        if e:
            out *= x**e
    return out


def polynomial_context(names: list[str]) -> Any:
    """flint's context of sparse integer polynomials in ``names`` (lex order)."""
    return flint.fmpz_mpoly_ctx.get(tuple(names), "lex")
