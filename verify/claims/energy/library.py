"""The library twins: PyTorch and TransformerLens runs of the energy constructions.

The kernels of the MM step get torch twins (registered in TORCH_KERNELS), and
:func:`library_checks` gives the ``torch``/``lens`` checks of an identity
ClaimSpec through verify/torch_backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from transformer_proofs.constructions.energy import key_bias_exp_unnormalised, key_bias_softmax
from transformer_proofs.verify.spec import ClaimSpec, Mutant
from transformer_proofs.verify.torch_backend import TORCH_KERNELS, LibraryCheck, torch_checks


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



# CORE-CANDIDATE: torch_backend.LibraryCheck reads an IdentitySpec (``sample``,
# ``sizes``, ``build``, ``reference``, ``mutants``); a ClaimSpec names its
# sampler ``draw`` and carries its prompt.  This view adapts one to the other.
@dataclass(frozen=True)
class LibraryView:
    """The fields of a ClaimSpec that LibraryCheck reads, under its names."""

    sample: Callable[..., Any]
    sizes: dict[str, list[dict[str, int]]]
    build: Callable[[Any], Any]
    reference: Callable[[Any, Any], Any]
    mutants: Sequence[Mutant]


def library_checks(spec: ClaimSpec, output: Callable[..., Any] | None = None,
                   with_model: bool = False) -> dict[str, LibraryCheck]:
    """``torch`` and ``lens`` checks of ``spec``: the library's float64 forward pass
    of the construction, read out by ``output`` (with the model when ``with_model``),
    against the reference; the spec's mutants must be rejected there too."""
    view = LibraryView(spec.draw, spec.sizes, spec.build, spec.reference, spec.mutants)
    return torch_checks(view, spec.prompt, lens=True, output=output, output_with_model=with_model)
