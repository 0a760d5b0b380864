"""Number systems the engine runs over.

One forward pass serves every number system: the engine and the reference
algorithms only ever call the methods of an :class:`Arithmetic` (``array``,
``const``, ``matmul``, ``exp``, ``relu``, ``T``, ``concat``) and the
operators ``+ - * /`` and indexing on the arrays it returns.  Arrays are numpy
arrays: ``float64`` for :class:`Float64`, ``object`` arrays of exact or
multiprecision scalars for the others, and an :class:`ErrArray` (value plus a
running error bound) for :class:`Float64Bounded`.

| class              | scalars                      | evidence        | relu | exp |
|--------------------|------------------------------|-----------------|------|-----|
| Float64            | IEEE double                  | numerical       | yes  | yes |
| Float64Bounded     | double + running error bound | numerical       | yes  | yes |
| Multiprecision     | mpmath.mpf at ``dps`` digits | multiprecision  | yes  | yes |
| Rational           | flint.fmpq                   | exact           | yes  | no  |
| PrimeField         | flint.nmod, p = 2^61 - 1     | exact (w.h.p.)  | no   | no  |
| Symbolic           | flint rational functions     | symbolic        | cell | no  |
| Ball               | flint.arb at ``prec`` bits   | certified       | yes  | yes |

An operation without meaning in a number system raises
:class:`ArithmeticDomainError` naming the operation and the system, instead of
computing garbage (ReLU needs an order, which GF(p) lacks; exp of a rational is
irrational).
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, Sequence

import flint
import mpmath
import numpy as np
from mpmath.libmp import from_man_exp, from_rational
from transformer_proofs.constructions.memo import remembered
from transformer_proofs.constructions.polynomial_sums import PolynomialSum, lazy_sum, product
from transformer_proofs.constructions.rational_functions import RationalFunction, polynomial_context

Scalar = Any
Array = Any

MERSENNE_61 = 2**61 - 1
UNIT_ROUNDOFF_64 = 2.0**-53


class ArithmeticDomainError(ArithmeticError):
    """An operation was asked of a number system in which it has no meaning."""


class Sym:
    """A free variable (``Sym("x")``) or a formula built from free variables
    with + - * / and numbers.  Construction code can combine drawn entries
    without knowing whether they are numbers or symbols; only
    :class:`Symbolic` evaluates a Sym (every other number system refuses it)."""

    __slots__ = ("name", "op", "args")

    def __init__(self, name: str | None = None, op: str | None = None, args: tuple = ()) -> None:
        self.name, self.op, self.args = name, op, args

    def __repr__(self) -> str:
        return self.name if self.op is None else f"({self.op} {' '.join(map(repr, self.args))})"

    def __add__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="+", args=(self, o))

    def __radd__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="+", args=(o, self))

    def __sub__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="-", args=(self, o))

    def __rsub__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="-", args=(o, self))

    def __mul__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="*", args=(self, o))

    def __rmul__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="*", args=(o, self))

    def __truediv__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="/", args=(self, o))

    def __rtruediv__(self, o: Any) -> "Sym":
        return NotImplemented if isinstance(o, np.ndarray) else Sym(op="/", args=(o, self))

    def __neg__(self) -> "Sym":
        return Sym(op="-", args=(0, self))


def _as_fraction(x: Any) -> Fraction:
    """Exact conversion of ints, Fractions, flint.fmpq and finite floats."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(float(x)):
            raise ValueError(f"non-finite value {x!r} cannot enter an exact computation")
        return Fraction(float(x))
    if isinstance(x, flint.fmpq):
        return Fraction(int(x.p), int(x.q))
    if isinstance(x, Sym):
        raise ArithmeticDomainError(f"free symbol {x!r} outside the symbolic number system")
    raise TypeError(f"cannot convert {type(x).__name__} {x!r} to an exact rational")


EXACT_FLOAT_BITS = 24  # a float entering an exact run must be k / 2^j with j <= 24 (or an integer)


def exact_fraction(x: Any, system: str) -> Fraction:
    """:func:`_as_fraction` for the exact number systems, refusing a float that
    is not plainly the number it means: 0.1 is the double
    3602879701896397/2^55, not 1/10, and an exact check of a weight written as
    0.1 would report a false mismatch.  Integers and dyadics k/2^j with
    j <= 24 (0.5, 0.25, ...) are taken as they are."""
    if isinstance(x, (float, np.floating)) and math.isfinite(float(x)):
        f = Fraction(float(x))
        if f.denominator > 2**EXACT_FLOAT_BITS:
            raise ArithmeticDomainError(
                f"float {float(x)!r} in an exact run ({system}): as a double it is {f}, not the number it "
                "means; give weights as Fraction or int")
        return f
    return _as_fraction(x)


def _object_array(values: Iterable[Any], shape: tuple[int, ...]) -> np.ndarray:
    """An object array of ``shape`` filled from ``values`` (row-major), each
    value stored as it is (one C-level pass: no list, no per-entry indexing)."""
    size = math.prod(shape)
    return np.fromiter(values, dtype=object, count=size).reshape(shape)


