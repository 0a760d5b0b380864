"""Run the constructions in PyTorch and TransformerLens, and check them there.

Our forward pass (:mod:`constructions.engine`) is our own; a user's model is
a PyTorch or TransformerLens one.  A construction that only works in our
engine could hide a convention of ours (tokens as columns, where the 1/n sits,
the mask).  This module

1. **exports** a :class:`~constructions.engine.Transformer` to the classic
   TransformerLens state dict (``blocks.{l}.attn.W_Q`` of shape
   [n_heads, d_model, d_head], ...) as plain float64 numpy arrays, with the
   named residual coordinates (pure numpy: no torch needed);
2. runs it through **small PyTorch modules** (linear, ReLU, exp and kernel
   attention written out; ``torch.nn.functional.scaled_dot_product_attention``
   for softmax);
3. loads it into **TransformerLens** (4.x: ``TransformerBridge.boot_native`` +
   ``convert_tl_checkpoint``; 3.x is refused with a one-line reason) and runs it with the
   hooks that supply what the library lacks: real-valued prompts through
   ``hook_embed``, linear/ReLU/exp attention by overriding ``hook_pattern``
   (scores rebuilt from ``hook_q``/``hook_k``), key masks, and TransformerLens'
   1/√d_head folded into W_Q;
4. provides the ``torch`` and ``lens`` checks (evidence ``torch``) of an
   identity claim: the library's float64 forward pass agrees with the
   reference algorithm on random prompts within a derived tolerance, and the
   claim's mutants are rejected there too.  Without torch / transformer_lens
   the checks return ``skipped`` with the reason.

Layout of the export.  TransformerLens has one residual width and blocks of
(attention, MLP); our transformers are a list of layers, some of which append
coordinates (``residual="concat"``).  The export uses the *final* width
D_final for the stream: the prompt is zero-padded, a concat layer's heads read
only the first D coordinates and write through W_O into their own new slot
(zero until then, so the sums are the same).  Each attention layer opens a
block; an MLP right after it shares the block; any other MLP gets a block with
a zero attention.  Heads are zero-padded to a common d_head (a power of 4, so
√d_head is a power of two and folding it into W_Q is exact in float64) and a
common head count.  A layer's ``scale`` (the papers' 1/n) is folded into W_O.

Tolerance (the ``torch``/``lens`` checks).  |library − reference| must stay
below  err_ref + TORCH_ORDER_FACTOR · err_engine, entrywise, where err_ref and
err_engine are the running error bounds (Float64Bounded) of the reference
algorithm and of our engine's forward pass of the *same* model on the *same*
prompt.  Why a factor, and why 4: (a) the dot-product bound γ_k Σ|a_i b_i|
that the running bound uses for every matmul holds for any summation order
(Higham, Accuracy and Stability, 2nd ed., §3.1), so torch's blocked or
pairwise sums are covered with factor 1; (b) the library associates
differently — (A V) W_O instead of W_O (V A), heads summed after W_O, the
scale folded into W_O (one more rounding per weight, relative u) — and the
first-order bound of a product chain is Σ γ_{k_i} |A_1|…|A_L| in any
association, while our running bound uses the computed |A_1 A_2| in place of
|A_1||A_2| for the later factors; one factor 2 covers the extra rounding sites
and one factor 2 covers the re-association on prompts without heavy
cancellation.  The factor is a stated engineering margin, not a theorem: the
check reports the worst ratio |library − reference| / (err_ref + err_engine)
*without* the factor, so a reader sees how much of it is used (in practice
well under 1).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
from transformer_proofs.constructions.arithmetic import ErrArray, Float64, Float64Bounded
from transformer_proofs.constructions.engine import (
    MLP,
    Attention,
    PromptError,
    Transformer,
    attention_mask,
    forward,
    head_score,
)

TORCH_ORDER_FACTOR = 4  # see the module docstring: the library's different summation order and association

# ---------------------------------------------------------------------------
# export (numpy only)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockSpec:
    """What the weights alone do not say about one exported block."""

    score: Any  # "linear", "relu", "exp", "softmax", a kernel callable, or None (no attention)
    key_mask: np.ndarray  # (N,) 0/1: which tokens are keys and values
    causal: bool
    n_heads: int  # real heads (the rest are zero padding)
    mlp_activation: str | None  # "relu", "identity" or None (no MLP in this block)
    head_scores: tuple[Any, ...] = ()  # each real head's own score (Head.score, else the layer's)
    empty_query: str = "error"  # a softmax query without keys: "zero" gives it the empty sum

    def scores(self, n_heads: int) -> tuple[Any, ...]:
        """The score of each of ``n_heads`` exported heads (padding heads,
        whose W_O is zero, take the layer's)."""
        own = self.head_scores or (self.score,) * self.n_heads
        return tuple(own) + (self.score,) * (n_heads - len(own))

    def empty_rows(self, n_tokens: int) -> np.ndarray:
        """(N,) bool: queries with no key (their softmax output is the empty sum 0)."""
        return attention_mask(self.key_mask, n_tokens, self.causal).sum(axis=0) == 0


@dataclass
class Export:
    """A transformer in the classic TransformerLens layout, float64 numpy.

    ``state_dict`` keys: ``embed.W_E`` [1, D], ``pos_embed.W_pos`` [N, D] (zero:
    prompts enter through ``hook_embed``), ``blocks.{l}.attn.W_Q/W_K/W_V``
    [n_heads, D, d_head], ``W_O`` [n_heads, d_head, D], biases ``b_Q/b_K/b_V``
    [n_heads, d_head] and ``b_O`` [D] (zero), ``blocks.{l}.mlp.W_in`` [D, d_mlp],
    ``W_out`` [d_mlp, D], ``b_in``, ``b_out``, and ``unembed.W_U`` [D, 1],
    ``b_U`` [1] (zero: the claims read the residual stream, not logits).
    ``coordinates`` names the D residual coordinates; ``input_width`` is the
    number the prompt supplies (the rest start at zero)."""

    state_dict: dict[str, np.ndarray]
    blocks: list[BlockSpec]
    coordinates: tuple[str, ...]
    input_width: int
    n_ctx: int
    d_head: int
    n_heads: int
    d_mlp: int
    name: str = ""
    sqrt_d_head_folded: bool = False  # W_Q carries √d_head (for TransformerLens' 1/√d_head)

    @property
    def d_model(self) -> int:
        return len(self.coordinates)

    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    @property
    def attn_only(self) -> bool:
        return all(b.mlp_activation is None for b in self.blocks)

    def coordinate(self, name: str) -> int:
        """Index of a named residual coordinate (e.g. ``"y"``, ``"w:2"``)."""
        try:
            return self.coordinates.index(name)
        except ValueError:
            raise KeyError(f"no residual coordinate {name!r}; the export has {self.coordinates}") from None


def _power_of_four_at_least(k: int) -> int:
    p = 1
    while p < k:
        p *= 4
    return p


def _f64(w: Any) -> np.ndarray:
    a = np.asarray(w)
    if a.dtype == object:
        try:
            return np.array([float(Fraction(v)) for v in a.ravel()], dtype=np.float64).reshape(a.shape)
        except (TypeError, ValueError) as exc:
            raise PromptError(f"cannot export a weight with non-numeric entries (symbols?): {exc}") from None
    return a.astype(np.float64)


def _group_blocks(model: Transformer) -> list[tuple[Attention | None, MLP | None]]:
    groups: list[tuple[Attention | None, MLP | None]] = []
    for layer in model.layers:
        if isinstance(layer, Attention):
            groups.append((layer, None))
        elif isinstance(layer, MLP):
            if groups and groups[-1][1] is None and groups[-1][0] is not None:
                groups[-1] = (groups[-1][0], layer)
            else:
                groups.append((None, layer))
        else:
            raise PromptError(f"cannot export a layer of type {type(layer).__name__}")
    return groups


def export_transformer(model: Transformer, n_tokens: int | None = None, fold_sqrt_d_head: bool = False) -> Export:
    """The classic TransformerLens state dict of ``model`` (see :class:`Export`).

    ``n_tokens`` is the context length (default: the length of the first key
    mask).  ``fold_sqrt_d_head`` multiplies W_Q by √d_head, undoing the
    1/√d_head TransformerLens applies to every score (exact: d_head is a power
    of 4)."""
    groups = _group_blocks(model) or [(None, None)]  # no layers: one empty block (the identity map)
    attns = [a for a, _ in groups if a is not None]
    if n_tokens is None:
        if not attns:
            raise PromptError("n_tokens is needed to export a transformer without attention")
        n_tokens = len(np.asarray(attns[0].key_mask))
    widths = model.stream_names()
    D = len(widths[-1])
    raw_dh = max([max(h.W_Q.shape[0], h.W_V.shape[0]) for a in attns for h in a.heads] or [1])
    d_head = _power_of_four_at_least(raw_dh)
    n_heads = max([len(a.heads) for a in attns] or [1])
    mlps = [m for _, m in groups if m is not None]
    d_mlp = max([np.asarray(m.W_in).shape[0] for m in mlps] or [1])
    q_factor = math.sqrt(d_head) if fold_sqrt_d_head else 1.0

    sd: dict[str, np.ndarray] = {
        "embed.W_E": np.zeros((1, D)),
        "pos_embed.W_pos": np.zeros((n_tokens, D)),
        "unembed.W_U": np.zeros((D, 1)),
        "unembed.b_U": np.zeros(1),
    }
    blocks: list[BlockSpec] = []
    layer_idx = 0  # index into model.stream_names()
    for l, (attn, mlp) in enumerate(groups):
        W_Q = np.zeros((n_heads, D, d_head))
        W_K = np.zeros((n_heads, D, d_head))
        W_V = np.zeros((n_heads, D, d_head))
        W_O = np.zeros((n_heads, d_head, D))
        if attn is not None:
            d_in = len(widths[layer_idx])
            d_out = len(widths[layer_idx + 1])
            write_at = d_in if attn.residual == "concat" else 0  # where the heads' output lands
            scale = float(Fraction(attn.scale)) if attn.scale is not None else 1.0
            for h, head in enumerate(attn.heads):
                head.validate(d_in, kernel=callable(head_score(attn, head)))
                wq, wk, wv = _f64(head.W_Q), _f64(head.W_K), _f64(head.W_V)  # (dh, d_in), (dh, d_in), (dv, d_in)
                wo = np.eye(wv.shape[0]) if head.W_O is None else _f64(head.W_O)  # (d_o, dv)
                if write_at + wo.shape[0] > d_out:
                    raise PromptError(f"layer {l}, head {h}: output of size {wo.shape[0]} does not fit the stream "
                                      f"({d_out - write_at} coordinates)")
                W_Q[h, :d_in, : wq.shape[0]] = wq.T * q_factor
                W_K[h, :d_in, : wk.shape[0]] = wk.T
                W_V[h, :d_in, : wv.shape[0]] = wv.T
                W_O[h, : wo.shape[1], write_at: write_at + wo.shape[0]] = scale * wo.T
            layer_idx += 1
            score, key_mask, causal = attn.score, np.asarray(attn.key_mask, dtype=int), attn.causal
            if len(key_mask) != n_tokens:
                raise PromptError(f"layer {l}: key mask of length {len(key_mask)}, but n_tokens = {n_tokens}")
            head_scores = tuple(head_score(attn, h) for h in attn.heads)
            empty = attention_mask(key_mask, n_tokens, causal).sum(axis=0) == 0
            if "softmax" in head_scores and attn.empty_query != "zero" and empty.any():
                raise PromptError(f"layer {l}: softmax query token {int(np.flatnonzero(empty)[0])} has no unmasked key")
        else:
            score, key_mask, causal, head_scores = None, np.ones(n_tokens, dtype=int), False, ()
        pre = f"blocks.{l}.attn."
        sd.update({pre + "W_Q": W_Q, pre + "W_K": W_K, pre + "W_V": W_V, pre + "W_O": W_O,
                   pre + "b_Q": np.zeros((n_heads, d_head)), pre + "b_K": np.zeros((n_heads, d_head)),
                   pre + "b_V": np.zeros((n_heads, d_head)), pre + "b_O": np.zeros(D)})
        act = None
        if mlps:  # every block gets an MLP (zero where the model has none)
            W_in, W_out = np.zeros((D, d_mlp)), np.zeros((d_mlp, D))
            b_in, b_out = np.zeros(d_mlp), np.zeros(D)
            if mlp is not None:
                d_in = len(widths[layer_idx])
                wi, wo = _f64(mlp.W_in), _f64(mlp.W_out)  # (hidden, d_in), (d_in, hidden)
                W_in[:d_in, : wi.shape[0]] = wi.T
                W_out[: wo.shape[1], :d_in] = wo.T
                if mlp.b_in is not None:
                    b_in[: wi.shape[0]] = _f64(mlp.b_in)
                if mlp.b_out is not None:
                    b_out[:d_in] = _f64(mlp.b_out)
                act = mlp.activation
                layer_idx += 1
            else:
                act = "relu"  # a zero MLP: any activation
            sd.update({f"blocks.{l}.mlp.W_in": W_in, f"blocks.{l}.mlp.W_out": W_out,
                       f"blocks.{l}.mlp.b_in": b_in, f"blocks.{l}.mlp.b_out": b_out})
        blocks.append(BlockSpec(score, key_mask, causal, len(attn.heads) if attn else 0, act, head_scores,
                                attn.empty_query if attn else "error"))
    acts = {b.mlp_activation for b in blocks if b.mlp_activation is not None}
    if len(acts) > 1:
        raise PromptError(f"MLP activations {sorted(acts)} differ between layers: one act_fn per model")
    return Export(sd, blocks, tuple(widths[-1]), model.d_model, n_tokens, d_head, n_heads, d_mlp,
                  name=model.name, sqrt_d_head_folded=fold_sqrt_d_head)


def embed_prompt(export: Export, Z: Any) -> np.ndarray:
    """A prompt Z (D_in, N) or (B, D_in, N), tokens as columns, as the
    TransformerLens residual stream [B, N, D_final] (tokens as rows, new
    coordinates zero)."""
    Z = np.asarray(ErrArray.lift(Z).val if isinstance(Z, ErrArray) else Z, dtype=np.float64)
    if Z.ndim == 2:
        Z = Z[None]
    if Z.ndim != 3 or Z.shape[1] != export.input_width:
        raise PromptError(f"prompt of shape {Z.shape}: expected (D_in, N) or (B, D_in, N) with D_in = {export.input_width}")
    if Z.shape[2] != export.n_ctx:
        raise PromptError(f"prompt has {Z.shape[2]} tokens, the export was made for {export.n_ctx}")
    if not np.isfinite(Z).all():
        raise PromptError("prompt contains NaN or inf")
    out = np.zeros((Z.shape[0], Z.shape[2], export.d_model))
    out[:, :, : export.input_width] = np.swapaxes(Z, 1, 2)
    return out


def stream_to_columns(resid: np.ndarray) -> np.ndarray:
    """[B, N, D] (tokens as rows) -> (B, D, N) (tokens as columns)."""
    return np.swapaxes(np.asarray(resid), -1, -2)


# ---------------------------------------------------------------------------
# availability of the optional extras
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def torch_missing() -> str | None:
    """None when torch imports, else the reason it does not (asked once per process)."""
    try:
        import torch  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install
        return f"torch is not importable ({type(exc).__name__}: {exc}); install the extra: pip install torch==2.13.0"
    return None


@functools.lru_cache(maxsize=None)
def lens_missing() -> str | None:
    """None when a supported transformer_lens (4.x) imports, else the reason
    (asked once per process).  3.x is refused, not half-handled: its
    ``HookedTransformer`` path was never exercised here, and an adapter that
    mishandles a softmax key mask must not make a theorem look false; the
    ``lens`` checks are then ``skipped`` with this reason."""
    why = torch_missing()
    if why:
        return why
    try:
        import transformer_lens  # noqa: F401
    except Exception as exc:
        return f"transformer_lens is not importable ({type(exc).__name__}: {exc}); install the extra: pip install transformer-lens"
    return lens_unsupported(lens_version())


LENS_MAJOR = 4  # the TransformerLens major version the adapter is written and tested for


def lens_unsupported(version: str) -> str | None:
    """None for a TransformerLens version the adapter supports (4.x), else a
    one-line reason naming the version."""
    head = version.split(".", 1)[0]
    if head.isdigit() and int(head) == LENS_MAJOR:
        return None
    return (f"TransformerLens {version} is not supported (the adapter is written and tested for "
            f"{LENS_MAJOR}.x only); install the extra: pip install 'transformer-lens>={LENS_MAJOR}.3,<{LENS_MAJOR + 1}'")


# ---------------------------------------------------------------------------
# PyTorch modules
# ---------------------------------------------------------------------------

# A construction with a kernel score registers its torch twin here:
# TORCH_KERNELS[engine_kernel] = fn(q [.., N, dh], k [.., N, dh]) -> scores [.., N_q, N_k].
TORCH_KERNELS: dict[Callable[..., Any], Callable[[Any, Any], Any]] = {}


def _torch_modules() -> Any:
    """Define the torch modules on first use (torch is an optional extra)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def activate(score: Any, q: Any, k: Any, mask: Any) -> Any:
        """pattern[.., q, k] = a(S)·mask of one head (or a stack of heads of
        one score); softmax is normalised over the unmasked keys, a query
        without keys gets 0 (the empty sum)."""
        if callable(score):
            return TORCH_KERNELS[score](q, k) * mask
        S = q @ k.transpose(-1, -2)  # [.., N_q, N_k]
        if score == "linear":
            return S * mask
        if score == "relu":
            return F.relu(S) * mask
        if score == "exp":
            return torch.exp(S * mask) * mask
        if score == "softmax":
            P = torch.softmax(S.masked_fill(~mask, float("-inf")), dim=-1)
            return torch.where(mask.any(-1, keepdim=True), P, torch.zeros_like(P))
        raise PromptError(f"unknown score {score!r}")

    class KernelAttention(nn.Module):
        """Multi-head attention with an explicit score activation per head.

        In row layout: for each head, pattern[q, k] = a(S[q, k]) · mask[q, k]
        with S = Q Kᵀ, then z = pattern V and out = Σ_h z_h W_O^h.  ``score``
        is one score for every head or a tuple of one per head: "linear",
        "relu", "exp", "softmax" or a callable (q, k) -> S (its torch twin in
        TORCH_KERNELS).  A layer whose heads are all softmax runs PyTorch's
        ``scaled_dot_product_attention`` (scale 1); a query without keys then
        gets 0 (the empty sum), not the library's NaN."""

        def __init__(self, W_Q: np.ndarray, W_K: np.ndarray, W_V: np.ndarray, W_O: np.ndarray,
                     score: Any, mask: np.ndarray) -> None:
            super().__init__()
            t = lambda a: nn.Parameter(torch.tensor(a, dtype=torch.float64), requires_grad=False)
            self.W_Q, self.W_K, self.W_V, self.W_O = t(W_Q), t(W_K), t(W_V), t(W_O)  # [H, D, dh] x3, [H, dh, D]
            self.register_buffer("mask", torch.tensor(np.asarray(mask).T, dtype=torch.bool))  # [N_q, N_k]
            H = W_Q.shape[0]
            self.scores = tuple(score) if isinstance(score, (tuple, list)) else (score,) * H
            if len(self.scores) != H:
                raise PromptError(f"{len(self.scores)} scores for {H} heads")
            same = all(sc == self.scores[0] for sc in self.scores)
            self.score = self.scores[0] if same else None  # one score for every head?

        def pattern(self, x: Any) -> Any:
            q = torch.einsum("bnd,hde->bhne", x, self.W_Q)  # [B, H, N, dh]
            k = torch.einsum("bnd,hde->bhne", x, self.W_K)  # [B, H, N, dh]
            if self.score is not None:
                return activate(self.score, q, k, self.mask)
            return torch.stack([activate(s, q[:, h], k[:, h], self.mask) for h, s in enumerate(self.scores)], dim=1)

        def forward(self, x: Any) -> Any:  # x [B, N, D]
            v = torch.einsum("bnd,hde->bhne", x, self.W_V)  # [B, H, N, dh]
            if self.score == "softmax":
                q = torch.einsum("bnd,hde->bhne", x, self.W_Q)
                k = torch.einsum("bnd,hde->bhne", x, self.W_K)
                z = F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask, scale=1.0)  # [B, H, N, dh]
                z = torch.where(self.mask.any(-1)[:, None], z, torch.zeros_like(z))  # empty queries: 0
            else:
                z = self.pattern(x) @ v  # [B, H, N, dh]
            return torch.einsum("bhne,hed->bnd", z, self.W_O)  # [B, N, D]

    class TwoLayerMLP(nn.Module):
        def __init__(self, W_in: np.ndarray, W_out: np.ndarray, b_in: np.ndarray, b_out: np.ndarray, act: str) -> None:
            super().__init__()
            t = lambda a: nn.Parameter(torch.tensor(a, dtype=torch.float64), requires_grad=False)
            self.W_in, self.W_out, self.b_in, self.b_out = t(W_in), t(W_out), t(b_in), t(b_out)
            self.act = act

        def forward(self, x: Any) -> Any:  # [B, N, D]
            h = x @ self.W_in + self.b_in  # [B, N, d_mlp]
            h = F.relu(h) if self.act == "relu" else h
            return h @ self.W_out + self.b_out  # [B, N, D]

    class ExportedTransformer(nn.Module):
        """The export as a plain PyTorch model over the residual stream [B, N, D]."""

        def __init__(self, export: Export) -> None:
            super().__init__()
            if export.sqrt_d_head_folded:
                raise PromptError("this export folds √d_head into W_Q (for TransformerLens); export with fold_sqrt_d_head=False")
            sd = export.state_dict
            self.attn = nn.ModuleList()
            self.mlp = nn.ModuleList()
            for l, b in enumerate(export.blocks):
                N = export.n_ctx
                mask = attention_mask(b.key_mask, N, b.causal) if b.score is not None else np.zeros((N, N), dtype=int)
                p = f"blocks.{l}.attn."
                self.attn.append(KernelAttention(sd[p + "W_Q"], sd[p + "W_K"], sd[p + "W_V"], sd[p + "W_O"],
                                                 b.scores(export.n_heads) if b.score is not None else "linear", mask))
                if b.mlp_activation is not None:
                    p = f"blocks.{l}.mlp."
                    self.mlp.append(TwoLayerMLP(sd[p + "W_in"], sd[p + "W_out"], sd[p + "b_in"], sd[p + "b_out"],
                                                b.mlp_activation))
                else:
                    self.mlp.append(nn.Identity())
            self.has_mlp = [b.mlp_activation is not None for b in export.blocks]

        def forward(self, x: Any) -> Any:  # [B, N, D] -> [B, N, D]
            for attn, mlp, has in zip(self.attn, self.mlp, self.has_mlp):
                x = x + attn(x)
                if has:
                    x = x + mlp(x)
            return x

    return KernelAttention, TwoLayerMLP, ExportedTransformer, activate


