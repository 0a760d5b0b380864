"""Deviation of a model from an algorithm on drawn prompts, with intervals.

Prompts (von Oswald et al.'s task): x_i, x_q ~ U(−1, 1)^d, w ~ N(0, I_d),
y_i = ⟨w, x_i⟩, the query's label 0.  Measures, over m prompts:

- relative prediction error  sqrt(Σ_p (ŷ_model − ŷ_alg)² / Σ_p ŷ_alg²);
- von Oswald's sensitivity cosine: the mean over prompts of
  cos(∂ŷ_model/∂x_q, ∂ŷ_alg/∂x_q) (the model's derivative by central
  differences with step h = 2^-13: exact up to rounding for a prediction
  linear in x_q, error O(h²) otherwise; the algorithm's is w_L exactly);
- the layer-by-layer match: the read-out of the state after each layer
  against the algorithm's iterates ⟨w_k, x_q⟩, k = 0..L; the matched iterate
  minimises the relative distance (normalised by Σ ŷ_alg,L²).

Intervals: 95% percentile bootstrap over the prompts (``BOOTSTRAP``
resamples, seeded), the statistic recomputed on each resample; for the
layer match also the fraction of resamples that match the same iterate.
All numerical (float64) and empirical: a statement about the prompt law."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from transformer_proofs.constructions.arithmetic import Float64
from transformer_proofs.constructions.engine import Transformer, forward, read_out

BOOTSTRAP = 1000
LEVEL = 0.95
FD_STEP = 2.0**-13


@dataclass(frozen=True)
class Interval:
    estimate: float
    lo: float
    hi: float
    method: str = "95% percentile bootstrap over prompts"

    def to_json(self) -> dict[str, Any]:
        return {"estimate": _r(self.estimate), "lo": _r(self.lo), "hi": _r(self.hi), "method": self.method}

    def text(self, fmt: str = ".3g") -> str:
        return f"{self.estimate:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}]"


def _r(v: float) -> float:
    """Rounded to 6 significant digits: reports stay byte-stable across CPUs."""
    return float(f"{v:.6g}")


def exact_interval(value: float, why: str) -> Interval:
    return Interval(value, value, value, why)


def draw_prompts(rng: np.random.Generator, d: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (m, n, d), y (m, n), x_q (m, d)."""
    X = rng.uniform(-1, 1, size=(m, n, d))
    w = rng.standard_normal((m, d))
    xq = rng.uniform(-1, 1, size=(m, d))
    return X, np.einsum("mnd,md->mn", X, w), xq


