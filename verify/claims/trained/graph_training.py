"""Training Nichani, Damian, Lee's disentangled two-layer transformer on
sampled sequences of their task (autograd).

The model: the induction family's reduced two-layer transformer
(:mod:`transformer_proofs.verify.algorithms.induction_training` states it; written
again here for autograd and sampled batches).  Positions 0..L−1, the last
the query; X_j = e_{s_j}:

* layer 1 on positions: P = causal-softmax(A⁽¹⁾) (row i over j ≤ i; the
  falsifiers' masks: all j, or j ≥ i), c_i = Σ_j P_ij X_j;
* layer 2, query token against copied token: z_j = X_qᵀ A⁽²⁾ c_j over the
  keys j ≤ q, w = softmax(z), ŷ = Σ_j w_j X_j;
* loss: −Σ_b π(b|s_q) log(ŷ_b + ε), the cross-entropy against the target's
  law given the sequence (the drawn π is known: lower variance than a drawn
  target, the same expectation), ε = 1/10 as in the population version.

The task as the authors' problems.py draws it (``InContextTree``): per
sequence, π's rows ~ Dirichlet(α); the roots of the context graph from π's
stationary law μ_π, every other position from π(·|parent); the query token
uniform on [S], outside the chain.  A fresh batch every step, everything
from one seed: the checkpoint is reproducible from it.  Stage-wise, as the
paper's training algorithm (recalled): stage 1 trains A⁽¹⁾ (from a small
random start) with A⁽²⁾ = β₀ I fixed, stage 2 trains A⁽²⁾ with A⁽¹⁾ fixed;
Adam in both (ours).  Joint training from a small start does not recover the
graph at these sizes (measured: the parents' share of attention falls to ≈ 0), which is why
the stages are kept."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from transformer_proofs.constructions.engine import Attention, Head, Transformer
from transformer_proofs.constructions.induction_head import input_coordinates, position_key
from transformer_proofs.verify.claims.trained.adam import adam

GRAPH_STEPS = 40  # stage 1 (A⁽¹⁾)
GRAPH_BATCH = 128  # stage 1
GRAPH_BATCH2 = 512  # stage 2: A⁽²⁾'s gradient is weak beside its sampling noise
GRAPH_LR = 0.15
GRAPH_INIT = 0.01
BETA0 = 1.0  # A⁽²⁾ during stage 1
GRAPH_STEPS2 = 20  # stage 2 (A⁽²⁾)
GRAPH_LR2 = 0.1
EPS = 0.1
ALPHA = 1.0


@dataclass(frozen=True)
class GraphCheckpoint:
    seed: int
    parents: tuple[int | None, ...]  # the context graph the data came from (the query, last, not included)
    S: int
    mask: str  # layer 1's mask (layer1_mask)
    A1: np.ndarray  # (L, L), L = len(parents) + 1
    A2: np.ndarray  # (S, S)
    A2_init: np.ndarray
    losses: tuple[float, ...]  # the batch loss every 10 steps of each stage (before that step)


def stationary(pi: np.ndarray, squarings: int = 30) -> np.ndarray:
    """μ with μ π = μ, Σ μ = 1, for a batch of row-stochastic π (B, S, S): the
    mean row of π^(2^squarings) (repeated squaring).  For an irreducible
    aperiodic π (Dirichlet rows are positive) every row of π^m tends to μ
    geometrically in the second eigenvalue; 2^30 steps leave |λ₂|^(2^30), below
    float64 rounding unless |λ₂| > 1 − 3·10⁻⁸.  A reducible π gets the
    stationary mixture its rows reach."""
    P = np.array(pi, dtype=float)
    for _ in range(squarings):
        P = P @ P
    mu = P.mean(axis=1)
    return mu / mu.sum(axis=1, keepdims=True)


def _categorical(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One draw per row of p (B, S)."""
    u = rng.random((p.shape[0], 1))
    return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)


