"""Import weights into the engine: the inverse of the TransformerLens export.

Sources (``docs/conform.md`` states each convention):

- a **state dict** (``{name: array or torch tensor}``) in the classic
  TransformerLens layout (``blocks.{l}.attn.W_Q`` of shape
  [n_heads, d_model, d_head], ``W_O`` [n_heads, d_head, d_model], biases,
  ``blocks.{l}.mlp.W_in`` [d_model, d_mlp], ...) or in the layout of our
  PyTorch twin (``attn.{l}.W_Q``, ``mlp.{l}.W_in``);
- a ``torch.nn.Module`` (its ``state_dict()``);
- a **TransformerLens** model (4.x ``TransformerBridge``; 3.x is refused:
  this suite is tested against 4.x only), its config supplying the
  conventions the weights do not carry;
- a **.npz** file: the same arrays and one ``conventions`` entry (JSON).

What the weights do not say is given by :class:`Conventions`, and each is
checked by name:

- orientation: ``"tl"`` (tokens as rows, W_Q [n_heads, d_model, d_head]) or
  ``"columns"`` (ours: W_Q [n_heads, d_head, d_model], W_O [n_heads, d_model, d_head]);
- ``attn_scale``: the divisor the source applies to every score
  (TransformerLens: √d_head; ours: 1).  It is folded into W_Q on import
  (exact when it is a power of two);
- per layer: the score (linear, ReLU, exp, softmax), the key mask, causality
  and ``scale`` — a factor the file does *not* carry (``None``: the papers'
  1/n is already folded into W_O, as our export does).

What the engine cannot represent is refused with a one-line
:class:`WeightsError` naming it: nonzero attention biases, positional
embeddings, layer norms, an unknown activation, NaN or inf weights, heads
whose shapes disagree, a missing weight.  torch is imported lazily: the .npz
path needs numpy only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from transformer_proofs.constructions.engine import MLP, SCORES, Attention, Head, PromptError, Readout, Transformer

NPZ_FORMAT = "transformer-proofs/weights"
NPZ_VERSION = 1
ATTN_BLOCKS = ("W_Q", "W_K", "W_V", "W_O")
ATTN_BIASES = ("b_Q", "b_K", "b_V", "b_O")
MLP_BLOCKS = ("W_in", "W_out", "b_in", "b_out")


class WeightsError(PromptError):
    """Weights the engine cannot represent, or a file that is not a model (one line, names the problem)."""



@dataclass(frozen=True)
class LayerConvention:
    """What one attention block's weights do not say."""

    score: str = "linear"  # linear, relu, exp, softmax
    key_mask: Any = "all"  # "all", "context" (every token but the last), or a 0/1 list
    causal: bool = False
    scale: Any = None  # a factor the file does not carry (e.g. "1/5"); None: folded into W_O
    mlp_activation: str | None = None  # relu or identity, for a block with an MLP

    def mask_for(self, n_ctx: int) -> np.ndarray:
        if isinstance(self.key_mask, str):
            if self.key_mask == "all":
                return np.ones(n_ctx, dtype=int)
            if self.key_mask == "context":
                return np.array([1] * (n_ctx - 1) + [0])
            raise WeightsError(f"key_mask {self.key_mask!r}: expected 'all', 'context' or a 0/1 list")
        km = np.asarray(self.key_mask)
        if km.shape != (n_ctx,) or not np.isin(km, (0, 1)).all():
            raise WeightsError(f"key_mask must be {n_ctx} entries of 0/1, got {list(km.ravel())[:8]}")
        return km.astype(int)


