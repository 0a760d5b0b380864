"""Lasso and proximal gradient descent (ISTA), written plainly.

L_lasso(w) = (1/2n) ||X w - y||² + λ ||w||_1;  ISTA: w <- S_{ηλ}(w - η ∇f(w)),
f(w) = (1/2n) ||X w - y||², S_t the soft threshold (the prox of t||.||_1).
Vectors are columns (d, 1); every function runs in any Arithmetic (the
soft threshold needs an order: not in a prime field).  The exact minimiser
is found by its KKT conditions over sign patterns (small d)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any, Sequence

import flint
import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.verify.algorithms.gradient_descent import least_squares_gradient


def soft_threshold(ar: Arithmetic, z: Any, t: Any) -> Any:
    """S_t(z) = sign(z) max(|z| - t, 0), entrywise, written as ReLU(z - t) - ReLU(-z - t) (t >= 0)."""
    return ar.relu(z - t) - ar.relu(-z - t)


def ista(ar: Arithmetic, X: Any, y: Any, etas: Sequence[Any], lam: Any, w_0: Any) -> list[Any]:
    """Iterates w_0, ..., w_L of w <- S_{η_ℓ λ}(w - η_ℓ ∇f(w))."""
    ws = [w_0]
    for eta in etas:
        w = ws[-1]
        ws.append(soft_threshold(ar, w - least_squares_gradient(ar, X, y, w) * eta, lam * eta))
    return ws


def lasso_loss(ar: Arithmetic, X: Any, y: Any, lam: Any, w: Any) -> Any:
    """(1/2n) ||X w - y||² + λ ||w||_1 (|w| = ReLU(w) + ReLU(-w)), a (1, 1) array."""
    n = X.shape[-2]
    r = ar.matmul(X, w) - y  # (n, 1)
    l1 = ar.sum(ar.relu(w) + ar.relu(-w), axis=0).reshape(1, 1)
    return ar.matmul(ar.T(r), r) * ar.const(Fraction(1, 2 * n)) + l1 * lam


def _fmpq(x: Fraction) -> flint.fmpq:
    return flint.fmpq(x.numerator, x.denominator)


def exact_lasso(X: np.ndarray, y: np.ndarray, lam: Fraction) -> list[Fraction]:
    """A minimiser of L_lasso in exact rationals (X (n, d), y (n,) of Fractions, λ > 0),
    from the KKT conditions: on a support S with signs s,
    (X_Sᵀ X_S / n) w_S = X_Sᵀ y / n - λ s, sign(w_S) = s, and |x_jᵀ(y - X w)| / n <= λ off S.
    Sign patterns are tried by growing support; raises if none fits (a singular X_SᵀX_S everywhere)."""
    n, d = X.shape
    G = [[sum(Fraction(X[i][a]) * X[i][b] for i in range(n)) / n for b in range(d)] for a in range(d)]
    c = [sum(Fraction(X[i][a]) * y[i] for i in range(n)) / n for a in range(d)]
    for size in range(d + 1):
        for S in itertools.combinations(range(d), size):
            for signs in itertools.product((1, -1), repeat=size):
                w = [Fraction(0)] * d
                if size:
                    A = flint.fmpq_mat(size, size, [_fmpq(G[a][b]) for a in S for b in S])
                    if A.det() == 0:
                        continue
                    rhs = flint.fmpq_mat(size, 1, [_fmpq(c[a] - lam * s) for a, s in zip(S, signs)])
                    sol = A.solve(rhs)
                    for k, a in enumerate(S):
                        w[a] = Fraction(int(sol[k, 0].p), int(sol[k, 0].q))
                    if any((w[a] > 0) != (s > 0) or w[a] == 0 for a, s in zip(S, signs)):
                        continue
                grad = [sum(G[a][b] * w[b] for b in range(d)) - c[a] for a in range(d)]
                if all(abs(grad[a]) <= lam for a in range(d) if a not in S):
                    return w
    raise ValueError("no KKT point found: X_Sᵀ X_S is singular on every candidate support")
