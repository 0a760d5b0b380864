"""Polynomials kept as sums of products, expanded only when read.

A :class:`PolynomialSum` is Σ_k m_k · B_k: each ``m_k`` a *multiplier*, an
integer polynomial of at most :data:`MULTIPLIER_TERMS` terms (a symbol such
as x_{j,a}, or 1), and each ``B_k`` a :class:`RationalFunction` polynomial,
typically large (an iterate of gradient descent with 10^5–10^6 terms).  Terms
with the same multiplier are merged by the distributive law,
m·B + m·B' = m·(B + B'), so a sum of products over shared factors is added
before it is expanded.

Why: the symbolic check of an identity such as "the transformer's label of
token j equals y_j − Σ_a x_{j,a} Δ_a" computes, on both sides, the d products
x_{j,a}·(a polynomial of 10^5 terms) for every token and expands them, only
to subtract the two expansions.  Kept as sums, the difference is
Σ_a x_{j,a}(C_a − Δ_a) and the large factors are subtracted first: what is
left to expand is whatever does not cancel (nothing, when the identity holds
term by term).

Nothing here is an approximation or a heuristic of the *value*: a
PolynomialSum is an exact polynomial written in a different order, and every
question about it (equality, zero test, degree, value at a point, quotient)
is answered on its full expansion, computed once and kept.  Only the
*order of evaluation* changes: products are distributed over sums where the
distributive law is exact.

- sum ± sum, sum ± polynomial: merge (polynomial = the multiplier 1);
- sum × constant: each B_k scaled (for 1/n, only a denominator changes);
- sum × a small polynomial s: the sum is expanded and kept as the one term s·(expansion);
- sum × anything larger, ``/`` by a non-constant, powers: expanded, then eager.
"""

from __future__ import annotations

import weakref
from fractions import Fraction
from math import gcd
from typing import Any, Iterable

from transformer_proofs.constructions.rational_functions import RationalFunction, polynomial_sum

MULTIPLIER_TERMS = 4  # a factor of at most this many terms may stay unexpanded beside a large one
LAZY_MIN_TERMS = 2048  # ... when the other factor has at least this many (below it, expanding is cheap)


