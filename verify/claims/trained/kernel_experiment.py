"""The trained-kernel experiment (Cheng, Chen, Sra's setting): per training
seed, an exp-attention layer and a linear-attention layer trained on the same
Gaussian-process task (exp kernel), read by ``verify.conform`` (η and Γ of
functional GD, exactly from the weights) and measured on drawn task prompts:

* the relative prediction error of the trained exp attention against
  functional GD with the kernel read from it (``fgd_iterates``);
* each model's test error, normalised by E y_q²; the matching kernel's
  advantage is the linear model's minus the exp model's (paired by seed)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from transformer_proofs.verify.claims.trained.kernel_training import (
    KERNEL_STEPS,
    gp_tasks,
    kernel_checkpoint,
    kernel_predict,
    kernel_transformer,
)
from transformer_proofs.verify.conform.fgd import fgd_iterates, read_heads

D, N = 2, 8  # x on the unit circle, 8 context examples
SEEDS = 3
PROMPTS = 2000
LABELS = "exp"  # the Gaussian process's kernel


@dataclass(frozen=True)
class KernelVariant:
    """What is compared; the falsifiers change it."""

    read_score: str | None = None  # the kernel functional GD is run with (None: the head's own)
    trained: bool = True
    matching: str = "exp"  # the attention claimed to fit the labels better
    labels: str = LABELS


@dataclass
class KernelResult:
    seed: int
    eta: float  # read by conform from the matching model
    gamma: np.ndarray
    rel_error: float  # matching model vs functional GD with the read kernel
    test_error: dict[str, float]  # per attention score, normalised
    advantage: float  # the other model's test error minus the matching one's


def task_prompts(seed: int, labels: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Z, targets, and X (m, n, d), y (m, n), x_q (m, d) of drawn task prompts."""
    Z, t = gp_tasks(np.random.default_rng([seed, 2312, 99]), D, N, PROMPTS, labels)
    return Z, t, np.swapaxes(Z[:, :D, :N], 1, 2), Z[:, D, :N], Z[:, :D, N]


EXP_MATCH = KernelVariant()  # the claim's own comparison


def seed_result(seed: int, variant: KernelVariant = EXP_MATCH) -> KernelResult:
    steps = KERNEL_STEPS if variant.trained else 0
    Z, t, X, y, xq = task_prompts(seed, variant.labels)
    errs = {}
    for score in ("exp", "linear"):
        ck = kernel_checkpoint(seed, D, N, score, variant.labels, steps)
        pred = kernel_predict(np, ck.W_KQ, ck.W_PV, Z, N, score)
        errs[score] = float(np.mean((pred - t) ** 2) / np.mean(t**2))
    ck = kernel_checkpoint(seed, D, N, variant.matching, variant.labels, steps)
    fit = read_heads(kernel_transformer(ck), D, N)[0]
    if variant.read_score:
        fit = replace(fit, score=variant.read_score)
    alg = fgd_iterates([fit], X, y, xq, 1)[-1]
    pred = kernel_predict(np, ck.W_KQ, ck.W_PV, Z, N, variant.matching)
    rel = float(np.sqrt(np.sum((pred - alg) ** 2) / np.sum(alg**2)))
    other = "linear" if variant.matching == "exp" else "exp"
    return KernelResult(seed, float(fit.eta), np.array(fit.gamma, dtype=float), rel, errs,
                        errs[other] - errs[variant.matching])
