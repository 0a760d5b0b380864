"""Draws: where an instance sampler gets its numbers from.

The same sampler, handed a :class:`DyadicDraw`, a :class:`FieldDraw` or a
:class:`SymbolDraw`, yields dyadic rationals (exact doubles and exact
rationals at once), uniform prime-field elements (for Schwartz–Zippel) or free
symbols (for the symbolic check).  ``draw.rng`` is the underlying numpy
generator, for choices that are not numbers (a graph, a permutation).
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import (
    ArithmeticDomainError,
    PrimeField,
    Sym,
    Symbolic,
    _object_array,
)


class Draw:
    """Where a sampler gets its numbers from."""

    kind = "abstract"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def real(self, shape: tuple[int, ...] | int = (), scale: float = 1.0) -> Any:
        raise NotImplementedError

    def step(self, hi: float = 1.0) -> Any:
        """A step size in (0, hi] (any nonzero element for field draws)."""
        raise NotImplementedError

    def value(self, x: Any) -> Fraction:
        """A numeric value of an entry (the sample point for symbols)."""
        raise NotImplementedError

    def integer(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))


@functools.lru_cache(maxsize=4096)
def _multiple(k: int, bits: int) -> Fraction:
    """k / 2^bits, one Fraction per value (Fractions are immutable: draws share them)."""
    return Fraction(k, 2**bits)


class DyadicDraw(Draw):
    """Gaussian entries rounded to multiples of 2^-bits: exact doubles and
    exact rationals at once."""

    kind = "dyadic"

    def __init__(self, rng: np.random.Generator, bits: int = 6) -> None:
        super().__init__(rng)
        self.bits = bits

    def _dyadic(self, x: float) -> Fraction:
        return _multiple(int(round(x * 2**self.bits)), self.bits)

    def real(self, shape: tuple[int, ...] | int = (), scale: float = 1.0) -> Any:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        vals = self.rng.standard_normal(shape or (1,)) * scale
        ks = np.rint(vals * 2**self.bits).ravel().tolist()  # round half to even, as round() does
        out = _object_array((_multiple(int(k), self.bits) for k in ks), shape or (1,))
        return out if shape else out[0]

    def step(self, hi: float = 1.0) -> Fraction:
        k = int(self.rng.integers(1, 2**self.bits + 1))
        return Fraction(k, 2**self.bits) * Fraction(hi)

    def reals(self, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
        """:meth:`real` as a float64 array (a batch of prompts): the same
        rounded Gaussians, multiples of 2^-bits, exact as doubles, without a
        Fraction per entry."""
        vals = self.rng.standard_normal(tuple(shape))
        vals *= scale
        vals *= 2.0**self.bits  # exact: (x·scale)·2^bits rounds as real() does
        np.rint(vals, out=vals)
        vals /= 2.0**self.bits
        return vals

    def value(self, x: Any) -> Fraction:
        return Fraction(x)


class FieldDraw(Draw):
    """Uniform elements of GF(p): the Schwartz–Zippel lemma needs them."""

    kind = "field"

    def __init__(self, rng: np.random.Generator, field: PrimeField) -> None:
        super().__init__(rng)
        self.field = field

    def real(self, shape: tuple[int, ...] | int = (), scale: float = 1.0) -> Any:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        out = self.field.random(self.rng, shape or (1,))
        return out if shape else out[0]

    def step(self, hi: float = 1.0) -> Fraction:
        return Fraction(int(self.rng.integers(1, self.field.p)))

    def value(self, x: Any) -> Fraction:
        raise ArithmeticDomainError("a prime-field draw has no numeric value (no order)")


class SymbolDraw(Draw):
    """Free symbols; each also gets a dyadic value (the sample point, used to
    fix a ReLU sign cell and by samplers that need a magnitude)."""

    kind = "symbolic"

    # 16-bit dyadic sample points: a nonzero score vanishes at one with
    # probability about 2^-16, and check_symbolic redraws when it happens.
    def __init__(self, rng: np.random.Generator, bits: int = 16) -> None:
        super().__init__(rng)
        self.names: list[str] = []
        self.point: dict[str, Fraction] = {}
        self._dyadic = DyadicDraw(rng, bits)

    def _new(self, prefix: str, value: Fraction) -> Sym:
        name = f"{prefix}{len(self.names)}"
        self.names.append(name)
        self.point[name] = value
        return Sym(name)

    def real(self, shape: tuple[int, ...] | int = (), scale: float = 1.0) -> Any:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        vals = self._dyadic.real(shape or (1,), scale)
        out = _object_array((self._new("s", v) for v in vals.ravel()), shape or (1,))
        return out if shape else out[0]

    def step(self, hi: float = 1.0) -> Sym:
        return self._new("eta", self._dyadic.step(hi))

    def value(self, x: Any) -> Fraction:
        return self.point[x.name] if isinstance(x, Sym) else Fraction(x)

    def arithmetic(self) -> Symbolic:
        return Symbolic(self.names, self.point)