def torch_model(export: Export) -> Any:
    """A ``torch.nn.Module`` computing the export in float64."""
    return _torch_modules()[2](export)


def run_torch(export: Export, Z: Any) -> np.ndarray:
    """Final residual stream (B, D_final, N), tokens as columns, via PyTorch."""
    import torch

    x = torch.tensor(embed_prompt(export, Z), dtype=torch.float64)
    with torch.no_grad():
        out = torch_model(export)(x)
    return stream_to_columns(out.numpy())


# ---------------------------------------------------------------------------
# TransformerLens
# ---------------------------------------------------------------------------


def lens_version() -> str:
    from importlib.metadata import version

    return version("transformer-lens")


def lens_state_dict(export: Export) -> dict[str, Any]:
    """The classic state dict as float64 torch tensors."""
    import torch

    return {k: torch.tensor(v, dtype=torch.float64) for k, v in export.state_dict.items()}


def lens_native_softmax(export: Export) -> tuple[tuple[int, ...] | None, bool]:
    """The key mask and causality TransformerLens applies itself (one
    ``attention_mask`` and one ``attention_dir`` per model): those of the most
    common (key mask, causality) among the softmax layers (ties: the later
    layer).  A softmax layer with another mask or causality gets its pattern
    rebuilt in ``hook_pattern`` (see :func:`lens_hooks`)."""
    kinds = [(tuple(int(v) for v in b.key_mask), bool(b.causal)) for b in export.blocks
             if "softmax" in b.scores(export.n_heads) and b.score is not None]
    if not kinds:
        return None, False
    best = max(reversed(kinds), key=kinds.count)
    return best


