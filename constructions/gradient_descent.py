"""Linear (and ReLU) attention as gradient descent: three constructions.

1. von Oswald, Niklasson, Randazzo, Sacramento, Mordvintsev, Zhmoginov,
   Vladymyrov (2023), "Transformers learn in-context by gradient descent",
   arXiv:2212.07677, Proposition 1.  One linear self-attention layer
       e_j <- e_j + P Σ_{i<=n} (W_V e_i)(W_K e_i)ᵀ(W_Q e_j)
   with W_K = W_Q = [[I_d, 0], [0, 0]], W_V = [[0, 0], [W_0, -1]],
   P = (η/n) I moves every label by one GD step on
   L(W) = (1/2n) Σ ||W x_i - y_i||².
2. Ahn, Cheng, Daneshmand, Sra (2023), "Transformers learn to implement
   preconditioned gradient descent for in-context learning", arXiv:2306.00297,
   Lemma 1: Z <- Z + (1/n) P Z M (Zᵀ Q Z) with P = [[0,0],[0,1]],
   Q = -[[A, 0], [0, 0]].
3. Bai, Chen, Wang, Xiong, Mei (2023), "Transformers as Statisticians",
   arXiv:2306.04637, Prop. C.2 / Cor. C.1: ReLU attention, two heads per GD
   step (s = ReLU(s) - ReLU(-s)), a third head for the ridge term.

Weights are exact (ints and Fractions); the arithmetic converts them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from transformer_proofs.constructions.engine import Attention, Head, PromptError, Readout, Transformer, context_mask


def _zeros(r: int, c: int) -> np.ndarray:
    return np.full((r, c), Fraction(0), dtype=object)


def _eye(n: int) -> np.ndarray:
    out = np.full((n, n), Fraction(0), dtype=object)
    np.fill_diagonal(out, Fraction(1))
    return out


def _block(blocks: list[list[np.ndarray]]) -> np.ndarray:
    return np.block(blocks).astype(object)


def regression_coordinates(d: int) -> tuple[str, ...]:
    """Named residual coordinates of a regression token [x; y]."""
    return tuple(f"x:{k}" for k in range(d)) + ("y",)


# ---------------------------------------------------------------------------
# von Oswald et al., Proposition 1
# ---------------------------------------------------------------------------


def von_oswald_layer(d: int, n: int, eta: Any, W_0: Sequence[Any] | None = None, gamma: Any = None) -> Attention:
    """One linear self-attention layer = one GD step from W_0 with step η.

    Block names as in the paper (tokens e = [x; y], x in R^d, y scalar):
        W_K = W_Q = [[I_d, 0], [0, 0]]      # scores x_iᵀ x_j
        W_V       = [[0, 0], [W_0, -1]]     # value (0, W_0 x_i - y_i)
        P         = (η/n) I_{d+1}           # = W_O · scale with W_O = η I, scale 1/n
    The query (last token) is not a key: M = diag(I_n, 0).

    GD++ (same paper, §3): with ``gamma`` the x-block of W_V is -(γ n/η) I,
    so that P W_V has x-block -γ I and every token moves
    x_j <- (I - γ Σ_i x_i x_iᵀ) x_j, while the label update is unchanged
    (it reads the layer's input)."""
    if n < 1:
        raise PromptError(f"von Oswald layer needs n >= 1 context examples, got n = {n}")
    W0 = np.asarray([0] * d if W_0 is None else list(W_0), dtype=object).reshape(1, d)
    if W0.shape != (1, d):
        raise PromptError(f"W_0 must have d = {d} entries")
    W_KQ = _block([[_eye(d), _zeros(d, 1)], [_zeros(1, d), _zeros(1, 1)]])  # (d+1, d+1)
    x_block = _zeros(d, d) if gamma is None else -_eye(d) * (gamma * n / eta)
    W_V = _block([[x_block, _zeros(d, 1)], [W0, -_eye(1)]])  # (d+1, d+1)
    W_O = _eye(d + 1) * eta  # P = (η/n) I = W_O · (1/n)
    head = Head(W_Q=W_KQ, W_K=W_KQ.copy(), W_V=W_V, W_O=W_O)
    return Attention(heads=(head,), score="linear", key_mask=context_mask(n), scale=Fraction(1, n))


def von_oswald_transformer(d: int, n: int, etas: Sequence[Any], W_0: Sequence[Any] | None = None) -> Transformer:
    """len(etas) stacked layers: L GD steps from W_0 (0 if None).

    Proof sketch (induction over layers): after ℓ layers the context labels
    hold y_i - (W_ℓ - W_0) x_i and the query holds -W_ℓ x_q.  Every layer keeps
    W_0 in its value matrix, so it reads W_0 x_i - (y_i - (W_ℓ - W_0) x_i) =
    W_ℓ x_i - y_i, the residual of the current iterate, and moves the labels
    by -ΔW_ℓ x with ΔW_ℓ = -η_ℓ ∇L(W_ℓ).  (A value matrix with W_0 = 0 after the
    first layer would be right only when W_0 = 0.)  Prediction: the negated
    query label, W_L x_q."""
    if len(etas) < 1:
        raise PromptError("need at least one layer (one step size)")
    layers = [von_oswald_layer(d, n, eta, W_0) for eta in etas]
    readout = Readout(vector=np.array([0] * d + [-1], dtype=object), column=n)
    return Transformer(tuple(layers), regression_coordinates(d), readout, name="von Oswald GD")


# ---------------------------------------------------------------------------
# Ahn et al., Lemma 1
# ---------------------------------------------------------------------------


def preconditioned_layer(d: int, n: int, A: np.ndarray) -> Attention:
    """Z <- Z + (1/n) P Z M (Zᵀ Q Z), P = [[0,0],[0,1]], Q = -[[A,0],[0,0]].

    In engine terms: W_V = P, W_K = I, W_Q = Q (so S = Zᵀ Q Z), scale 1/n,
    key mask M.  A is any d x d matrix."""
    A = np.asarray(A, dtype=object)
    if A.shape != (d, d):
        raise PromptError(f"preconditioner A must be square d x d = {d} x {d}, got shape {A.shape}")
    P = _block([[_zeros(d, d), _zeros(d, 1)], [_zeros(1, d), _eye(1)]])
    Q = -_block([[A, _zeros(d, 1)], [_zeros(1, d), _zeros(1, 1)]])
    head = Head(W_Q=Q, W_K=_eye(d + 1), W_V=P)
    return Attention(heads=(head,), score="linear", key_mask=context_mask(n), scale=Fraction(1, n))


def preconditioned_transformer(d: int, n: int, As: Sequence[np.ndarray]) -> Transformer:
    if len(As) < 1:
        raise PromptError("need at least one layer (one preconditioner)")
    layers = tuple(preconditioned_layer(d, n, A) for A in As)
    readout = Readout(vector=np.array([0] * d + [-1], dtype=object), column=n)
    return Transformer(layers, regression_coordinates(d), readout, name="Ahn et al. preconditioned GD")


# ---------------------------------------------------------------------------
# Bai et al., Prop. C.2: ReLU attention, ridge regression
# ---------------------------------------------------------------------------


def ridge_token_coordinates(d: int) -> tuple[str, ...]:
    """h = [x; y; w; 1; t] (t = 1 for context tokens, 0 for the query)."""
    return (tuple(f"x:{k}" for k in range(d)) + ("y",) + tuple(f"w:{k}" for k in range(d)) + ("one", "t"))


def ridge_prompt(X: np.ndarray, y: np.ndarray, x_q: np.ndarray, w_0: np.ndarray) -> np.ndarray:
    """Tokens h_i = [x_i; y_i; w_0; 1; 1] and the query [x_q; 0; w_0; 1; 0]."""
    X, y, x_q, w_0 = (np.asarray(a, dtype=object) for a in (X, y, x_q, w_0))
    n, d = X.shape
    if n < 1:
        raise PromptError("a ridge prompt needs n >= 1 examples")
    if y.shape != (n,) or x_q.shape != (d,) or w_0.shape != (d,):
        raise PromptError(f"shapes: X {X.shape}, y {y.shape}, x_q {x_q.shape}, w_0 {w_0.shape} do not fit d = {d}")
    cols = [np.concatenate([X[i], [y[i]], w_0, [1, 1]]) for i in range(n)]
    cols.append(np.concatenate([x_q, [0], w_0, [1, 0]]))
    return np.stack(cols, axis=1).astype(object)  # (2d+3, n+1)


def relu_ridge_layer(d: int, n: int, eta: Any, lam: Any, offset: Any) -> Attention:
    """One ridge-GD step w <- w - η ((1/n) Σ_i (<w, x_i> - y_i) x_i + λ w).

    Three ReLU heads, all keys present (the query is excluded through the
    score offset B (t_j - 1), not through a mask, as in the paper):
        head 1: score  <w, x_j> - y_j + B(t_j - 1),  value -η x_j -> w slot
        head 2: score -<w, x_j> + y_j + B(t_j - 1),  value +η x_j -> w slot
        head 3: score  t_j,                          value -ηλ w_j -> w slot
    With r_j = <w, x_j> - y_j: ReLU(r) (-η x) + ReLU(-r) (η x) = -η r x.
    The query key scores ±<w, x_q> - B, zero after ReLU when B > |<w, x_q>|.
    Normalisation 1/n: the n context tokens, not the n+1 tokens present."""
    D = 2 * d + 3
    ix, iy, iw, one, it = list(range(d)), d, list(range(d + 1, 2 * d + 1)), 2 * d + 1, 2 * d + 2

    def row(entries: dict[int, Any]) -> np.ndarray:
        r = np.full(D, Fraction(0), dtype=object)
        for k, v in entries.items():
            r[k] = v
        return r

    # queries: [w; 1; 1], keys: [x_j; -y_j; B (t_j - 1)]
    W_Q1 = np.stack([row({iw[k]: 1}) for k in range(d)] + [row({one: 1}), row({one: 1})])
    W_Q2 = np.stack([row({iw[k]: -1}) for k in range(d)] + [row({one: -1}), row({one: 1})])
    W_K = np.stack([row({ix[k]: 1}) for k in range(d)] + [row({iy: -1}), row({it: offset, one: -offset})])
    # values write into the w slot
    W_V_x = _zeros(D, D)  # x_j -> w slot
    W_V_w = _zeros(D, D)  # w_j -> w slot
    for k in range(d):
        W_V_x[iw[k], ix[k]] = 1
        W_V_w[iw[k], iw[k]] = 1
    head1 = Head(W_Q=W_Q1, W_K=W_K, W_V=-eta * W_V_x)
    head2 = Head(W_Q=W_Q2, W_K=W_K.copy(), W_V=eta * W_V_x)
    head3 = Head(W_Q=np.stack([row({one: 1})]), W_K=np.stack([row({it: 1})]), W_V=-eta * lam * W_V_w)
    return Attention(heads=(head1, head2, head3), score="relu", key_mask=np.ones(n + 1, dtype=int),
                     scale=Fraction(1, n))


def relu_ridge_transformer(d: int, n: int, etas: Sequence[Any], lam: Any, offset: Any) -> Transformer:
    layers = tuple(relu_ridge_layer(d, n, eta, lam, offset) for eta in etas)
    return Transformer(layers, ridge_token_coordinates(d), None, name="Bai et al. ReLU-attention ridge GD")
