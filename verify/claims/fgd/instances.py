"""Typed instances of the fgd family and their draws.

One draw serves every kind of evidence (:mod:`transformer_proofs.verify.draws`):
dyadic rationals (exact doubles and exact rationals at once), uniform GF(p)
elements, or free symbols.  The kernel is part of the sizes a check tests
(``sizes["kernel"]``), so one spec covers every kernel:

| kernel         | what the construction's attention computes                                   |
|----------------|------------------------------------------------------------------------------|
| linear, relu,  | the engine's own score ⟨x_i, x_j⟩, ReLU, e^{⟨·,·⟩}, softmax over the context |
| exp, softmax   | keys                                                                          |
| rbf            | a user kernel e^{-|x - x'|²/2} given as a callable                            |
| free           | the drawn kernel matrix G itself (kernel values as free values)               |
| free-softmax   | drawn positive values normalised over the n context keys (softmax, exactly)   |

Degenerate draws (the stated rule): where a claim needs K = G[:n, :n]
invertible (the closed form), a draw whose K is singular — or, for the
context-normalised kernel, whose normalising sum vanishes — is redrawn, at
most ``REDRAWS`` times (for the exp, softmax and RBF kernels, whose K is
positive definite on distinct points, a draw with two equal points — a tie —
is redrawn); for free symbols K is generically invertible and no redraw is
made.  Where a claim needs K symmetric positive definite (the
kernel-regression limit), points are redrawn until λ_min(K) ≥ ``MIN_CONDITION``
· λ_max(K) (ties — two equal points — give a singular K and are redrawn).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, Rational
from transformer_proofs.constructions.engine import PromptError
from transformer_proofs.constructions.functional_gd import context_normalised
from transformer_proofs.verify.algorithms import functional_gd as fgd
from transformer_proofs.verify.draws import Draw

STEP_HI = Fraction(1, 2)  # steps drawn in (0, 1/2]
X_SCALE = 0.5  # x entries ~ N(0, 1/4): exp kernel values stay moderate in float64
ENGINE_KERNELS = ("linear", "relu", "exp", "softmax", "rbf")  # rbf: the user-supplied kernel
FREE_KERNELS = ("free", "free-softmax")
KERNEL_LABEL = {"linear": "linear", "relu": "ReLU", "exp": "exp", "softmax": "softmax",
                "rbf": "custom kernel e^{-|x-x'|²/2}", "free": "drawn kernel values",
                "free-softmax": "drawn values normalised over the context keys"}
REDRAWS = 50
MIN_CONDITION = 1e-3

Sizes = dict[str, Any]  # d, n, L (ints) and kernel (a name above)


@dataclass
class FgdInstance:
    """A regression prompt, the step of each layer, the kernel and (for the
    free kernels) the drawn kernel matrix G[i, j] = K(x_i, x_j), (n+1, n+1)."""

    d: int
    n: int
    X: np.ndarray  # (n, d)
    y: np.ndarray  # (n,)
    x_q: np.ndarray  # (d,)
    etas: list[Any]
    kernel: str
    G: np.ndarray | None = None

    def columns(self, ar: Arithmetic) -> tuple[Any, Any, Any]:
        """X (n, d), y (n, 1), x_q (d, 1) in ``ar``."""
        return (ar.array(self.X), ar.array(np.asarray(self.y).reshape(-1, 1)),
                ar.array(np.asarray(self.x_q).reshape(-1, 1)))

    def points(self, ar: Arithmetic) -> Any:
        """x_1 … x_n, x_q as rows, (N, d)."""
        X, _, x_q = self.columns(ar)
        return ar.concat([X, ar.T(x_q)], axis=0)

    def activation(self) -> Any:
        """The construction's attention score for this kernel."""
        if self.kernel == "rbf":
            return fgd.rbf_kernel
        if self.kernel == "free":
            return free_kernel(self.G)
        if self.kernel == "free-softmax":
            return context_normalised(free_kernel(self.G), self.n)
        return self.kernel

    def kernel_matrix(self, ar: Arithmetic) -> Any:
        """G[i, j] = K(x_i, x_j), computed by the reference's own kernel code."""
        if self.kernel == "free":
            return ar.array(self.G)
        if self.kernel == "free-softmax":
            return fgd.normalise_over_context(ar, ar.array(self.G), self.n)
        return fgd.kernel_values(ar, fgd.rbf_kernel if self.kernel == "rbf" else self.kernel, self.points(ar), self.n)


