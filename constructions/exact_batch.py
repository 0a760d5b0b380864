"""Exact number systems for batched forward passes (many inputs at once).

:class:`Integers` — exact integer arithmetic on int64 arrays, with an overflow guard.

For constructions whose weights and inputs are all integers (the
prefix-composition automaton simulator: 0/1 maps, 0/1 scores, ReLU(x + y − 1)),
every value of the forward pass is an integer, and integer addition and
multiplication are exact as long as nothing overflows.  Each product is
guarded: |a| · |b| · (inner length) must stay below 2^62, else the operation
is refused (:class:`ArithmeticDomainError`), so a result is either exact or
absent.  Division, exp and non-integer weights are refused by name.  Unlike
:class:`~transformer_proofs.constructions.arithmetic.Rational`, it keeps
leading batch axes in one numpy call, which makes an exhaustive check over
every input word cheap.

:class:`BatchedRational` — :class:`Rational` whose product of a weight
matrix with a batch of states is one flint product (the batch laid side by
side as columns) instead of one per batch item: the same exact values, fewer
conversions.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, ArithmeticDomainError, Rational

LIMIT = 2**62


class Integers(Arithmetic):
    """Exact arithmetic over Z (int64 arrays, overflow refused)."""

    name = "integers"
    evidence = "exact"

    def scalar(self, x: Any) -> int:
        if isinstance(x, (bool, np.bool_)):
            return int(x)
        if isinstance(x, (int, np.integer)):
            return int(x)
        if isinstance(x, Fraction) and x.denominator == 1:
            return int(x)
        if isinstance(x, (float, np.floating)) and float(x).is_integer():
            return int(x)
        raise ArithmeticDomainError(f"{x!r} is not an integer: the integer number system takes integer weights only")

    def array(self, x: Any) -> np.ndarray:
        a = np.asarray(x)
        if a.dtype.kind in "iub":
            out = a.astype(np.int64)
        else:
            out = np.array([self.scalar(v) for v in a.ravel()], dtype=object).reshape(a.shape)
            if out.size and max(abs(int(v)) for v in out.ravel()) >= LIMIT:
                raise ArithmeticDomainError("an integer entry exceeds 2^62: refused (int64 would overflow)")
            out = out.astype(np.int64)
        return out

    def const(self, x: Any) -> int:
        return self.scalar(x)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        k = a.shape[-1]
        bound = int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0)) * max(k, 1)
        if bound >= LIMIT:
            raise ArithmeticDomainError(f"integer product bound {bound} >= 2^62: refused (int64 would overflow)")
        return np.matmul(a, b)

    def relu(self, a: np.ndarray) -> np.ndarray:
        return np.maximum(a, 0)

    def apply_mask(self, a: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return a * np.asarray(mask, dtype=np.int64)

    def to_float(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float64)


class BatchedRational(Rational):
    """Exact rationals; a 2-D matrix times a batch (.., k, n) is one product."""

    name = "rational"

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        if a.ndim == 2 and b.ndim > 2:
            lead, (k, n) = b.shape[:-2], b.shape[-2:]
            side = np.moveaxis(b.reshape((-1, k, n)), 1, 0).reshape(k, -1)  # (k, B·n): the batch side by side
            out = super().matmul(a, side)  # (m, B·n)
            m = a.shape[0]
            return np.moveaxis(out.reshape(m, -1, n), 0, 1).reshape(lead + (m, n))
        return super().matmul(a, b)
