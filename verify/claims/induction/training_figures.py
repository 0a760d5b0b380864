"""The figure of ``induction.training_recovers_graph``: layer 1's attention
pattern along population gradient descent, against the graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from transformer_proofs.verify.algorithms import induction_training as it
from transformer_proofs.verify.spec import Context

FIGURE_GRAPH = (None, 0, 1, 2, 3)  # a chain of 5 context positions; the query is position 5
FIGURE_SEED = 0  # the figure is one fixed instance, whatever the run's seed
SNAPSHOTS = (0, 1, 5, 20, 100)


def trajectory_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from transformer_proofs.verify.claims.induction.training import LONG_SCHEDULE, draw_case, law_of

    case = draw_case(np.random.default_rng(FIGURE_SEED), FIGURE_GRAPH)
    tr = it.train(law_of(case), LONG_SCHEDULE)
    L = tr.A1[0].shape[0]
    rows = [(i, p) for i, p in enumerate(case.parents) if p is not None]
    fig, axes = plt.subplots(1, len(SNAPSHOTS) + 1, figsize=(3.0 * (len(SNAPSHOTS) + 1), 3.2))
    for ax, k in zip(axes, SNAPSHOTS):
        P = it.causal_softmax(tr.A1[k])
        ax.imshow(P, vmin=0, vmax=1, cmap="viridis")
        for i, p in rows:
            ax.add_patch(plt.Rectangle((p - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5))
        ax.set_title(f"softmax(A⁽¹⁾), step {k}", fontsize=9)
        ax.set_xticks(range(L))
        ax.set_yticks(range(L))
        ax.set_xlabel("key position j", fontsize=8)
        ax.set_ylabel("position i", fontsize=8)
    ax = axes[-1]
    steps = np.arange(len(tr.A1))
    for i, p in rows:
        w = [float(it.causal_softmax(A)[i, p]) for A in tr.A1]
        maj = it.edge_steps(tr.A1, i, p)[1]
        line, = ax.plot(steps, w, label=f"row {i} → parent {p} (> ½ at step {maj})")
        if maj is not None:
            ax.axvline(maj, color=line.get_color(), linestyle=":", linewidth=0.8)
    ax.axhline(0.5, color="grey", linewidth=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("step of stage 1", fontsize=8)
    ax.set_ylabel("attention on the parent", fontsize=8)
    ax.legend(fontsize=6, loc="lower right")
    fig.suptitle("Population gradient descent on A⁽¹⁾ recovers the chain (red boxes: the true parents)", fontsize=10)
    fig.tight_layout()
    name = "induction_training_trajectory.png"
    fig.savefig(Path(outdir) / name, metadata={"Software": None})
    plt.close(fig)
    return name, (f"Layer 1's attention pattern softmax(A⁽¹⁾) at steps {', '.join(map(str, SNAPSHOTS))} of stage 1 "
                  f"(A⁽²⁾ = ¼·I fixed, step 80), chain of {len(FIGURE_GRAPH)} context positions plus the query, S = 2, "
                  f"{case.label}; red boxes mark each position's parent. Right: the attention each row puts on its "
                  "parent along the trajectory, with the step at which it first exceeds ½ (float64 trajectory, "
                  "numerical; the claim's certified check decides the same statements on 4-position graphs).")