@dataclass
class MultiHeadInstance:
    """A prompt and, per head, a kernel; ``head_etas[ℓ][h]`` the step of head h in layer ℓ."""

    d: int
    n: int
    X: np.ndarray
    y: np.ndarray
    x_q: np.ndarray
    kernels: tuple[str, ...]
    head_etas: list[list[Any]]
    Gs: list[np.ndarray | None] = field(default_factory=list)

    def head(self, h: int) -> FgdInstance:
        return FgdInstance(self.d, self.n, self.X, self.y, self.x_q, [], self.kernels[h], self.Gs[h])


def free_kernel(G: np.ndarray) -> Callable[[Arithmetic, Any, Any], Any]:
    """A kernel callable returning the drawn matrix G (N_keys, N_queries)."""

    def drawn(ar: Arithmetic, keys: Any, queries: Any) -> Any:
        N = keys.shape[-1]
        if G.shape != (N, N):
            raise PromptError(f"drawn kernel matrix has shape {G.shape}, the prompt has {N} tokens")
        return ar.array(G)

    drawn.__name__ = "drawn"
    return drawn


def engine_softmax_wrong_axis(ar: Arithmetic, keys: Any, queries: Any) -> Any:
    """exp(⟨k_i, q_j⟩) normalised over the queries j of each key i (a mutant's score)."""
    E = ar.exp(ar.matmul(ar.T(keys), queries))
    return E / ar.sum(E, axis=-1)[..., :, None]


def positive(draw: Draw, shape: tuple[int, ...]) -> np.ndarray:
    """Free values standing for e^{⟨x_i,x_j⟩} > 0: dyadic draws are made
    positive (|g| + 1/2), field and symbol draws are left free."""
    G = draw.real(shape)
    if draw.kind == "dyadic":
        G = np.vectorize(lambda g: abs(g) + Fraction(1, 2), otypes=[object])(G)
    return G


def _kernel_draw(draw: Draw, kernel: str, n: int) -> np.ndarray | None:
    if kernel == "free-softmax":
        return positive(draw, (n + 1, n + 1))
    if kernel == "free":
        return draw.real((n + 1, n + 1))
    return None


def draw_instance(draw: Draw, sizes: Sizes) -> FgdInstance:
    """x ~ N(0, X_SCALE²) entrywise, y ~ N(0, 1), a step per layer in (0, 1/2]."""
    d, n, L, kernel = sizes["d"], sizes["n"], sizes["L"], sizes["kernel"]
    X, y, x_q = draw.real((n, d), scale=X_SCALE), draw.real((n,)), draw.real((d,), scale=X_SCALE)
    etas = [draw.step(STEP_HI) for _ in range(L)]
    return FgdInstance(d, n, X, y, x_q, etas, kernel, _kernel_draw(draw, kernel, n))


def symmetrised(G: np.ndarray) -> np.ndarray:
    G = np.array(G, dtype=object)
    for i in range(G.shape[0]):
        for j in range(i):
            G[i, j] = G[j, i]
    return G


def _field_of(draw: Draw) -> Arithmetic | None:
    if draw.kind == "dyadic":
        return Rational()
    if draw.kind == "field":
        return draw.field  # type: ignore[attr-defined]
    return None  # free symbols: generically invertible


def invertible(ar: Arithmetic, inst: FgdInstance) -> bool:
    """Is K = G[:n, :n] (the claim's kernel matrix on the examples) invertible,
    with nonzero normalising sums for the context-normalised kernel?"""
    try:
        K = inst.kernel_matrix(ar)[: inst.n, : inst.n]
        fgd.solve(ar, K, ar.eye(inst.n))
        return True
    except ZeroDivisionError:
        return False