@dataclass(frozen=True)
class Conventions:
    """Everything the arrays do not carry.  ``layers`` has one entry per
    block, or one entry applied to every block."""

    n_ctx: int
    orientation: str = "tl"  # "tl" or "columns"
    attn_scale: Any = 1  # divisor of every score: a number or "sqrt_d_head"
    layers: tuple[LayerConvention, ...] = (LayerConvention(),)
    coordinates: tuple[str, ...] | None = None
    readout: tuple[tuple[Any, ...], int] | None = None  # (vector, column); column may be negative (-1: last token)
    n_heads: int | None = None  # the head count the source declares (checked against the arrays)
    name: str = ""

    def layer(self, l: int, n_layers: int) -> LayerConvention:
        if len(self.layers) == 1:
            return self.layers[0]
        if len(self.layers) != n_layers:
            raise WeightsError(f"conventions give {len(self.layers)} layers, the weights have {n_layers}")
        return self.layers[l]

    def to_json(self) -> dict[str, Any]:
        def km(k: Any) -> Any:
            return k if isinstance(k, str) else [int(v) for v in np.asarray(k).ravel()]

        out: dict[str, Any] = {
            "format": NPZ_FORMAT, "version": NPZ_VERSION, "n_ctx": self.n_ctx, "orientation": self.orientation,
            "attn_scale": self.attn_scale if isinstance(self.attn_scale, str) else _num_json(self.attn_scale),
            "layers": [{"score": c.score, "key_mask": km(c.key_mask), "causal": bool(c.causal),
                        "scale": None if c.scale is None else str(Fraction(c.scale)),
                        "mlp_activation": c.mlp_activation} for c in self.layers],
        }
        if self.coordinates is not None:
            out["coordinates"] = list(self.coordinates)
        if self.readout is not None:
            out["readout"] = {"vector": [_num_json(v) for v in self.readout[0]], "column": int(self.readout[1])}
        if self.n_heads is not None:
            out["n_heads"] = self.n_heads
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "Conventions":
        if doc.get("format") != NPZ_FORMAT:
            raise WeightsError(f"conventions: format {doc.get('format')!r}, expected {NPZ_FORMAT!r}")
        if doc.get("version") != NPZ_VERSION:
            raise WeightsError(f"conventions: version {doc.get('version')!r}, this reader knows {NPZ_VERSION}")
        for key in ("n_ctx", "layers"):
            if key not in doc:
                raise WeightsError(f"conventions: missing {key!r}")
        layers = tuple(LayerConvention(score=c.get("score", "linear"), key_mask=c.get("key_mask", "all"),
                                       causal=bool(c.get("causal", False)),
                                       scale=None if c.get("scale") is None else Fraction(c["scale"]),
                                       mlp_activation=c.get("mlp_activation")) for c in doc["layers"])
        ro = doc.get("readout")
        return cls(n_ctx=int(doc["n_ctx"]), orientation=doc.get("orientation", "tl"),
                   attn_scale=doc.get("attn_scale", 1), layers=layers or (LayerConvention(),),
                   coordinates=tuple(doc["coordinates"]) if doc.get("coordinates") else None,
                   readout=(tuple(Fraction(str(v)) for v in ro["vector"]), int(ro["column"])) if ro else None,
                   n_heads=doc.get("n_heads"), name=doc.get("name", ""))


def _num_json(v: Any) -> Any:
    f = Fraction(v)
    return int(f) if f.denominator == 1 else str(f)


@dataclass
class Imported:
    """An imported model: the engine transformer and what was read."""

    model: Transformer
    source: str  # "state dict", "npz", "TransformerLens 4.x", "nn.Module"
    conventions: Conventions
    blocks: list[dict[str, Any]] = field(default_factory=list)  # per layer: the raw named arrays (engine orientation)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# reading the arrays
# ---------------------------------------------------------------------------

_KEY_PATTERNS = (
    re.compile(r"^blocks\.(\d+)\.(attn|mlp)\.(\w+)$"),  # classic TransformerLens
    re.compile(r"^(attn|mlp)\.(\d+)\.(\w+)$"),  # our PyTorch twin (verify.torch_backend.ExportedTransformer)
)
_IGNORED = ("embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U")


def _as_array(name: str, v: Any) -> np.ndarray:
    if hasattr(v, "detach"):  # a torch tensor
        v = v.detach().cpu().double().numpy()
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise WeightsError(f"{name} is not a numeric array") from None
    if not np.isfinite(a).all():
        raise WeightsError(f"{name} contains NaN or inf")
    return a


