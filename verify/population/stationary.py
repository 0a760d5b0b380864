"""Deciding exactly that a parameter is a stationary point, a local minimum
modulo a symmetry, or not.

The losses here are polynomials of known degree ≤ 4 in the parameters θ with
exact (rational) coefficients, computed by :mod:`.gaussian`.  Along a line,
t ↦ f(θ + t u) is then a quartic, and the five-point central differences

    f'(θ)·u   = (8(f₁ − f₋₁) − (f₂ − f₋₂)) / 12
    uᵀ∇²f(θ)u = (−f₂ + 16 f₁ − 30 f₀ + 16 f₋₁ − f₋₂) / 12

(f_k = f(θ + k u)) are exact for polynomials of degree ≤ 4: their error terms
carry f⁽⁵⁾ (the first) and f⁽⁶⁾ (the second), zero for a quartic.  So the
gradient and the Hessian come out exactly, in rationals, from exact values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

from transformer_proofs.verify.population.gaussian import ldl_certificate

Vector = list  # of Fractions


def _shift(theta: Sequence[Any], u: Sequence[Any], t: int) -> list[Any]:
    return [a + t * b for a, b in zip(theta, u)]


def directional(f: Callable[[list[Any]], Any], theta: Sequence[Any], u: Sequence[Any],
                degree: int = 4) -> tuple[Any, Any]:
    """(∇f(θ)·u, uᵀ∇²f(θ)u), exact for a polynomial f of degree ≤ 4."""
    if degree > 4:
        raise ValueError(f"directional: the five-point formulas are exact only to degree 4, not {degree}")
    fm2, fm1, f0, f1, f2 = (f(_shift(theta, u, t)) for t in (-2, -1, 0, 1, 2))
    first = Fraction(8 * (f1 - fm1) - (f2 - fm2), 12)
    second = Fraction(-f2 + 16 * f1 - 30 * f0 + 16 * fm1 - fm2, 12)
    return first, second


def gradient_hessian(f: Callable[[list[Any]], Any], theta: Sequence[Any], degree: int = 4) -> tuple[Vector, list[Vector]]:
    """The exact gradient and Hessian of a polynomial f (degree ≤ 4) at θ."""
    m = len(theta)
    unit = [[int(i == j) for j in range(m)] for i in range(m)]
    grad: Vector = []
    H = [[Fraction(0)] * m for _ in range(m)]
    for i in range(m):
        g, h = directional(f, theta, unit[i], degree)
        grad.append(g)
        H[i][i] = h
    for i in range(m):
        for j in range(i + 1, m):
            _, q = directional(f, theta, [a + b for a, b in zip(unit[i], unit[j])], degree)
            H[i][j] = H[j][i] = (q - H[i][i] - H[j][j]) / 2
    return grad, H


def descent_witness(f: Callable[[list[Any]], Any], theta: Sequence[Any], grad: Sequence[Fraction],
                    max_halvings: int = 200) -> tuple[Fraction, Fraction, Fraction] | None:
    """The first t = 2^-k (k = 0, 1, ...) with f(θ − t∇f) < f(θ), exactly: a parameter
    strictly better than θ (one exists for small t whenever ∇f(θ) ≠ 0)."""
    f0 = f(list(theta))
    t = Fraction(1)
    for _ in range(max_halvings):
        ft = f([a - t * g for a, g in zip(theta, grad)])
        if ft < f0:
            return t, ft, f0
        t /= 2
    return None


@dataclass
class Stationarity:
    """What was decided at θ: the gradient, the Hessian, and either a
    certificate (positive pivots of H on a complement of the symmetry
    directions) or a rational witness direction."""

    gradient_zero: bool
    nonzero: list[tuple[int, Fraction]]  # (index, ∂f/∂θ_i) where the gradient is not zero
    symmetry_in_kernel: bool
    positive_definite: bool  # on the complement of the symmetry directions
    witness: Vector | None = None  # vᵀHv ≤ 0 (a rational direction), when not positive definite
    pivots: list[Fraction] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # the coordinates of the complement
    lower: tuple[Fraction, Fraction, Fraction] | None = None  # (t, f(θ − t∇f), f(θ)): a rational point below θ

    @property
    def local_minimum(self) -> bool:
        return self.gradient_zero and self.symmetry_in_kernel and self.positive_definite


def decide(f: Callable[[list[Any]], Any], theta: Sequence[Any], symmetry: Sequence[Sequence[Any]] = (),
           degree: int = 4) -> Stationarity:
    """Decide exactly whether θ is a stationary point of f and a strict local
    minimum modulo the given symmetry directions (tangents of the orbits of a
    group that leaves f unchanged): ∇f(θ) = 0, H v = 0 for each symmetry
    direction v, and H ≻ 0 on the complement spanned by the coordinates left
    after deleting one pivot coordinate per direction (then xᵀHx = yᵀH_keep y
    for x = Σ α v + y: positive unless x is a symmetry direction; by the
    Morse–Bott lemma θ's orbit is then a strict local minimum)."""
    m = len(theta)
    unit = [[int(i == j) for j in range(m)] for i in range(m)]
    grad = [directional(f, theta, unit[i], degree)[0] for i in range(m)]
    nonzero = [(i, g) for i, g in enumerate(grad) if g != 0]
    if nonzero:  # not stationary: the Hessian is not needed; a rational point with lower loss is the witness
        return Stationarity(False, nonzero, False, False, lower=descent_witness(f, theta, grad))
    _, H = gradient_hessian(f, theta, degree)
    in_kernel = all(all(sum(H[i][j] * v[j] for j in range(m)) == 0 for i in range(m)) for v in symmetry)
    pivots_taken: list[int] = []
    for v in symmetry:
        k = next((i for i in range(m) if v[i] != 0 and i not in pivots_taken), None)
        if k is None:
            raise ValueError("decide: a symmetry direction is zero or dependent on the others")
        pivots_taken.append(k)
    kept = [i for i in range(m) if i not in pivots_taken]
    sub = [[H[i][j] for j in kept] for i in kept]
    ok, out = ldl_certificate(sub)
    if ok:
        return Stationarity(not nonzero, nonzero, in_kernel, True, None, out, kept)
    witness = [Fraction(0)] * m
    for pos, i in enumerate(kept):
        witness[i] = out[pos]
    return Stationarity(not nonzero, nonzero, in_kernel, False, witness, [], kept)
