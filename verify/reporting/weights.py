"""Weights as heat maps, for the HTML catalogue: a small example model per
claim, each matrix labelled by the residual coordinates the construction
names (``x:0``, ``y``, ``Tx:1``...), beside the source of the function that
builds its blocks (the proof is the comment beside each block).

:data:`EXAMPLES` maps a claim id to its example: a title, a thunk that builds
the model at small sizes, and the functions whose source carries the proof.
A claim without an example gets no heat maps (said on its page).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
from transformer_proofs.constructions import functional_gd as fgd
from transformer_proofs.constructions import gradient_descent as gd
from transformer_proofs.constructions import newton
from transformer_proofs.constructions.engine import MLP, Attention, Transformer


@dataclass(frozen=True)
class Example:
    title: str
    build: Callable[[], Transformer]
    sources: tuple[Callable[..., Any], ...]


Q = Fraction
VON_OSWALD = Example("von Oswald et al. Prop. 1 at d = 2, n = 3, η = 1/4, W_0 = (1/2, −1/4)",
                     lambda: gd.von_oswald_transformer(2, 3, [Q(1, 4)], [Q(1, 2), Q(-1, 4)]),
                     (gd.von_oswald_layer,))
PRECONDITIONED = Example("Ahn et al. Lemma 1 at d = 2, n = 3, A = [[1, 1/2], [0, 1]]",
                         lambda: gd.preconditioned_transformer(2, 3, [np.array([[1, Q(1, 2)], [0, 1]], dtype=object)]),
                         (gd.preconditioned_layer,))
NEWTON_LAYER = Example("Fu et al. Newton layer (V_2 = −J) at d = 2, n = 4", lambda: newton.printed_newton_layer(2, 4),
                       (newton._newton_blocks,))
NEWTON_INIT = Example("Fu et al. init layer (V_2 = −nαJ) at d = 2, n = 4, α = 1/8",
                      lambda: newton.printed_init_layer(2, 4, Q(1, 8)), (newton.printed_init_layer,))
FGD = Example("Cheng et al. functional GD, one ReLU layer at d = 2, n = 3, η = 1/2",
              lambda: fgd.functional_gd_transformer(2, 3, [Q(1, 2)], "relu"), (fgd._selector, fgd._value, fgd.fgd_head))

RIDGE = Example("Bai et al. ReLU-attention ridge step at d = 2, n = 3, η = 1/4, λ = 1/2, B = 4",
                lambda: gd.relu_ridge_transformer(2, 3, [Q(1, 4)], Q(1, 2), 4), (gd.relu_ridge_layer,))
LINEAR_NEWTON = Example("Giannou et al. linear-attention Newton step at d = 2", lambda: newton.linear_newton_step(2),
                        (newton.linear_newton_step,))

EXAMPLES: dict[str, Example] = {
    "gd.relu_attention_ridge": RIDGE, "newton.linear_attention_step": LINEAR_NEWTON,
    "gd.one_layer": VON_OSWALD, "gd.multi_layer": VON_OSWALD, "gd.gd_plus_plus": VON_OSWALD,
    "gd.preconditioned": PRECONDITIONED, "gd.preconditioned_printed": PRECONDITIONED,
    "newton.layer": NEWTON_LAYER, "newton.layer_printed": NEWTON_LAYER, "newton.k_steps": NEWTON_LAYER,
    "newton.init_layer": NEWTON_INIT, "newton.init_printed": NEWTON_INIT,
    "fgd.functional_gd": FGD, "fgd.closed_form": FGD,
}


def _label(v: Any) -> str:
    f = Fraction(v) if isinstance(v, (int, Fraction)) else Fraction(float(v)).limit_denominator(1000)
    return str(f)


Matrix = tuple[str, np.ndarray, list[str], list[str]]  # name, values, row labels, column labels


def matrices(model: Transformer) -> list[tuple[str, list[list[Matrix]]]]:
    """Per layer: (layer title, one row of matrices per head, or the MLP's)."""
    names = model.stream_names()
    out = []
    for i, layer in enumerate(model.layers):
        cols, after = list(names[i]), list(names[i + 1])
        mats = []
        if isinstance(layer, Attention):
            for h, head in enumerate(layer.heads):
                dh = [f"h{h}:{k}" for k in range(head.W_Q.shape[0])]
                out_rows = after[len(cols):] if layer.residual == "concat" else after
                # without W_O the value is written straight into the stream: its rows are stream coordinates
                dv = [f"v{h}:{k}" for k in range(head.W_V.shape[0])] if head.W_O is not None else out_rows
                row = [(f"head {h}: W_Q", head.W_Q, dh, cols), (f"head {h}: W_K", head.W_K, dh, cols),
                       (f"head {h}: W_V", head.W_V, dv, cols)]
                if head.W_O is not None:
                    row.append((f"head {h}: W_O", head.W_O, out_rows[: head.W_O.shape[0]], dv))
                mats.append(row)
            title = f"layer {i}: {layer.score if isinstance(layer.score, str) else 'kernel'} attention"
        elif isinstance(layer, MLP):
            hid = [f"m:{k}" for k in range(layer.W_in.shape[0])]
            mats.append([("W_in", layer.W_in, hid, cols), ("W_out", layer.W_out, after, hid)])
            title = f"layer {i}: MLP ({layer.activation})"
        else:  # pragma: no cover - a new layer kind
            continue
        out.append((title, [[(n, np.asarray(m, dtype=object), r, c) for n, m, r, c in row] for row in mats]))
    return out


def heatmap_figure(title: str, rows_of: list[list[Matrix]], path: Path) -> None:
    """One PNG: a row per head (W_Q, W_K, W_V, W_O), entries written in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols, nrows = max(len(r) for r in rows_of), len(rows_of)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols + 0.6, 2.9 * nrows), squeeze=False)
    placed = [(axes[i][j], m) for i, row in enumerate(rows_of) for j, m in enumerate(row)]
    for i, row in enumerate(rows_of):
        for ax in axes[i][len(row):]:
            ax.axis("off")
    for ax, (name, m, rows, cols) in placed:
        vals = np.vectorize(float, otypes=[float])(m) if m.size else np.zeros(m.shape)
        vmax = float(np.abs(vals).max()) or 1.0
        ax.imshow(vals, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=6)
        ax.set_yticks(range(len(rows)), rows, fontsize=6)
        if m.size <= 64:
            for (r, c), v in np.ndenumerate(m):
                if float(v) != 0:
                    ax.text(c, r, _label(v), ha="center", va="center", fontsize=7,
                            color="white" if abs(float(v)) > vmax / 2 else "black")
    fig.suptitle(title + " (rows: outputs; columns: the residual coordinates read; red > 0 > blue)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def source_of(fn: Callable[..., Any]) -> str:
    """The builder's source: the proof comments beside its weight blocks."""
    return inspect.getsource(fn)


def write_heatmaps(claim_id: str, outdir: Path) -> tuple[Example, list[str]] | None:
    """The example's heat maps into ``outdir`` (file names returned); None
    without an example or without matplotlib."""
    ex = EXAMPLES.get(claim_id)
    if ex is None:
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    files = []
    for i, (title, mats) in enumerate(matrices(ex.build())):
        name = f"{claim_id}.layer{i}.png"
        heatmap_figure(title, mats, outdir / name)
        files.append(name)
    return ex, files