def _group(state: Mapping[str, Any]) -> dict[int, dict[str, np.ndarray]]:
    """{layer: {"attn.W_Q": array, "mlp.W_in": array, ...}}; refuses what cannot be imported."""
    out: dict[int, dict[str, np.ndarray]] = {}
    for key, v in state.items():
        if key in _IGNORED:
            a = _as_array(key, v)
            if key == "pos_embed.W_pos" and np.any(a != 0):
                raise WeightsError("pos_embed.W_pos is nonzero: positional embeddings are not representable "
                                   "(prompts enter the residual stream directly)")
            continue
        if any(part.startswith("ln") or "norm" in part for part in key.lower().split(".")):
            raise WeightsError(f"{key}: layer norms are not representable in the engine")
        for pat in _KEY_PATTERNS:
            m = pat.match(key)
            if m:
                g = m.groups()
                layer, part, name = (int(g[0]), g[1], g[2]) if pat is _KEY_PATTERNS[0] else (int(g[1]), g[0], g[2])
                if (part == "attn" and name not in ATTN_BLOCKS + ATTN_BIASES + ("IGNORE", "mask")) or (
                        part == "mlp" and name not in MLP_BLOCKS):
                    raise WeightsError(f"{key}: unknown weight {name!r} (expected {ATTN_BLOCKS + ATTN_BIASES} or "
                                       f"{MLP_BLOCKS})")
                if name in ("IGNORE", "mask"):
                    break
                out.setdefault(layer, {})[f"{part}.{name}"] = _as_array(key, v)
                break
        else:
            raise WeightsError(f"{key}: not a weight of this layout (expected blocks.{{l}}.attn.W_Q, ...)")
    if not out:
        raise WeightsError("no attention or MLP weights found (expected keys blocks.{l}.attn.W_Q, ...)")
    missing = [l for l in range(max(out) + 1) if l not in out]
    if missing:
        raise WeightsError(f"block {missing[0]} is missing (blocks 0..{max(out)} expected)")
    return out


def _attn_scale(conv: Conventions, d_head: int) -> float:
    s = conv.attn_scale
    if s == "sqrt_d_head":
        return math.sqrt(d_head)
    try:
        v = float(Fraction(s)) if not isinstance(s, float) else s
    except (TypeError, ValueError):
        raise WeightsError(f"attn_scale {s!r}: expected a number or 'sqrt_d_head'") from None
    if not v > 0:
        raise WeightsError(f"attn_scale must be positive, got {s!r}")
    return v


