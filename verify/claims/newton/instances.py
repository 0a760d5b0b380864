"""Typed instances of the ``newton`` claims, their draws, and the papers.

One dataclass per shape of instance; every draw takes a
:class:`~transformer_proofs.verify.draws.Draw` (dyadic rationals, uniform
prime-field elements or free symbols), so float64, exact, prime-field and
symbolic checks see instances made by the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import forward
from transformer_proofs.constructions.newton import linearise_relu_pairs
from transformer_proofs.verify.draws import Draw
from transformer_proofs.verify.spec import Paper

FU = Paper("D. Fu, T.-Q. Chen, R. Jia, V. Sharan", 2023,
           "Transformers Learn Higher-Order Optimization Methods for In-Context Learning: A Study with Linear Models "
           "(v3: Transformers Learn to Achieve Second-Order Convergence Rates for In-Context Linear Regression)",
           "2310.17086", "§3.1, §5 (Theorem 5.1) and App. B")
GIANNOU = Paper("A. Giannou, L. Yang, T. Wang, D. Papailiopoulos, J. D. Lee", 2024,
                "How Well Can Transformers Emulate In-context Newton's Method?", "2403.03183",
                "linear-attention Newton step for matrix inversion")

READ_IN = "arXiv:2310.17086v3, full text with App. B"
AUTHORS_CODE = ("github.com/DeqingFu/transformers-icl-second-order at commit c99333c, src/models.py, "
                "LeastSquaresModelNewtonMethod")


# ---------------------------------------------------------------------------
# instances
# ---------------------------------------------------------------------------


@dataclass
class LayerInstance:
    """A Newton layer's input: context X (n, d), query x_q (d,), and the
    iterate T (d, d), symmetric (every M_k is a polynomial in S)."""

    d: int
    n: int
    X: np.ndarray
    x_q: np.ndarray
    T: np.ndarray


@dataclass
class InitInstance:
    """The init layer's input [x_t; x_t] for X (n, d), x_q (d,), and α."""

    d: int
    n: int
    X: np.ndarray
    x_q: np.ndarray
    alpha: Any


@dataclass
class NewtonInstance:
    """A regression prompt, α and the number k of Newton layers."""

    d: int
    n: int
    X: np.ndarray
    y: np.ndarray
    x_q: np.ndarray
    alpha: Any
    k: int


@dataclass
class ExpansionInstance:
    """S = XᵀX for X (2d, d), α, and the deepest iterate checked."""

    d: int
    X: np.ndarray
    alpha: Any
    kmax: int


@dataclass
class StepInstance:
    """A design with known top eigenpair (λ_max, v) of S = XᵀX, α, and the
    number K of Newton iterations to run."""

    d: int
    X: np.ndarray
    alpha: Any
    v: np.ndarray  # (d,) an eigenvector of S for λ_max
    K: int


@dataclass
class ConvergenceInstance:
    """A float64 prompt x ~ N(0, Σ), κ(Σ) given, y = X w*."""

    d: int
    n: int
    kappa: float
    X: np.ndarray
    y: np.ndarray


@dataclass
class InversionInstance:
    """Matrix inversion: A (d, d) and the iterate X (d, d), both square, any."""

    d: int
    A: np.ndarray
    X: np.ndarray


# ---------------------------------------------------------------------------
# draws
# ---------------------------------------------------------------------------


def symmetric(T: np.ndarray) -> np.ndarray:
    """The symmetric matrix with T's upper triangle."""
    return np.triu(T) + np.triu(T, 1).T


def alpha_for(draw: Draw, X: np.ndarray) -> Any:
    """α for an identity check: a field element / a symbol, or for dyadic
    draws the power of two 2^-⌈log2 tr(S²)⌉ (then αλ_max² <= α‖S‖_F² <= 1,
    inside the convergent region, so float64 iterates stay bounded)."""
    if draw.kind != "dyadic":
        return draw.step()
    S = np.asarray(X, dtype=object).T.dot(np.asarray(X, dtype=object))
    tr = sum((Fraction(v) ** 2 for v in S.ravel()), Fraction(0))
    if tr == 0:
        return Fraction(1)
    e = math.ceil(math.log2(tr))
    while Fraction(2) ** e < tr:
        e += 1
    return Fraction(1, 2**e) if e >= 0 else Fraction(2**-e)