def _lens_config_fields(export: Export) -> dict[str, Any]:
    _, causal = lens_native_softmax(export)
    return dict(d_model=export.d_model, d_head=export.d_head, n_heads=export.n_heads, n_layers=export.n_layers,
                n_ctx=export.n_ctx, d_vocab=1, d_mlp=export.d_mlp, attn_only=export.attn_only,
                normalization_type=None, positional_embedding_type="standard",
                attention_dir="causal" if causal else "bidirectional",
                act_fn=next((b.mlp_activation for b in export.blocks if b.mlp_activation), "relu"))


def load_lens(export: Export) -> Any:
    """The export as a TransformerLens model in float64.

    4.x: ``TransformerBridge.boot_native(cfg)`` and the classic state dict
    through ``convert_tl_checkpoint`` (strict load).  Any other major version
    is refused (:func:`lens_unsupported`).
    The export must fold √d_head into W_Q (``fold_sqrt_d_head=True``)."""
    import torch

    unsupported = lens_unsupported(lens_version())
    if unsupported:
        raise PromptError(unsupported)
    if not export.sqrt_d_head_folded:
        raise PromptError("TransformerLens divides every score by √d_head: export with fold_sqrt_d_head=True")
    if any(b.mlp_activation == "identity" for b in export.blocks):
        raise PromptError("TransformerLens has no identity MLP activation")
    fields = _lens_config_fields(export)
    sd = lens_state_dict(export)
    from transformer_lens import TransformerBridge
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint

    cfg = TransformerBridgeConfig(**fields, dtype=torch.float64, architecture=None)
    bridge = TransformerBridge.boot_native(cfg, dtype=torch.float64)
    result = bridge.load_state_dict(convert_tl_checkpoint(sd, cfg), strict=True)
    if result.missing_keys or result.unexpected_keys:
        raise PromptError(f"TransformerLens load: missing {result.missing_keys}, unexpected {result.unexpected_keys}")
    for l in range(export.n_layers):  # the 1/√d_head we folded must be the one the library applies
        scale = getattr(getattr(bridge.blocks[l].attn, "original_component", None), "scale", None)
        if scale is not None and scale != math.sqrt(export.d_head):
            raise PromptError(f"TransformerLens divides scores by {scale}, expected √d_head = {math.sqrt(export.d_head)}")
    return bridge


