"""Weights from a path, and our exports written in the documented .npz layout.

``load_weights(path, family_defaults)``: a ``.npz`` (self-describing, numpy
only) or a ``torch.save``d state dict / module (``.pt``, ``.pth``, ``.bin``;
needs torch).  A state dict carries no conventions: they default to the
target family's (linear attention, the query not a key, no score divisor,
1/n folded into W_O, stream [x; y], read-out −(query label)) and the context
length is read from ``pos_embed.W_pos`` (our export's) or from the mask
buffer of our PyTorch twin, or given as ``n_ctx``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
from transformer_proofs.constructions.importing import (
    Conventions,
    Imported,
    LayerConvention,
    WeightsError,
    import_state_dict,
    load_npz,
    save_npz,
)

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


def save_export(export: Any, path: str | Path, readout: tuple[Any, int] | None = None) -> None:
    """Write a :class:`verify.torch_backend.Export` as the documented .npz."""
    layers = tuple(LayerConvention(score=b.score if isinstance(b.score, str) else "linear",
                                   key_mask=[int(v) for v in b.key_mask], causal=bool(b.causal), scale=None,
                                   mlp_activation=b.mlp_activation) for b in export.blocks)
    for b in export.blocks:
        if b.score is not None and not isinstance(b.score, str):
            raise WeightsError("a kernel score has no name in the .npz layout")
    conv = Conventions(n_ctx=export.n_ctx, orientation="tl",
                       attn_scale="sqrt_d_head" if export.sqrt_d_head_folded else 1, layers=layers,
                       coordinates=tuple(export.coordinates), n_heads=export.n_heads,
                       readout=(tuple(readout[0]), int(readout[1])) if readout is not None else None,
                       name=export.name)
    save_npz(path, export.state_dict, conv)


def _mask_conventions(state: Mapping[str, Any]) -> tuple[int, list[LayerConvention]] | None:
    """Key mask and causality from our PyTorch twin's mask buffers (attn.{l}.mask [N_q, N_k])."""
    masks = sorted((int(k.split(".")[1]), v) for k, v in state.items() if k.startswith("attn.") and k.endswith(".mask"))
    if not masks:
        return None
    out = []
    for _, m in masks:
        m = np.asarray(m.detach().cpu().numpy() if hasattr(m, "detach") else m).astype(int)
        N = m.shape[0]
        km = m.max(axis=0)
        if (m == np.broadcast_to(km, (N, N))).all():
            out.append(LayerConvention(key_mask=km.tolist(), causal=False))
        elif (m == np.tril(np.broadcast_to(km, (N, N)))).all():
            out.append(LayerConvention(key_mask=km.tolist(), causal=True))
        else:
            raise WeightsError("an attention mask that is neither a key mask nor a causal key mask")
    return masks[0][1].shape[0], out


def default_conventions(state: Mapping[str, Any], n_ctx: int | None = None, score: str = "linear",
                        mask: str = "context") -> Conventions:
    """The target family's conventions for a bare state dict."""
    found = _mask_conventions(state)
    if found is not None:
        N, layers = found
        return Conventions(n_ctx=n_ctx or N, orientation="tl", attn_scale=1,
                           layers=tuple(LayerConvention(score=score, key_mask=lc.key_mask, causal=lc.causal)
                                        for lc in layers))
    if n_ctx is None and "pos_embed.W_pos" in state:
        n_ctx = int(np.asarray(state["pos_embed.W_pos"].shape)[0])
    if n_ctx is None:
        raise WeightsError("the state dict does not say its context length: give n_ctx (--n-ctx)")
    return Conventions(n_ctx=n_ctx, orientation="tl", attn_scale=1, layers=(LayerConvention(score=score, key_mask=mask),))


def load_weights(path: str | Path, n_ctx: int | None = None, score: str = "linear") -> Imported:
    """Import the weights at ``path`` (.npz, or a torch file)."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    if path.suffix == ".npz":
        return load_npz(path)
    if path.suffix in TORCH_SUFFIXES:
        try:
            import torch
        except ImportError:
            raise WeightsError(f"{path}: reading a torch file needs torch (pip install torch==2.13.0), "
                               "or save the weights as .npz (docs/conform.md)") from None
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsError(f"{path} is not a torch weight file ({type(exc).__name__})") from None
        state = dict(obj.state_dict()) if hasattr(obj, "state_dict") else obj
        if not isinstance(state, Mapping):
            raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
        return import_state_dict(state, default_conventions(state, n_ctx, score), source=f"torch file {path.name}")
    raise WeightsError(f"{path}: unknown weight file type {path.suffix!r} (expected .npz or {', '.join(TORCH_SUFFIXES)})")