class PolynomialSum:
    """Σ_k m_k · B_k over one polynomial context, expanded on demand (see the module docstring)."""

    __slots__ = ("ctx", "terms", "_expanded")
    __array_priority__ = 0

    def __init__(self, ctx: Any, terms: dict[tuple, tuple[Any, RationalFunction, int]]) -> None:
        self.ctx = ctx
        # key(m) -> (m, B, sign): the term sign · m · B (a sign, so that negating
        # never copies a large B); never mutated after construction
        self.terms = terms
        self._expanded: RationalFunction | None = None

    # -- building -------------------------------------------------------------------
    @staticmethod
    def of(value: RationalFunction) -> "PolynomialSum":
        """A polynomial as the one term 1 · value."""
        ctx = value.num.context()
        one = ctx.constant(1)
        return PolynomialSum(ctx, {} if value.is_zero() else {_key(one): (one, value, 1)})

    def expand(self) -> RationalFunction:
        """Σ_k m_k · B_k multiplied out (once; kept)."""
        if self._expanded is None:
            self._expanded = polynomial_sum([B * RationalFunction._make(m if sign > 0 else -m, 1)
                                             if not (_is_one(m) and sign > 0) else B
                                             for m, B, sign in self.terms.values()], self.ctx)
        return self._expanded

    # -- the lazy operations ---------------------------------------------------------------
    def _merged(self, other: "PolynomialSum", subtract: bool) -> "PolynomialSum":
        terms = dict(self.terms)
        for k, (m, B, sign) in other.terms.items():
            e = -sign if subtract else sign
            if k in terms:
                _, B0, s0 = terms[k]
                total = _shared_op(B0, B, "+" if s0 == e else "-")  # s0·B0 + e·B = s0·(B0 ± B)
                if total.is_zero():
                    del terms[k]
                else:
                    terms[k] = (m, total, s0)
            else:
                terms[k] = (m, B, e)
        return PolynomialSum(self.ctx, terms)

    def _scaled(self, c: RationalFunction) -> "PolynomialSum":
        """c · self for a constant c."""
        if c.is_zero():
            return PolynomialSum(self.ctx, {})
        if int(c.num.leading_coefficient()) < 0:  # the sign goes to the terms' signs, not into B
            c, flip = -c, -1
        else:
            flip = 1
        return PolynomialSum(self.ctx, {k: (m, _shared_op(B, c, "*"), sign * flip)
                                        for k, (m, B, sign) in self.terms.items()})

    def _as_sum(self, other: Any) -> "PolynomialSum | None":
        if isinstance(other, PolynomialSum):
            return other
        r = _as_rational(self.ctx, other)
        if r is None or not r.is_polynomial():
            return None
        return PolynomialSum.of(r)

    # -- operators ---------------------------------------------------------------------------
    def __add__(self, other: Any) -> Any:
        if isinstance(other, RationalFunction) and not other.is_polynomial():
            return self.expand() + other
        o = self._as_sum(other)
        return NotImplemented if o is None else self._merged(o, subtract=False)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, RationalFunction) and not other.is_polynomial():
            return self.expand() - other
        o = self._as_sum(other)
        return NotImplemented if o is None else self._merged(o, subtract=True)

    def __rsub__(self, other: Any) -> Any:
        if isinstance(other, RationalFunction) and not other.is_polynomial():
            return other - self.expand()
        o = self._as_sum(other)
        return NotImplemented if o is None else o._merged(self, subtract=True)

    def __neg__(self) -> "PolynomialSum":
        return PolynomialSum(self.ctx, {k: (m, B, -sign) for k, (m, B, sign) in self.terms.items()})

    def __mul__(self, other: Any) -> Any:
        if isinstance(other, PolynomialSum):
            return self.expand() * other.expand()
        r = _as_rational(self.ctx, other)
        if r is None:
            return NotImplemented
        return product(self, r)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        r = _as_rational(self.ctx, other)
        if isinstance(other, PolynomialSum):
            r = other.expand()
        if r is None:
            return NotImplemented
        if r.is_polynomial() and len(r.num) == 1 and r.num.is_constant():
            return self._scaled(r.inverse())
        return self.expand() / r

    def __rtruediv__(self, other: Any) -> Any:
        return other / self.expand()

    def __pow__(self, k: int) -> Any:
        return self.expand() ** k

    def inverse(self) -> RationalFunction:
        return self.expand().inverse()

    # -- questions: answered on the expansion ---------------------------------------------------
    def __eq__(self, other: Any) -> bool:
        if isinstance(other, PolynomialSum):
            return self._merged(other, subtract=True).is_zero()
        o = _as_rational(self.ctx, other)
        if o is None:
            return NotImplemented
        return bool(self.expand() == o)

    def __ne__(self, other: Any) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def is_zero(self) -> bool:
        return not self.terms or self.expand().is_zero()

    def __bool__(self) -> bool:
        return not self.is_zero()

    def __call__(self, *point: Any) -> Fraction:
        return self.expand()(*point)

    # the representation's parts, read on the expansion (a PolynomialSum is a polynomial)
    num = property(lambda self: self.expand().num)
    den = property(lambda self: self.expand().den)
    numer = property(lambda self: self.expand().numer)
    denom = property(lambda self: self.expand().denom)

    def is_polynomial(self) -> bool:
        return True

    def total_degree(self) -> int:
        return self.expand().total_degree()

    def as_expr(self) -> Any:
        return self.expand().as_expr()

    def __repr__(self) -> str:
        return " + ".join(f"{'-' if sign < 0 else ''}({m})*[{len(B.num)} terms]"
                          for m, B, sign in self.terms.values()) or "0"


# ---------------------------------------------------------------------------
# products and sums that stay lazy where it pays
# ---------------------------------------------------------------------------