def lens_hooks(export: Export, Z: Any) -> tuple[list[tuple[str, Callable[..., Any]]], Any]:
    """The forward hooks that run the export in TransformerLens, and the
    ``attention_mask`` argument (or None).

    - ``hook_embed`` returns the real-valued prompt (the token ids are dummies);
    - a softmax head keeps the library's softmax when its layer has the key
      mask and causality the library applies (:func:`lens_native_softmax`:
      the key mask goes in as the 2-D ``attention_mask``, causality as the
      config's ``attention_dir``);
    - every other head — linear / ReLU / exp / kernel scores, and softmax
      heads of a layer with another key mask or causality — has its pattern
      rebuilt: ``attn.hook_q`` and ``attn.hook_k`` record q and k, and
      ``attn.hook_pattern`` returns a(q kᵀ / √d_head) · mask (the √d_head
      cancels the factor folded into W_Q); patterns are [B, H, query, key].
      (In 4.x ``hook_attn_scores`` fires after the wrapped module has used
      the scores, so a mask cannot go in there.)
    - a softmax query without keys (``empty_query="zero"``) gets pattern 0."""
    import torch

    x = torch.tensor(embed_prompt(export, Z), dtype=torch.float64)  # [B, N, D]
    root_scale = math.sqrt(export.d_head)
    hooks: list[tuple[str, Callable[..., Any]]] = [("hook_embed", lambda t, hook: x)]
    native_mask, native_causal = lens_native_softmax(export)
    for l, b in enumerate(export.blocks):
        scores = b.scores(export.n_heads) if b.score is not None else ("linear",) * export.n_heads
        native = (b.score is not None and native_mask == tuple(int(v) for v in b.key_mask)
                  and native_causal == bool(b.causal))
        keep = tuple(s == "softmax" and native for s in scores)  # heads whose library pattern stands
        empty = b.empty_rows(export.n_ctx) if b.score is not None else np.zeros(export.n_ctx, dtype=bool)
        if all(keep) and not empty.any():
            continue
        store: dict[str, Any] = {}
        mask = torch.tensor(attention_mask(b.key_mask, export.n_ctx, b.causal).T, dtype=torch.bool)  # [N_q, N_k]
        if b.score is None:
            mask = torch.zeros_like(mask)  # a block without attention
        hooks += [(f"blocks.{l}.attn.hook_q", _recorder(store, "q")),
                  (f"blocks.{l}.attn.hook_k", _recorder(store, "k")),
                  (f"blocks.{l}.attn.hook_pattern", _pattern_override(store, scores, keep, mask, root_scale))]
    attn_mask = None
    if native_mask is not None and not all(native_mask):
        attn_mask = torch.tensor([native_mask] * x.shape[0], dtype=torch.long)
    return hooks, attn_mask


