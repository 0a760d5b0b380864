"""Typed instances of the ``energy`` family and their draws.

Every draw takes a :class:`~transformer_proofs.verify.draws.Draw` (dyadic
rationals, prime-field elements or free symbols) and the sizes of one check,
so every kind of evidence sees instances of the same shape.  Sizes are
integers; besides the dimensions a size may carry a draw knob (``scale``: an
index into :data:`SCALES`; ``lo``/``hi``: eigenvalues k/64 with k in
[lo, hi]; ``fixed``: a converged state).

Tokens are columns (Yang et al. write rows: our Y is their Yᵀ, shape (d, n));
Ramsauer et al. already use columns (X = (x_1 … x_N), shape (d, N)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import flint
import numpy as np
from transformer_proofs.verify.draws import Draw

Sizes = dict[str, int]
SCALES = (Fraction(1, 2), Fraction(1), Fraction(2), Fraction(6))


def obj(vals: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of the given values and shape."""
    out = np.empty(int(np.prod(shape)), dtype=object)
    out[:] = list(vals)
    return out.reshape(shape)


# ---------------------------------------------------------------------------
# instances
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """Yang et al.'s tokens Y (d, n) for L MM steps; ``alpha`` the damping of
    (1 − α)Y + α·MM(Y) (α = 1: the MM step itself)."""

    Y: np.ndarray
    L: int = 1
    alpha: Fraction = Fraction(1)

    @property
    def d(self) -> int:
        return self.Y.shape[0]

    @property
    def n(self) -> int:
        return self.Y.shape[1]


@dataclass(frozen=True)
class FeedForward:
    """y ← ReLU(Wy + b) on the tokens Y (d, n), L weight-tied layers; W
    symmetric with spectrum ``lams`` (exact); ``eta`` the step size."""

    W: np.ndarray
    b: np.ndarray
    Y: np.ndarray
    lams: tuple[Fraction, ...] = ()
    L: int = 1
    eta: Fraction = Fraction(1)

    @property
    def d(self) -> int:
        return self.W.shape[0]


@dataclass(frozen=True)
class Hopfield:
    """Stored patterns X (d, N), state ξ (d,), inverse temperature β > 0; ``i``
    the pattern ξ is near (retrieval), ``alpha`` the step ξ + α(f(ξ) − ξ)."""

    X: np.ndarray
    xi: np.ndarray
    beta: Any
    i: int = 0
    alpha: Fraction = Fraction(1)
    note: str = field(default="", compare=False)

    @property
    def d(self) -> int:
        return self.X.shape[0]

    @property
    def N(self) -> int:
        return self.X.shape[1]


# ---------------------------------------------------------------------------
# draws: MM step
# ---------------------------------------------------------------------------


def draw_tokens(draw: Draw, sizes: Sizes) -> Tokens:
    """Gaussian tokens (scale SCALES[scale]); with ``fixed`` all tokens equal
    (a converged state: MM(Y) = Y exactly, an exact tie of the descent)."""
    d, n = sizes["d"], sizes["n"]
    scale = SCALES[sizes.get("scale", 1)]
    if sizes.get("fixed"):
        y = draw.real((d, 1), scale=float(scale))
        Y = np.repeat(y, n, axis=1)
    else:
        Y = draw.real((d, n), scale=float(scale))
    return Tokens(Y, sizes.get("L", 1), Fraction(sizes.get("alpha", 1)))


def equal_norm_tokens(draw: Draw, d: int, n: int) -> np.ndarray:
    """n rational points of the sphere of a common dyadic radius r:
    inverse stereographic projection (2t, 1 − ‖t‖²)/(1 + ‖t‖²) of dyadic t."""
    r = abs(Fraction(draw.real((), 1.0))) + Fraction(1, 4)
    cols = []
    for _ in range(n):
        t = [Fraction(v) for v in draw.real((d - 1,))] if d > 1 else []
        s = sum((v * v for v in t), Fraction(0))
        sign = 1 if d > 1 or draw.integer(0, 1) else -1
        cols.append([r * 2 * v / (1 + s) for v in t] + [sign * r * (1 - s) / (1 + s)])
    return obj((cols[j][k] for k in range(d) for j in range(n)), (d, n))


def draw_equal_norms(draw: Draw, sizes: Sizes) -> Tokens:
    return Tokens(equal_norm_tokens(draw, sizes["d"], sizes["n"]), 1)


# ---------------------------------------------------------------------------
# draws: feed-forward
# ---------------------------------------------------------------------------


def cayley_orthogonal(draw: Draw, d: int) -> np.ndarray:
    """Q = (I − S)(I + S)⁻¹ for a dyadic skew-symmetric S: an exactly orthogonal rational matrix."""
    A = draw.real((d, d), scale=0.5)
    S = A - A.T
    I = flint.fmpq_mat(d, d, [int(i == j) for i in range(d) for j in range(d)])
    Sm = flint.fmpq_mat(d, d, [flint.fmpq(Fraction(v).numerator, Fraction(v).denominator) for v in S.ravel()])
    Q = (I - Sm) * (I + Sm).inv()
    return obj((Fraction(int(v.p), int(v.q)) for v in Q.entries()), (d, d))


def symmetric_with_spectrum(draw: Draw, lams: list[Fraction]) -> np.ndarray:
    """W = Q diag(λ) Qᵀ exactly (rational), Q an exact rational rotation."""
    d = len(lams)
    Q = cayley_orthogonal(draw, d)
    return Q.dot(np.diag(obj(lams, (d,)))).dot(Q.T)


