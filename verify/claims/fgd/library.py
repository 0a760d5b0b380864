"""The fgd constructions in PyTorch and TransformerLens (evidence "library").

The engine's kernels that are not built-in scores get torch twins here
(registered in ``TORCH_KERNELS``): the user RBF kernel and the wrong-axis
softmax of a falsifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import read_out
from transformer_proofs.constructions.functional_gd import fgd_prompt
from transformer_proofs.verify.algorithms import functional_gd as fgd
from transformer_proofs.verify.claims.fgd.instances import ENGINE_KERNELS, engine_softmax_wrong_axis, kinds_sizes
from transformer_proofs.verify.spec import ClaimSpec
from transformer_proofs.verify.torch_backend import BACKENDS, TORCH_KERNELS, torch_check

LIBRARY_BASE = [{"d": 1, "n": 2, "L": 1}, {"d": 2, "n": 4, "L": 3}, {"d": 3, "n": 6, "L": 4}]
LIBRARY_SIZES = kinds_sizes(LIBRARY_BASE, ENGINE_KERNELS)
MULTI_LIBRARY_SIZES = [{**s, "heads": h} for h in ("linear+exp", "relu+softmax+rbf") for s in LIBRARY_BASE]
PER_SIZE = {"torch": 3, "lens": 1}


def _torch_rbf(q: Any, k: Any) -> Any:
    """Torch twin of fgd.rbf_kernel: e^{-|q_i - k_j|²/2}, [.., N_q, N_k]."""
    import torch

    return torch.exp(q @ k.transpose(-1, -2) - (q * q).sum(-1)[..., :, None] / 2 - (k * k).sum(-1)[..., None, :] / 2)


def _torch_softmax_wrong_axis(q: Any, k: Any) -> Any:
    """Torch twin of the falsifier's kernel: exp(⟨k_i, q_j⟩) normalised over the queries j of each key i."""
    import torch

    E = torch.exp(q @ k.transpose(-1, -2))  # [.., N_q, N_k]
    return E / E.sum(-2, keepdim=True)


TORCH_KERNELS[fgd.rbf_kernel] = _torch_rbf
TORCH_KERNELS[engine_softmax_wrong_axis] = _torch_softmax_wrong_axis


# CORE-CANDIDATE: torch_backend.LibraryCheck reads the legacy IdentitySpec
# names (sample, sizes["float64"]); this view gives a ClaimSpec those names.
@dataclass
class LegacyView:
    spec: ClaimSpec
    sizes_list: list[dict[str, Any]]

    @property
    def sample(self) -> Callable[..., Any]:
        return self.spec.draw

    @property
    def build(self) -> Callable[..., Any]:
        return self.spec.build

    @property
    def reference(self) -> Callable[..., Any]:
        return self.spec.reference

    @property
    def mutants(self) -> Any:
        return self.spec.mutants

    @property
    def sizes(self) -> dict[str, list[dict[str, Any]]]:
        return {"float64": self.sizes_list}


def _prompt(ar: Arithmetic, inst: Any) -> Any:
    return ar.array(fgd_prompt(inst.X, inst.y, inst.x_q))


def library_checks(spec: ClaimSpec, sizes: list[dict[str, Any]],
                   with_prediction: Callable[[Arithmetic, Any, Any, int], Any]) -> dict[str, Any]:
    """The torch and lens checks of ``spec``: the library's final stream with
    the (possibly mutated) model's read-out against the spec's reference."""
    def output(ar: Arithmetic, final: Any, inst: Any, model: Any) -> Any:
        return with_prediction(ar, final, read_out(ar, model, final), inst.n + 1)

    return {b: torch_check(LegacyView(spec, sizes), _prompt, b, output=output, output_with_model=True, sizes=sizes,
                           per_size=PER_SIZE[b], mutant_instances=2) for b in BACKENDS}
