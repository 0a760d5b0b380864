"""The ``energy`` family's figure: energy against layer, conditions met and broken."""

from __future__ import annotations

from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Float64
from transformer_proofs.verify.algorithms import energy as alg
from transformer_proofs.verify.spec import Context


def legend_handles(met: str, broken: str) -> list[Any]:
    """Line style says whether the conditions hold; colour says which of the
    four random starting points (the same colour is the same start)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="black", linestyle="-", label=f"solid: {met}"),
               Line2D([], [], color="black", linestyle="--", label=f"dashed: {broken}")]
    return handles + [Line2D([], [], color=f"C{k}", label=f"start {k + 1}") for k in range(4)]


def energy_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from pathlib import Path

    f, rng, L = Float64(), np.random.default_rng([ctx.seed, 6]), 12
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for k in range(4):  # attention: MM step (α = 1) vs a step too large (α = 3)
        Y0 = rng.standard_normal((2, 4)) * 0.6
        for alpha, style in ((1, "-"), (3, "--")):
            Y, es = Y0, []
            for _ in range(L + 1):
                es.append(alg.attention_energy(f, Y))
                Y = alg.mm_step(f, Y, alpha)
            axes[0].plot(es, style, color=f"C{k}")
    axes[0].set_title("E_1 (attention, MM step)")
    for k in range(4):  # feed-forward: spectrum in (−1, 1] vs λ_min < −1
        Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        y0, b = np.abs(rng.standard_normal((3, 1))), rng.standard_normal(3)
        for lam, style in ((rng.uniform(-0.95, 1.0, 3), "-"), (np.array([-1.6, 0.3, 0.8]), "--")):
            W = Q @ np.diag(lam) @ Q.T
            y, es = y0, []
            for _ in range(L + 1):
                es.append(alg.feedforward_energy(f, W, b, y))
                y = alg.pgd_step(f, W, b, y)
            axes[1].plot(es, style, color=f"C{k}")
    axes[1].set_title("½yᵀ(I − W)y − bᵀy (ReLU layer)")
    for k in range(4):  # Hopfield: the update vs an over-relaxed step, β large
        X = rng.standard_normal((3, 5))
        hm = 0.5 * float((X * X).sum(axis=0).max())
        xi0 = rng.standard_normal(3) * 2
        for alpha, style in ((1, "-"), (3, "--")):
            xi, es = xi0, []
            for _ in range(L + 1):
                es.append(alg.hopfield_energy(f, X, 4.0, xi, hm))
                xi = xi + alpha * (alg.hopfield_update(f, X, 4.0, xi) - xi)
            axes[2].plot(es, style, color=f"C{k}")
    axes[2].set_yscale("symlog", linthresh=1.0)
    axes[2].set_title("Hopfield E (β = 4, symlog scale)")
    styles = (("MM step α = 1", "damped step α = 3"), ("spectrum in (−1, 1]", "λ_min(W) = −1.6"),
              ("update (step α = 1)", "over-relaxed, α = 3"))
    for ax, (met, broken) in zip(axes, styles):
        ax.set_xlabel("layer")
        ax.legend(handles=legend_handles(met, broken), fontsize=7)
    axes[0].set_ylabel("energy")
    fig.tight_layout()
    name = "energy_vs_layer.png"
    fig.savefig(Path(outdir) / name, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return name, ("Energy against layer (float64, for display; the checks certify it with arb). Solid: the theorem's "
                  "conditions met (MM step; spectrum in (−1, 1]; Hopfield update) - the energy never rises. Dashed: "
                  "broken (damped step α = 3; λ_min(W) = −1.6; over-relaxed Hopfield step α = 3) - it can rise or oscillate. Colours: four random starting points per panel, each drawn in both styles.")
