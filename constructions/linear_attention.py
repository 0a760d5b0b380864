"""Linear attention in its parallel (attention) form, in any number system.

A layer reads tokens as columns X (D, N): queries φ(W_Q X), keys φ(W_K X),
values W_V X, and an explicit mask M (N, N), M[i, j] = 1 when key i serves
query j (causal: i <= j, from :func:`~transformer_proofs.constructions.engine.attention_mask`):

    A[i, j] = φ(k_i)ᵀ φ(q_j) M[i, j]                     (N, N)
    out[:, j] = Σ_i v_i A[i, j]           (unnormalised: fast weights, dual forms)
    out[:, j] = Σ_i v_i A[i, j] / Σ_i A[i, j]            (normalised: Katharopoulos et al.)

Feature maps φ: ``identity`` (a polynomial: every exact system, the prime
field too), ``relu+1`` (1 + ReLU(x) > 0: rational and piecewise linear), and
``elu+1`` (Katharopoulos et al.'s elu(x) + 1 = ReLU(x) + exp(min(x, 0)): float
and multiprecision only).

Papers: Katharopoulos, Vyas, Pappas, Fleuret (2020), arXiv:2006.16236 (the
normalised causal form); Schlag, Irie, Schmidhuber (2021), arXiv:2102.11174
(the unnormalised form as a fast-weight memory, and the delta rule);
Irie, Csordás, Schmidhuber (2022), arXiv:2202.05798 and Dai et al. (2023),
arXiv:2212.10559 (dual forms).  The recurrent forms they are compared with
live in :mod:`transformer_proofs.verify.algorithms.linear_attention`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import PromptError, attention_mask

FEATURE_MAPS = ("identity", "relu+1", "elu+1")


def feature_map(ar: Arithmetic, name: str, A: Any) -> Any:
    """φ applied entrywise: identity, 1 + ReLU(x), or elu(x) + 1 = ReLU(x) + exp(x - ReLU(x))."""
    if name == "identity":
        return A
    if name == "relu+1":
        return ar.relu(A) + ar.array(np.ones(A.shape, dtype=int))
    if name == "elu+1":
        r = ar.relu(A)
        return r + ar.exp(A - r)
    raise PromptError(f"unknown feature map {name!r}; expected one of {FEATURE_MAPS}")


def causal_mask(N: int) -> np.ndarray:
    """M[i, j] = 1 iff i <= j: key i serves query j (itself included)."""
    return attention_mask(np.ones(N, dtype=int), N, causal=True)


@dataclass(frozen=True)
class LinearAttention:
    """One linear-attention head with an explicit mask (shape (N, N))."""

    W_Q: np.ndarray  # (d_k, D)
    W_K: np.ndarray  # (d_k, D)
    W_V: np.ndarray  # (d_v, D)
    mask: np.ndarray  # (N, N): mask[i, j] = 1 when key i serves query j
    feature: str = "identity"
    normalise: bool = False
    scale: Any = None  # a factor on the sum (the papers' relaxed attention has none)


def _is_zero(v: Any) -> bool:
    return isinstance(v, int) and v == 0 or (hasattr(v, "numerator") and v == 0)


def project(ar: Arithmetic, W: np.ndarray, X: Any) -> Any:
    """W X (W exact, mostly zero): only W's nonzero rows and columns are converted
    and multiplied; a 0/1 placement matrix puts the rows back.  Same value as
    ``ar.matmul(ar.array(W), X)``, far cheaper for a sparse W in a wide stream."""
    W = np.asarray(W, dtype=object)
    nonzero = np.array([[not _is_zero(v) for v in row] for row in W], dtype=bool).reshape(W.shape)
    rows, cols = np.flatnonzero(nonzero.any(axis=1)), np.flatnonzero(nonzero.any(axis=0))
    if len(rows) == W.shape[0] and len(cols) == W.shape[1]:
        return ar.matmul(ar.array(W), X)
    if len(rows) == 0:
        return ar.zeros((W.shape[0],) + tuple(X.shape[1:]))
    small = ar.matmul(ar.array(W[np.ix_(rows, cols)]), X[cols])  # (r, N)
    if len(rows) == W.shape[0]:
        return small
    place = np.zeros((W.shape[0], len(rows)), dtype=int)
    place[rows, np.arange(len(rows))] = 1
    return ar.matmul(ar.array(place.astype(object)), small)


def linear_attention(ar: Arithmetic, layer: LinearAttention, X: Any) -> Any:
    """The head's output (d_v, N) on tokens X (D, N)."""
    N = X.shape[-1]
    if layer.mask.shape != (N, N):
        raise PromptError(f"mask has shape {layer.mask.shape}, but there are {N} tokens")
    Q = feature_map(ar, layer.feature, project(ar, layer.W_Q, X))  # (d_k, N)
    K = feature_map(ar, layer.feature, project(ar, layer.W_K, X))  # (d_k, N)
    V = project(ar, layer.W_V, X)  # (d_v, N)
    A = ar.apply_mask(ar.matmul(ar.T(K), Q), layer.mask)  # (N, N): A[i, j] = φ(k_i)ᵀφ(q_j) M[i, j]
    out = ar.matmul(V, A)  # (d_v, N): Σ_i v_i A[i, j]
    if layer.scale is not None:
        out = out * ar.const(layer.scale)
    if layer.normalise:
        den = ar.sum(A, axis=0)  # (N,): Σ_i A[i, j]
        out = out / den.reshape(1, N)
    return out