def sample_batch(rng: np.random.Generator, parents: tuple[int | None, ...], S: int, B: int,
                 alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Sequences (B, L) (context on the graph, then the uniform query) and the
    target law π(·|s_q) (B, S)."""
    pi = rng.dirichlet(np.full(S, alpha), size=(B, S))  # (B, S, S): row a is π(·|a)
    mu = np.clip(stationary(pi), 0.0, None)
    mu /= mu.sum(axis=1, keepdims=True)
    n = len(parents)
    s = np.zeros((B, n + 1), dtype=int)
    rows = np.arange(B)
    for j, p in enumerate(parents):
        s[:, j] = _categorical(rng, mu if p is None else pi[rows, s[:, p]])
    s[:, n] = rng.integers(S, size=B)
    return s, pi[rows, s[:, n]]


MASKS = ("causal", "none", "anticausal")


def layer1_mask(L: int, mask: str) -> np.ndarray:
    """Which positions j row i of layer 1 attends to: j ≤ i (causal), all, or j ≥ i."""
    if mask not in MASKS:
        raise ValueError(f"unknown layer-1 mask {mask!r}; one of {', '.join(MASKS)}")
    ones = np.ones((L, L), dtype=bool)
    return {"causal": np.tril(ones), "none": ones, "anticausal": np.triu(ones)}[mask]


def predict(np_: object, A1: object, A2: object, X: np.ndarray, mask: str = "causal") -> object:
    """ŷ (B, S) of the reduced model for one-hot sequences X (B, L, S)."""
    mask = layer1_mask(X.shape[1], mask)
    Z1 = np_.where(mask, A1, -1e30)
    E1 = np_.exp(Z1 - np_.max(Z1, axis=1, keepdims=True))
    P = E1 / np_.sum(E1, axis=1, keepdims=True)  # (L, L)
    C = np_.einsum("ij,bjs->bis", P, X)  # copied tokens
    V = np_.einsum("ba,as->bs", X[:, -1, :], A2)  # X_qᵀ A2
    z = np_.einsum("bs,bjs->bj", V, C)
    w = np_.exp(z - np_.max(z, axis=1, keepdims=True))
    w = w / np_.sum(w, axis=1, keepdims=True)
    return np_.einsum("bj,bjs->bs", w, X)


def train_graph(seed: int, parents: tuple[int | None, ...], S: int, steps: int = GRAPH_STEPS,
                mask: str = "causal", steps2: int = GRAPH_STEPS2) -> GraphCheckpoint:
    """Adam on fresh batches; the same arguments give the same checkpoint."""
    import autograd.numpy as anp
    from autograd import grad

    rng = np.random.default_rng([seed, 2402])
    L = len(parents) + 1
    A1 = GRAPH_INIT * rng.standard_normal((L, L))
    A2_init = BETA0 * np.eye(S)
    eye = np.eye(S)

    def loss(A1: object, A2: object, X: np.ndarray, Y: np.ndarray) -> object:
        y = predict(anp, A1, A2, X, mask)
        return -anp.mean(anp.sum(Y * anp.log(y + EPS), axis=1))

    # stage 1: A⁽¹⁾ with A⁽²⁾ = β₀ I fixed; stage 2: A⁽²⁾ with A⁽¹⁾ fixed (the paper's order)
    g1, g2 = grad(loss, 0), grad(loss, 1)
    losses: list[float] = []

    def stage(g: object, fixed: np.ndarray, first: bool, batch: int) -> object:
        def gradient(p: list[np.ndarray], k: int) -> list[np.ndarray]:
            s, Y = sample_batch(rng, parents, S, batch)
            X = eye[s]
            args = (p[0], fixed) if first else (fixed, p[0])
            if k % 10 == 0:
                losses.append(float(loss(*args, X, Y)))
            return [g(*args, X, Y)]
        return gradient

    (A1,) = adam([A1], stage(g1, A2_init, True, GRAPH_BATCH), steps, lambda k: GRAPH_LR)
    (A2,) = adam([A2_init], stage(g2, A1, False, GRAPH_BATCH2), steps2, lambda k: GRAPH_LR2)
    return GraphCheckpoint(seed, tuple(parents), S, mask, A1, A2, A2_init, tuple(losses))


@functools.lru_cache(maxsize=64)
def graph_checkpoint(seed: int, parents: tuple[int | None, ...], S: int, steps: int = GRAPH_STEPS,
                     mask: str = "causal", steps2: int = GRAPH_STEPS2) -> GraphCheckpoint:
    return train_graph(seed, parents, S, steps, mask, steps2)


def graph_transformer(ck: GraphCheckpoint) -> Transformer:
    """The checkpoint in the engine, laid out as the induction family's disentangled
    construction (``constructions.induction_head``): h⁽⁰⁾_i = [e_{s_i}; e_i];

    * layer 1, one softmax head, causal (the falsifiers' other masks are not built),
      identity value, concatenated: q_i = Σ_j A⁽¹⁾_ij e_j,
      k_j = e_j, so the score is A⁽¹⁾_ij — W_Q's position block is A⁽¹⁾ᵀ;
    * layer 2, one softmax head over every key j ≤ q, concatenated: q = A⁽²⁾ᵀ e_{s_q}
      (the own token block), k_j = the copied token block, so the score is e_{s_q}ᵀ A⁽²⁾ c_j.

    The prediction for the query is the token block of layer 2's output at the last
    column (``induction_head.prediction_rows`` with k = 1)."""
    if ck.mask != "causal":
        raise ValueError(f"the engine's layer 1 here is causal; the checkpoint was trained with mask {ck.mask!r}")
    S, L = ck.S, ck.A1.shape[0]
    D0 = S + L
    W_Q1 = np.zeros((L, D0))
    W_Q1[:, S:] = ck.A1.T  # column S+i is row i of A⁽¹⁾
    W_O1 = np.eye(D0)  # the copied h⁽⁰⁾_j into block 1
    layer1 = Attention(heads=(Head(W_Q=W_Q1, W_K=position_key(S, L), W_V=np.eye(D0), W_O=W_O1),), score="softmax",
                       key_mask=np.ones(L, dtype=int), causal=True, residual="concat",
                       names=tuple(f"L1h0:{c}" for c in input_coordinates(S, L)))
    D1 = 2 * D0
    W_Q2 = np.zeros((S, D1))
    W_Q2[:, :S] = ck.A2.T  # the query's own token, through A⁽²⁾
    W_K2 = np.zeros((S, D1))
    W_K2[:, D0:D0 + S] = np.eye(S)  # the key's copied token
    base = input_coordinates(S, L) + tuple(f"L1h0:{c}" for c in input_coordinates(S, L))
    layer2 = Attention(heads=(Head(W_Q=W_Q2, W_K=W_K2, W_V=np.eye(D1)),), score="softmax",
                       key_mask=np.ones(L, dtype=int), causal=True, residual="concat",
                       names=tuple(f"L2:{c}" for c in base))
    return Transformer(layers=(layer1, layer2), coordinates=input_coordinates(S, L),
                       name=f"trained disentangled transformer (seed {ck.seed})")