def _recorder(store: dict[str, Any], key: str) -> Callable[..., Any]:
    def hook(t: Any, hook: Any) -> None:
        store[key] = t  # [B, N, H, dh]
        return None

    return hook


def _pattern_override(store: dict[str, Any], scores: Sequence[Any], keep: Sequence[bool], mask: Any,
                      root_scale: float) -> Callable[..., Any]:
    """The attention-pattern hook: head h keeps the library's pattern if
    ``keep[h]``, else gets a(q kᵀ/√d_head)·mask with its own score; queries
    without keys get 0."""
    import torch

    activate = _torch_modules()[3]

    def hook(pattern: Any, hook: Any) -> Any:
        q, k = store["q"].transpose(1, 2) / root_scale, store["k"].transpose(1, 2)  # [B, H, N, dh]
        heads = [pattern[:, h] if keep[h] else activate(s, q[:, h], k[:, h], mask).to(pattern.dtype)
                 for h, s in enumerate(scores)]
        out = torch.stack(heads, dim=1)  # [B, H, N_q, N_k]
        return torch.where(mask.any(-1)[:, None], out, torch.zeros_like(out))

    return hook


def run_lens(model: Any, export: Export, Z: Any, names: Sequence[str] | None = None) -> tuple[np.ndarray, Any]:
    """Run the loaded TransformerLens model on prompt Z (tokens as columns).

    Returns the final residual stream (B, D_final, N), tokens as columns, read
    from ``blocks.{L-1}.hook_resid_post``, and the run cache."""
    import torch

    hooks, attn_mask = lens_hooks(export, Z)
    B = embed_prompt(export, Z).shape[0]
    tokens = torch.zeros((B, export.n_ctx), dtype=torch.long)
    last = f"blocks.{export.n_layers - 1}.hook_resid_post"
    kwargs = {"attention_mask": attn_mask} if attn_mask is not None else {}
    with torch.no_grad(), model.hooks(fwd_hooks=hooks):
        _, cache = model.run_with_cache(tokens, **kwargs)
    return stream_to_columns(cache[last].detach().numpy()), cache