def draw_lams(draw: Draw, d: int, lo: int = -63, hi: int = 64) -> list[Fraction]:
    """Eigenvalues k/64 with k in [lo, hi]: (−1, 1] by default, ±1 reachable at the ends."""
    return [Fraction(draw.integer(lo, hi), 64) for _ in range(d)]


def draw_feedforward(draw: Draw, sizes: Sizes) -> FeedForward:
    """W symmetric with spectrum k/64, k in [lo, hi] (default (−1, 1]), b
    Gaussian plus ``bshift`` (a large shift keeps the step off the ReLU
    boundary: the unconstrained quadratic then decides), y ≥ 0 (the feasible set)."""
    d, n = sizes["d"], sizes.get("n", 1)
    lams = draw_lams(draw, d, sizes.get("lo", -63), sizes.get("hi", 64))
    W = symmetric_with_spectrum(draw, lams)
    Y = obj((abs(Fraction(v)) for v in draw.real((d, n)).ravel()), (d, n))
    b = draw.real((d,)) + Fraction(sizes.get("bshift", 0))
    return FeedForward(W, b, Y, tuple(lams), sizes.get("L", 1))


# ---------------------------------------------------------------------------
# draws: Hopfield
# ---------------------------------------------------------------------------


def _patterns(draw: Draw, d: int, N: int, scale: float = 1.0) -> np.ndarray:
    """Gaussian patterns, redrawn until M > 0 (all-zero patterns make every
    bound an exact tie that balls cannot decide)."""
    while True:
        X = draw.real((d, N), scale=scale)
        if any(Fraction(v) != 0 for v in X.ravel()):
            return X


def fixed_point_by_symmetry(X: np.ndarray, xi: np.ndarray) -> bool:
    """ξ an exact fixed point of the update by symmetry: every score x_jᵀξ
    equal (so the softmax is uniform) and the patterns' mean equal to ξ, so
    f(ξ) = ξ and E(f(ξ)) = E(ξ), an exact tie that arb cannot decide through
    exp and log (the two balls overlap).  It covers all patterns equal to ξ,
    and ξ = 0 with patterns symmetric about 0 (seed 75 drew x = ±a, ξ = 0)."""
    Xf = [[Fraction(v) for v in row] for row in X]  # (d, N)
    xf = [Fraction(v) for v in xi]
    d, N = len(Xf), len(Xf[0])
    scores = {sum(Xf[i][j] * xf[i] for i in range(d)) for j in range(N)}
    mean = [sum(Xf[i]) / N for i in range(d)]
    return len(scores) == 1 and mean == xf


def draw_hopfield(draw: Draw, sizes: Sizes) -> Hopfield:
    """Patterns X (d, N), a state ξ of scale SCALES[scale], β = k/64·4 in
    (0, 4]; the degenerate exact ties (see :func:`fixed_point_by_symmetry`) are redrawn."""
    d, N = sizes["d"], sizes["N"]
    while True:
        X = _patterns(draw, d, N)
        xi = draw.real((d,), scale=float(SCALES[sizes.get("scale", 2)]))
        if not fixed_point_by_symmetry(X, xi):
            break
    return Hopfield(X, xi, draw.step(4.0), alpha=Fraction(sizes.get("alpha", 1)))


def draw_simplex(draw: Draw, sizes: Sizes) -> Hopfield:
    """ξ = X p in the simplex of the patterns (Lemma A1's condition): p a
    rational probability vector, or (``vertex``) a vertex ξ = x_k."""
    d, N = sizes["d"], sizes["N"]
    X = _patterns(draw, d, N)
    if sizes.get("vertex"):
        k = draw.integer(0, N - 1)
        p = [Fraction(int(j == k)) for j in range(N)]
    else:
        w = [abs(Fraction(v)) + Fraction(1, 64) for v in draw.real((N,))]
        p = [v / sum(w) for v in w]
    xi = obj((sum((Fraction(X[r, j]) * p[j] for j in range(N)), Fraction(0)) for r in range(d)), (d,))
    return Hopfield(X, xi, draw.step(4.0))


def draw_equal_patterns(draw: Draw, sizes: Sizes) -> Hopfield:
    """N copies of one pattern x (not 0) and any state ξ."""
    d, N = sizes["d"], sizes["N"]
    x = _patterns(draw, d, 1)
    return Hopfield(np.repeat(x, N, axis=1), draw.real((d,), scale=2.0), draw.step(4.0))


def draw_near(draw: Draw, sizes: Sizes) -> Hopfield:
    """ξ near a stored pattern x_i (N ≥ 2): x_i plus noise of scale 1/10."""
    d, N = sizes["d"], max(sizes["N"], 2)
    X = draw.real((d, N), scale=2.0)
    i = draw.integer(0, N - 1)
    xi = X[:, i] + draw.real((d,), scale=0.1)
    return Hopfield(X, xi, draw.step(4.0), i=i)


def bound_candidates() -> list[Hopfield]:
    """d = N = 1, x_1 = 1, β = 1, ξ = 0, ±1, ±2, …: the order in which our
    earlier, unconditional reading of the bound is searched for a counterexample."""
    X = obj([Fraction(1)], (1, 1))
    return [Hopfield(X, obj([Fraction(s * k)], (1,)), Fraction(1)) for k in range(64) for s in (1, -1)]
