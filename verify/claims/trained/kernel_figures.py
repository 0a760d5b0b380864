"""Table and figure of ``trained.cheng_functional_gd``: the trained exp
attention against the functional-GD layer with the kernel read from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from transformer_proofs.verify.claims.trained.figures import save_weight_panels, trained_pyplot
from transformer_proofs.verify.spec import Context


def kernel_table(ctx: Context) -> str:
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained import kernel_experiment as ke
    from transformer_proofs.verify.claims.trained.training import autograd_missing

    if autograd_missing():
        return "(autograd not installed: no trained checkpoints)"
    rows = ["| seed | η read | Γ read | relative error vs functional GD (read kernel) | test error, exp attention | "
            "test error, linear attention |", "|---|---|---|---|---|---|"]
    for s in ex.seeds_for(ctx.seed, ctx.count(ke.SEEDS)):
        r = ke.seed_result(s)
        gamma = "; ".join(" ".join(f"{v:.3g}" for v in row) for row in r.gamma)
        rows.append(f"| {s} | {r.eta:.4g} | [{gamma}] | {r.rel_error:.3g} | {r.test_error['exp']:.3g} | "
                    f"{r.test_error['linear']:.3g} |")
    return ("Per training seed: functional GD's step and kernel matrix read exactly from the trained exp attention "
            "(`verify conform --against fgd`), its deviation, and both layers' test errors (normalised by E y_q²) on "
            "the same drawn task prompts.\n\n" + "\n".join(rows))


def kernel_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    plt = trained_pyplot()
    if plt is None:
        return None
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained import kernel_experiment as ke
    from transformer_proofs.verify.claims.trained.kernel_training import kernel_checkpoint

    r = ke.seed_result(ex.seeds_for(ctx.seed, 1)[0])
    ck = kernel_checkpoint(r.seed, ke.D, ke.N, "exp")
    d = ke.D
    KQ_ref = np.zeros((d + 1, d + 1))
    KQ_ref[:d, :d] = r.gamma
    PV_ref = np.zeros((d + 1, d + 1))
    PV_ref[d, d] = -r.eta
    panels = [("trained W_KQ", ck.W_KQ), ("functional GD: Γ read", KQ_ref),
              ("trained W_PV", ck.W_PV), ("functional GD: −η on y", PV_ref)]
    name = "trained_cheng_functional_gd.png"
    save_weight_panels(plt, panels, d, max(float(np.abs(M).max()) for _, M in panels), Path(outdir) / name)
    return name, (f"Trained exp attention (seed {r.seed}, d = {d}, n = {ke.N}) against the functional-GD layer with the "
                  f"kernel exp(xᵀΓx') and step η = {r.eta:.3g} read from it, rows and columns labelled by residual "
                  f"coordinates; relative prediction error {r.rel_error:.3g}.")