def draw_layer(draw: Draw, sizes: dict[str, int]) -> LayerInstance:
    d, n = sizes["d"], sizes["n"]
    X, x_q = draw.real((n, d)), draw.real((d,))
    return LayerInstance(d, n, X, x_q, symmetric(draw.real((d, d), scale=0.25)))


def draw_init(draw: Draw, sizes: dict[str, int]) -> InitInstance:
    d, n = sizes["d"], sizes["n"]
    X = draw.real((n, d))
    return InitInstance(d, n, X, draw.real((d,)), alpha_for(draw, X))


def draw_newton(draw: Draw, sizes: dict[str, int]) -> NewtonInstance:
    d, n = sizes["d"], sizes["n"]
    X = draw.real((n, d))
    return NewtonInstance(d, n, X, draw.real((n,)), draw.real((d,)), alpha_for(draw, X), sizes["k"])


def draw_expansion(draw: Draw, sizes: dict[str, int]) -> ExpansionInstance:
    d = sizes["d"]
    X = draw.real((2 * d, d))
    return ExpansionInstance(d, X, alpha_for(draw, X), sizes["kmax"])


def draw_inversion(draw: Draw, sizes: dict[str, int]) -> InversionInstance:
    d = sizes["d"]
    return InversionInstance(d, draw.real((d, d)), draw.real((d, d), scale=0.5))


def conditioned_design(rng: np.random.Generator, d: int, n: int, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    from transformer_proofs.verify.algorithms.newton import conditioned_design as design

    return design(rng, d, n, kappa)


def draw_convergence(draw: Draw, sizes: dict[str, int]) -> ConvergenceInstance:
    d, n, kappa = sizes["d"], sizes["n"], float(sizes["kappa"])
    X, y = conditioned_design(draw.rng, d, n, kappa)
    return ConvergenceInstance(d, n, kappa, X, y)


# ---------------------------------------------------------------------------
# running a ReLU model in any arithmetic
# ---------------------------------------------------------------------------


def run_model(ar: Arithmetic, model: Any, Z: Any) -> Any:
    """Forward pass; in an unordered system (GF(p)) the ReLU pairs are first
    replaced by the linear heads they equal on the reals
    (:func:`constructions.newton.linearise_relu_pairs`)."""
    if not ar.ordered:
        model = linearise_relu_pairs(model)
    return forward(ar, model, ar.array(Z))


def run_on(prompt: Callable[[Arithmetic, Any], Any],
           readout: Callable[[Arithmetic, Any, Any], Any] | None = None) -> Callable[[Arithmetic, Any, Any], Any]:
    """A ClaimSpec ``run``: the prompt, the forward pass (ReLU pairs
    linearised in GF(p)) and the read-out."""
    def run(ar: Arithmetic, model: Any, inst: Any) -> Any:
        state = run_model(ar, model, prompt(ar, inst))
        return state if readout is None else readout(ar, state, inst)
    return run


def xbar(ar: Arithmetic, X: Any, x_q: Any) -> Any:
    """[x_1 … x_n x_q] (d, n+1) in ``ar``."""
    return ar.concat([ar.T(ar.array(X)), ar.array(np.asarray(x_q).reshape(-1, 1))], axis=1)


def fmt(a: Any) -> str:
    """Exact entries as text: a matrix as nested rows, a vector flat."""
    arr = np.asarray(a, dtype=object)
    if arr.ndim == 2:
        return "[" + ", ".join("[" + ", ".join(str(v) for v in row) + "]" for row in arr.tolist()) + "]"
    return "[" + ", ".join(str(v) for v in arr.ravel()) + "]"