def draw_invertible(draw: Draw, sizes: Sizes, symmetric: bool = False) -> FgdInstance:
    """``draw_instance`` with the stated rule: a draw whose K is singular is
    redrawn (at most REDRAWS times); ``symmetric`` mirrors G's upper triangle."""
    ar = _field_of(draw)
    for _ in range(REDRAWS):
        inst = draw_instance(draw, sizes)
        if symmetric and inst.G is not None:
            inst.G = symmetrised(inst.G)
        if inst.kernel in ("exp", "softmax", "rbf"):
            # K is positive definite (softmax: a positive definite matrix times a positive diagonal) on
            # distinct points; only ties make it singular.
            pts = [tuple(p) for p in np.concatenate([inst.X, inst.x_q[None, :]], axis=0)]
            if len(set(pts)) == len(pts):
                return inst
        elif ar is None or invertible(ar, inst):
            return inst
    raise ValueError(f"{REDRAWS} draws in a row had a singular kernel matrix at {sizes}")


def draw_multi_head(draw: Draw, sizes: Sizes) -> MultiHeadInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    kernels = tuple(sizes["heads"].split("+"))
    X, y, x_q = draw.real((n, d), scale=X_SCALE), draw.real((n,)), draw.real((d,), scale=X_SCALE)
    head_etas = [[draw.step(STEP_HI) for _ in kernels] for _ in range(L)]
    return MultiHeadInstance(d, n, X, y, x_q, kernels, head_etas, [_kernel_draw(draw, k, n) for k in kernels])


# ---------------------------------------------------------------------------
# the kernel-regression limit: well-conditioned symmetric positive definite K
# ---------------------------------------------------------------------------

LIMIT_RADIUS = 1.2


def draw_limit(draw: Draw, sizes: Sizes) -> FgdInstance:
    """Points uniform on the sphere of radius 1.2 in R^d (exp, rbf: a constant
    diagonal keeps K well conditioned; linear: n ≤ d, so XXᵀ ≻ 0 almost
    surely), labels N(0, 1), steps η_ℓ drawn in [1/2, 3/2] · 2n/(λ_min + λ_max),
    capped at 0.999 · 2n/λ_max (inside the convergent region).  Redrawn
    (the stated rule) until λ_min(K) ≥ MIN_CONDITION · λ_max(K)."""
    d, n, L, kernel = sizes["d"], sizes["n"], sizes["L"], sizes["kernel"]
    rng = draw.rng
    exact = np.vectorize(lambda v: Fraction(float(v)), otypes=[object])
    for _ in range(REDRAWS):
        g = rng.standard_normal((n + 1, d))
        pts = exact(LIMIT_RADIUS * g / np.linalg.norm(g, axis=1, keepdims=True))
        y = exact(rng.standard_normal(n))
        inst = FgdInstance(d, n, pts[:n], y, pts[n], [], kernel)
        K = np.array(inst.kernel_matrix(_MP40())[:n, :n].tolist(), dtype=float)
        lam = np.linalg.eigvalsh((K + K.T) / 2)
        if lam.min() >= MIN_CONDITION * lam.max():
            break
    else:
        raise ValueError(f"{REDRAWS} draws in a row gave an ill-conditioned kernel matrix at {sizes}")
    centre, hi = 2 * n / (lam.min() + lam.max()), 2 * n / lam.max()
    inst.etas = [Fraction(float(min(centre * u, 0.999 * hi))).limit_denominator(2**20)
                 for u in rng.uniform(0.5, 1.5, L)]
    return inst


def _MP40() -> Arithmetic:
    from transformer_proofs.constructions.arithmetic import Multiprecision

    return Multiprecision(40)


def kinds_sizes(base: Sequence[dict[str, int]], kernels: Sequence[str]) -> list[Sizes]:
    """Every size of ``base`` for every kernel."""
    return [{**s, "kernel": k} for k in kernels for s in base]
