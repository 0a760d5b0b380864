"""The library twins: PyTorch and TransformerLens runs of the energy constructions.

The kernels of the MM step get torch twins (registered in TORCH_KERNELS), and
:func:`library_checks` gives the ``torch``/``lens`` checks of an identity
ClaimSpec through verify/torch_backend: the spec's prompt through the exported
model, compared with the reference after the spec's own read-out.
"""

from __future__ import annotations

from typing import Any

from transformer_proofs.constructions.energy import key_bias_exp_unnormalised, key_bias_softmax
from transformer_proofs.verify.spec import ClaimSpec
from transformer_proofs.verify.torch_backend import TORCH_KERNELS, torch_checks


def _torch_key_bias_scores(q: Any, k: Any) -> Any:
    """q kᵀ − ½‖k‖² per key: [.., N_q, N_k]."""
    return q @ k.transpose(-1, -2) - (k * k).sum(-1)[..., None, :] / 2


def _torch_key_bias_softmax(q: Any, k: Any) -> Any:
    """Torch twin of key_bias_softmax: softmax over the keys of q_jᵀk_i − ½‖k_i‖², [.., N_q, N_k]."""
    import torch

    return torch.softmax(_torch_key_bias_scores(q, k), dim=-1)


def _torch_key_bias_exp_unnormalised(q: Any, k: Any) -> Any:
    """Torch twin of the falsifier's kernel key_bias_exp_unnormalised."""
    import torch

    return torch.exp(_torch_key_bias_scores(q, k))


TORCH_KERNELS[key_bias_softmax] = _torch_key_bias_softmax
TORCH_KERNELS[key_bias_exp_unnormalised] = _torch_key_bias_exp_unnormalised


def library_checks(spec: ClaimSpec) -> dict[str, Any]:
    """``{"torch": ..., "lens": ...}`` of ``spec``; its mutants must be rejected there too."""
    if spec.readout is None:
        return torch_checks(spec, spec.prompt, lens=True)
    readout = spec.readout
    return torch_checks(spec, spec.prompt, lens=True, output_with_model=True,
                        output=lambda ar, final, inst, model: readout(ar, model, final, inst))
