"""Reusable hypothesis strategies (each with a test of its promise in
tests/test_strategies.py).

Well-conditioned matrices are built from chosen singular values and random
orthogonal factors, never filtered with ``assume``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st


@st.composite
def dyadic(draw: st.DrawFn, bits: int = 6, bound: int = 4) -> Fraction:
    """A dyadic rational k / 2^bits in [-bound, bound]: exact as a double."""
    k = draw(st.integers(-bound * 2**bits, bound * 2**bits))
    return Fraction(k, 2**bits)


@st.composite
def dyadic_array(draw: st.DrawFn, shape: tuple[int, ...], bits: int = 6, bound: int = 4) -> np.ndarray:
    vals = [draw(dyadic(bits, bound)) for _ in range(int(np.prod(shape)))]
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out.reshape(shape)


@st.composite
def step_size(draw: st.DrawFn, hi: Fraction = Fraction(1, 4), bits: int = 6) -> Fraction:
    """A step in (0, hi]."""
    return Fraction(draw(st.integers(1, 2**bits)), 2**bits) * hi


@st.composite
def conditioned_matrix(draw: st.DrawFn, d: int, kappa: float) -> np.ndarray:
    """A d x d float matrix with singular values spread over [1, kappa]
    (log-uniformly, both ends attained): condition number exactly kappa up
    to rounding."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.geomspace(1.0, kappa, d) if d > 1 else np.array([1.0])
    return U @ np.diag(s) @ V.T


@st.composite
def regression_sizes(draw: st.DrawFn, max_d: int = 6, max_n: int = 12, max_L: int = 4) -> dict[str, int]:
    return {"d": draw(st.integers(1, max_d)), "n": draw(st.integers(1, max_n)), "L": draw(st.integers(1, max_L))}
