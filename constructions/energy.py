"""Layers that are descent steps on an energy.

Sources
- Y. Yang, Z. Huang, D. Wipf (2022), "Transformers from an Optimization
  Perspective", NeurIPS 2022, arXiv:2205.13891 (the energy
  E_1(Y) = Σ_{i,j} ρ(½‖y_i − y_j‖²) with ρ(z) = −e^{−z}, its
  majorise-minimise step = softmax attention with a key-norm bias; the ReLU
  feed-forward layer = a projected gradient step).
- H. Ramsauer et al. (2021), "Hopfield Networks is All You Need", ICLR 2021,
  arXiv:2008.02217 (the modern Hopfield energy and its update
  ξ ← X softmax(β Xᵀ ξ), Theorem 1 / Lemma A1-A2).

**Orientation.** Yang et al. write tokens as *rows* (Y ∈ R^{n×d}); our
engine has tokens as *columns*: our Y is their Yᵀ, shape (d, n), y_j the
j-th column.  Ramsauer et al. already use columns (X = (x_1 … x_N) ∈ R^{d×N}).

The claims (checked in verify/claims/energy/)
1. MM step.  Concavity of ρ gives ρ(z) ≤ ρ(z⁰) + ρ'(z⁰)(z − z⁰), so with
   β_ij = ρ'(½‖y_i⁰ − y_j⁰‖²) = exp(−½‖y_i⁰ − y_j⁰‖²) the quadratic
   Σ β_ij ½‖y_i − y_j‖² (+ const) majorises E_1, tight at Y⁰.  The step
       y_j ← Σ_i β_ij y_i / Σ_i β_ij                                   (1)
   (the β-normalised average, i = j included) equals softmax attention with
   identity query/key/value and the key bias −½‖y_i‖²:
       y_j ← Σ_i softmax_i(y_iᵀ y_j − ½‖y_i‖²) y_i,                   (2)
   because ½‖y_i − y_j‖² = ½‖y_j‖² − y_iᵀy_j + ½‖y_i‖² and the factor
   e^{−½‖y_j‖²} (constant over the keys i) cancels in the normalisation.
   With equal token norms the bias is constant over i too and plain softmax
   attention softmax_i(y_iᵀy_j) is the step.
2. Feed-forward.  For symmetric W, ReLU(W y + b) = Π_{y≥0}(y − ∇f(y)) with
   f(y) = ½ yᵀ(I − W) y − bᵀy: one projected gradient step, unit step size.
3. Hopfield.  Attention with query βξ, keys and values the stored patterns:
   ξ ← X softmax(β Xᵀ ξ).

Residual streams.  Both the MM step and the Hopfield update *replace* the
state (no skip connection), so the attention layers here use the engine's
concatenated residual: each layer appends its output as new coordinates
(``y1:0`` …), and the next layer reads the newest block.  The feed-forward
layer cancels the engine's additive skip with a ReLU pair,
ReLU(y) − ReLU(−y) = y.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic, Rational
from transformer_proofs.constructions.engine import (
    MLP,
    Attention,
    Head,
    PromptError,
    Readout,
    Transformer,
    check_finite,
)


class ConditionError(ValueError):
    """Weights outside the theorem's conditions (non-symmetric W, a spectrum
    outside the allowed interval, a non-positive β ...)."""


# ---------------------------------------------------------------------------
# 1. the MM step of E_1 as attention
# ---------------------------------------------------------------------------


def key_bias_scores(ar: Arithmetic, K: Any, Q: Any) -> Any:
    """S[i, j] = k_iᵀq_j − ½‖k_i‖² (key i, query j): the biased score, a
    polynomial (no exp), so its algebra can be checked exactly.

    K, Q: (.., d, N) -> S: (.., N, N)."""
    S = ar.matmul(ar.T(K), Q)  # (.., N, N): S[i, j] = <k_i, q_j>
    half_sq = ar.sum(K * K, axis=-2) * ar.const(Fraction(1, 2))  # (.., N): ½‖k_i‖²
    return S - half_sq[..., :, None]  # key bias, constant along each row i


def plain_scores(ar: Arithmetic, K: Any, Q: Any) -> Any:
    """S[i, j] = k_iᵀq_j: the score of plain softmax attention (no key bias)."""
    return ar.matmul(ar.T(K), Q)


def key_bias_softmax(ar: Arithmetic, K: Any, Q: Any) -> Any:
    """Kernel: A[i, j] = softmax over keys i of k_iᵀq_j − ½‖k_i‖².

    K, Q: (.., d, N) -> A: (.., N, N), columns summing to one."""
    S = key_bias_scores(ar, K, Q)  # (.., N, N)
    shift = ar.softmax_shift(S, np.ones(S.shape[-2:], dtype=int))
    E = ar.exp(S if shift is None else S - shift)  # (.., N, N)
    return E / ar.sum(E, axis=-2)[..., None, :]


def key_bias_exp_unnormalised(ar: Arithmetic, K: Any, Q: Any) -> Any:
    """A falsifier's kernel: exp(k_iᵀq_j − ½‖k_i‖²) without the normalisation
    over keys (the β_ij weights not normalised)."""
    return ar.exp(key_bias_scores(ar, K, Q))


def _block_reader(d: int, block: int, blocks: int) -> np.ndarray:
    """(d, d·blocks) selector of coordinate block ``block``: [0 … I … 0]."""
    R = np.full((d, d * blocks), Fraction(0), dtype=object)
    R[:, block * d:(block + 1) * d] = np.eye(d, dtype=int)
    return R


def mm_attention_layer(d: int, n: int, index: int, key_bias: bool = True) -> Attention:
    """Layer ``index`` (0-based) of the MM stack: reads block ``index`` of the
    concatenated stream (the current Y), appends Y' = MM step (2)."""
    R = _block_reader(d, index, index + 1)
    head = Head(W_Q=R, W_K=R, W_V=R)  # identity query, key and value on the current block
    return Attention(heads=(head,), score=key_bias_softmax if key_bias else "softmax",
                     key_mask=np.ones(n, dtype=int), residual="concat",
                     names=tuple(f"y{index + 1}:{k}" for k in range(d)))


