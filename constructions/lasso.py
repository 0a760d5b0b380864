"""Lasso by proximal gradient descent (ISTA) in a ReLU transformer.

Bai, Chen, Wang, Xiong, Mei (2023), "Transformers as Statisticians",
arXiv:2306.04637, Theorem 10 (proof App. F.1) on Theorem C.1 and
Proposition C.1 (App. C.1).  Each of L transformer layers (attention + MLP)
makes one ISTA step on L_lasso(w) = (1/2n) Σ_i (<w, x_i> - y_i)² + λ ||w||_1:

    attention   w <- w - η (1/n) Σ_i (<w, x_i> - y_i) x_i        (the gradient step)
    MLP         w <- S_{ηλ}(w),  S_t(z) = ReLU(z - t) - ReLU(-z - t)   (the prox of ηλ||.||_1)

and a last attention layer writes the prediction <w_L, x_q> into the query's
label slot.  The gradient step is the ReLU-attention step of
:func:`~transformer_proofs.constructions.gradient_descent.relu_ridge_layer`
with λ = 0 (its two ReLU heads, s = ReLU(s) - ReLU(-s); the third, ridge head
is dropped: the paper's "2 heads in the unregularized case").

Tokens h = [x; y; w; 1; t] (t = 1 for the n examples, 0 for the query), as
in :func:`~transformer_proofs.constructions.gradient_descent.ridge_prompt`.

What is printed and what is ours: the paper prints that prox_{ηλ||.||_1} is
exactly an MLP of hidden dimension 4d (Prop. C.1), that the transformer has
T + 1 layers with 2 heads each (App. F.1); its weight displays were lost in
our copy.  Our MLP: hidden units ReLU(±w_k - t·1) and ReLU(±w_k), read out so
that the residual stream gains S_t(w) - w (the pair ReLU(w) - ReLU(-w) = w
cancels the residual); 4d hidden units, as printed.  Our read-out layer
(two ReLU heads, t_j in the value so that the 1/n sum over the n examples
gives 1) is ours, in the manner of the paper's Theorem 13(b).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from transformer_proofs.constructions.engine import MLP, Attention, Head, PromptError, Readout, Transformer
from transformer_proofs.constructions.gradient_descent import relu_ridge_layer, ridge_token_coordinates


def _slots(d: int) -> dict[str, Any]:
    """Indices of the token h = [x; y; w; 1; t]."""
    return {"x": list(range(d)), "y": d, "w": list(range(d + 1, 2 * d + 1)), "one": 2 * d + 1, "t": 2 * d + 2}


def _zeros(r: int, c: int) -> np.ndarray:
    return np.full((r, c), Fraction(0), dtype=object)


def gradient_step_layer(d: int, n: int, eta: Any, offset: Any) -> Attention:
    """w <- w - η ∇f(w), f(w) = (1/2n) Σ (<w, x_i> - y_i)²: the two ReLU heads
    of the ridge layer (λ = 0, so its third head would add 0 and is dropped)."""
    layer = relu_ridge_layer(d, n, eta, 0, offset)
    return replace(layer, heads=layer.heads[:2])


def soft_threshold_mlp(d: int, threshold: Any) -> MLP:
    """The residual MLP h <- h + W_out ReLU(W_in h) that replaces w by S_t(w).

    Hidden units (4d), for each coordinate k, with t = ``threshold``:
        u1 = ReLU( w_k - t·1)    u2 = ReLU(-w_k - t·1)     # S_t(w_k) = u1 - u2
        u3 = ReLU( w_k)          u4 = ReLU(-w_k)           # w_k = u3 - u4
    W_out writes u1 - u2 - u3 + u4 = S_t(w_k) - w_k into w_k: the residual
    adds w_k back, so the w slot holds S_t(w_k).  Nothing else moves."""
    s = _slots(d)
    D = 2 * d + 3
    W_in, W_out = _zeros(4 * d, D), _zeros(D, 4 * d)
    for k in range(d):
        wk, r = s["w"][k], 4 * k
        W_in[r, wk], W_in[r, s["one"]] = 1, -threshold  # w_k - t
        W_in[r + 1, wk], W_in[r + 1, s["one"]] = -1, -threshold  # -w_k - t
        W_in[r + 2, wk] = 1  # w_k
        W_in[r + 3, wk] = -1  # -w_k
        W_out[wk, r:r + 4] = [1, -1, -1, 1]
    return MLP(W_in=W_in, W_out=W_out)


def prediction_layer(d: int, n: int) -> Attention:
    """Writes <w, x_j> into every token's label slot (the query's: the
    prediction), with two ReLU heads: <w, x_j> = ReLU(<w, x_j>) - ReLU(-<w, x_j>).

        head m (sign σ_m = ±1): query σ_m x_j, key w_i (the same w in every token),
                                value σ_m t_i -> y slot
    Summed over all n+1 keys with weight 1/n, Σ_i t_i / n = 1."""
    s = _slots(d)
    D = 2 * d + 3
    W_K = _zeros(d, D)
    W_Q = _zeros(d, D)
    for k in range(d):
        W_K[k, s["w"][k]] = 1
        W_Q[k, s["x"][k]] = 1
    V = _zeros(D, D)
    V[s["y"], s["t"]] = 1
    heads = (Head(W_Q=W_Q, W_K=W_K, W_V=V), Head(W_Q=-W_Q, W_K=W_K.copy(), W_V=-V))
    return Attention(heads=heads, score="relu", key_mask=np.ones(n + 1, dtype=int), scale=Fraction(1, n))


def ista_transformer(d: int, n: int, etas: Sequence[Any], lam: Any, offset: Any) -> Transformer:
    """len(etas) ISTA steps (attention then MLP per step), then the prediction
    layer; read-out: the query's label slot.  ``offset`` B must exceed
    max_ℓ |<w_ℓ, x_q>| (it keeps the query out of the gradient sums)."""
    if len(etas) < 1:
        raise PromptError("need at least one ISTA step (one step size)")
    if n < 1:
        raise PromptError(f"need n >= 1 examples, got n = {n}")
    layers: list[Any] = []
    for eta in etas:
        layers += [gradient_step_layer(d, n, eta, offset), soft_threshold_mlp(d, eta * lam)]
    layers.append(prediction_layer(d, n))
    readout_vec = np.zeros(2 * d + 3, dtype=object)
    readout_vec[_slots(d)["y"]] = 1
    return Transformer(tuple(layers), ridge_token_coordinates(d), Readout(readout_vec, column=n),
                       name="Bai et al. ISTA (Lasso)")