class Arithmetic:
    """Interface every number system implements (see the module docstring)."""

    name: str = "abstract"
    evidence: str = "none"
    ordered: bool = True

    # -- construction -------------------------------------------------------
    def scalar(self, x: Any) -> Scalar:
        raise NotImplementedError

    def array(self, x: Any) -> Array:
        """Convert numbers (floats, ints, Fractions, or scalars already of this
        system) to an array of this system."""
        a = np.asarray(x, dtype=object)
        return _object_array((self.scalar(v) for v in a.ravel()), a.shape)

    def const(self, x: Any) -> Scalar:
        return self.scalar(x)

    def weight(self, w: Any) -> Array:
        """``self.array(w)`` for a weight (plain numbers), converted once per
        weight array and remembered while the array lives, read-only: a
        construction that repeats a layer's weights (functional GD's L equal
        steps) or a forward pass run on many prompts converts them once.
        Weights are never changed in place (a mutant is a new array); a value
        that cannot be weakly referenced (a list) is converted every time."""
        def convert() -> Array:
            out = self.array(w)
            for part in (out.val, out.err) if isinstance(out, ErrArray) else (out,):
                if isinstance(part, np.ndarray) and not np.may_share_memory(part, w):  # never the caller's own array
                    part.flags.writeable = False
            return out

        return remembered(self.__dict__.setdefault("_weight_arrays", {}), w, "array", convert)

    def zeros(self, shape: tuple[int, ...]) -> Array:
        return self.array(np.zeros(shape, dtype=object) + 0)

    def eye(self, n: int) -> Array:
        return self.array(np.eye(n, dtype=int).astype(object))

    # -- structure ----------------------------------------------------------
    @staticmethod
    def T(a: Array) -> Array:
        return a.swapaxes(-1, -2)

    @staticmethod
    def concat(arrays: Sequence[Array], axis: int) -> Array:
        return np.concatenate(list(arrays), axis=axis)

    # -- algebra ------------------------------------------------------------
    def matmul(self, a: Array, b: Array) -> Array:
        return np.matmul(a, b)

    def sum(self, a: Array, axis: int) -> Array:
        return a.sum(axis=axis)

    def linear_attention(self, W_V: Any, W_K: Any, W_Q: Any, W_O: Any, Z_M: Array, Z: Array) -> Array:
        """W_O (W_V Z_M)(W_K Z_M)ᵀ (W_Q Z): one linear head, associated (the
        engine's :func:`~transformer_proofs.constructions.engine.linear_head_associated`).
        Weights are plain numbers (converted here), Z_M and Z states of this
        system; W_O None is the identity.  Systems on flint matrices compute
        it without leaving them."""
        V_M = self.matmul(self.weight(W_V), Z_M)  # (.., d_value, n_k)
        K_M = self.matmul(self.weight(W_K), Z_M)  # (.., d_head, n_k)
        VK = self.matmul(V_M, self.T(K_M))  # (.., d_value, d_head): Σ_i v_i k_iᵀ
        if W_O is not None:
            VK = self.matmul(self.weight(W_O), VK)  # (.., d_out, d_head)
        return self.matmul(VK, self.matmul(self.weight(W_Q), Z))  # (.., d_out, N)

    def exp(self, a: Array) -> Array:
        raise ArithmeticDomainError(f"exp has no meaning in {self.name}: its values are not closed under exp")

    def relu(self, a: Array) -> Array:
        raise ArithmeticDomainError(f"ReLU has no meaning in {self.name}: it needs an ordered field")

    def apply_mask(self, a: Array, mask: np.ndarray) -> Array:
        """a · mask for a 0/1 integer mask: exact in every number system.

        Applied structurally: the entries where the mask is 0 are set to this
        system's zero (x · 0 = 0 and x · 1 = x exactly), without converting the
        N × N mask into the number system."""
        keep = np.asarray(mask) != 0
        a = np.asarray(a, dtype=object)
        shape = np.broadcast_shapes(a.shape, keep.shape)
        out = np.array(np.broadcast_to(a, shape), dtype=object)  # a copy, as a · mask was
        out[np.broadcast_to(~keep, shape)] = self.const(0)
        return out

    def working_precision(self) -> AbstractContextManager[Any]:
        """Entered around a whole computation (the engine's forward pass, a
        check's evaluation): number systems with a global working precision
        (arb) set it here, so that operators like ``a + b`` run at it too."""
        return nullcontext()

    def softmax_shift(self, scores: Array, mask: Array) -> Array:
        """A per-query shift subtracted from the scores before exp; softmax is
        invariant under it.  Only float64 needs one (to avoid overflow)."""
        return None

    # -- read-out -----------------------------------------------------------
    def to_float(self, a: Array) -> np.ndarray:
        return np.asarray(a, dtype=object).astype(float)

    def describe(self) -> str:
        return self.name


# ---------------------------------------------------------------------------
# float64
# ---------------------------------------------------------------------------


