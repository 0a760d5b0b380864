"""Instances of the linear_attention family and how they are drawn."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.verify.draws import Draw


@dataclass
class SequenceInstance:
    """N tokens X (D, N) and one head's weights (d_k = d_v = D, so a transposed memory is a valid mutant)."""

    D: int
    N: int
    X: np.ndarray
    W_Q: np.ndarray
    W_K: np.ndarray
    W_V: np.ndarray
    feature: str
    betas: list[Any]  # the delta rule's write strengths (unused by the sum rule)


@dataclass
class DualFormInstance:
    """T training pairs (x_t, y_t) as columns, the initial weight W_0, steps η_t and a test input x."""

    d_in: int
    d_out: int
    T: int
    X: np.ndarray  # (d_in, T)
    Y: np.ndarray  # (d_out, T)
    W_0: np.ndarray  # (d_out, d_in)
    etas: list[Any]
    x: np.ndarray  # (d_in,)


@dataclass
class DaiInstance:
    """m demonstration tokens X' and c context tokens X of the query, the query token x, W_Q, W_K, W_V."""

    D: int
    m: int
    c: int
    demos: np.ndarray  # (D, m)
    context: np.ndarray  # (D, c)
    x: np.ndarray  # (D,)
    W_Q: np.ndarray
    W_K: np.ndarray
    W_V: np.ndarray


def draw_sequence(draw: Draw, sizes: dict[str, int], feature: str = "identity") -> SequenceInstance:
    D, N = sizes["D"], sizes["N"]
    return SequenceInstance(D, N, draw.real((D, N)), draw.real((D, D), scale=0.5), draw.real((D, D), scale=0.5),
                            draw.real((D, D), scale=0.5), feature, [draw.step(Fraction(1)) for _ in range(N)])


def draw_dual_form(draw: Draw, sizes: dict[str, int]) -> DualFormInstance:
    d_in, d_out, T = sizes["d_in"], sizes["d_out"], sizes["T"]
    return DualFormInstance(d_in, d_out, T, draw.real((d_in, T)), draw.real((d_out, T)),
                            draw.real((d_out, d_in), scale=0.5), [draw.step(Fraction(1, 4)) for _ in range(T)],
                            draw.real((d_in,)))


def draw_dai(draw: Draw, sizes: dict[str, int]) -> DaiInstance:
    D, m, c = sizes["D"], sizes["m"], sizes["c"]
    return DaiInstance(D, m, c, draw.real((D, m)), draw.real((D, c)), draw.real((D,)),
                       draw.real((D, D), scale=0.5), draw.real((D, D), scale=0.5), draw.real((D, D), scale=0.5))