# ---------------------------------------------------------------------------
# constructions by name (demos, README, benchmarks)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedConstruction:
    """A construction the demos can build by name: ``build(rng)`` returns
    (transformer, prompt Z (D_in, N) as float64)."""

    name: str
    description: str
    build: Callable[[np.random.Generator], tuple[Transformer, np.ndarray]]


CONSTRUCTIONS: dict[str, NamedConstruction] = {}


def register_construction(c: NamedConstruction) -> NamedConstruction:
    if c.name in CONSTRUCTIONS and CONSTRUCTIONS[c.name] is not c:
        raise ValueError(f"construction {c.name!r} registered twice")
    CONSTRUCTIONS[c.name] = c
    return c


def build_named(name: str, seed: int = 0) -> tuple[Transformer, np.ndarray]:
    """Build a registered construction and its prompt (the claim families
    register theirs, e.g. ``"induction_head"`` in verify/claims/induction.py)."""
    if name not in CONSTRUCTIONS:
        from transformer_proofs.verify.registry import all_claims

        all_claims()  # imports every family, which registers its constructions
    if name not in CONSTRUCTIONS:
        raise KeyError(f"no construction named {name!r}; known: {sorted(CONSTRUCTIONS)}")
    return CONSTRUCTIONS[name].build(np.random.default_rng(seed))


