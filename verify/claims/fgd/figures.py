"""Tables and figures of the fgd family: the matched-activation experiment."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from transformer_proofs.verify.checkers import rng_for
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.spec import Context


def matched_experiment(ctx: Context) -> dict[str, Any]:
    """Per GP kernel: the Bayes errors and every activation's errors at every depth."""
    from transformer_proofs.verify.claims.fgd.claims import (
        ACTIVATIONS,
        GP_KERNELS,
        MATCH,
        bayes_errors,
        draw_gp_tasks,
        errors_by_depth,
    )

    draw = DyadicDraw(rng_for(ctx, "fgd-matched-figure"))
    out: dict[str, Any] = {}
    for gp in GP_KERNELS:
        tasks = draw_gp_tasks(draw, {"gp": gp, "d": MATCH["d"], "n": MATCH["n"], "T": ctx.count(MATCH["tasks"])})
        out[gp] = {"bayes": bayes_errors(tasks), "errors": {a: errors_by_depth(a, tasks) for a in ACTIVATIONS}}
    return out


def matched_table(ctx: Context) -> str:
    from transformer_proofs.verify.claims.fgd.claims import ACTIVATIONS, MATCH
    from transformer_proofs.verify.claims.fgd.relations import mean_ci

    exp = matched_experiment(ctx)
    depths = MATCH["depths"]
    head = "| GP kernel | activation | " + " | ".join(f"L={L}" for L in depths) + " |"
    rows = [head, "|" + "---|" * (2 + len(depths))]
    for gp, res in exp.items():
        for act in ACTIVATIONS:
            cells = []
            for L in depths:
                e = res["errors"][act][L]
                ok = np.isfinite(e).all() and e.mean() < 1e6
                cells.append(f"{mean_ci(e)[0]:.3g} ± {mean_ci(e)[1]:.2g}" if ok else "diverges")
            rows.append(f"| {gp} | {act}{' (matched)' if act == gp else ''} | " + " | ".join(cells) + " |")
        m, h = mean_ci(res["bayes"])
        rows.append(f"| {gp} | Bayes (GP posterior mean) | " + " | ".join([f"{m:.3g} ± {h:.2g}"] * len(depths)) + " |")
    return ("Mean squared in-context error against f(x_q) ± 95% normal-approximation half-width over "
            f"{ctx.count(MATCH['tasks'])} tasks.\n\n" + "\n".join(rows))


def matched_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from transformer_proofs.verify.claims.fgd.claims import ACTIVATIONS, GP_KERNELS, MATCH
    from transformer_proofs.verify.claims.fgd.relations import mean_ci

    exp = matched_experiment(ctx)
    depths = list(MATCH["depths"])
    fig, axes = plt.subplots(1, len(GP_KERNELS), figsize=(4 * len(GP_KERNELS), 3.4), sharey=False)
    for ax, (gp, res) in zip(axes, exp.items()):
        for act in ACTIVATIONS:
            stats = [mean_ci(res["errors"][act][L]) for L in depths]
            keep = [i for i, (m, _) in enumerate(stats) if np.isfinite(m) and m < 1e3]
            ax.errorbar([depths[i] for i in keep], [stats[i][0] for i in keep], yerr=[stats[i][1] for i in keep],
                        marker="o", capsize=2, label=act + (" (matched)" if act == gp else ""),
                        linewidth=2.2 if act == gp else 1.0)
        m, h = mean_ci(res["bayes"])
        ax.axhline(m, color="k", linestyle="--", label="Bayes")
        ax.axhspan(m - h, m + h, color="k", alpha=0.1, label="Bayes, 95% interval")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"GP kernel: {gp}")
        ax.set_xlabel("depth L")
    axes[0].set_ylabel("in-context squared error")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    name = "fgd_matched_activation.png"
    fig.savefig(os.path.join(str(outdir), name), dpi=100, metadata={"Software": None})
    plt.close(fig)
    return name, ("In-context error against depth, one line per activation, for GP tasks of each kernel; bars: 95% "
                  "normal-approximation intervals over tasks; dashed: the Bayes predictor (GP posterior mean), grey band: its 95% interval; the matched activation's "
                  "line is the thick one.")
