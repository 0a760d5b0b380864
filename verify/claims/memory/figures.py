"""The memory family's figure: the RMS retrieval error of a random memory
against the embedding dimension, sampled with its 95% band, and our formula."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from transformer_proofs.verify.algorithms import memory as alg
from transformer_proofs.verify.checkers import rng_for
from transformer_proofs.verify.claims.memory.empirical import PAIRS, interval, sample_errors
from transformer_proofs.verify.spec import Context

FIGURE_DIMENSIONS = (8, 16, 32, 64, 128, 256, 512)
FIGURE_DRAWS = 200
Z_95 = 1.959963984540054


def rms_curves(ctx: Context) -> dict[str, list[float]]:
    """d, and for stored / unstored pairs: the sampled RMS error, its 95% band (the interval of the
    mean squared error, square-rooted) and the formula's RMS."""
    rng = rng_for(ctx, "memory figure")
    out: dict[str, list[float]] = {"d": list(FIGURE_DIMENSIONS)}
    for d in FIGURE_DIMENSIONS:
        stored, unstored = sample_errors(rng, d, PAIRS, FIGURE_DRAWS)
        for what, samples, formula in (("stored", stored, alg.stored_error_moment),
                                       ("unstored", unstored, alg.unstored_error_moment)):
            ci = interval(samples, Z_95)
            out.setdefault(f"{what}_rms", []).append(math.sqrt(ci.mean))
            out.setdefault(f"{what}_lo", []).append(math.sqrt(max(ci.mean - ci.half_width, 0.0)))
            out.setdefault(f"{what}_hi", []).append(math.sqrt(ci.mean + ci.half_width))
            out.setdefault(f"{what}_formula", []).append(math.sqrt(float(formula(d, PAIRS))))
    return out


def crosstalk_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from pathlib import Path
    c = rms_curves(ctx)
    d = np.array(c["d"], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    for what, colour in (("stored", "C0"), ("unstored", "C1")):
        ax.fill_between(d, c[f"{what}_lo"], c[f"{what}_hi"], color=colour, alpha=0.3, lw=0)
        ax.loglog(d, c[f"{what}_rms"], "o", color=colour, label=f"sampled RMS error, {what} pairs (95% band)")
        ax.loglog(d, c[f"{what}_formula"], "-", color=colour, label=f"our formula, {what}")
    ax.loglog(d, 2 / np.sqrt(d), ":", color="grey", label="2/√d")
    ax.loglog(d, np.sqrt(2 / d), "--", color="grey", lw=0.8, label="√(2/d)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("embedding dimension d")
    ax.set_ylabel("RMS retrieval error")
    ax.set_title(f"Random outer-product memory, N = {PAIRS} pairs")
    ax.legend(fontsize=7)
    fig.tight_layout()
    name = "memory_crosstalk.png"
    fig.savefig(Path(outdir) / name, metadata={"Software": None})
    plt.close(fig)
    return name, (f"RMS retrieval error of W = Σ v_σ(m) u_mᵀ with N(0, I/d) embeddings and N = {PAIRS} pairs, "
                  f"{FIGURE_DRAWS} memories per d: sampled (with the 95% interval of the mean squared error) against "
                  "our closed-form second moments (memory.gaussian_crosstalk): about 2/√d for stored pairs and √(2/d) for the others.")
