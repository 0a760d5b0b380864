"""Regression prompts: the instance type the gd, newton and fgd families share.

Z = [[x_1 … x_n x_q], [y_1 … y_n label_q]] ∈ R^{(d+1)×(n+1)}, tokens as
columns.  A family's instance dataclass extends :class:`RegressionPrompt`
with its own typed fields (step sizes, preconditioners, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.verify.draws import Draw


@dataclass
class RegressionPrompt:
    """A linear-regression prompt with exact (or symbolic) entries."""

    d: int
    n: int
    X: np.ndarray  # (n, d): the x_i as rows
    y: np.ndarray  # (n,)
    x_q: np.ndarray  # (d,)


def draw_regression(draw: Draw, d: int, n: int) -> dict[str, Any]:
    """The fields of a RegressionPrompt, drawn: ``Instance(**draw_regression(draw, d, n), ...)``."""
    return {"d": d, "n": n, "X": draw.real((n, d)), "y": draw.real((n,)), "x_q": draw.real((d,))}


def columns(ar: Arithmetic, inst: RegressionPrompt) -> tuple[Any, Any, Any]:
    """X (n, d), y (n, 1), x_q (d, 1) in ``ar``."""
    return (ar.array(inst.X), ar.array(np.asarray(inst.y).reshape(-1, 1)),
            ar.array(np.asarray(inst.x_q).reshape(-1, 1)))


def prompt(ar: Arithmetic, inst: RegressionPrompt, labels: Any) -> Any:
    """Z = [[x_1 … x_n x_q], [labels]] with ``labels`` a (1, n+1) array of ``ar``."""
    X, _, x_q = columns(ar, inst)
    top = ar.concat([ar.T(X), x_q], axis=1)  # (d, n+1)
    return ar.concat([top, labels], axis=0)  # (d+1, n+1)


def labels_for(ar: Arithmetic, inst: RegressionPrompt, w: Any) -> Any:
    """The label row [y_1 - <w, x_1>, …, y_n - <w, x_n>, -<w, x_q>]: what a
    GD-implementing layer leaves in the tokens when the iterate is w (d, 1)."""
    X, y, x_q = columns(ar, inst)
    context = y - ar.matmul(X, w)  # (n, 1)
    query = -ar.matmul(ar.T(x_q), w)  # (1, 1)
    return ar.concat([ar.T(context), query], axis=1)  # (1, n+1)
