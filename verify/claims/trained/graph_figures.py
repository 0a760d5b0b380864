"""Table and figure of ``trained.nichani_graph``: the trained A⁽¹⁾ with the
true parents marked, and A⁽²⁾'s stage-2 increment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from transformer_proofs.verify.claims.trained.figures import trained_pyplot
from transformer_proofs.verify.spec import Context


def graph_table(ctx: Context) -> str:
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained import graph_experiment as ge
    from transformer_proofs.verify.claims.trained.training import autograd_missing

    if autograd_missing():
        return "(autograd not installed: no trained checkpoints)"
    rows = ["| seed | graph (parent of each position; - a root) | edges recovered | parent share | "
            "A⁽²⁾ diagonal margin | final loss |", "|---|---|---|---|---|---|"]
    for s in ex.seeds_for(ctx.seed, ctx.count(ge.SEEDS)):
        r = ge.seed_result(s)
        graph = " ".join("-" if p is None else str(p) for p in r.parents)
        rows.append(f"| {s} | {graph} | {r.recovered:.3g} | {r.share:.4f} | {r.margin2:.3g} | {r.final_loss:.4g} |")
    return (f"Each training seed draws its tree on T = {ge.T} context positions (S = {ge.S}), samples the data and "
            "trains; the trained A⁽¹⁾ is read against the tree.\n\n" + "\n".join(rows))


def graph_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    plt = trained_pyplot()
    if plt is None:
        return None
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained import graph_experiment as ge
    r = ge.seed_result(ex.seeds_for(ctx.seed, 1)[0])
    ck = r.checkpoint
    L = ck.A1.shape[0]
    P = np.array([ge.attention_rows(ck.A1, i, ck.mask) for i in range(L)])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    pos = [f"pos:{i}" for i in range(L - 1)] + ["query"]
    tok = [f"tok:{a}" for a in range(ck.S)]
    lower = np.where(np.tril(np.ones((L, L), dtype=bool)), ck.A1, np.nan)
    for ax, M, title in ((axes[0], lower, "trained A⁽¹⁾ (j ≤ i)"), (axes[1], P, "layer-1 attention softmax(A⁽¹⁾)")):
        im = ax.imshow(M, cmap="viridis")
        ax.set_xticks(range(L), pos, rotation=45, fontsize=7)
        ax.set_yticks(range(L), pos, fontsize=7)
        ax.set_xlabel("key position j")
        ax.set_ylabel("query position i")
        ax.set_title(title, fontsize=9)
        for i, p in enumerate(r.parents):
            if p is not None:
                ax.add_patch(plt.Rectangle((p - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
        fig.colorbar(im, ax=ax, shrink=0.8)
    D = ck.A2 - ck.A2_init
    im = axes[2].imshow(D, cmap="RdBu_r", vmin=-np.abs(D).max(), vmax=np.abs(D).max())
    axes[2].set_xticks(range(ck.S), [f"copied {t}" for t in tok], fontsize=7)
    axes[2].set_yticks(range(ck.S), [f"query {t}" for t in tok], fontsize=7)
    axes[2].set_title("A⁽²⁾ − A⁽²⁾(start) (stage 2)", fontsize=9)
    for (i, j), v in np.ndenumerate(D):
        axes[2].text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=axes[2], shrink=0.8)
    name = "trained_nichani_graph.png"
    fig.tight_layout()
    fig.savefig(Path(outdir) / name, dpi=90, metadata={"Software": None})
    plt.close(fig)
    graph = ", ".join(f"{i} ← {p}" for i, p in enumerate(r.parents) if p is not None)
    return name, (f"Trained disentangled transformer (seed {r.seed}, S = {ck.S}, T = {ge.T}): A⁽¹⁾ and its attention "
                  f"pattern by position, the true parents boxed in red (edges {graph}; the query, last, is a root); "
                  f"right: A⁽²⁾'s stage-2 increment by (query token, copied token), the induction head's diagonal. "
                  f"Edges recovered {r.recovered:.3g}, mean parent share {r.share:.3f}.")
