"""Reusable mutations of a construction: the falsifiers' raw material.

Each takes a :class:`constructions.engine.Transformer` and returns a mutated
copy; nothing is changed in place."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable

import numpy as np
from transformer_proofs.constructions.engine import Attention, Head, Transformer


def map_attention(model: Transformer, fn: Callable[[Attention], Attention], only: int | None = None) -> Transformer:
    """Apply ``fn`` to every attention layer (or only to layer index ``only``)."""
    layers = []
    for k, layer in enumerate(model.layers):
        if isinstance(layer, Attention) and (only is None or k == only):
            layer = fn(layer)
        layers.append(layer)
    return model.with_layers(layers)


def map_heads(model: Transformer, fn: Callable[[Head], Head], only: int | None = None) -> Transformer:
    return map_attention(model, lambda a: replace(a, heads=tuple(fn(h) for h in a.heads)), only)


def negate_value(model: Transformer) -> Transformer:
    """A flipped sign: every head's W_V negated."""
    return map_heads(model, lambda h: replace(h, W_V=-np.asarray(h.W_V, dtype=object)))


def drop_scale(model: Transformer) -> Transformer:
    """The 1/n dropped."""
    return map_attention(model, lambda a: replace(a, scale=None))


def rescale(model: Transformer, scale: Fraction) -> Transformer:
    return map_attention(model, lambda a: replace(a, scale=scale))


def unmask_all_keys(model: Transformer) -> Transformer:
    """Every token (the query too) becomes a key and value."""
    return map_attention(model, lambda a: replace(a, key_mask=np.ones_like(np.asarray(a.key_mask))))


def drop_last_layer(model: Transformer) -> Transformer:
    """An off-by-one depth: one layer fewer."""
    return model.with_layers(model.layers[:-1])


def drop_head(model: Transformer, index: int) -> Transformer:
    return map_attention(model, lambda a: replace(a, heads=a.heads[:index] + a.heads[index + 1:]))


def set_entry(w: Any, i: int, j: int, value: Any) -> np.ndarray:
    out = np.array(w, dtype=object)
    out[i, j] = value
    return out
