"""Conformance of anyone's weights to an algorithm family.

``conform(weights, against)`` (:mod:`.core`): fit the family's free
parameters (read exactly from the weights of a linear-attention model),
report them, measure the deviation on drawn prompts with intervals, and name
the first layer and weight block where the model departs.  Weights come from
:mod:`transformer_proofs.constructions.importing` (state dicts, modules,
TransformerLens, .npz) or :func:`.files.load_weights` (a path).  Command
line: ``python -m verify conform WEIGHTS --against TARGET [--json]``."""

from transformer_proofs.verify.conform.core import ConformError, ConformReport, conform
from transformer_proofs.verify.conform.families import FAMILIES, resolve
from transformer_proofs.verify.conform.files import load_weights, save_export

__all__ = ["ConformError", "ConformReport", "conform", "FAMILIES", "resolve", "load_weights", "save_export"]