def _attention_layer(l: int, w: dict[str, np.ndarray], conv: Conventions, lc: LayerConvention,
                     d_model: int) -> tuple[Attention, dict[str, Any]]:
    for name in ATTN_BLOCKS:
        if f"attn.{name}" not in w:
            raise WeightsError(f"blocks.{l}.attn.{name} is missing")
    Q, K, V, O = (w[f"attn.{n}"] for n in ATTN_BLOCKS)
    for n, a in zip(ATTN_BLOCKS, (Q, K, V, O)):
        if a.ndim != 3:
            raise WeightsError(f"blocks.{l}.attn.{n} must be [n_heads, ., .], got shape {a.shape}")
    heads = {n: a.shape[0] for n, a in zip(ATTN_BLOCKS, (Q, K, V, O))}
    if len(set(heads.values())) != 1:
        raise WeightsError(f"blocks.{l}.attn: head counts disagree ({', '.join(f'{k} {v}' for k, v in heads.items())})")
    H = Q.shape[0]
    if conv.n_heads is not None and H != conv.n_heads:
        raise WeightsError(f"blocks.{l}.attn.W_Q has {H} heads, the model declares n_heads = {conv.n_heads}")
    if conv.orientation == "tl":  # [H, D, dh] -> engine (dh, D); W_O [H, dh, D] -> (D, dh)
        Q, K, V, O = (np.swapaxes(a, 1, 2) for a in (Q, K, V, O))
    elif conv.orientation != "columns":
        raise WeightsError(f"orientation {conv.orientation!r}: expected 'tl' or 'columns'")
    for n, a in (("W_Q", Q), ("W_K", K), ("W_V", V)):
        if a.shape[2] != d_model:
            raise WeightsError(f"blocks.{l}.attn.{n} reads {a.shape[2]} coordinates, the stream has {d_model} "
                               f"(orientation {conv.orientation!r}?)")
    if O.shape[1] != d_model or O.shape[2] != V.shape[1]:
        raise WeightsError(f"blocks.{l}.attn.W_O has shape {O.shape} in engine orientation, expected "
                           f"[{H}, {d_model}, {V.shape[1]}]")
    if Q.shape[1] != K.shape[1]:
        raise WeightsError(f"blocks.{l}.attn: W_Q and W_K disagree on d_head ({Q.shape[1]} vs {K.shape[1]})")
    for b in ATTN_BIASES:
        bias = w.get(f"attn.{b}")
        if bias is not None and np.any(bias != 0):
            raise WeightsError(f"blocks.{l}.attn.{b} is nonzero: the engine's attention has no biases")
    if lc.score not in SCORES:
        raise WeightsError(f"layer {l}: score {lc.score!r} is not one of {SCORES}")
    root = _attn_scale(conv, Q.shape[1])
    Qs = Q / root  # the source divides every score by attn_scale: fold it into W_Q
    notes = {}
    if root != 1 and not (math.frexp(root)[0] == 0.5):
        notes["inexact"] = f"attn_scale {root} is not a power of two: W_Q / attn_scale is rounded"
    hs = tuple(Head(W_Q=Qs[h], W_K=K[h], W_V=V[h], W_O=O[h]) for h in range(H))
    scale = None if lc.scale is None else Fraction(lc.scale)
    layer = Attention(heads=hs, score=lc.score, key_mask=lc.mask_for(conv.n_ctx), causal=bool(lc.causal),
                      scale=scale, empty_query="zero" if lc.score == "softmax" else "error")
    return layer, {"W_Q": Qs, "W_K": K, "W_V": V, "W_O": O, **notes}


def _mlp_layer(l: int, w: dict[str, np.ndarray], lc: LayerConvention, d_model: int) -> MLP:
    for name in ("W_in", "W_out"):
        if f"mlp.{name}" not in w:
            raise WeightsError(f"blocks.{l}.mlp.{name} is missing")
    W_in, W_out = w["mlp.W_in"], w["mlp.W_out"]
    if W_in.ndim != 2 or W_in.shape[0] != d_model or W_out.shape != (W_in.shape[1], d_model):
        raise WeightsError(f"blocks.{l}.mlp: W_in {W_in.shape}, W_out {W_out.shape} do not fit d_model = {d_model}")
    act = lc.mlp_activation or "relu"
    if act not in ("relu", "identity"):
        raise WeightsError(f"blocks.{l}.mlp: activation {act!r} is not representable (relu or identity)")
    b_in, b_out = w.get("mlp.b_in"), w.get("mlp.b_out")
    return MLP(W_in=W_in.T, W_out=W_out.T, b_in=b_in, b_out=b_out, activation=act)


def _d_model(groups: dict[int, dict[str, np.ndarray]], conv: Conventions) -> int:
    for l in sorted(groups):
        w = groups[l]
        if "attn.W_Q" in w and w["attn.W_Q"].ndim == 3:
            return w["attn.W_Q"].shape[1] if conv.orientation == "tl" else w["attn.W_Q"].shape[2]
        if "mlp.W_in" in w and w["mlp.W_in"].ndim == 2:
            return w["mlp.W_in"].shape[0]
    raise WeightsError("cannot tell d_model: no W_Q or W_in")


