"""The recurrent and dual forms that linear attention is claimed to equal, written plainly.

Tokens are columns; each function loops over time as an RNN would (or
accumulates weights as a trained layer would), in any Arithmetic.

- :func:`normalised_rnn`: Katharopoulos et al.'s recurrence
  S_i = S_{i-1} + φ(k_i) v_iᵀ, z_i = z_{i-1} + φ(k_i), y_i = S_iᵀ φ(q_i) / (z_iᵀ φ(q_i)).
- :func:`fast_weights`: Schlag et al.'s fast-weight memory W_i = W_{i-1} + v_i φ(k_i)ᵀ,
  y_i = W_i φ(q_i); with ``betas`` the delta rule
  W_i = W_{i-1} + β_i (v_i - W_{i-1} φ(k_i)) φ(k_i)ᵀ.
- :func:`train_linear_layer`: a linear layer trained by online GD on ½||W x_t - y_t||²,
  returning W_T and the error signals e_t = η_t (y_t - W_{t-1} x_t) (W_t = W_{t-1} + e_t x_tᵀ).
- :func:`zero_shot_plus_meta_gradient`: Dai et al.'s split W_ZSL q + ΔW_ICL q.
"""

from __future__ import annotations

from typing import Any, Sequence

from transformer_proofs.constructions.arithmetic import Arithmetic


def _col(A: Any, i: int) -> Any:
    return A[:, i:i + 1]


def normalised_rnn(ar: Arithmetic, phi_q: Any, phi_k: Any, V: Any) -> Any:
    """(d_v, N): y_i = S_iᵀ φ(q_i) / (z_iᵀ φ(q_i)) with S (d_k, d_v), z (d_k, 1) accumulated over i."""
    d_k, N = phi_k.shape
    S, z, out = ar.zeros((d_k, V.shape[0])), ar.zeros((d_k, 1)), []
    for i in range(N):
        k, q = _col(phi_k, i), _col(phi_q, i)
        S = S + ar.matmul(k, ar.T(_col(V, i)))  # S_i = S_{i-1} + φ(k_i) v_iᵀ
        z = z + k  # z_i = z_{i-1} + φ(k_i)
        out.append(ar.matmul(ar.T(S), q) / ar.matmul(ar.T(z), q))  # (d_v, 1) / (1, 1)
    return ar.concat(out, axis=1)


def fast_weights(ar: Arithmetic, phi_q: Any, phi_k: Any, V: Any, betas: Sequence[Any] | None = None) -> Any:
    """(d_v, N): y_i = W_i φ(q_i), W (d_v, d_k) written once per token (sum rule, or the delta rule)."""
    d_k, N = phi_k.shape
    W, out = ar.zeros((V.shape[0], d_k)), []
    for i in range(N):
        k, v = _col(phi_k, i), _col(V, i)
        if betas is None:
            W = W + ar.matmul(v, ar.T(k))  # W_i = W_{i-1} + v_i ⊗ φ(k_i)
        else:
            v_bar = ar.matmul(W, k)  # the value currently stored under key φ(k_i)
            W = W + ar.matmul(v - v_bar, ar.T(k)) * betas[i]  # W_i = W_{i-1} + β_i (v_i - v̄_i) ⊗ φ(k_i)
        out.append(ar.matmul(W, _col(phi_q, i)))
    return ar.concat(out, axis=1)


def train_linear_layer(ar: Arithmetic, W_0: Any, X: Any, Y: Any, etas: Sequence[Any]) -> tuple[Any, Any]:
    """Online GD on ½||W x_t - y_t||² (X (d_in, T), Y (d_out, T)): returns W_T and the error
    signals E (d_out, T), e_t = -η_t ∇_{Wx} ½||W_{t-1} x_t - y_t||² = η_t (y_t - W_{t-1} x_t)."""
    W, errors = W_0, []
    for t in range(X.shape[1]):
        x = _col(X, t)
        e = (_col(Y, t) - ar.matmul(W, x)) * etas[t]
        W = W + ar.matmul(e, ar.T(x))  # W_t = W_{t-1} - η_t ∇_W = W_{t-1} + e_t x_tᵀ
        errors.append(e)
    return W, ar.concat(errors, axis=1)


def zero_shot_plus_meta_gradient(ar: Arithmetic, W_Q: Any, W_K: Any, W_V: Any, demos: Any, context: Any,
                                 x: Any) -> Any:
    """W_ZSL q + ΔW_ICL q with q = W_Q x, W_ZSL = (W_V X)(W_K X)ᵀ over the query's own context X,
    and ΔW_ICL = Σ_i (W_V x'_i) ⊗ (W_K x'_i) accumulated over the demonstrations x'_i, one outer
    product (one "meta-gradient" step) at a time."""
    q = ar.matmul(W_Q, x)  # (d_k, 1)
    W_zsl = ar.matmul(ar.matmul(W_V, context), ar.T(ar.matmul(W_K, context)))  # (d_v, d_k)
    dW = ar.zeros(W_zsl.shape)
    for i in range(demos.shape[1]):
        xi = _col(demos, i)
        dW = dW + ar.matmul(ar.matmul(W_V, xi), ar.T(ar.matmul(W_K, xi)))
    return ar.matmul(W_zsl, q) + ar.matmul(dW, q)