class Float64(Arithmetic):
    """IEEE double precision on numpy arrays; supports leading batch axes."""

    name = "float64"
    evidence = "numerical"

    def scalar(self, x: Any) -> float:
        return float(x)

    def array(self, x: Any) -> np.ndarray:
        a = np.asarray(x)
        if a.dtype == object:
            a = a.astype(float)
        return np.asarray(a, dtype=np.float64)

    def const(self, x: Any) -> float:
        return float(x)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape)

    def eye(self, n: int) -> np.ndarray:
        return np.eye(n)

    def exp(self, a: np.ndarray) -> np.ndarray:
        return np.exp(a)

    def relu(self, a: np.ndarray) -> np.ndarray:
        return np.maximum(a, 0.0)

    def apply_mask(self, a: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return a * mask

    def softmax_shift(self, scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
        masked = np.where(mask > 0, scores, -np.inf)
        shift = masked.max(axis=-2, keepdims=True)
        return np.where(np.isfinite(shift), shift, 0.0)

    def to_float(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float64)


# ---------------------------------------------------------------------------
# float64 with a running error bound
# ---------------------------------------------------------------------------


def gamma(k: int, u: float = UNIT_ROUNDOFF_64) -> float:
    """Higham's gamma_k = k u / (1 - k u): the relative error bound of a
    length-k floating-point sum or dot product."""
    if k * u >= 1:
        raise ValueError(f"gamma_{k} undefined: k u = {k * u} >= 1")
    return k * u / (1 - k * u)


def no_error(shape: tuple[int, ...]) -> np.ndarray:
    """A zero error bound of ``shape`` that costs no memory (a read-only
    broadcast of one 0.0): what an exactly represented array carries."""
    return np.broadcast_to(np.float64(0.0), shape)


def is_no_error(err: np.ndarray) -> bool:
    """True for a bound made by :func:`no_error` (or any view of it): every
    stride 0 and the one value 0.  O(1); False says nothing."""
    return not any(err.strides) and (err.size == 0 or float(err.flat[0]) == 0.0)


@dataclass
class ErrArray:
    """A float64 array ``val`` and a bound ``err`` on |val - exact| entrywise.

    The bound is propagated by running error analysis (Wilkinson; Higham,
    *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.1): each
    operation adds the rounding error of its result to the propagated error of
    its inputs.  Second-order terms (err·err) are kept, so the bound is not
    merely first order; the computation of the bound itself is rounded, which
    we cover with a factor (1 + 4u) on each step (far below the slack)."""

    val: np.ndarray
    err: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.val.shape

    @property
    def ndim(self) -> int:
        return self.val.ndim

    def _view(self, op: Callable[[np.ndarray], np.ndarray]) -> "ErrArray":
        """The same view (index, transpose, reshape) of value, bound and, when
        known, |value|; an exact array stays known exact."""
        val = op(self.val)
        out = ErrArray(val, no_error(val.shape) if self.exact else op(self.err))
        cached = self.__dict__.get("_abs")
        if cached is not None:
            out.__dict__["_abs"] = op(cached)
        return out

    def __getitem__(self, idx: Any) -> "ErrArray":
        return self._view(lambda a: a[idx])

    def swapaxes(self, a: int, b: int) -> "ErrArray":
        return self._view(lambda x: x.swapaxes(a, b))

    def reshape(self, *shape: Any) -> "ErrArray":
        return self._view(lambda a: a.reshape(*shape))

    def abs(self) -> np.ndarray:
        """|val|, computed once per array (values are never changed in place)."""
        cached = self.__dict__.get("_abs")
        if cached is None:
            cached = self.__dict__["_abs"] = np.abs(self.val)
        return cached

    @staticmethod
    def lift(x: Any) -> "ErrArray":
        if isinstance(x, ErrArray):
            return x
        v = np.asarray(x, dtype=np.float64)
        return ErrArray(v, no_error(v.shape))

    @property
    def exact(self) -> bool:
        """Is the bound zero (an exact value: a dyadic draw, a weight that is
        a double, the x rows of a prompt whose label row carries an error)?
        O(1) for a bound made by :func:`no_error`; otherwise read once and
        remembered (a zero bound is then replaced by one of :func:`no_error`)."""
        if is_no_error(self.err):
            return True
        known = self.__dict__.get("_exact")
        if known is None:
            known = self.__dict__["_exact"] = not self.err.any()
            if known:
                self.err = no_error(self.val.shape)
        return known

    def _round(self, val: np.ndarray, err: np.ndarray) -> "ErrArray":
        u = UNIT_ROUNDOFF_64
        bound = np.abs(val)
        bound *= u
        if not is_no_error(err):
            bound += err
        # the factor covers the rounding of the bound's own computation: at most three roundings in the
        # operation's error term (a product's three products and two sums, a quotient's difference, sum and
        # division) and two here, each a factor (1 + u): (1 + u)^5 <= 1 + 8u
        bound *= 1 + 8 * u
        return ErrArray(val, bound)

    def __add__(self, other: Any) -> "ErrArray":
        o = ErrArray.lift(other)
        val = self.val + o.val
        if self.exact:
            err = o.err
        elif o.exact:
            err = self.err
        else:
            err = self.err + o.err
        return self._round(val, err)

    __radd__ = __add__

    def __neg__(self) -> "ErrArray":
        return ErrArray(-self.val, self.err)

    def __sub__(self, other: Any) -> "ErrArray":
        return self + (-ErrArray.lift(other))

    def __rsub__(self, other: Any) -> "ErrArray":
        return ErrArray.lift(other) - self

    def __mul__(self, other: Any) -> "ErrArray":
        o = ErrArray.lift(other)
        if self.exact and o.exact:
            err = o.err
        elif o.exact:
            err = self.err * o.abs()
        elif self.exact:
            err = self.abs() * o.err
        else:
            err = self.abs() * o.err + self.err * o.abs() + self.err * o.err
        return self._round(self.val * o.val, err)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "ErrArray":
        o = ErrArray.lift(other)
        lower = np.abs(o.val) - o.err
        if np.any(lower <= 0):
            raise ArithmeticDomainError("division by a value whose error bound reaches zero")
        q = self.val / o.val
        err = (self.err + np.abs(q) * o.err) / lower
        return self._round(q, err)

    def __rtruediv__(self, other: Any) -> "ErrArray":
        return ErrArray.lift(other) / self

    def sum(self, axis: int) -> "ErrArray":
        k = self.val.shape[axis]
        v = self.val.sum(axis=axis)
        err = gamma(max(k - 1, 1)) * self.abs().sum(axis=axis)
        if not self.exact:
            err = err + self.err.sum(axis=axis)
        # Σ|x| and Σe are k-term sums (each low by at most γ_{k-1}), then a scaling, an addition and this
        # scaling: covered by 1 + 4u(k + 2), as matmul's bound is by 1 + 4u(k + 4)
        return ErrArray(v, err * (1 + 4 * UNIT_ROUNDOFF_64 * (k + 2)))


def _gamma_plus(abs_x: np.ndarray, g: float, err: np.ndarray, c: float) -> np.ndarray:
    """c (g |x| + e_x), in one new array."""
    t = abs_x * g
    t += err
    t *= c
    return t


def _scaled_product(a: np.ndarray, b: np.ndarray, factor: float) -> np.ndarray:
    """factor · (a @ b), the scaling applied to the smallest of a, b, a @ b."""
    out_size = int(np.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))) * a.shape[-2] * b.shape[-1]
    if a.size <= min(b.size, out_size):
        return np.matmul(a * factor, b)
    if b.size <= out_size:
        return np.matmul(a, b * factor)
    out = np.matmul(a, b)
    out *= factor
    return out