def mm_attention_stack(d: int, n: int, L: int, key_bias: bool = True) -> Transformer:
    """L MM steps on E_1 as L softmax-attention layers (tokens as columns)."""
    if d < 1 or n < 1 or L < 0:
        raise PromptError(f"need d >= 1, n >= 1, L >= 0 (got d={d}, n={n}, L={L})")
    return Transformer(layers=tuple(mm_attention_layer(d, n, k, key_bias) for k in range(L)),
                       coordinates=tuple(f"y0:{k}" for k in range(d)), name=f"MM stack (L={L})")


def last_block(Z: Any, d: int) -> Any:
    """The newest d coordinates of a concatenated stream: the current Y."""
    return Z[..., Z.shape[-2] - d:, :]


# ---------------------------------------------------------------------------
# 2. the ReLU feed-forward layer as projected gradient descent
# ---------------------------------------------------------------------------


def _exact(W: Any) -> np.ndarray:
    return np.asarray(Rational().array(np.asarray(W, dtype=object)), dtype=object)


def is_symmetric(W: Any) -> bool:
    Wq = _exact(W)
    return Wq.ndim == 2 and Wq.shape[0] == Wq.shape[1] and all(Wq[i, j] == Wq[j, i] for i in range(len(Wq)) for j in range(i))


def _psd_by_charpoly(M: np.ndarray, strict: bool) -> bool:
    """Exact test that a symmetric rational M is PSD (PD if ``strict``): all
    roots of det(tI − M) are real, and they are all >= 0 iff the coefficients
    alternate in sign (Descartes); > 0 iff moreover det M != 0."""
    import flint

    n = M.shape[0]
    coeffs = flint.fmpq_mat(n, n, list(M.ravel())).charpoly().coeffs()  # c_0 … c_n
    ok = all((c if (n - k) % 2 == 0 else -c) >= 0 for k, c in enumerate(coeffs))
    return ok and (not strict or coeffs[0] != 0)


def spectrum_report(W: Any) -> dict[str, bool]:
    """Exact facts about a symmetric rational W: ``lower`` λ_min(W) > −1,
    ``lower_closed`` λ_min >= −1, ``upper`` λ_max(W) <= 1."""
    Wq = _exact(W)
    I = np.eye(len(Wq), dtype=int).astype(object)
    return {"lower": _psd_by_charpoly(I + Wq, strict=True),
            "lower_closed": _psd_by_charpoly(I + Wq, strict=False),
            "upper": _psd_by_charpoly(I - Wq, strict=False)}


