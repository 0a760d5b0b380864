"""Reading float weights as the rationals they were written from.

A weight written from a rational (η/n, 1/4, ...) is stored as its float64
rounding, possibly after a few roundings in the writer's arithmetic
(fl(fl(1/n) · η)).  :func:`simplest_rational` returns the simplest rational
(least denominator) within ``ULPS`` units in the last place of the float: for
a weight with a small denominator that is the rational it was written from
(two rationals p/q ≠ p'/q' differ by at least 1/(q q'), far more than a few
ulps when q, q' < 2^20), and for any other weight a rational within a few ulps
of it.  Every exact statement of :mod:`verify.conform` is about the weights so
read (``--dyadic`` reads the binary values instead)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

ULPS = 4  # the writer may round a few times: fl(fl(1/n) * eta) is within 1.5 ulp of eta/n


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The simplest rational in the open interval (lo, hi), 0 <= lo < hi."""
    n = math.floor(lo)
    if n + 1 < hi:
        return Fraction(n + 1)
    if lo == n:  # (n, hi) with hi <= n + 1: n + 1/t with t in (1/(hi - n), ∞)
        return n + 1 / Fraction(math.floor(1 / (hi - n)) + 1)
    return n + 1 / _simplest_between(1 / (hi - n), 1 / (lo - n))


def simplest_rational(x: float, ulps: int = ULPS) -> Fraction:
    """The simplest rational within ``ulps`` units in the last place of x."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot read {x} as a rational")
    if x == 0:
        return Fraction(0)
    width = Fraction(math.ulp(x)) * ulps
    fx = Fraction(x)
    lo, hi = abs(fx) - width, abs(fx) + width
    if lo <= 0:
        return Fraction(0)
    r = _simplest_between(lo, hi)
    return r if x > 0 else -r


def exact_array(a: Any, dyadic: bool = False) -> np.ndarray:
    """An object array of Fractions: each float read by :func:`simplest_rational`
    (or, with ``dyadic``, as its exact binary value)."""
    arr = np.asarray(a)
    if arr.dtype == object:
        return np.vectorize(Fraction, otypes=[object])(arr) if arr.size else arr
    read = (lambda v: Fraction(float(v))) if dyadic else simplest_rational
    return np.vectorize(read, otypes=[object])(arr.astype(np.float64)) if arr.size else arr.astype(object)
