"""Table and figure of the trained family: trained vs constructed weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from transformer_proofs.verify.spec import Context


def lsa_table(ctx: Context) -> str:
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained.optimal import optimal_step
    from transformer_proofs.verify.claims.trained.training import autograd_missing

    if autograd_missing():
        return "(autograd not installed: no trained checkpoints)"
    ref = optimal_step(ex.D, ex.N)
    rows = ["| seed | fitted η (exact from the weights) | η / η* | non-GD residual (exact, relative) | largest residual "
            "term | relative error vs GD(η*) | cosine | final loss |",
            "|---|---|---|---|---|---|---|---|"]
    for s in ex.seeds_for(ctx.seed, ctx.count(ex.SEEDS)):
        r = ex.seed_result(s, ref)
        rows.append(f"| {s} | {float(r.eta):.6g} | {float(r.eta / ref):.4f} | {r.residual:.3g} | "
                    f"{r.largest_residual_term.replace('|', '/')} | {r.rel_error:.3g} | {r.cosine:.6f} | {r.final_loss:.3g} |")
    return (f"η* = {ref} ≈ {float(ref):.6g} (d = {ex.D}, n = {ex.N}).  Conformance of each checkpoint to GD "
            "(`verify conform`): the step read exactly from the weights, and the exact residual of the prediction "
            "polynomial beside GD's terms (y_i·x:k_i·x:k_q).\n\n" + "\n".join(rows))


def _gauge(KQ: np.ndarray, d: int) -> float:
    """c with KQ ≈ c [[I, 0], [0, 0]] (least squares): the trained layer is (c Q, P / c)."""
    c = float(np.trace(KQ[:d, :d])) / d
    return c if c != 0 else 1.0


def trained_pyplot() -> Any:
    """matplotlib.pyplot (Agg) when both matplotlib and autograd are importable, else None:
    a trained family's figure needs its checkpoints and a plotting library."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from transformer_proofs.verify.claims.trained.training import autograd_missing

    return None if autograd_missing() else plt


def save_weight_panels(plt: Any, panels: list[tuple[str, np.ndarray]], d: int, lim: float, path: Path) -> None:
    """A row of (d+1) × (d+1) weight heat maps, rows and columns labelled by the
    regression token's coordinates [x:0 … x:d−1, y], each entry written, one colour scale ±lim."""
    labels = [f"x:{k}" for k in range(d)] + ["y"]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.25 * len(panels), 3.3))
    for ax, (title, M) in zip(axes, panels):
        im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_xticks(range(d + 1), labels)
        ax.set_yticks(range(d + 1), labels)
        ax.set_title(title, fontsize=9)
        for (i, j), v in np.ndenumerate(M):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def lsa_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    plt = trained_pyplot()
    if plt is None:
        return None
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained.optimal import optimal_step
    d, n = ex.D, ex.N
    ck = ex.checkpoint(ex.seeds_for(ctx.seed, 1)[0])
    c = _gauge(ck.W_KQ, d)
    eta = float(optimal_step(d, n))
    KQ_ref = np.zeros((d + 1, d + 1))
    KQ_ref[:d, :d] = np.eye(d)
    PV_ref = np.zeros((d + 1, d + 1))
    PV_ref[d, d] = -eta
    panels = [("trained W_KQ / c", ck.W_KQ / c), ("constructed W_KQ", KQ_ref),
              ("trained c · W_PV", ck.W_PV * c), ("constructed W_PV (η* on y)", PV_ref)]
    name = "trained_von_oswald_lsa.png"
    save_weight_panels(plt, panels, d, max(1.0, eta), Path(outdir) / name)
    return name, (f"Trained (seed {ck.seed}) vs constructed one-layer LSA, rows and columns labelled by residual "
                  f"coordinates; the trained layer is shown in the gauge c = {c:.3g} (W_KQ/c, c·W_PV: the same layer); "
                  f"constructed: von Oswald et al.'s GD layer with the exact optimal step η* = {eta:.4g}.")
