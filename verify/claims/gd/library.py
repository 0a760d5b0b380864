"""The gd family's library twins: the same specs run through PyTorch modules
and TransformerLens (optional extras; skipped, with the reason, without them)."""

from __future__ import annotations

from typing import Any

from transformer_proofs.verify.spec import ClaimSpec
from transformer_proofs.verify.torch_backend import torch_checks


def library_checks(spec: ClaimSpec, lens: bool = False) -> dict[str, Any]:
    """``{"torch": ..., "lens": ...}``: the spec's prompt through the exported
    model, compared with the reference after the spec's own read-out."""
    if spec.readout is None:
        return torch_checks(spec, spec.prompt, lens=lens)
    readout = spec.readout
    return torch_checks(spec, spec.prompt, lens=lens, output_with_model=True,
                        output=lambda ar, final, inst, model: readout(ar, model, final, inst))
