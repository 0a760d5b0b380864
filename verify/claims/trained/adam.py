"""Adam (Kingma & Ba) on a list of numpy arrays, for the trained reproductions."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

B1, B2, EPS = 0.9, 0.999, 1e-8  # Adam's moment decays and denominator guard (the usual defaults)


def adam(params: Sequence[np.ndarray], gradient: Callable[[list[np.ndarray], int], Sequence[np.ndarray]],
         steps: int, lr: Callable[[int], float]) -> list[np.ndarray]:
    """``steps`` Adam steps from ``params``; ``gradient(params, k)`` at step k = 1..steps
    (it draws its own batch), ``lr(k)`` the step size."""
    p = [np.array(x, dtype=float) for x in params]
    m = [np.zeros_like(x) for x in p]
    v = [np.zeros_like(x) for x in p]
    for k in range(1, steps + 1):
        gs = gradient(p, k)
        for j, g in enumerate(gs):
            m[j] = B1 * m[j] + (1 - B1) * g
            v[j] = B2 * v[j] + (1 - B2) * g**2
            p[j] = p[j] - lr(k) * (m[j] / (1 - B1**k)) / (np.sqrt(v[j] / (1 - B2**k)) + EPS)
    return p
