"""Training one non-linear attention layer on in-context regression whose
labels come from a Gaussian process (autograd) — Cheng, Chen, Sra's setting.

The model: one head on tokens z = [x; y] (the query [x_q; 0], not a key),
ŷ = −(1/n) Σ_i (W_PV z_i)_y a(z_iᵀ W_KQ z_q) with the score a = exp or the
identity (linear attention); functional GD with the kernel a(xᵀΓx') is the
case W_KQ = [[Γ, 0], [0, 0]], W_PV's label row (0, …, 0, −η) (Cheng et al.
§3; read by ``verify conform --against fgd``).

The task: x_0 … x_n uniform on the sphere of radius ``RADIUS`` in R^d, the
labels a draw of the Gaussian process with kernel K(x, x') = a*(xᵀx')
(a* = exp here: a positive-definite kernel) on those n + 1 points, y_q the
target.  Adam on the squared error over fresh tasks; everything from one
seed, so the checkpoint is reproducible from it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from transformer_proofs.constructions.engine import Attention, Head, Readout, Transformer, context_mask
from transformer_proofs.verify.claims.trained.adam import adam

KERNEL_STEPS = 120
KERNEL_BATCH = 128
KERNEL_LR = 0.1
KERNEL_INIT = 0.01  # a small start: the blocks functional GD lacks start (and stay) small
RADIUS = 1.0
JITTER = 1e-8  # added to the kernel matrix's diagonal before its Cholesky factor (K's smallest eigenvalue ≫ it)
ACTIVATIONS = ("exp", "linear")


@dataclass(frozen=True)
class KernelCheckpoint:
    seed: int
    d: int
    n: int
    score: str  # the attention's (trained model)
    label_kernel: str  # the Gaussian process's (data)
    W_KQ: np.ndarray
    W_PV: np.ndarray


def _activation(np_: object, score: str) -> object:
    if score not in ACTIVATIONS:
        raise ValueError(f"unknown score {score!r}; one of {', '.join(ACTIVATIONS)}")
    return np_.exp if score == "exp" else (lambda t: t)


def gp_tasks(rng: np.random.Generator, d: int, n: int, b: int, kernel: str) -> tuple[np.ndarray, np.ndarray]:
    """Z (b, d+1, n+1) with the query label 0, and the targets (b,)."""
    X = rng.standard_normal((b, n + 1, d))
    X *= RADIUS / np.linalg.norm(X, axis=2, keepdims=True)
    K = _activation(np, kernel)(np.einsum("bid,bjd->bij", X, X)) + JITTER * np.eye(n + 1)
    y = np.einsum("bij,bj->bi", np.linalg.cholesky(K), rng.standard_normal((b, n + 1)))
    Z = np.concatenate([np.swapaxes(X, 1, 2), y[:, None, :]], axis=1)
    Z[:, d, n] = 0.0
    return Z, y[:, n]


def kernel_predict(np_: object, KQ: object, PV: object, Z: object, n: int, score: str) -> object:
    """ŷ = −(1/n) Σ_i (PV z_i)_y a(z_iᵀ KQ z_q) − z_q,y."""
    ctx, q = Z[:, :, :n], Z[:, :, n]
    vals = np_.sum(ctx * PV[-1][None, :, None], axis=1)  # (b, n)
    scores = np_.sum(ctx * np_.dot(q, KQ.T)[:, :, None], axis=1)  # (b, n)
    return -np_.sum(vals * _activation(np_, score)(scores), axis=1) / n - q[:, -1]


def train_kernel(seed: int, d: int, n: int, score: str, label_kernel: str = "exp",
                 steps: int = KERNEL_STEPS) -> KernelCheckpoint:
    import autograd.numpy as anp
    from autograd import grad

    rng = np.random.default_rng([seed, 2312, ACTIVATIONS.index(score), ACTIVATIONS.index(label_kernel)])
    D = d + 1
    init = [KERNEL_INIT * rng.standard_normal((D, D)), KERNEL_INIT * rng.standard_normal((D, D))]

    def loss(p: list, Z: np.ndarray, t: np.ndarray) -> object:
        return anp.mean((kernel_predict(anp, p[0], p[1], Z, n, score) - t) ** 2)

    g = grad(loss)

    def gradient(p: list[np.ndarray], k: int) -> list[np.ndarray]:
        Z, t = gp_tasks(rng, d, n, KERNEL_BATCH, label_kernel)
        return g(p, Z, t)

    KQ, PV = adam(init, gradient, steps, lambda k: KERNEL_LR * 0.01 ** (k / max(steps, 1)))
    return KernelCheckpoint(seed, d, n, score, label_kernel, KQ, PV)


@functools.lru_cache(maxsize=64)
def kernel_checkpoint(seed: int, d: int, n: int, score: str, label_kernel: str = "exp",
                      steps: int = KERNEL_STEPS) -> KernelCheckpoint:
    return train_kernel(seed, d, n, score, label_kernel, steps)


def kernel_transformer(ck: KernelCheckpoint) -> Transformer:
    """The checkpoint in the engine: one head (W_Q = W_KQ, W_K = I, W_V = W_PV), score ``ck.score``, scale 1/n."""
    D = ck.d + 1
    layer = Attention(heads=(Head(W_Q=ck.W_KQ, W_K=np.eye(D), W_V=ck.W_PV),), score=ck.score,
                      key_mask=context_mask(ck.n), scale=Fraction(1, ck.n))
    coords = tuple(f"x:{k}" for k in range(ck.d)) + ("y",)
    return Transformer((layer,), coords, Readout(np.array([0] * ck.d + [-1]), ck.n),
                       name=f"trained {ck.score} attention (seed {ck.seed})")