def check_feedforward_conditions(W: Any, b: Any) -> None:
    """Raise :class:`ConditionError` unless W is symmetric with spectrum in
    (−1, 1] (checked exactly), as Yang et al. require."""
    Wq = np.asarray(W, dtype=object)
    if Wq.ndim != 2 or Wq.shape[0] != Wq.shape[1]:
        raise ConditionError(f"W must be square, got shape {Wq.shape}")
    if np.asarray(b).shape != (Wq.shape[0],):
        raise ConditionError(f"b must have shape ({Wq.shape[0]},), got {np.asarray(b).shape}")
    if not is_symmetric(Wq):
        raise ConditionError("W is not symmetric: ReLU(Wy + b) is then no gradient step of "
                             "½yᵀ(I − W)y − bᵀy (its gradient uses (W + Wᵀ)/2)")
    rep = spectrum_report(Wq)
    if not (rep["lower"] and rep["upper"]):
        raise ConditionError("W's spectrum is not inside (−1, 1] (outside the theorem's conditions): "
                             f"λ_min > −1: {rep['lower']}, λ_max <= 1: {rep['upper']}")


def feedforward_layer(W: Any, b: Any, enforce: bool = True) -> MLP:
    """The layer y ← ReLU(W y + b) on the engine's additive residual stream:
    hidden = [W y + b; y; −y], out = ReLU(Wy + b) − ReLU(y) + ReLU(−y), so
    y + out = ReLU(W y + b).  ``enforce`` checks the theorem's conditions."""
    if enforce:
        check_feedforward_conditions(W, b)
    W = np.asarray(W, dtype=object)
    d = W.shape[0]
    I = np.eye(d, dtype=int).astype(object)
    Zero = np.full((d,), Fraction(0), dtype=object)
    W_in = np.concatenate([W, I, -I], axis=0)  # (3d, d): [W; I; −I]
    b_in = np.concatenate([np.asarray(b, dtype=object), Zero, Zero])  # (3d,)
    W_out = np.concatenate([I, -I, I], axis=1)  # (d, 3d): cancels the skip, ReLU(y) − ReLU(−y) = y
    return MLP(W_in=W_in, W_out=W_out, b_in=b_in)


def feedforward_stack(W: Any, b: Any, L: int, enforce: bool = True) -> Transformer:
    """L weight-tied feed-forward layers: L projected gradient steps."""
    layer = feedforward_layer(W, b, enforce)
    d = np.asarray(W).shape[0]
    return Transformer(layers=(layer,) * L, coordinates=tuple(f"y:{k}" for k in range(d)), name=f"PGD stack (L={L})")


def pgd_weights(W: Any, b: Any, eta: Any) -> tuple[np.ndarray, np.ndarray]:
    """(W_η, b_η) with ReLU(W_η y + b_η) = Π(y − η∇f(y)): W_η = I − η(I − W), b_η = η b."""
    check_finite("η", eta)
    W = np.asarray(W, dtype=object)
    I = np.eye(W.shape[0], dtype=int).astype(object)
    return I - (I - W) * eta, np.asarray(b, dtype=object) * eta


# ---------------------------------------------------------------------------
# 3. the modern Hopfield update as attention
# ---------------------------------------------------------------------------


def hopfield_prompt(X: Any, xi: Any) -> np.ndarray:
    """Tokens [x_1 … x_N ξ] as columns: shape (d, N+1)."""
    X, xi = np.asarray(X, dtype=object), np.asarray(xi, dtype=object)
    if X.ndim != 2 or xi.shape != (X.shape[0],):
        raise PromptError(f"X must be (d, N) and ξ (d,), got {X.shape} and {xi.shape}")
    return np.concatenate([X, xi.reshape(-1, 1)], axis=1)


def hopfield_layer(d: int, N: int, beta: Any) -> Attention:
    """ξ ← X softmax(β Xᵀ ξ): query βξ, keys and values x_i, the state token
    masked out of the keys; the new state is appended (``xi1:k``)."""
    check_finite("β", beta)
    if not Fraction(beta) > 0:
        raise ConditionError(f"β must be positive, got {beta}")
    I = np.eye(d, dtype=int).astype(object)
    head = Head(W_Q=I * Fraction(beta), W_K=I, W_V=I)  # S[i, j] = β x_iᵀ z_j
    return Attention(heads=(head,), score="softmax", key_mask=np.array([1] * N + [0]),
                     residual="concat", names=tuple(f"xi1:{k}" for k in range(d)))


def hopfield_readout(d: int, N: int) -> Readout:
    """The retrieved pattern ξ' = rows ``xi1:*`` (the newest block) of the
    state token (column N): a (d, 2d) selector [0 I] as the read-out vector."""
    R = _block_reader(d, 1, 2)
    return Readout(vector=R, column=N)


def hopfield_transformer(d: int, N: int, beta: Any) -> Transformer:
    """One Hopfield update as one attention layer; its read-out is ξ' (the
    state token's newest block)."""
    return Transformer(layers=(hopfield_layer(d, N, beta),), coordinates=tuple(f"x:{k}" for k in range(d)),
                       readout=hopfield_readout(d, N), name="Hopfield update")