def regression_batch(X: np.ndarray, y: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Z (m, d+1, n+1): tokens [x; y] as columns, the query's label 0."""
    top = np.concatenate([np.swapaxes(X, 1, 2), xq[:, :, None]], axis=2)
    bottom = np.concatenate([y, np.zeros((y.shape[0], 1))], axis=1)[:, None, :]
    return np.concatenate([top, bottom], axis=1)


def layer_predictions(model: Transformer, Z: np.ndarray) -> np.ndarray:
    """(L+1, m): the read-out of the state after 0, 1, ..., L layers."""
    ar = Float64()
    states = forward(ar, model, Z, trace=True)
    return np.stack([np.asarray(read_out(ar, model, s), dtype=float) for s in states])


def model_gradient(model: Transformer, Z: np.ndarray, d: int) -> np.ndarray:
    """(m, d): ∂ŷ/∂x_q by central differences (x_q in rows 0..d−1)."""
    return model_gradient_in(model, Z, list(range(d)))


def model_gradient_in(model: Transformer, Z: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """(m, len(rows)): ∂ŷ/∂Z[rows, query] by central differences."""
    ar = Float64()
    out = np.zeros((Z.shape[0], len(rows)))
    for i, c in enumerate(rows):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[:, c, -1] += FD_STEP
        Zm[:, c, -1] -= FD_STEP
        out[:, i] = (np.asarray(read_out(ar, model, forward(ar, model, Zp)))
                     - np.asarray(read_out(ar, model, forward(ar, model, Zm)))) / (2 * FD_STEP)
    return out


def gd_iterates(X: np.ndarray, y: np.ndarray, steps: Sequence[np.ndarray]) -> np.ndarray:
    """(L+1, m, d): w_0 = 0, w_{k+1} = w_k − Γ_kᵀ ∇R(w_k), ∇R(w) = (1/n) Xᵀ(Xw − y)."""
    m, n, d = X.shape
    ws = [np.zeros((m, d))]
    for G in steps:
        r = np.einsum("mnd,md->mn", X, ws[-1]) - y
        grad = np.einsum("mnd,mn->md", X, r) / n
        ws.append(ws[-1] - grad @ np.asarray(G, dtype=float))  # (Γᵀ g)ᵀ = gᵀ Γ
    return np.stack(ws)


def bootstrap(stat: Callable[[np.ndarray], float], m: int, rng: np.random.Generator,
              resamples: int = BOOTSTRAP) -> tuple[float, float, float]:
    """(estimate, lo, hi): ``stat(indices)`` on all prompts and on resamples."""
    est = stat(np.arange(m))
    vals = np.array([stat(rng.integers(0, m, m)) for _ in range(resamples)])
    a = (1 - LEVEL) / 2
    return est, float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def relative_error(model_pred: np.ndarray, alg_pred: np.ndarray, rng: np.random.Generator) -> Interval:
    def stat(idx: np.ndarray) -> float:
        den = float(np.sum(alg_pred[idx] ** 2))
        return float(np.sqrt(np.sum((model_pred[idx] - alg_pred[idx]) ** 2) / den)) if den > 0 else float("inf")

    return Interval(*bootstrap(stat, len(alg_pred), rng))


def sensitivity_cosine(g_model: np.ndarray, g_alg: np.ndarray, rng: np.random.Generator) -> Interval:
    num = np.sum(g_model * g_alg, axis=1)
    den = np.linalg.norm(g_model, axis=1) * np.linalg.norm(g_alg, axis=1)
    cos = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return Interval(*bootstrap(lambda idx: float(np.mean(cos[idx])), len(cos), rng))


def layer_match(preds: np.ndarray, iterates_pred: np.ndarray, rng: np.random.Generator) -> list[dict[str, Any]]:
    """For each layer ℓ >= 1: the iterate k minimising the relative distance,
    its distance with an interval, and the bootstrap frequency of that match
    (preds (L+1, m) with the input's read-out first; iterates (K+1, m))."""
    return vector_layer_match(preds[1:, :, None], iterates_pred[:, :, None], rng)


def vector_layer_match(probes: np.ndarray, targets: np.ndarray, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Like :func:`layer_match` for vector probes: probes (L, m, d) of each
    layer against targets (K+1, m, d), normalised by the last target."""
    scale = targets[-1]
    out = []
    m = probes.shape[1]
    for l in range(probes.shape[0]):
        def dist(idx: np.ndarray, k: int, l: int = l) -> float:
            den = float(np.sum(scale[idx] ** 2))
            return float(np.sqrt(np.sum((probes[l, idx] - targets[k, idx]) ** 2) / den)) if den > 0 else 0.0

        ds = [dist(np.arange(m), k) for k in range(targets.shape[0])]
        best = int(np.argmin(ds))
        same, vals = 0, []
        for _ in range(BOOTSTRAP // 4):
            idx = rng.integers(0, m, m)
            dk = [dist(idx, k) for k in range(targets.shape[0])]
            same += int(np.argmin(dk)) == best
            vals.append(dk[best])
        a = (1 - LEVEL) / 2
        out.append({"layer": l + 1, "matched_iterate": best,
                    "distance": Interval(ds[best], float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))),
                    "match_frequency": same / (BOOTSTRAP // 4), "distances": [_r(v) for v in ds]})
    return out