SMALLEST_NORMAL_64 = 2.0**-1022


def rounding_error(x: Any, f: float) -> float:
    """A bound on |f − x| for f = float(x), the double nearest x: 0 when f is
    x exactly; else half an ulp, u·|f| where f is a normal double (Higham
    Thm 2.2 in the form fl(x) = x/(1 + δ)), and half the least subnormal,
    2^-1075, below (a nonzero x that became 0.0 or a subnormal keeps an error)."""
    if _is_exact_double(x, f):
        return 0.0
    return UNIT_ROUNDOFF_64 * abs(f) if abs(f) >= SMALLEST_NORMAL_64 else 2.0**-1075


def is_exact_double(x: Any, f: float) -> bool:
    """Is the double ``f = float(x)`` exactly the number ``x``?  (Public name of the test below.)"""
    return _is_exact_double(x, f)


def _is_exact_double(x: Any, f: float) -> bool:
    """Is the double ``f = float(x)`` exactly the number ``x``?  Decided without
    building Fractions for the common cases: doubles themselves, integers
    below 2^53, and Fractions whose denominator is a power of two below 2^1000
    with a numerator below 2^53 (dyadic draws and weights)."""
    t = type(x)
    if t is float:
        return True
    if t is int:
        return -(2**53) <= x <= 2**53
    if t is Fraction:
        q = x.denominator
        if q & (q - 1) == 0 and q.bit_length() <= 1000 and -(2**53) <= x.numerator <= 2**53:
            return True
    return Fraction(f) == _as_fraction(x)


class Float64Bounded(Arithmetic):
    """float64 values carried with a rigorous-in-spirit running error bound.

    Used to *derive* tolerances: |computed - exact| <= err for every entry,
    up to the rounding of the bound computation itself.  The check compares
    ``|model - reference| <= err_model + err_reference``."""

    name = "float64+bound"
    evidence = "numerical"

    def scalar(self, x: Any) -> float:
        return float(x)

    def array(self, x: Any) -> ErrArray:
        if isinstance(x, ErrArray):
            return x
        return self._convert(x)  # not remembered: a prompt may be refilled in place (weights go through weight())

    def _convert(self, x: Any) -> ErrArray:
        a = np.asarray(x)
        exact = no_error(a.shape)
        if a.dtype == object:
            # entries that are not exactly representable start with half an ulp
            f = a.astype(float)
            errs = [rounding_error(v, fv) for fv, v in zip(f.ravel().tolist(), a.ravel())]
            if any(errs):
                exact = np.array(errs).reshape(a.shape)
            a = f
        return ErrArray(np.asarray(a, dtype=np.float64), exact)

    def const(self, x: Any) -> ErrArray:
        f = float(x)
        return ErrArray(np.asarray(f), np.asarray(rounding_error(x, f)))

    def zeros(self, shape: tuple[int, ...]) -> ErrArray:
        return ErrArray(np.zeros(shape), no_error(shape))

    def eye(self, n: int) -> ErrArray:
        return ErrArray(np.eye(n), no_error((n, n)))

    @staticmethod
    def T(a: ErrArray) -> ErrArray:
        return a.swapaxes(-1, -2)

    @staticmethod
    def concat(arrays: Sequence[Any], axis: int) -> ErrArray:
        lifted = [ErrArray.lift(a) for a in arrays]
        val = np.concatenate([a.val for a in lifted], axis=axis)
        if all(a.exact for a in lifted):
            return ErrArray(val, no_error(val.shape))
        return ErrArray(val, np.concatenate([a.err for a in lifted], axis=axis))

    def matmul(self, a: Any, b: Any) -> ErrArray:
        """a·b with the bound |a b - exact| <= γ_k |a||b| + |a| e_b + e_a |b| + e_a e_b
        (Higham §3.5: each of the k-term dot products errs by at most γ_k
        Σ|a_i||b_i|), computed as the fewest products of absolute values:
        exact factors (weights that are doubles, drawn dyadic prompts) skip
        their terms; the absolute value of a weight is computed once per weight."""
        a, b = ErrArray.lift(a), ErrArray.lift(b)
        k = a.val.shape[-1]
        val = np.matmul(a.val, b.val)
        g = gamma(k)
        # the factor covers the rounding of the bound's own computation (k-term sums, two
        # scalings and one addition), applied to the cheaper of the two operands
        c = 1 + 4 * UNIT_ROUNDOFF_64 * (k + 4)
        abs_a, abs_b = a.abs(), b.abs()  # |W| once per weight: the weight's ErrArray is remembered
        if a.exact and b.exact:
            bound = _scaled_product(abs_a, abs_b, g * c)
        elif b.exact:  # (γ|a| + e_a)|b|
            bound = np.matmul(_gamma_plus(abs_a, g, a.err, c), abs_b)
        elif a.exact:  # |a|(γ|b| + e_b)
            bound = np.matmul(abs_a, _gamma_plus(abs_b, g, b.err, c))
        else:  # |a|(γ|b| + e_b) + e_a(|b| + e_b)
            bound = np.matmul(abs_a, _gamma_plus(abs_b, g, b.err, c))
            bound += np.matmul(a.err, _gamma_plus(abs_b, 1.0, b.err, c))
        return ErrArray(val, bound)

    def sum(self, a: ErrArray, axis: int) -> ErrArray:
        return a.sum(axis)

    def exp(self, a: ErrArray) -> ErrArray:
        v = np.exp(a.val)
        # |e^{x+d} - e^x| <= e^x (e^{|d|} - 1); numpy's exp is within 1 ulp: 2u.
        err = v * np.expm1(a.err) + 2 * UNIT_ROUNDOFF_64 * v
        return ErrArray(v, err * (1 + 4 * UNIT_ROUNDOFF_64))

    def relu(self, a: ErrArray) -> ErrArray:
        # ReLU is 1-Lipschitz and exact in floating point.
        return ErrArray(np.maximum(a.val, 0.0), a.err)

    def apply_mask(self, a: Any, mask: np.ndarray) -> ErrArray:
        # multiplying by 0 or 1 is exact: no rounding term
        a = ErrArray.lift(a)
        return ErrArray(a.val * mask, a.err * mask)

    def softmax_shift(self, scores: ErrArray, mask: np.ndarray) -> np.ndarray:
        # An exactly known float shift: it changes nothing mathematically.
        return Float64().softmax_shift(scores.val, mask)

    def to_float(self, a: Any) -> np.ndarray:
        return ErrArray.lift(a).val