# ---------------------------------------------------------------------------
# the torch / lens checks of an identity claim
# ---------------------------------------------------------------------------

BACKENDS = ("torch", "lens")


@dataclass
class LibraryCheck:
    """The ``torch`` (PyTorch modules) or ``lens`` (TransformerLens) check of
    an identity spec.  ``prompt(ar, inst)`` is the prompt the claim's ``run``
    feeds to ``forward``; ``output(ar, final_state, inst)`` what ``run``
    returns from the final state (default: the state itself); with
    ``output_with_model`` it is called as ``output(ar, final_state, inst,
    model)`` with the (possibly mutated) model, e.g. to apply its read-out
    vector to the library's final stream."""

    spec: Any  # a ClaimSpec (draw as .sample, build, reference, sizes, mutants)
    prompt: Callable[[Any, Any], Any]
    backend: str = "torch"
    output: Callable[..., Any] | None = None
    output_with_model: bool = False
    per_size: int = 3
    sizes: list[dict[str, int]] | None = None
    mutant_instances: int = 2  # per size, whatever the effort
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")

    # one instance ---------------------------------------------------------
    def _library_final(self, model: Transformer, Z: Any) -> np.ndarray:
        if self.backend == "torch":
            return run_torch(export_transformer(model, Z.shape[-1]), Z)[0]
        export = export_transformer(model, Z.shape[-1], fold_sqrt_d_head=True)
        return run_lens(load_lens(export), export, Z)[0][0]

    def compare(self, inst: Any, mutant: Any = None) -> tuple[float, float, float, bool]:
        """(error and tolerance at the entry of worst ratio, that ratio without the factor, passed)."""
        ar = Float64Bounded()
        model = self.spec.build(inst)
        if mutant is not None:
            model = mutant.apply(model, inst)
        Z0 = ErrArray.lift(ar.array(self.prompt(ar, inst)))
        extra = (model,) if self.output_with_model else ()
        final = forward(ar, model, Z0)
        engine = ErrArray.lift(self.output(ar, final, inst, *extra) if self.output else final)
        ref = ErrArray.lift(self.spec.reference(ar, inst))
        lib_final = self._library_final(model, Z0.val)
        lib = ErrArray.lift(self.output(Float64(), lib_final, inst, *extra) if self.output else lib_final).val
        if lib.shape != ref.val.shape:
            return float("inf"), 0.0, float("inf"), False
        err = np.abs(lib - ref.val).ravel()
        base = (ref.err + engine.err).ravel()
        tol = (ref.err + TORCH_ORDER_FACTOR * engine.err).ravel()
        if not np.all(np.isfinite(lib)):
            return float("inf"), float(tol.max(initial=0)), float("inf"), False
        ratio = np.where(base > 0, err / np.where(base > 0, base, 1), np.where(err > 0, np.inf, 0))
        worst = int(np.argmax(_ratio(err, tol))) if err.size else 0  # error and tolerance of one entry
        return (float(err[worst]) if err.size else 0.0, float(tol[worst]) if tol.size else 0.0,
                float(ratio.max(initial=0.0)), bool(np.all(err <= tol)))

    # the check --------------------------------------------------------------
    def __call__(self, ctx: Any) -> Any:
        from transformer_proofs.verify.checkers import guard, rng_for, sizes_text
        from transformer_proofs.verify.draws import DyadicDraw
        from transformer_proofs.verify.evidence import Evidence
        from transformer_proofs.verify.spec import CheckResult

        missing = torch_missing() if self.backend == "torch" else lens_missing()
        if missing:
            return CheckResult(self.backend, "library", 0, None, None, "skipped", missing)

        def run() -> Any:
            t0 = time.perf_counter()
            rng = rng_for(ctx, self.backend)
            sizes_list = self.sizes or self.spec.sizes.get("torch", self.spec.sizes["float64"])
            count, worst = 0, (0.0, 0.0, -1.0)
            kept = []
            for sizes in sizes_list:
                n = ctx.count(self.per_size)
                for k in range(max(n, self.mutant_instances)):
                    inst = self.spec.sample(DyadicDraw(rng), sizes)
                    if k < self.mutant_instances:
                        kept.append(inst)  # the mutants get this many instances per size at any effort
                    if k >= n:
                        continue
                    err, tol, ratio, ok = self.compare(inst)
                    count += 1
                    if ratio > worst[2]:
                        worst = (err, tol, ratio)
                    if not ok:
                        return CheckResult(self.backend, "library", count, err, tol, "fails",
                                           f"{self._lib()}: |library - reference| = {err:.3g} exceeds "
                                           f"{TORCH_ORDER_FACTOR} x running error bound ({tol:.3g}) at {sizes_text(sizes)}")
            caught, missed = [], []
            for m in self.spec.mutants:
                hit = ""
                for inst in kept:
                    try:
                        err, tol, _, ok = self.compare(inst, m)
                    except PromptError as exc:  # a mutant the library cannot even load is not a catch
                        hit = ""
                        missed.append(f"{m.name} (error: {exc})")
                        break
                    if not ok:
                        hit = f"{m.name}: {err:.3g} > {tol:.3g}"
                        break
                else:
                    if not hit:
                        missed.append(m.name)
                if hit:
                    caught.append(hit)
            self.timings[f"seed {ctx.seed}"] = time.perf_counter() - t0  # kept out of the results: reports are byte-stable
            data = {"library": self._lib(), "factor": TORCH_ORDER_FACTOR, "worst_ratio_without_factor": worst[2],
                    "mutants_caught": caught, "mutants_missed": missed}
            if missed:
                return CheckResult(self.backend, "library", count, worst[0], worst[1], "fails",
                                   f"{self._lib()}: mutants not rejected: {', '.join(missed)}", data=data)
            return CheckResult(self.backend, "library", count, worst[0], worst[1], "holds",
                               f"{self._lib()} float64 forward pass: worst |library - reference| / running error "
                               f"bound = {worst[2]:.3g} (tolerance {TORCH_ORDER_FACTOR}x); "
                               f"{len(caught)}/{len(self.spec.mutants)} mutants rejected", data=data)

        return guard(self.backend, Evidence.LIBRARY, run)

    def _lib(self) -> str:
        if self.backend == "torch":
            import torch

            return f"PyTorch {torch.__version__}"
        return f"TransformerLens {lens_version()}"