def import_state_dict(state: Mapping[str, Any], conv: Conventions, source: str = "state dict") -> Imported:
    """The engine transformer of a classic TransformerLens state dict (or our
    PyTorch twin's); ``conv`` supplies what the arrays do not say."""
    if not isinstance(state, Mapping):
        raise WeightsError(f"expected a state dict (a mapping of names to arrays), got {type(state).__name__}")
    groups = _group(state)
    d_model = _d_model(groups, conv)
    n_layers = len(groups)
    layers: list[Any] = []
    blocks: list[dict[str, Any]] = []
    notes: list[str] = []
    for l in range(n_layers):
        w, lc = groups[l], conv.layer(l, n_layers)
        has_attn = any(k.startswith("attn.") for k in w)
        if has_attn:
            layer, raw = _attention_layer(l, w, conv, lc, d_model)
            if "inexact" in raw:
                notes.append(f"layer {l}: {raw.pop('inexact')}")
            if any(np.any(raw[n] != 0) for n in ("W_V", "W_O")) or lc.score == "softmax":
                layers.append(layer)
                blocks.append({"kind": "attention", "layer": len(layers) - 1, "block": l, **raw})
        if any(k.startswith("mlp.") for k in w):
            m = _mlp_layer(l, w, lc, d_model)
            if np.any(m.W_in != 0) and np.any(m.W_out != 0) or np.any(m.b_out if m.b_out is not None else 0):
                layers.append(m)
                blocks.append({"kind": "mlp", "layer": len(layers) - 1, "block": l})
    coords = conv.coordinates or tuple(f"r:{k}" for k in range(d_model))
    if len(coords) != d_model:
        raise WeightsError(f"conventions name {len(coords)} coordinates, the stream has {d_model}")
    readout = None
    if conv.readout is not None:
        vec, col = conv.readout
        if len(vec) != d_model:
            raise WeightsError(f"read-out vector has {len(vec)} entries, the stream has {d_model}")
        readout = Readout(vector=np.asarray(vec, dtype=object), column=col % conv.n_ctx)
    model = Transformer(tuple(layers), tuple(coords), readout, name=conv.name or source)
    return Imported(model, source, conv, blocks, notes)


# ---------------------------------------------------------------------------
# sources: .npz, torch files and modules, TransformerLens
# ---------------------------------------------------------------------------


def save_npz(path: str | Path, state: Mapping[str, Any], conv: Conventions) -> None:
    """Write ``state`` and ``conv`` as the documented .npz layout (atomically)."""
    path = Path(path)
    arrays = {k: _as_array(k, v) for k, v in state.items()}
    if "conventions" in arrays:
        raise WeightsError("'conventions' is reserved for the JSON entry")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, conventions=np.array(json.dumps(conv.to_json(), sort_keys=True)), **arrays)
    tmp.replace(path)


