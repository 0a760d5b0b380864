"""Non-linear attention as functional gradient descent in an RKHS.

Cheng, Chen, Sra (2024), "Transformers Implement Functional Gradient Descent
to Learn Non-Linear Functions In Context", ICML 2024, arXiv:2312.06528,
Proposition 1 (Proposition 3.1 in the ICML version) and §3–4, as we transcribed
the layer from third-party summaries of the paper.

The layer (tokens are columns, Z = [[x_1 … x_n x_q], [y_1 … y_n 0]]):

    Z_{ℓ+1} = Z_ℓ + (1/n) V_ℓ Z_ℓ M h̃(B_ℓ X_ℓ, C_ℓ X_ℓ),   V_ℓ = [[A_ℓ, 0], [0, r_ℓ]],

with X_ℓ the x-rows of Z_ℓ, M = diag(I_n, 0) and h̃(U, W)[i, j] = h(u_i, w_j)
(key i, query j): linear ⟨u,v⟩, ReLU(⟨u,v⟩), exp(⟨u,v⟩), softmax (exp
normalised over the n context keys of each query), or any kernel.

Claim: with A_ℓ = 0, B_ℓ = C_ℓ = I and r_ℓ = -η_ℓ, the prediction
-[Z_L]_{d+1, n+1} equals f_L(x_q), the L-th iterate of functional GD in the
RKHS of K = h̃ on L(f) = (1/2n) Σ_i (f(x_i) - y_i)², f_0 = 0:

    f_{ℓ+1}(x) = f_ℓ(x) + (η_ℓ/n) Σ_{i≤n} (y_i - f_ℓ(x_i)) K(x_i, x).

Derivation of r_ℓ and the read-out sign (ours).
With A_ℓ = 0 the x-rows never change, so every layer sees the same kernel
values K(x_i, x_j) and the label row is the only thing that moves.  Column j
of Z M h̃ is Σ_{i≤n} z_i K(x_i, x_j), so the label row Y (length n+1) obeys

    Y_{ℓ+1}[j] = Y_ℓ[j] + (r_ℓ/n) Σ_{i≤n} Y_ℓ[i] K(x_i, x_j).            (1)

Induction hypothesis H_ℓ: Y_ℓ[j] = y_j - f_ℓ(x_j) for j ≤ n and
Y_ℓ[n+1] = -f_ℓ(x_q).  H_0 holds (f_0 = 0, the query label is 0).  Given
H_ℓ, (1) reads, for every column j (query included, y_{n+1} := 0),

    Y_{ℓ+1}[j] = y_j - f_ℓ(x_j) + (r_ℓ/n) Σ_i (y_i - f_ℓ(x_i)) K(x_i, x_j),

while H_{ℓ+1} asks for y_j - f_{ℓ+1}(x_j)
                  = y_j - f_ℓ(x_j) - (η_ℓ/n) Σ_i (y_i - f_ℓ(x_i)) K(x_i, x_j).
The two agree for all data iff r_ℓ = -η_ℓ.  So the value entry is
r_ℓ = -η_ℓ and the prediction is f_L(x_q) = -Y_L[n+1]: the read-out sign is
-1.  Nothing used symmetry or positivity of K, only that K(x_i, x_j) does not
change between layers: the identity is a polynomial identity in the kernel
values, the labels and the steps (for softmax, the normalised values
e^{⟨x_i,x⟩} / Σ_{k≤n} e^{⟨x_k,x⟩}), which is how the exact checks treat it.

Several heads h with kernels K_h and value entries r_{ℓ,h} = -η_{ℓ,h} add
their updates: the layer is one functional-GD step with step 1 on the kernel
Σ_h η_{ℓ,h} K_h (equal steps: η_ℓ times the sum of the kernels).

Weights are exact (ints and Fractions, or drawn symbols); engine names:
W_K = [B 0] (keys), W_Q = [C 0] (queries), W_V = V_ℓ, scale 1/n, key mask M.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Sequence, Union

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import (
    SCORES,
    Attention,
    Head,
    PromptError,
    Readout,
    Transformer,
    context_mask,
    regression_prompt,
)

Kernel = Callable[[Arithmetic, Any, Any], Any]  # (ar, keys (.., d, N), queries (.., d, N)) -> (.., N, N)
Activation = Union[str, Kernel]

READOUT_SIGN = -1  # prediction = -[Z_L]_{d+1, n+1}


def value_entry(eta: Any) -> Any:
    """r_ℓ = -η_ℓ (derived in the module docstring)."""
    return -eta


def coordinates(d: int) -> tuple[str, ...]:
    """Residual coordinates of a token [x; y]."""
    return tuple(f"x:{k}" for k in range(d)) + ("y",)


def _zeros(r: int, c: int) -> np.ndarray:
    return np.full((r, c), Fraction(0), dtype=object)


def _check_activation(activation: Activation) -> None:
    if not callable(activation) and activation not in SCORES:
        raise PromptError(f"unknown activation {activation!r}; expected one of {SCORES} or a kernel callable")


def context_normalised(kernel: Kernel, n: int) -> Kernel:
    """The kernel K(x_i, x_j) / Σ_{k≤n} K(x_k, x_j): normalised over the n
    context keys of each query, as softmax normalises e^{⟨x_i, x_j⟩}.  With
    ``kernel`` returning free values, this is softmax attention with the
    exponentials treated as free positive numbers (exact evidence)."""

    def normalised(ar: Arithmetic, keys: Any, queries: Any) -> Any:
        G = kernel(ar, keys, queries)  # (.., N, N)
        N = G.shape[-2]
        if N != n + 1:
            raise PromptError(f"context-normalised kernel built for n = {n} got {N} tokens (expected {n + 1})")
        total = ar.sum(G[..., :n, :], axis=-2)  # (.., N): Σ over the context keys of each query
        return G / total[..., None, :]

    normalised.__name__ = f"context_normalised({getattr(kernel, '__name__', 'kernel')})"
    return normalised


def _selector(d: int) -> np.ndarray:
    """[I_d 0]: reads x out of a token [x; y] (B = C = I in the paper)."""
    return np.concatenate([np.eye(d, dtype=int).astype(object), _zeros(d, 1)], axis=1)


def _value(d: int, eta: Any) -> np.ndarray:
    """V_ℓ = [[A_ℓ, 0], [0, r_ℓ]] with A_ℓ = 0 and r_ℓ = -η_ℓ."""
    V = _zeros(d + 1, d + 1)
    V[d, d] = value_entry(eta)
    return V


def fgd_head(d: int, eta: Any, activation: Activation | None = None) -> Head:
    """One head: keys B x_i, queries C x_j (B = C = I), value r y_i."""
    if activation is not None:
        _check_activation(activation)
    return Head(W_Q=_selector(d), W_K=_selector(d), W_V=_value(d, eta), score=activation)


def fgd_layer(d: int, n: int, eta: Any, activation: Activation) -> Attention:
    """One layer = one functional-GD step with step η on the kernel h̃."""
    _check_sizes(d, n)
    _check_activation(activation)
    return Attention(heads=(fgd_head(d, eta),), score=activation, key_mask=context_mask(n), scale=Fraction(1, n))


def multi_head_layer(d: int, n: int, etas: Sequence[Any], activations: Sequence[Activation]) -> Attention:
    """Heads h = 1..H with kernels K_h and steps η_h (value r_h = -η_h): one
    functional-GD step on Σ_h η_h K_h with step 1."""
    _check_sizes(d, n)
    if len(etas) != len(activations) or not activations:
        raise PromptError(f"multi-head layer: {len(etas)} steps for {len(activations)} heads (need one per head, >= 1)")
    heads = tuple(fgd_head(d, eta, act) for eta, act in zip(etas, activations))
    return Attention(heads=heads, score=activations[0], key_mask=context_mask(n), scale=Fraction(1, n))


def functional_gd_transformer(d: int, n: int, etas: Sequence[Any], activation: Activation) -> Transformer:
    """L = len(etas) layers, step η_ℓ in layer ℓ; prediction -[Z_L]_{d+1,n+1}."""
    if len(etas) < 1:
        raise PromptError("need at least one layer (one step size)")
    # One layer per distinct step object: a run of L equal steps shares one layer (weights are never changed in
    # place, and the engine converts a weight once per number system, not once per layer).
    built: dict[int, Attention] = {}
    for eta in etas:
        if id(eta) not in built:
            built[id(eta)] = fgd_layer(d, n, eta, activation)
    layers = tuple(built[id(eta)] for eta in etas)
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", "kernel")
    return Transformer(layers, coordinates(d), _readout(d, n), name=f"functional GD ({name} attention)")


def multi_head_transformer(d: int, n: int, head_etas: Sequence[Sequence[Any]],
                           activations: Sequence[Activation]) -> Transformer:
    """``head_etas[ℓ][h]``: the step of head h in layer ℓ."""
    if len(head_etas) < 1:
        raise PromptError("need at least one layer")
    layers = tuple(multi_head_layer(d, n, etas, activations) for etas in head_etas)
    return Transformer(layers, coordinates(d), _readout(d, n), name="functional GD (multi-head)")


def _readout(d: int, n: int) -> Readout:
    return Readout(vector=np.array([0] * d + [READOUT_SIGN], dtype=object), column=n)


def _check_sizes(d: int, n: int) -> None:
    if d < 1:
        raise PromptError(f"functional GD needs dimension d >= 1, got d = {d}")
    if n < 1:
        raise PromptError(f"functional GD needs n >= 1 context examples, got n = {n}")


def fgd_prompt(X: np.ndarray, y: np.ndarray, x_q: np.ndarray) -> np.ndarray:
    """Z_0 = [[x_1 … x_n x_q], [y_1 … y_n 0]] (X is (n, d), examples as rows)."""
    return regression_prompt(X, y, x_q, 0)