# The same operation on the same two large polynomials recurs: the n + 1
# tokens' labels all scale the layer's update c_a by 1/n, add it to the same
# running coefficient, and subtract the same reference coefficient Δ_a.  A
# result is kept (weakly) while its two operands and itself are alive, keyed by
# the operands' identities (RationalFunctions are never mutated).
_RESULTS: dict[tuple[int, int, str], tuple[Any, Any, Any]] = {}
_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _shared_op(a: RationalFunction, b: RationalFunction, op: str) -> RationalFunction:
    """a op b for op in + - *, reusing the result when the same two objects were just combined."""
    key = (id(a), id(b), op)
    hit = _RESULTS.get(key)
    if hit is not None and hit[0]() is a and hit[1]() is b:
        out = hit[2]()
        if out is not None:
            return out
    out = _OPS[op](a, b)
    if len(_RESULTS) > 4096:  # drop the entries whose polynomials are gone
        for k in [k for k, refs in _RESULTS.items() if any(r() is None for r in refs)]:
            del _RESULTS[k]
    _RESULTS[key] = (weakref.ref(a), weakref.ref(b), weakref.ref(out))
    return out


def _key(m: Any) -> tuple:
    return tuple(zip(m.monoms(), (int(c) for c in m.coeffs())))


def _is_one(m: Any) -> bool:
    return bool(m.is_one())


def _as_rational(ctx: Any, x: Any) -> RationalFunction | None:
    if isinstance(x, RationalFunction):
        return x
    if isinstance(x, (int, Fraction)):
        f = Fraction(x)
        return RationalFunction._make(ctx.constant(f.numerator), f.denominator)
    return None


def _is_constant(r: RationalFunction) -> bool:
    return r.is_polynomial() and len(r.num) <= 1 and bool(r.num.is_constant())


def _is_multiplier(r: RationalFunction) -> bool:
    return r.is_polynomial() and len(r.num) <= MULTIPLIER_TERMS


def _term(s: RationalFunction, B: RationalFunction) -> PolynomialSum:
    """s · B as one lazy term, s a small non-constant polynomial: s = c · m with
    m primitive and of positive leading coefficient (the key), c = content/den folded into B."""
    coeffs = [int(c) for c in s.num.coeffs()]
    c = 0
    for v in coeffs:
        c = gcd(c, v)
    sign = -1 if coeffs[0] < 0 else 1
    m = s.num if c * sign == 1 else s.num / (c * sign)
    factor = Fraction(c, s.den)
    if factor != 1:
        B = B * RationalFunction._make(B.num.context().constant(factor.numerator), factor.denominator)
    return PolynomialSum(B.num.context(), {} if B.is_zero() else {_key(m): (m, B, sign)})


def product(a: Any, b: Any) -> Any:
    """a · b, kept as a lazy term s·B when one factor is a small polynomial s
    and the other is large (or already a PolynomialSum); a constant factor
    scales a PolynomialSum; otherwise the expanded product."""
    if isinstance(a, RationalFunction) and isinstance(b, PolynomialSum):
        a, b = b, a
    if isinstance(a, PolynomialSum):
        if isinstance(b, PolynomialSum):
            return a.expand() * b.expand()
        if _is_constant(b):
            return a._scaled(b)
        if _is_multiplier(b):
            return _term(b, a.expand())
        return a.expand() * b
    if a.is_polynomial() and b.is_polynomial():
        if len(b.num) < len(a.num):
            a, b = b, a  # a the smaller
        if len(a.num) <= MULTIPLIER_TERMS and len(b.num) >= LAZY_MIN_TERMS and not _is_constant(a):
            return _term(a, b)
    return a * b


def lazy_sum(values: Iterable[Any], ctx: Any) -> Any:
    """Σ values: a RationalFunction when every value is one (a balanced tree
    of additions), else a PolynomialSum with the polynomials merged in."""
    vals = list(values)
    plain = [v for v in vals if isinstance(v, RationalFunction)]
    lazy = [v for v in vals if isinstance(v, PolynomialSum)]
    if not lazy:
        return polynomial_sum(plain, ctx)
    out = lazy[0]
    for v in lazy[1:]:
        out = out._merged(v, subtract=False)
    if plain:
        out = out + polynomial_sum(plain, ctx)
    return out
