"""Training one linear self-attention layer on in-context regression (autograd).

The model (von Oswald et al. 2023's LSA, in the product form of Ahn et al.):
tokens z = [x; y], the query [x_q; 0], one head with W_Q = W_KQ, W_K = I,
W_V = W_PV, scale 1/n, the query not a key, and the prediction
ŷ = −[z_q + (1/n) Σ_i W_PV z_i z_iᵀ W_KQ z_q]_y.  Trained by Adam on the
squared error over fresh tasks each step (x ~ U(−1, 1)^d, w ~ N(0, I),
y = ⟨w, x⟩), gradients by ``autograd`` (an optional extra: ``pip install
'transformer-proofs[train]'``).  Everything is drawn from one seed, so the
checkpoint is reproducible from it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from transformer_proofs.constructions.engine import Attention, Head, Readout, Transformer, context_mask

STEPS = 500
BATCH = 1024
LR = 0.08
INIT = 0.2
DECAY = 0.01  # the learning rate falls a hundredfold over the run


@functools.lru_cache(maxsize=None)
def autograd_missing() -> str | None:
    try:
        import autograd  # noqa: F401
    except Exception as exc:
        return f"autograd is not importable ({type(exc).__name__}); install the extra: pip install 'transformer-proofs[train]'"
    return None


@dataclass(frozen=True)
class Checkpoint:
    seed: int
    d: int
    n: int
    W_KQ: np.ndarray  # (d+1, d+1)
    W_PV: np.ndarray  # (d+1, d+1)
    losses: tuple[float, ...]  # training loss every 100 steps


def _tasks(rng: np.random.Generator, d: int, n: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Z (b, d+1, n+1) with the query label 0, and the targets (b,)."""
    X = rng.uniform(-1, 1, size=(b, n + 1, d))
    w = rng.standard_normal((b, d))
    y = np.einsum("bnd,bd->bn", X, w)
    Z = np.concatenate([np.swapaxes(X, 1, 2), y[:, None, :]], axis=1)
    Z[:, d, n] = 0.0
    return Z, y[:, n]


def lsa_predict(np_: object, KQ: object, PV: object, Z: object, n: int) -> object:
    """ŷ = −(1/n) Σ_i (PV z_i)_y (z_iᵀ KQ z_q) − z_q,y (the query's label is 0)."""
    ctx = Z[:, :, :n]  # (b, D, n)
    q = Z[:, :, n]  # (b, D)
    vals = np_.sum(ctx * PV[-1][None, :, None], axis=1)  # (b, n): (PV z_i)_y
    kq = np_.dot(q, KQ.T)  # (b, D): KQ z_q
    scores = np_.sum(ctx * kq[:, :, None], axis=1)  # (b, n): z_iᵀ KQ z_q
    return -np_.sum(vals * scores, axis=1) / n - q[:, -1]


def train(seed: int, d: int, n: int, steps: int = STEPS) -> Checkpoint:
    """Adam on fresh tasks; the same seed gives the same checkpoint."""
    import autograd.numpy as anp
    from autograd import grad

    rng = np.random.default_rng([seed, 2023])
    D = d + 1
    params = [INIT * rng.standard_normal((D, D)), INIT * rng.standard_normal((D, D))]

    def loss(p: list, Z: np.ndarray, t: np.ndarray) -> object:
        return anp.mean((lsa_predict(anp, p[0], p[1], Z, n) - t) ** 2)

    g = grad(loss)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    losses = []
    for k in range(1, steps + 1):
        Z, t = _tasks(rng, d, n, BATCH)
        lr = LR * (DECAY ** (k / steps))  # decayed geometrically over the run
        gs = g(params, Z, t)
        for j in range(2):
            m[j] = b1 * m[j] + (1 - b1) * gs[j]
            v[j] = b2 * v[j] + (1 - b2) * gs[j] ** 2
            params[j] = params[j] - lr * (m[j] / (1 - b1**k)) / (np.sqrt(v[j] / (1 - b2**k)) + eps)
        if k % 100 == 0:
            losses.append(float(loss(params, Z, t)))
    return Checkpoint(seed, d, n, params[0], params[1], tuple(losses))


def lsa_transformer(ck: Checkpoint) -> Transformer:
    """The checkpoint as an engine transformer (one head: W_Q = W_KQ, W_K = I, W_V = W_PV, scale 1/n)."""
    D = ck.d + 1
    head = Head(W_Q=ck.W_KQ, W_K=np.eye(D), W_V=ck.W_PV)
    layer = Attention(heads=(head,), score="linear", key_mask=context_mask(ck.n), scale=Fraction(1, ck.n))
    coords = tuple(f"x:{k}" for k in range(ck.d)) + ("y",)
    return Transformer((layer,), coords, Readout(np.array([0] * ck.d + [-1]), ck.n), name=f"trained LSA (seed {ck.seed})")