# ---------------------------------------------------------------------------
# multiprecision
# ---------------------------------------------------------------------------


_MP_CONTEXTS: dict[int, Any] = {}


def _mp_context(dps: int) -> Any:
    """mpmath's own context at ``dps`` digits, made once per precision (a new
    context costs more than many products) and shared by the Multiprecision
    systems of that precision; one whose precision was changed is replaced."""
    ctx = _MP_CONTEXTS.get(dps)
    if ctx is None or ctx.dps != dps:
        ctx = _MP_CONTEXTS[dps] = mpmath.MPContext()
        ctx.dps = dps
    return ctx


class Multiprecision(Arithmetic):
    """mpmath floating point at ``dps`` decimal digits (mpmath's own context
    for that precision, shared by the systems of the same ``dps``, so nothing
    global changes; do not change its precision: make another system).  Its
    unit roundoff is ``2**-prec``."""

    evidence = "multiprecision"

    def __init__(self, dps: int = 50) -> None:
        if dps < 15:
            raise ValueError(f"multiprecision below double precision makes no sense: dps={dps}")
        self.dps = dps
        self.ctx = _mp_context(dps)
        self.name = f"mpmath[{dps} digits]"

    @property
    def unit_roundoff(self) -> float:
        return 2.0 ** (-self.ctx.prec)

    def scalar(self, x: Any) -> Any:
        if isinstance(x, Fraction):
            p, q = x.numerator, x.denominator
            prec, rnd = self.ctx._prec_rounding
            if q & (q - 1) == 0:  # dyadic (draws, weights): p rounded once, then an exact scaling, in one step
                return self.ctx.make_mpf(from_man_exp(p, 1 - q.bit_length(), prec, rnd))
            if p.bit_length() <= prec:  # p exact at this precision: mpf(p) / q is the quotient rounded once
                return self.ctx.make_mpf(from_rational(p, q, prec, rnd))
            return self.ctx.mpf(p) / q
        if isinstance(x, flint.fmpq):
            return self.ctx.mpf(int(x.p)) / int(x.q)
        if isinstance(x, (float, np.floating)) and not math.isfinite(float(x)):
            raise ValueError(f"non-finite value {x!r}")
        return self.ctx.mpf(x if not isinstance(x, np.generic) else x.item())

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Each entry of a 2-D product is the exact dot product (in integers,
        through flint's fmpz_mat) rounded once to the working precision: at
        least as accurate as the k roundings of a term-by-term sum, so within
        the same γ_k bound.  Batched products go term by term."""
        a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or a.shape[1] == 0:
            return np.matmul(a, b)
        ia, ea = self._scaled_integers(a)
        ib, eb = self._scaled_integers(b)
        if ia is None or ib is None:  # an infinity or a NaN: mpmath's own arithmetic says what it means
            return np.matmul(a, b)
        (m, k), n = a.shape, b.shape[1]
        prod = flint.fmpz_mat(m, k, ia) * flint.fmpz_mat(k, n, ib)
        # c · 2^e rounded once to the working precision: what mpf(c) then an exact ldexp by e gives, in one step
        make, (prec, rnd), e = self.ctx.make_mpf, self.ctx._prec_rounding, ea + eb
        return _object_array((make(from_man_exp(int(v), e, prec, rnd)) for v in prod.entries()), (m, n))

    def _scaled_integers(self, a: np.ndarray) -> tuple[list[int] | None, int]:
        """Integers c_i and one exponent e with a_i = c_i 2^e exactly (None for a non-finite entry)."""
        mpf = self.ctx.mpf
        raw = [v._mpf_ if type(v) is mpf else self.scalar(v)._mpf_ for v in a.ravel()]  # (sign, man, exp, bc)
        if any(not man and bc for _, man, _, bc in raw):  # inf or nan
            return None, 0
        e = min((exp for _, man, exp, _ in raw if man), default=0)
        return [(-man if sign else man) << (exp - e) if man else 0 for sign, man, exp, _ in raw], e

    def exp(self, a: np.ndarray) -> np.ndarray:
        return _object_array((self.ctx.exp(v) for v in a.ravel()), a.shape)

    def relu(self, a: np.ndarray) -> np.ndarray:
        zero = self.ctx.mpf(0)
        return _object_array((v if v > 0 else zero for v in a.ravel()), a.shape)


# ---------------------------------------------------------------------------
# exact rationals
# ---------------------------------------------------------------------------


def _flint_matmul(a: np.ndarray, b: np.ndarray, mat: Callable[..., Any], extra: tuple = ()) -> np.ndarray:
    """2-D (or batched) matrix product through a flint matrix type."""
    if a.ndim > 2 or b.ndim > 2:
        lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a_full = np.broadcast_to(a, lead + a.shape[-2:])
        b_full = np.broadcast_to(b, lead + b.shape[-2:])
        out = np.empty(lead + (a.shape[-2], b.shape[-1]), dtype=object)
        for idx in np.ndindex(*lead):
            out[idx] = _flint_matmul(a_full[idx], b_full[idx], mat, extra)
        return out
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape}")
    if k == 0:
        raise ValueError("matmul over an empty inner dimension")
    prod = mat(m, k, list(a.ravel()), *extra) * mat(k, n, list(b.ravel()), *extra)
    return _object_array(prod.entries(), (m, n))


class _FlintMatrices(Arithmetic):
    """A number system whose products run in one of flint's matrix types:
    a chain of products (a linear head) stays in flint matrices, with one
    conversion of each input and of the output."""

    # Exact systems (every order of the products gives the same value) may
    # run a transformer factored (constructions.factored); balls may not
    # (their radii depend on the order).
    exact_matrices: bool = False
    scalar_type: type = object

    def _to_mat(self, a: np.ndarray) -> Any:
        raise NotImplementedError

    def mat(self, rows: int, cols: int, entries: list[Any]) -> Any:
        """A rows × cols flint matrix from a flat list of this system's scalars
        (or ints), row by row."""
        return self._to_mat(_object_array(entries, (rows, cols)))

    def weight_matrix(self, w: Any) -> Any:
        """``w`` (a weight: plain numbers) as a flint matrix of this system,
        converted once per weight array and remembered while the array lives
        (weights are not changed in place: a mutant is a new array)."""
        return remembered(self.__dict__.setdefault("_weights", {}), w, "matrix", lambda: self._to_mat(self.array(w)))

    def linear_attention(self, W_V: Any, W_K: Any, W_Q: Any, W_O: Any, Z_M: Array, Z: Array) -> Array:
        if np.ndim(Z) != 2 or np.ndim(Z_M) != 2 or 0 in np.shape(Z_M):
            return super().linear_attention(W_V, W_K, W_Q, W_O, Z_M, Z)
        with self.working_precision():
            weight = self.weight_matrix
            ZM = self._to_mat(np.asarray(Z_M, dtype=object))
            VK = (weight(W_V) * ZM) * (weight(W_K) * ZM).transpose()
            if W_O is not None:
                VK = weight(W_O) * VK
            out = VK * (weight(W_Q) * self._to_mat(np.asarray(Z, dtype=object)))
            return _object_array(out.entries(), (out.nrows(), out.ncols()))


class Rational(_FlintMatrices):
    """Exact rational arithmetic (flint.fmpq; products through fmpq_mat)."""

    name = "rational"
    evidence = "exact"
    exact_matrices = True
    scalar_type = flint.fmpq

    def scalar(self, x: Any) -> flint.fmpq:
        t = type(x)
        if t is flint.fmpq:
            return x
        if t is Fraction:  # the common case (exact weights, dyadic draws): no detour
            return flint.fmpq(x.numerator, x.denominator)
        if t is int:
            return flint.fmpq(x)
        f = exact_fraction(x, self.name)
        return flint.fmpq(f.numerator, f.denominator)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _flint_matmul(a, b, flint.fmpq_mat)

    def _to_mat(self, a: np.ndarray) -> Any:
        return flint.fmpq_mat(a.shape[0], a.shape[1], list(a.ravel()))

    def mat(self, rows: int, cols: int, entries: list[Any]) -> Any:
        return flint.fmpq_mat(rows, cols, entries)

    def relu(self, a: np.ndarray) -> np.ndarray:
        zero = flint.fmpq(0)
        return _object_array((v if v > 0 else zero for v in a.ravel()), a.shape)

    @staticmethod
    def max_bits(a: np.ndarray) -> int:
        """Largest numerator or denominator bit length in ``a``."""
        return max((max(int(v.p).bit_length(), int(v.q).bit_length()) for v in np.asarray(a).ravel()), default=0)


# ---------------------------------------------------------------------------
# prime field
# ---------------------------------------------------------------------------


class PrimeField(_FlintMatrices):
    """GF(p) with p = 2^61 - 1 (flint.nmod, products through nmod_mat).

    Evaluating both sides of a polynomial identity of total degree D at a
    uniformly random point of GF(p)^N errs (a false "holds") with probability
    at most D/p (Schwartz–Zippel); r independent points: (D/p)^r.  Rational
    inputs map into the field when their denominators are prime to p."""

    name = "GF(2^61-1)"
    evidence = "exact"
    ordered = False
    exact_matrices = True
    scalar_type = flint.nmod

    def __init__(self, p: int = MERSENNE_61) -> None:
        self.p = p
        self.name = "GF(2^61-1)" if p == MERSENNE_61 else f"GF({p})"

    def scalar(self, x: Any) -> flint.nmod:
        t = type(x)
        if t is flint.nmod:
            return x
        if t is int or (t is Fraction and x.denominator == 1):  # uniform draws, integer weights
            return flint.nmod(int(x), self.p)
        f = exact_fraction(x, self.name)
        if f.denominator % self.p == 0:
            raise ArithmeticDomainError(f"{f} has a denominator divisible by p = {self.p}")
        return flint.nmod(f.numerator, self.p) / f.denominator

    def random(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Uniform field elements (as Fractions with denominator 1)."""
        vals = [Fraction(int(rng.integers(0, self.p))) for _ in range(int(np.prod(shape)))]
        return _object_array(vals, shape)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _flint_matmul(a, b, flint.nmod_mat, (self.p,))

    def _to_mat(self, a: np.ndarray) -> Any:
        return flint.nmod_mat(a.shape[0], a.shape[1], list(a.ravel()), self.p)

    def mat(self, rows: int, cols: int, entries: list[Any]) -> Any:
        return flint.nmod_mat(rows, cols, entries, self.p)

    def schwartz_zippel(self, degree: int, points: int = 1) -> float:
        """Upper bound on the probability that a false identity of total
        degree ``degree`` vanishes at ``points`` independent random points."""
        return (degree / self.p) ** points


# ---------------------------------------------------------------------------
# symbolic
# ---------------------------------------------------------------------------


class Symbolic(Arithmetic):
    """Rational functions over Q in named symbols, on python-flint's sparse
    multivariate integer polynomials (:class:`~transformer_proofs.constructions.rational_functions.RationalFunction`):
    a polynomial stays an integer polynomial over a common denominator (no gcd,
    no content), a quotient is kept reduced.  :meth:`matmul` keeps a product of
    a small factor (a symbol) and a large polynomial unexpanded
    (:class:`~transformer_proofs.constructions.polynomial_sums.PolynomialSum`),
    so that sums over shared large factors are added before anything is
    multiplied out; every question (equality, degree, a value) is answered on
    the full expansion.  Equality *is* symbolic identity.  sympy is not needed (``K``, the
    equivalent sympy field, is built only when asked for).

    ReLU is defined only on a sign cell: given ``point`` (exact rational values
    of the symbols), relu(e) is e where e(point) > 0 and 0 where e(point) < 0;
    the resulting identity then holds on the whole open cell of inputs with the
    same signs.  A zero at the point (a cell boundary) raises."""

    evidence = "symbolic"

    def __init__(self, names: Sequence[str], point: dict[str, Fraction] | None = None) -> None:
        if len(set(names)) != len(names):
            raise ValueError("symbol names must be distinct")
        self.names = list(names)
        self.ctx = polynomial_context(self.names)
        self.gens = {n: RationalFunction(g) for n, g in zip(self.names, self.ctx.gens())}
        self._zero = RationalFunction(self.ctx.constant(0))
        self.point = point
        self.used_cells = False  # set when a ReLU was resolved on the sign cell of ``point``
        self.name = f"Q({len(self.names)} symbols), flint polynomials"

    @property
    def K(self) -> Any:
        """The same rational functions as a sympy field (for callers that want sympy)."""
        from sympy import QQ
        from sympy.polys.fields import field as frac_field

        return frac_field(",".join(self.names) if self.names else "_unused", QQ)[0]

    def symbol(self, name: str) -> Any:
        return self.gens[name]

    def symbols(self, prefix: str, shape: tuple[int, ...]) -> np.ndarray:
        """The array of symbols ``prefix_i_j`` (which must have been declared)."""
        return _object_array((self.gens[f"{prefix}_{'_'.join(map(str, idx))}"] for idx in np.ndindex(*shape)), shape)

    @staticmethod
    def symbol_names(prefix: str, shape: tuple[int, ...]) -> list[str]:
        return [f"{prefix}_{'_'.join(map(str, idx))}" for idx in np.ndindex(*shape)]

    def scalar(self, x: Any) -> Any:
        if isinstance(x, (RationalFunction, PolynomialSum)):
            return x
        if isinstance(x, Sym):
            if x.op is None:
                if x.name not in self.gens:
                    raise ArithmeticDomainError(f"symbol {x.name!r} was not declared")
                return self.gens[x.name]
            a, b = (self.scalar(v) for v in x.args)
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[x.op]()
        f = exact_fraction(x, "symbolic")
        return RationalFunction(self.ctx.constant(f.numerator), f.denominator)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a @ b entry by entry, skipping the zero products (the weights'
        blocks of zeros) and adding each entry's products as a balanced tree;
        leading batch axes go to numpy's object matmul."""
        a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        if a.ndim != 2 or b.ndim != 2:
            return np.matmul(a, b)
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
        A = [[self.scalar(v) for v in row] for row in a]
        Bt = [[self.scalar(v) for v in col] for col in b.T]
        nz_a = [[k for k, v in enumerate(row) if _structurally_nonzero(v)] for row in A]
        nz_b = [{k for k, v in enumerate(col) if _structurally_nonzero(v)} for col in Bt]
        return _object_array((lazy_sum([product(A[i][k], Bt[j][k]) for k in nz_a[i] if k in nz_b[j]], self.ctx)
                              for i in range(len(A)) for j in range(len(Bt))), (a.shape[0], b.shape[1]))

    def _value_at_point(self, e: Any) -> Fraction:
        if self.point is None:
            raise ArithmeticDomainError("ReLU of a symbolic expression needs a sign cell: give Symbolic(point=...)")
        return self.scalar(e)(*[self.point[n] for n in self.names])

    def relu(self, a: np.ndarray) -> np.ndarray:
        out = []
        for e in a.ravel():
            v = self._value_at_point(e)
            if v == 0 and e != 0:
                raise ArithmeticDomainError("the sample point lies on a ReLU cell boundary")
            self.used_cells = True
            out.append(e if v > 0 else self._zero)
        return _object_array(out, a.shape)

    def to_float(self, a: np.ndarray) -> np.ndarray:
        return np.array([float(self._value_at_point(e)) for e in np.asarray(a).ravel()]).reshape(np.shape(a))

    def to_sympy(self, a: np.ndarray) -> np.ndarray:
        return _object_array((e.as_expr() for e in np.asarray(a).ravel()), np.shape(a))


def _structurally_nonzero(v: Any) -> bool:
    """v is not written as 0 (a PolynomialSum is not expanded to find out)."""
    return bool(v.terms) if isinstance(v, PolynomialSum) else bool(v)


# ---------------------------------------------------------------------------
# ball arithmetic
# ---------------------------------------------------------------------------


@contextmanager
def arb_precision(bits: int) -> Iterator[None]:
    """Run arb operators (+ - * / exp log, comparisons) at ``bits`` bits, then
    restore flint's previous working precision.  Usable as a decorator."""
    old = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        yield
    finally:
        flint.ctx.prec = old


class Ball(_FlintMatrices):
    """Arb ball arithmetic (python-flint) at ``prec`` bits: every result is a
    ball that certainly contains the exact real value.  Comparisons of balls
    mean "certainly".  flint's working precision is global: the methods here
    set it per call, and :meth:`working_precision` (entered by the engine's
    forward pass and by the checkers) covers the operators ``+ - * /`` on the
    arrays, which would otherwise run at flint's default 53 bits."""

    evidence = "certified"

    def __init__(self, prec: int = 128) -> None:
        self.prec = prec
        self.name = f"arb[{prec} bits]"

    def working_precision(self) -> AbstractContextManager[Any]:
        return arb_precision(self.prec)

    def _with_prec(self, fn: Callable[[], Any]) -> Any:
        with arb_precision(self.prec):
            return fn()

    def scalar(self, x: Any) -> flint.arb:
        if isinstance(x, flint.arb):
            return x
        return self._with_prec(lambda: self._scalar_at_prec(x))

    def _scalar_at_prec(self, x: Any) -> flint.arb:
        t = type(x)
        if t is flint.arb:
            return x
        if t is Fraction:  # one rounding, as arb(p) / q: the ball of p/q at the working precision
            return flint.arb(flint.fmpq(x.numerator, x.denominator))
        if t is int:
            return flint.arb(x)
        f = exact_fraction(x, self.name)
        return flint.arb(f.numerator) / f.denominator

    def array(self, x: Any) -> np.ndarray:
        # one precision context for the whole array, not one per entry
        a = np.asarray(x, dtype=object)
        with arb_precision(self.prec):
            return _object_array((self._scalar_at_prec(v) for v in a.ravel()), a.shape)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._with_prec(lambda: _flint_matmul(a, b, flint.arb_mat))

    def _to_mat(self, a: np.ndarray) -> Any:
        return flint.arb_mat(a.shape[0], a.shape[1], list(a.ravel()))

    def exp(self, a: np.ndarray) -> np.ndarray:
        return self._with_prec(lambda: _object_array((v.exp() for v in a.ravel()), a.shape))

    def relu(self, a: np.ndarray) -> np.ndarray:
        def one(v: flint.arb) -> flint.arb:
            if v >= 0:
                return v
            if v <= 0:
                return flint.arb(0)
            return (v + abs(v)) / 2  # encloses max(v, 0) on a ball straddling 0

        return self._with_prec(lambda: _object_array((one(v) for v in a.ravel()), a.shape))

    def to_float(self, a: np.ndarray) -> np.ndarray:
        return np.array([float(v.mid()) for v in np.asarray(a).ravel()]).reshape(np.shape(a))

    @staticmethod
    def radius(a: np.ndarray) -> np.ndarray:
        return np.array([float(v.rad()) for v in np.asarray(a).ravel()]).reshape(np.shape(a))


def all_arithmetics() -> list[Arithmetic]:
    """One instance of each number system (symbolic needs its symbols)."""
    return [Float64(), Float64Bounded(), Multiprecision(50), Rational(), PrimeField(), Ball(128)]
