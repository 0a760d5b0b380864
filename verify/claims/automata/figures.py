"""The automata family's figure: layers against the word length T, for the
recurrence (one step per layer), the prefix-composition transformer, the S_3
cascade and the one-layer Z_p transformer — each counted from the
constructions themselves."""

from __future__ import annotations

from typing import Any

from transformer_proofs.constructions import automata as A
from transformer_proofs.verify.spec import Context

LENGTHS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


def layer_counts(lengths: tuple[int, ...] = LENGTHS) -> dict[str, list[int]]:
    """Attention + MLP layers of each construction at each T (built, then counted).  The Z_p and S_3
    transformers have O(T²) MLP units, so they are built only up to T = 32; beyond, their counts are
    the same by construction (the layer list does not depend on T)."""
    prefix = [len(A.prefix_transformer(2, T).layers) for T in lengths]
    cyclic = [len(A.cyclic_transformer(2, min(T, 32)).layers) for T in lengths]
    solvable = [len(A.dihedral_transformer(min(T, 32), 0).layers) for T in lengths]
    return {"T": list(lengths), "recurrence": list(lengths), "prefix": prefix, "cyclic": cyclic, "solvable": solvable}


def layers_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from pathlib import Path
    data = layer_counts()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(data["T"], data["recurrence"], "-", color="grey", label="recurrence: T steps (one per layer)")
    ax.semilogx(data["T"], data["prefix"], "o-", label="prefix composition: 2⌈log₂ T⌉ layers (any automaton)")
    ax.semilogx(data["T"], data["solvable"], "^-.", label="S_3 (solvable) cascade: 2 attention + 4 MLP")
    ax.semilogx(data["T"], data["cyclic"], "s--", label="Z_p / parity: 1 attention + 1 MLP")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("word length T")
    ax.set_ylabel("layers (attention + MLP)")
    ax.set_title("Shortcuts to automata: depth against length")
    ax.legend(fontsize=7)
    fig.tight_layout()
    name = "automata_layers.png"
    fig.savefig(Path(outdir) / name, metadata={"Software": None})
    plt.close(fig)
    return name, ("Layers against word length T: the recurrence needs T sequential steps; the prefix-composition "
                  "transformer (automata.prefix_log_depth) 2⌈log₂ T⌉ layers for any semiautomaton; the S_3 cascade "
                  "(automata.solvable_constant_depth) six and the Z_p transformer (automata.cyclic_one_layer) two, "
                  "whatever T. Counts are read from the built constructions.")
