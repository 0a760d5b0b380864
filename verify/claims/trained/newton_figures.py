"""Table and figure of ``trained.fu_newton_layers``: per layer, the
best-matching Newton iterate and GD steps; the trained weights against the
GD construction's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from transformer_proofs.verify.spec import Context


def newton_layers_table(ctx: Context) -> str:
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained import newton_experiment as ne
    from transformer_proofs.verify.claims.trained.newton_training import newton_checkpoint

    rows = ["| seed | γ_ℓ (GD step per layer) | γ_ℓφ_ℓ (covariance update) | k(ℓ): Newton | t(ℓ): GD | "
            "last-layer D_Newton − D_GD [95% bootstrap over prompts] | loss: model / bound for L GD steps / "
            "constant-step GD | GD steps to match |",
            "|---|---|---|---|---|---|---|---|"]
    for s in ex.seeds_for(ctx.seed, ctx.count(ne.SEEDS)):
        ck = newton_checkpoint(s)
        r = ne.seed_result(s)
        _, lo, hi = ne.last_layer_gap_over_prompts(s)
        g = " ".join(f"{v:.2f}" for v in ck.gamma)
        c = " ".join(f"{a * b:.2f}" for a, b in zip(ck.gamma, ck.phi))
        rows.append(f"| {s} | {g} | {c} | {' '.join(map(str, r.newton_k))} | {' '.join(map(str, r.gd_t))} | "
                    f"{r.gap[-1]:.2g} [{lo:.2g}, {hi:.2g}] | {r.final_loss:.2g} / {r.gd_bound:.2g} / {ne.constant_step(s, ck.depth)[1]:.2g} | "
                    f"{r.gd_steps_equivalent or f'> {ne.DEGREE_MAX}'} |")
    return ("Per training seed: the trained layers (Q_ℓ = −γ_ℓ[[I, 0], [0, 0]], P_ℓ = [[φ_ℓI, 0], [0, 1]]), the "
            "best-matching Newton iterate k(ℓ) (α = 1/λ_max²) and number of GD steps t(ℓ) (η = 1/λ_max) of each "
            "layer's probed prediction, the last layer's distance gap, the test losses (relative to E y_q²) of the model, "
            "of the best polynomial filter of degree L (a lower bound for L GD steps of any sizes) and of the best "
            "constant-step L-layer GD, and the fewest GD steps of any sizes whose bound reaches the model's loss.\n\n"
            + "\n".join(rows))


def _pyplot() -> Any:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _heat(ax: Any, M: np.ndarray, d: int, lim: float, title: str) -> Any:
    labels = [f"x:{k}" for k in range(d)] + ["y"]
    im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks(range(d + 1), labels, fontsize=7)
    ax.set_yticks(range(d + 1), labels, fontsize=7)
    ax.set_title(title, fontsize=8)
    for (i, j), v in np.ndenumerate(M):
        if v != 0:
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6)
    return im


def newton_layers_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    plt = _pyplot()
    if plt is None:
        return None
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained import newton_experiment as ne
    from transformer_proofs.verify.claims.trained.newton_training import newton_checkpoint

    seeds = ex.seeds_for(ctx.seed, ctx.count(ne.SEEDS))
    res = [ne.seed_result(s) for s in seeds]
    L = len(res[0].newton_k)
    ks = [ex.t_interval([float(r.newton_k[l]) for r in res]) for l in range(L)]
    ts = [ex.t_interval([float(r.gd_t[l]) for r in res]) for l in range(L)]
    fig = plt.figure(figsize=(15, 6.2))
    grid = fig.add_gridspec(2, L + 2, width_ratios=[2.2] + [1] * (L + 1))
    ax = fig.add_subplot(grid[:, 0])
    layers = np.arange(1, L + 1)
    for iv, label, colour in ((ks, "Newton iterate k(ℓ)", "tab:red"), (ts, "GD steps t(ℓ)", "tab:blue")):
        est = np.array([i.estimate for i in iv])
        lo = np.array([max(i.lo, 0.5 if colour == "tab:blue" else 0.0) for i in iv])
        hi = np.array([i.hi for i in iv])
        ax.plot(layers, est, "o-", color=colour, label=label)
        ax.fill_between(layers, lo, hi, color=colour, alpha=0.2)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xticks(layers)
    ax.set_xlabel("layer ℓ")
    ax.set_ylabel("best-matching iterate (mean over seeds, Student-t 95%)")
    ax.legend(fontsize=8)
    ax.set_title(f"{len(res)} training seeds, d = {ne.D}, n = {ne.N}", fontsize=9)
    ck = newton_checkpoint(seeds[0])
    eta, _ = ne.constant_step(seeds[0], L)
    d = ck.d
    lim = max(1.0, max(abs(v) for v in ck.gamma))
    for l in range(L):
        Q = np.zeros((d + 1, d + 1))
        Q[:d, :d] = -ck.gamma[l] * np.eye(d)
        P = np.zeros((d + 1, d + 1))
        P[:d, :d] = ck.phi[l] * np.eye(d)
        P[d, d] = 1.0
        _heat(fig.add_subplot(grid[0, l + 1]), Q, d, lim, f"trained Q_{l + 1}")
        _heat(fig.add_subplot(grid[1, l + 1]), P, d, lim, f"trained P_{l + 1}")
    Q = np.zeros((d + 1, d + 1))
    Q[:d, :d] = -eta * np.eye(d)
    P = np.zeros((d + 1, d + 1))
    P[d, d] = 1.0
    _heat(fig.add_subplot(grid[0, L + 1]), Q, d, lim, f"constructed Q_ℓ (GD, η = {eta:.2f})")
    _heat(fig.add_subplot(grid[1, L + 1]), P, d, lim, "constructed P_ℓ (GD)")
    name = "trained_fu_newton_layers.png"
    fig.savefig(Path(outdir) / name, dpi=90, metadata={"Software": None})
    plt.close(fig)
    k_text = ", ".join(f"{i.estimate:.2g}" for i in ks)
    t_text = ", ".join(f"{i.estimate:.2g}" for i in ts)
    return name, (f"Left: per layer ℓ, the best-matching iterative-Newton iterate k(ℓ) (mean {k_text}) and number of "
                  f"GD steps t(ℓ) (mean {t_text}) of the trained {L}-layer LSA's probed predictions, with Student-t 95% "
                  f"intervals over {len(res)} training seeds.  Right: the trained weights of seed {seeds[0]} "
                  "(score matrix Q_ℓ and value matrix P_ℓ, rows and columns labelled by residual coordinates) against the "
                  "GD construction's Q_ℓ = −η[[I, 0], [0, 0]], P_ℓ = [[0, 0], [0, 1]] with the best constant step η.")