def torch_check(spec: Any, prompt: Callable[[Any, Any], Any], backend: str = "torch", **kw: Any) -> LibraryCheck:
    """The ``torch`` (or, with backend="lens", TransformerLens) check of an
    identity spec; see :class:`LibraryCheck`."""
    return LibraryCheck(spec, prompt, backend, **kw)


def torch_checks(spec: Any, prompt: Callable[[Any, Any], Any], lens: bool = False, **kw: Any) -> dict[str, LibraryCheck]:
    """``{"torch": ..., "lens": ...}`` to merge into a claim's checks."""
    out = {"torch": torch_check(spec, prompt, "torch", **kw)}
    if lens:
        out["lens"] = torch_check(spec, prompt, "lens", **kw)
    return out


def library_vs_engine(model: Transformer, Z: Any, backend: str = "torch") -> tuple[float, float, float, bool]:
    """Compare the library's final state with our engine's on one prompt:
    (|library - engine| and tolerance at the entry of worst ratio, that ratio without
    the factor, passed), the tolerance being TORCH_ORDER_FACTOR x the engine's
    running error bound."""
    ar = Float64Bounded()
    Z0 = ErrArray.lift(ar.array(Z))
    engine = ErrArray.lift(forward(ar, model, Z0))
    if backend == "torch":
        lib = run_torch(export_transformer(model, Z0.shape[-1]), Z0.val)[0]
    else:
        export = export_transformer(model, Z0.shape[-1], fold_sqrt_d_head=True)
        lib = run_lens(load_lens(export), export, Z0.val)[0][0]
    err = np.abs(lib - engine.val).ravel()
    base = engine.err.ravel()
    tol = TORCH_ORDER_FACTOR * base
    ratio = np.where(base > 0, err / np.where(base > 0, base, 1), np.where(err > 0, np.inf, 0))
    worst = int(np.argmax(_ratio(err, tol)))
    return float(err[worst]), float(tol[worst]), float(ratio.max()), bool(np.all(err <= tol))


def _ratio(err: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """error / tolerance entry by entry (0 where both are 0, inf where only the tolerance is)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tol > 0, err / np.where(tol > 0, tol, 1), np.where(err > 0, np.inf, 0.0))
