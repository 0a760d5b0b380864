"""The trained-LSA experiment: several seeds, each checkpoint against GD.

For each training seed: train (:mod:`.training`), import the checkpoint into
the engine, fit GD's step exactly from its weights (``verify.conform``), and
measure on drawn prompts the relative prediction error against GD with a
*given* step η_ref (the population optimum η*, or a falsifier's step) and
von Oswald's sensitivity cosine.  Over seeds: the mean and a Student-t 95%
interval (the seeds are the independent replicates)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
from transformer_proofs.verify.claims.trained.training import STEPS, Checkpoint, lsa_transformer, train
from transformer_proofs.verify.conform import ConformReport, conform, measure

D, N = 3, 5  # x in R^3, 5 context examples
SEEDS = 3  # training seeds at effort 1
PROMPTS = 256


@functools.lru_cache(maxsize=None)
def t_quantile(df: int, level: float = 0.95) -> float:
    """The two-sided Student-t quantile t_{(1+level)/2, df} (mpmath root of the CDF)."""
    p = (1 + level) / 2
    cdf = lambda t: 1 - mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True) / 2
    return float(mpmath.findroot(lambda t: cdf(t) - p, 2.0))


def t_interval(values: list[float]) -> measure.Interval:
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return measure.Interval(m, float("-inf"), float("inf"), "one seed: no interval")
    h = t_quantile(len(v) - 1) * float(v.std(ddof=1)) / np.sqrt(len(v))
    return measure.Interval(m, m - h, m + h, f"Student-t 95% over {len(v)} training seeds")


@functools.lru_cache(maxsize=32)
def checkpoint(seed: int, steps: int = STEPS) -> Checkpoint:
    return train(seed, D, N, steps=steps)


@dataclass
class SeedResult:
    seed: int
    eta: Fraction  # GD's step read exactly from the trained weights
    rel_error: float  # against GD with η_ref
    cosine: float
    final_loss: float
    residual: float  # the prediction polynomial's exact residual beside GD's terms, relative
    largest_residual_term: str


@dataclass(frozen=True)
class Measured:
    """What a checkpoint gives whatever the reference step: the exact fit and,
    on the seed's prompts, the model's predictions and sensitivities."""

    checkpoint: Checkpoint
    report: ConformReport
    X: np.ndarray  # (m, n, d)
    y: np.ndarray  # (m, n)
    xq: np.ndarray  # (m, d)
    prediction: np.ndarray  # (m,)
    gradient: np.ndarray  # (m, d): ∂ŷ/∂x_q


@functools.lru_cache(maxsize=32)
def measured(seed: int, steps: int = STEPS) -> Measured:
    """Measured once per checkpoint: the check and its falsifiers compare the
    same checkpoints with different reference steps."""
    ck = checkpoint(seed, steps)
    model = lsa_transformer(ck)
    rep = conform(model, "gd.one_layer", seed=seed, prompts=8)  # the exact fit; its own prompts are not used here
    rng = np.random.default_rng([seed, 31])
    X, y, xq = measure.draw_prompts(rng, D, N, PROMPTS)
    Z = measure.regression_batch(X, y, xq)
    pred = measure.layer_predictions(model, Z)[-1]
    g = measure.model_gradient(model, Z, D)
    for a in (X, y, xq, pred, g):
        a.flags.writeable = False  # shared by every caller of the cache
    return Measured(ck, rep, X, y, xq, pred, g)


def seed_result(seed: int, eta_ref: Fraction, steps: int = STEPS) -> SeedResult:
    m = measured(seed, steps)
    ck, rep, X, y, xq, pred, g = m.checkpoint, m.report, m.X, m.y, m.xq, m.prediction, m.gradient
    w1 = measure.gd_iterates(X, y, [np.eye(D) * float(eta_ref)])[-1]
    alg = np.einsum("md,md->m", w1, xq)
    rel = float(np.sqrt(np.sum((pred - alg) ** 2) / np.sum(alg**2)))
    cos = float(np.mean(np.sum(g * w1, 1) / (np.linalg.norm(g, axis=1) * np.linalg.norm(w1, axis=1))))
    dec = rep.prediction
    term = f"{dec.residual_terms[0][0]} ({dec.residual_terms[0][1]})" if dec.residual_terms else "none"
    return SeedResult(seed, rep.parameters[0][0], rel, cos, ck.losses[-1] if ck.losses else float("nan"),
                      dec.decomposition.relative, term)


def seeds_for(ctx_seed: int, count: int) -> list[int]:
    return [1000 * ctx_seed + k for k in range(count)]
