"""The induction family's library twins (PyTorch modules and TransformerLens,
optional extras: skipped, with the reason, without them), and the
TransformerLens-orientation forward pass from exported weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from transformer_proofs.constructions.induction_head import previous_token_transformer, residual_embed
from transformer_proofs.verify.claims.induction.common import Built, prompt_of
from transformer_proofs.verify.spec import ClaimSpec, Mutant
from transformer_proofs.verify.torch_backend import NamedConstruction, register_construction, torch_checks


@dataclass
class LibrarySpec:
    """CORE-CANDIDATE: verify.torch_backend.LibraryCheck reads ``spec.sample``
    (the legacy IdentitySpec's name for ``draw``) and needs ``spec.build`` to
    return an engine Transformer; our builds return a :class:`Built` (the model
    with its read-out).  This adapter gives it both; the read-out mutants are
    left to the core modes (the library runs the same read-out)."""

    spec: ClaimSpec

    def __post_init__(self) -> None:
        self.sample = self.spec.draw
        self.reference = self.spec.reference
        self.sizes = self.spec.sizes
        self.mutants = tuple(
            Mutant(m.name, m.description, (lambda mm: lambda model, inst: mm.apply(Built(model, slice(0)), inst).model)(m))
            for m in self.spec.mutants if not m.name.startswith("read-out"))

    def build(self, inst: Any) -> Any:
        return self.spec.build(inst).model


def library_checks(spec: ClaimSpec, lens: bool = False, additive: bool = False) -> dict[str, Any]:
    adapted = LibrarySpec(spec)

    def output(ar: Any, final: Any, inst: Any) -> Any:
        built = spec.build(inst)
        return final[built.rows, :]

    return torch_checks(adapted, lambda ar, inst: prompt_of(ar, spec.build(inst), inst), lens=lens, output=output)


def export_forward(ar: Any, heads: list[list[dict[str, np.ndarray]]], X: Any, causal: bool = True,
                   key_masks: list[np.ndarray] | None = None) -> Any:
    """A TransformerLens-orientation forward pass (tokens as rows, x ← x + Σ_h
    attn(x W_Q, x W_K) x W_V W_O) from exported weights only."""
    Xr = ar.T(X)  # (T, d_model)
    T = Xr.shape[0]
    for layer, hs in enumerate(heads):
        add = None
        mask = np.tril(np.ones((T, T), dtype=int)) if causal else np.ones((T, T), dtype=int)  # [query, key]
        if key_masks is not None:
            mask = mask * key_masks[layer][None, :]
        for h in hs:
            Q = ar.matmul(Xr, ar.array(h["W_Q"]))
            K = ar.matmul(Xr, ar.array(h["W_K"]))
            scores = ar.matmul(Q, ar.T(K))  # (T_query, T_key)
            shift = ar.softmax_shift(ar.T(scores), mask.T)
            shifted = ar.T(scores) if shift is None else ar.T(scores) - shift
            E = ar.apply_mask(ar.exp(ar.apply_mask(shifted, mask.T)), mask.T)  # (key, query)
            total = ar.sum(E, axis=-2) + ar.array((mask.sum(axis=1) == 0).astype(int))
            pattern = ar.T(E / total[None, :])
            out = ar.matmul(ar.matmul(pattern, ar.matmul(Xr, ar.array(h["W_V"]))), ar.array(h["W_O"]))
            add = out if add is None else add + out
        Xr = Xr + add
    return ar.T(Xr)


def _repeated_permutation(rng: np.random.Generator, S: int = 5, beta2: int = 8, beta1: int = 12) -> tuple[Any, np.ndarray]:
    """The previous-token head + induction head on a random permutation of the
    vocabulary, twice: in the second half every token has one earlier
    occurrence, and the head predicts the token that followed it."""
    half = rng.permutation(S)
    seq = np.concatenate([half, half])
    return previous_token_transformer(S, 2 * S, beta2, beta1), residual_embed(seq, S).astype(np.float64)


register_construction(NamedConstruction(
    "induction_head", "Olsson et al.'s previous-token head + induction head (additive residual, softmax), "
    "a random permutation repeated", _repeated_permutation))
