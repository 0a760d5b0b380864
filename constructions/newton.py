"""Newton–Schulz iterations in a ReLU-attention transformer.

Fu, Chen, Jia, Sharan (2023/24), "Transformers Learn Higher-Order Optimization
Methods for In-Context Learning" (v3: "... Achieve Second-Order Convergence
Rates for In-Context Linear Regression"), arXiv:2310.17086, §5 and App. B.

Claim: with S = XᵀX, M_0 = αS and M_{k+1} = 2M_k - M_k S M_k (iterative Newton,
i.e. Newton–Schulz for S⁺), a transformer of k + O(1) layers predicts
x_qᵀ M_k Xᵀ y.  The paper's layers use full attention with normalised ReLU
(Def. B.1): h_t <- h_t + (1/n) Σ_m Σ_{j<=n} ReLU(<Q_m h_t, K_m h_j>) V_m h_j,
keys over the n context tokens.

What is built here
- :func:`printed_newton_layer`: the Newton layer on the paper's state
  h_t = [T x_t; x_t] with C = [[0, -(n/2) I], [0, 0]], J = [[I, 0], [0, 0]],
  Q_m = Q̃_m C, K_m = K̃_m J, Q̃_1ᵀK̃_1 = I, Q̃_2ᵀK̃_2 = -I, then the MLP
  h <- h + J h.  ``v2_sign=+1`` is V_2 = J as printed (the paper argues
  ReLU(u) + ReLU(-u) = u, but that sum is |u|); ``v2_sign=-1`` is our
  correction V_2 = -J, which uses ReLU(u) - ReLU(-u) = u.
- :func:`printed_init_layer`: the printed init on [x_t; x_t]
  (Q_1ᵀK_1 = -Q_2ᵀK_2 = J, V_m = nα J), same sign question.
- :func:`newton_transformer`: **our** exact end-to-end realisation (the paper
  assembles init and read-out from approximate primitives of Akyürek et al.,
  arXiv:2211.15661): one init attention layer, k Newton layers (attention +
  MLP) exactly as printed (with V_2 = -J), one read-out attention layer —
  k + 2 layers against the paper's k + 8.  Every layer uses the same
  normalised ReLU attention, keys over the n context tokens.
- :func:`linear_newton_step`: one Newton step X <- 2X - XAX for matrix
  inversion with linear attention only (the statement of Giannou, Yang, Wang,
  Papailiopoulos, Lee (2024), "How Well Can Transformers Emulate In-context
  Newton's Method?", arXiv:2403.03183; **our** weights: one layer of two heads
  on tokens [x_t; r_t; e_t] with one-hot positions, where the paper states
  two layers).

Weights are exact (ints, Fractions, or drawn entries: field elements, Sym).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from transformer_proofs.constructions.engine import (
    MLP,
    Attention,
    Head,
    PromptError,
    Readout,
    Transformer,
    context_mask,
)


def _zeros(r: int, c: int) -> np.ndarray:
    """Exact (integer) zeros: no Fraction arithmetic per entry when built or read."""
    return np.zeros((r, c), dtype=int).astype(object)


def _select(rows: Sequence[int], D: int, coeff: Any = 1) -> np.ndarray:
    """The (len(rows), D) matrix reading coordinates ``rows`` of a token, times ``coeff``."""
    P = _zeros(len(rows), D)
    for r, c in enumerate(rows):
        P[r, c] = coeff
    return P


def _write(rows: Sequence[int], D: int, coeff: Any = 1) -> np.ndarray:
    """The (D, len(rows)) matrix writing into coordinates ``rows``, times ``coeff``."""
    return _select(rows, D, coeff).T.copy()


def _check_sizes(d: int, n: int) -> None:
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise PromptError(f"dimension d must be an integer >= 1, got {d!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise PromptError(f"the Newton construction needs n >= 1 context examples, got {n!r}")


# ---------------------------------------------------------------------------
# the paper's layers on the state [T x_t; x_t]
# ---------------------------------------------------------------------------


def newton_state_coordinates(d: int) -> tuple[str, ...]:
    """h_t = [T x_t; x_t] ∈ R^{2d}: top block ``Tx:k``, bottom block ``x:k``."""
    return tuple(f"Tx:{k}" for k in range(d)) + tuple(f"x:{k}" for k in range(d))


def _newton_blocks(d: int, n: int, D: int, top: Sequence[int], bottom: Sequence[int], v2_sign: int) -> tuple[Attention, MLP]:
    """The Newton layer acting on coordinates ``top`` (T x_t) and ``bottom``
    (x_t) of a D-dimensional stream; all other coordinates untouched."""
    if v2_sign not in (1, -1):
        raise ValueError(f"v2_sign must be +1 (printed V_2 = J) or -1 (corrected V_2 = -J), got {v2_sign!r}")
    read_top, write_top = _select(top, D), _write(top, D)
    # C h_t = [-(n/2) x_t; 0]: the query moves x_t to the top block, scaled by -(n/2).
    C = _select(bottom, D, Fraction(-n, 2))  # (d, D), rows = the top block of C h_t
    # J h_j = [T x_j; 0]: keys and values read the top block.
    J = read_top  # (d, D)
    # Q̃_1 = K̃_1 = I (Q̃_1ᵀK̃_1 = I); Q̃_2 = -I, K̃_2 = I (Q̃_2ᵀK̃_2 = -I).
    # head m score: <Q̃_m C h_t, K̃_m J h_j> = ∓(n/2) x_tᵀ T x_j.
    head1 = Head(W_Q=C, W_K=J, W_V=J, W_O=write_top)  # V_1 = J
    head2 = Head(W_Q=_select(bottom, D, Fraction(n, 2)), W_K=J.copy(), W_V=_select(top, D, v2_sign),
                 W_O=write_top.copy())  # Q_2 = -C, V_2 = ±J
    # With V_2 = -J: (1/n) Σ_j [ReLU(s_tj) - ReLU(-s_tj)] T x_j = (1/n) Σ_j s_tj T x_j
    #   = -(1/2) Σ_j T x_j x_jᵀ Tᵀ x_t = -(1/2) T S Tᵀ x_t  (s_tj = -(n/2) x_tᵀ T x_j).
    attention = Attention(heads=(head1, head2), score="relu", key_mask=context_mask(n), scale=Fraction(1, n))
    # MLP h <- h + J h (top block doubled), as ReLU(Jh) - ReLU(-Jh) = Jh:
    #   T x_t - (1/2) T S T x_t  ->  2 T x_t - T S T x_t.
    W_in = np.concatenate([J, -J], axis=0)  # (2d, D)
    W_out = np.concatenate([write_top, -write_top], axis=1)  # (D, 2d)
    return attention, MLP(W_in=W_in, W_out=W_out, activation="relu")


def printed_newton_layer(d: int, n: int, v2_sign: int = -1) -> Transformer:
    """One Newton layer (attention + MLP) on the paper's state [T x_t; x_t].

    For symmetric T it maps T to 2T - T S T (with ``v2_sign=-1``); in general
    it maps T to 2T - T S Tᵀ.  ``v2_sign=+1`` is the layer as printed."""
    _check_sizes(d, n)
    D = 2 * d
    att, mlp = _newton_blocks(d, n, D, range(d), range(d, D), v2_sign)
    return Transformer((att, mlp), newton_state_coordinates(d), None,
                       name="Fu et al. Newton layer" + (" (printed V_2 = J)" if v2_sign == 1 else ""))


def printed_init_layer(d: int, n: int, alpha: Any, v2_sign: int = -1) -> Transformer:
    """The printed init layer on [x_t; x_t]: Q_1ᵀK_1 = -Q_2ᵀK_2 = J and
    V_1 = nαJ, V_2 = ±nαJ.  With ``v2_sign=-1`` it yields [x_t + αS x_t; x_t]."""
    _check_sizes(d, n)
    if v2_sign not in (1, -1):
        raise ValueError(f"v2_sign must be +1 (printed) or -1 (corrected), got {v2_sign!r}")
    D = 2 * d
    J, write_top = _select(range(d), D), _write(range(d), D)
    # score_1 = <J h_t, J h_j> = x_tᵀ x_j (the top block still holds x_t); score_2 = -x_tᵀ x_j.
    head1 = Head(W_Q=J, W_K=J.copy(), W_V=_select(range(d), D, n * alpha), W_O=write_top)
    head2 = Head(W_Q=_select(range(d), D, -1), W_K=J.copy(), W_V=_select(range(d), D, v2_sign * n * alpha),
                 W_O=write_top.copy())
    att = Attention(heads=(head1, head2), score="relu", key_mask=context_mask(n), scale=Fraction(1, n))
    return Transformer((att,), newton_state_coordinates(d), None, name="Fu et al. init layer")


# ---------------------------------------------------------------------------
# our exact end-to-end construction
# ---------------------------------------------------------------------------


def newton_coordinates(d: int) -> tuple[str, ...]:
    """Residual stream of the end-to-end model: ``Tx:k`` (M x_t), ``x:k``,
    ``y``, ``pred``."""
    return tuple(f"Tx:{k}" for k in range(d)) + tuple(f"x:{k}" for k in range(d)) + ("y", "pred")


def newton_prompt(X: Any, y: Any, x_q: Any) -> np.ndarray:
    """Embed the regression prompt: h_t = [0; x_t; y_t; 0], query [0; x_q; 0; 0].
    Shape (2d + 2, n + 1); the zero slots are the work space."""
    X, y, x_q = (np.asarray(a, dtype=object) for a in (X, y, x_q))
    if X.ndim != 2:
        raise PromptError(f"X must be (n, d) with examples as rows, got shape {X.shape}")
    n, d = X.shape
    _check_sizes(d, n)
    if y.shape != (n,) or x_q.shape != (d,):
        raise PromptError(f"shapes X {X.shape}, y {y.shape}, x_q {x_q.shape} do not fit n = {n}, d = {d}")
    for name, a in (("X", X), ("y", y), ("x_q", x_q)):
        for v in a.ravel():
            if isinstance(v, float) and not np.isfinite(v):
                raise PromptError(f"{name} contains NaN or inf")
    Z = np.zeros((2 * d + 2, n + 1), dtype=object) + Fraction(0)
    Z[d:2 * d, :n] = X.T
    Z[d:2 * d, n] = x_q
    Z[2 * d, :n] = y
    return Z


class StepSizeOutsideRegion(ValueError):
    """α is outside the region 0 < α < 2/λ_max(S)² where M_k -> S⁺."""


def _exact(v: Any) -> Fraction | None:
    """v as an exact rational (a double is one), or None for a symbol or a
    field element, which have no order."""
    if isinstance(v, (Fraction, int, np.integer)):
        return Fraction(int(v)) if not isinstance(v, Fraction) else v
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise StepSizeOutsideRegion(f"Newton step α = {v!r} must be finite")
        return Fraction(float(v))
    return None


def positive_definite(A: Sequence[Sequence[Fraction]]) -> bool:
    """Is the symmetric rational matrix A positive definite?  Decided exactly:
    Gaussian elimination without pivoting, every pivot > 0 (Sylvester)."""
    M = [[Fraction(v) for v in row] for row in A]
    m = len(M)
    for i in range(m):
        if M[i][i] <= 0:
            return False
        for r in range(i + 1, m):
            f = M[r][i] / M[i][i]
            for c in range(i, m):
                M[r][c] -= f * M[i][c]
    return True


def convergent_step(X: Any, alpha: Any) -> bool:
    """0 < α < 2/λ_max(S)² for S = XᵀX, decided exactly (floats are read as
    the rationals they are): α > 0 and (2/α) I - S² positive definite.  This
    is |1 - αλ²| < 1 on every nonzero eigenvalue λ of S, the region where
    I - M_k S = (I - αS²)^{2^k} -> the projector off range(S), i.e. M_k -> S⁺.
    Raises TypeError when α or X is not real (a symbol, a field element)."""
    a = _exact(alpha)
    Xq = [[_exact(v) for v in row] for row in np.asarray(X, dtype=object)]
    if a is None or any(v is None for row in Xq for v in row):
        raise TypeError("the convergence region is decided for real α and X only")
    if a <= 0:
        return False
    d = len(Xq[0]) if Xq else 0
    S = [[sum((Xq[r][i] * Xq[r][j] for r in range(len(Xq))), Fraction(0)) for j in range(d)] for i in range(d)]
    S2 = [[sum((S[i][m] * S[m][j] for m in range(d)), Fraction(0)) for j in range(d)] for i in range(d)]
    return positive_definite([[(2 / a if i == j else Fraction(0)) - S2[i][j] for j in range(d)] for i in range(d)])


def newton_transformer(d: int, n: int, k: int, alpha: Any, design: Any = None) -> Transformer:
    """k + 2 layers predicting x_qᵀ M_k Xᵀ y (ours; see the module docstring).

    The weights do not depend on the prompt, but α only makes sense for the
    prompts whose S it keeps in the convergent region: a real α <= 0 is
    refused, and with ``design`` (the prompt's X, n x d) an α outside
    0 < α < 2/λ_max(XᵀX)² is refused (:func:`convergent_step`, exact), with
    StepSizeOutsideRegion.  Symbolic and prime-field α (no order) are
    accepted: the identity checks use them as free parameters.

    Layer 0 (init, ours): two ReLU heads, score ±x_tᵀx_j, value ±nα x_j into
        the empty top block: (1/n) Σ_j (x_tᵀ x_j) nα x_j = αS x_t = M_0 x_t.
    Layers 1..k: the printed Newton layer (with V_2 = -J), M -> 2M - MSM.
    Layer k+1 (read-out, ours): two ReLU heads, score ±(M_k x_t)ᵀ x_j, value
        ±n y_j into ``pred``: Σ_j x_tᵀ M_k x_j y_j = x_tᵀ M_k Xᵀ y (M_k is
        symmetric, a polynomial in S).  The prediction is ``pred`` of the query."""
    if not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"the number of Newton iterations k must be an integer >= 0, got {k!r}")
    _check_sizes(d, n)
    a = _exact(alpha)
    if a is not None and a <= 0:
        raise StepSizeOutsideRegion(f"Newton step α = {alpha} must be positive (M_0 = αS, α > 0)")
    if design is not None:
        if np.shape(design) != (n, d):
            raise PromptError(f"design must be the prompt's X of shape ({n}, {d}), got {np.shape(design)}")
        if not convergent_step(design, alpha):
            raise StepSizeOutsideRegion(
                f"Newton step α = {alpha} is outside 0 < α < 2/λ_max(XᵀX)² for this design: I - M_k S = "
                "(I - αS²)^(2^k) does not tend to the projector off range(S), so M_k does not tend to S⁺ "
                "(at α = 2/λ_max² exactly the top eigendirection is never recovered)")
    D = 2 * d + 2
    top, bottom, iy, ipred = list(range(d)), list(range(d, 2 * d)), 2 * d, 2 * d + 1
    P_x, P_T = _select(bottom, D), _select(top, D)
    # init: M_0 x_t = α S x_t = α Σ_j x_j x_jᵀ x_t.
    init = Attention(
        heads=(Head(W_Q=P_x, W_K=P_x.copy(), W_V=_select(bottom, D, n * alpha), W_O=_write(top, D)),
               Head(W_Q=_select(bottom, D, -1), W_K=P_x.copy(), W_V=_select(bottom, D, -n * alpha),
                    W_O=_write(top, D))),
        score="relu", key_mask=context_mask(n), scale=Fraction(1, n))
    layers: list[Any] = [init]
    for _ in range(k):
        layers.extend(_newton_blocks(d, n, D, top, bottom, v2_sign=-1))
    readout = Attention(
        heads=(Head(W_Q=P_T, W_K=P_x, W_V=_select([iy], D, n), W_O=_write([ipred], D)),
               Head(W_Q=_select(top, D, -1), W_K=P_x.copy(), W_V=_select([iy], D, -n), W_O=_write([ipred], D))),
        score="relu", key_mask=context_mask(n), scale=Fraction(1, n))
    layers.append(readout)
    vec = np.zeros(D, dtype=object) + Fraction(0)
    vec[ipred] = Fraction(1)
    return Transformer(tuple(layers), newton_coordinates(d), Readout(vector=vec, column=n),
                       name=f"Newton transformer (k={k}, k+2 layers)")


def layer_count(model: Transformer) -> int:
    """Transformer layers counted as the paper does: an attention sub-layer
    and the MLP that follows it are one layer."""
    count = 0
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Attention) or i == 0 or not isinstance(model.layers[i - 1], Attention):
            count += 1
    return count


# ---------------------------------------------------------------------------
# ReLU pairs are linear: the prime-field view of the model
# ---------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    return a.shape == b.shape and bool(np.all(a == b))


def _neg(a: Any) -> np.ndarray:
    return -np.asarray(a, dtype=object)


def _opposite_values(a: Head, b: Head) -> bool:
    """W_O' W_V' = -W_O W_V, checked factor by factor (one factor negated)."""
    if (a.W_O is None) != (b.W_O is None):
        return False
    if a.W_O is None:
        return _same(b.W_V, _neg(a.W_V))
    return ((_same(b.W_V, _neg(a.W_V)) and _same(b.W_O, a.W_O))
            or (_same(b.W_V, a.W_V) and _same(b.W_O, _neg(a.W_O))))


def linearise_relu_pairs(model: Transformer) -> Transformer:
    """Replace every ReLU head pair (W_Q, W_K, V) & (-W_Q, W_K, -V) by one
    linear head, and every ReLU MLP with W_in = [A; -A], W_out = [B, -B] by
    the identity-activation MLP (A, B).  Exact over any ordered field because
    ReLU(s)·v + ReLU(-s)·(-v) = s·v for every real s; the result is a
    polynomial map, so it also runs in GF(p).  Raises ``ValueError`` when the
    structure is absent (e.g. the printed V_2 = +V_1, whose pair computes |s|)."""
    layers: list[Any] = []
    for li, layer in enumerate(model.layers):
        if isinstance(layer, Attention) and layer.score == "relu":
            if len(layer.heads) % 2:
                raise ValueError(f"layer {li}: an odd number of ReLU heads cannot pair up")
            heads = []
            for a, b in zip(layer.heads[0::2], layer.heads[1::2]):
                if not (_same(b.W_K, a.W_K) and _same(b.W_Q, _neg(a.W_Q))
                        and _opposite_values(a, b)):
                    raise ValueError(f"layer {li}: heads are not a ReLU pair (W_Q, V) / (-W_Q, -V): "
                                     "ReLU(s) + ReLU(-s) = |s| is not linear in s")
                heads.append(a)
            layers.append(replace(layer, heads=tuple(heads), score="linear"))
        elif isinstance(layer, MLP) and layer.activation == "relu":
            W_in, W_out = np.asarray(layer.W_in, dtype=object), np.asarray(layer.W_out, dtype=object)
            h = W_in.shape[0] // 2
            if (W_in.shape[0] % 2 or layer.b_in is not None or not _same(W_in[h:], -W_in[:h])
                    or not _same(W_out[:, h:], -W_out[:, :h])):
                raise ValueError(f"layer {li}: MLP is not of the form ReLU(Ah) - ReLU(-Ah)")
            layers.append(MLP(W_in=W_in[:h], W_out=W_out[:, :h], b_out=layer.b_out, activation="identity"))
        else:
            layers.append(layer)
    return model.with_layers(layers)


# ---------------------------------------------------------------------------
# Giannou et al.: linear attention, one Newton step for matrix inversion
# ---------------------------------------------------------------------------


def inversion_coordinates(d: int) -> tuple[str, ...]:
    """Token t = [x_t (column t of X); r_t (row t of A); e_t (one-hot position)]."""
    return (tuple(f"x:{k}" for k in range(d)) + tuple(f"r:{k}" for k in range(d))
            + tuple(f"pos:{k}" for k in range(d)))


def inversion_prompt(A: Any, X: Any) -> np.ndarray:
    """The d tokens [X e_t; Aᵀ e_t; e_t], shape (3d, d)."""
    A, X = np.asarray(A, dtype=object), np.asarray(X, dtype=object)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        raise PromptError(f"A must be a non-empty square matrix, got shape {A.shape}")
    if X.shape != A.shape:
        raise PromptError(f"the iterate X must have the shape of A {A.shape}, got {X.shape}")
    d = A.shape[0]
    eye = np.eye(d, dtype=int).astype(object) + Fraction(0)
    return np.concatenate([X, A.T, eye], axis=0)


def linear_newton_step(d: int) -> Transformer:
    """One linear-attention layer, two heads, no normalisation, all d tokens keys:
        head 1: query e_t, key e_j, value x_j   ->  Σ_j x_j δ_jt = x_t
        head 2: query x_t, key r_j, value -x_j  -> -Σ_j x_j (e_jᵀ A x_t) = -X A x_t
    so x_t <- x_t + x_t - X A x_t = column t of 2X - XAX (Newton for A⁻¹)."""
    _check_sizes(d, 1)
    D = 3 * d
    P_x, P_r, P_p = _select(range(d), D), _select(range(d, 2 * d), D), _select(range(2 * d, D), D)
    W = _write(range(d), D)
    head1 = Head(W_Q=P_p, W_K=P_p.copy(), W_V=P_x, W_O=W)
    head2 = Head(W_Q=P_x.copy(), W_K=P_r, W_V=-P_x, W_O=W.copy())
    att = Attention(heads=(head1, head2), score="linear", key_mask=np.ones(d, dtype=int))
    return Transformer((att,), inversion_coordinates(d), None, name="linear-attention Newton step")
