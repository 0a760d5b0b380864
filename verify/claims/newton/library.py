"""The PyTorch / TransformerLens twins of the newton identity claims.

:mod:`transformer_proofs.verify.torch_backend` takes (spec, prompt): it reads
``spec.sample``, ``spec.build``, ``spec.reference``, ``spec.mutants`` and
``spec.sizes``, all of which a :class:`ClaimSpec` has.  What it compares is
the final state (or ``output``): for a spec with a read-out we pass the
read-out as ``output`` so the library's run is read out the same way.
"""

from __future__ import annotations

from typing import Any, Callable

from transformer_proofs.verify.spec import ClaimSpec
from transformer_proofs.verify.torch_backend import LibraryCheck, torch_checks


def library_checks(spec: ClaimSpec, prompt: Callable[[Any, Any], Any], lens: bool = False,
                   output: Callable[..., Any] | None = None, with_model: bool = False) -> dict[str, LibraryCheck]:
    """``{"torch": ..., "lens"?: ...}`` for ``spec``: the library forward pass
    of ``spec.build`` on ``prompt``, read out by ``output`` (called with the
    possibly mutated model when ``with_model``), against ``spec.reference``."""
    kw: dict[str, Any] = {}
    if output is not None:
        kw = {"output": output, "output_with_model": with_model}
    return torch_checks(spec, prompt, lens=lens, **kw)