def load_npz(path: str | Path) -> Imported:
    """Import a .npz written in the documented layout (numpy only)."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such file") from None
    except Exception as exc:  # not an npz/npy file at all
        raise WeightsError(f"{path} is not a .npz weight file ({type(exc).__name__})") from None
    if not hasattr(data, "files"):
        raise WeightsError(f"{path} is a single .npy array, not a .npz weight file")
    if "conventions" not in data.files:
        raise WeightsError(f"{path}: no 'conventions' entry (see docs/conform.md for the .npz layout)")
    try:
        doc = json.loads(str(data["conventions"]))
    except (ValueError, TypeError):
        raise WeightsError(f"{path}: the 'conventions' entry is not JSON") from None
    conv = Conventions.from_json(doc)
    state = {k: data[k] for k in data.files if k != "conventions"}
    return import_state_dict(state, conv, source="npz")


def import_module(module: Any, conv: Conventions) -> Imported:
    """A ``torch.nn.Module``: its state dict in either supported layout."""
    sd = getattr(module, "state_dict", None)
    if sd is None:
        raise WeightsError(f"{type(module).__name__} has no state_dict(): not a torch module")
    return import_state_dict(dict(sd()), conv, source="nn.Module")


def load_torch_file(path: str | Path, conv: Conventions) -> Imported:
    """A ``torch.save``d state dict (or module).  Needs torch."""
    try:
        import torch
    except ImportError:
        raise WeightsError("reading a torch file needs torch: pip install torch==2.13.0 (or use the .npz layout)") from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such file") from None
    except Exception as exc:
        raise WeightsError(f"{path} is not a torch weight file ({type(exc).__name__})") from None
    if hasattr(obj, "state_dict"):
        return import_module(obj, conv)
    return import_state_dict(obj, conv, source="torch state dict")


def lens_major_version() -> int:
    from importlib.metadata import version

    return int(version("transformer-lens").split(".")[0])


def import_lens(model: Any, layers: Sequence[LayerConvention] | None = None, n_ctx: int | None = None,
                coordinates: Sequence[str] | None = None) -> Imported:
    """A TransformerLens 4.x model (``TransformerBridge`` built natively, or
    any object with ``cfg`` and a classic ``state_dict``).  The config gives
    d_head, n_heads, the score scale (√d_head unless ``use_attn_scale`` is off),
    causality (``attention_dir``) and the activation; TransformerLens
    attention is softmax, so ``layers`` may say otherwise only for a model
    whose patterns are overridden by hooks (as our exports' are)."""
    major = lens_major_version()
    if major < 4:
        raise WeightsError(f"TransformerLens {major}.x is not supported (tested with 4.x): "
                           "pip install 'transformer-lens>=4.3,<5', or save the state dict and import that")
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        raise WeightsError(f"{type(model).__name__} has no cfg: not a TransformerLens model")
    state = lens_classic_state_dict(model)
    causal = getattr(cfg, "attention_dir", "causal") == "causal"
    act = getattr(cfg, "act_fn", "relu")
    if getattr(cfg, "normalization_type", None) not in (None, "None"):
        raise WeightsError(f"normalization_type {cfg.normalization_type!r}: layer norms are not representable")
    # 4.x divides every score by √d_head (even with use_attn_scale off); a positive cfg.attn_scale overrides it
    # (-1 is the config's "unset")
    attn_scale: Any = "sqrt_d_head"
    given = getattr(cfg, "attn_scale", None)
    if given is not None and float(given) > 0 and float(given) != math.sqrt(cfg.d_head):
        attn_scale = float(given)
    if layers is None:
        layers = (LayerConvention(score="softmax", key_mask="all", causal=causal,
                                  mlp_activation=None if getattr(cfg, "attn_only", False) else act),)
    conv = Conventions(n_ctx=n_ctx or int(cfg.n_ctx), orientation="tl", attn_scale=attn_scale,
                       layers=tuple(layers), coordinates=tuple(coordinates) if coordinates else None,
                       n_heads=int(cfg.n_heads), name=getattr(cfg, "model_name", "") or "TransformerLens model")
    return import_state_dict(state, conv, source=f"TransformerLens {major}.x")


def lens_classic_state_dict(model: Any) -> dict[str, Any]:
    """The classic ``blocks.{l}.attn.W_Q`` layout of a TransformerLens 4.x model."""
    sd = dict(model.state_dict())
    if any(re.match(r"^blocks\.\d+\.attn\.W_Q$", k) for k in sd):
        return sd
    try:
        from transformer_lens.utilities.tl_checkpoint_conversion import revert_tl_checkpoint  # type: ignore
    except ImportError:
        revert_tl_checkpoint = None
    if revert_tl_checkpoint is not None:
        return dict(revert_tl_checkpoint(sd, model.cfg))
    return _classic_from_bridge(model)


def _classic_from_bridge(model: Any) -> dict[str, Any]:
    """Read W_Q/W_K/W_V/W_O (and the MLP) off a TransformerBridge's blocks."""
    out: dict[str, Any] = {}
    cfg = model.cfg
    for l, block in enumerate(model.blocks):
        attn = block.attn
        for n in ATTN_BLOCKS + ATTN_BIASES:
            t = getattr(attn, n, None)
            if t is None:
                if n in ATTN_BLOCKS:
                    raise WeightsError(f"blocks.{l}.attn.{n} is missing on the TransformerLens model")
                continue
            out[f"blocks.{l}.attn.{n}"] = t
        if not getattr(cfg, "attn_only", False):
            mlp = block.mlp
            for n in MLP_BLOCKS:
                t = getattr(mlp, n, None)
                if t is not None:
                    out[f"blocks.{l}.mlp.{n}"] = t
    return out
