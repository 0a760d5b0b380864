"""A small transformer engine whose forward pass runs in any number system.

Conventions (as in the papers): **tokens are columns**.  A state is an array
Z of shape (..., D, N): D residual coordinates, N tokens, optional leading
batch axes (float64 only).  A head reads queries q_j = W_Q z_j, keys
k_i = W_K z_i and values v_i = W_V z_i; its scores are S[i, j] = score(k_i, q_j)
with i the key and j the query, so the head's output is

    out[:, j] = W_O Σ_i v_i · a(S)[i, j] · mask[i, j]

with a() the activation (linear, ReLU, exp, softmax over keys, or a kernel)
and mask[i, j] = key_mask[i] · (i <= j if causal).  Masks are always explicit.

Every weight is stored exactly (ints, Fractions, or floats that are read as
the dyadic rationals they are) and converted by the arithmetic at use, so a
float64 run, an exact rational run and a prime-field run are the *same* code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Callable, Literal, Sequence, Union

import numpy as np
from transformer_proofs.constructions import float_attention
from transformer_proofs.constructions.arithmetic import Arithmetic, ErrArray
from transformer_proofs.constructions.memo import remembered

ScoreName = Literal["linear", "relu", "exp", "softmax"]
Kernel = Callable[[Arithmetic, Any, Any], Any]  # (ar, keys (.., dh, N), queries (.., dh, N)) -> (.., N, N)
SCORES: tuple[str, ...] = ("linear", "relu", "exp", "softmax")


class PromptError(ValueError):
    """A prompt or weight of the wrong shape or with non-finite entries."""


def _shape_of(a: Any) -> tuple[int, ...]:
    return tuple(a.shape)


def _finite_scalar(x: Any) -> bool:
    """False only for a value that is certainly NaN or ±inf (ints, Fractions
    and symbols are finite or not numbers at all)."""
    if isinstance(x, (int, Fraction)):
        return True
    try:
        return math.isfinite(float(x))
    except OverflowError:  # a huge exact value: finite
        return True
    except (TypeError, ValueError):  # a free symbol
        return True


_ALWAYS_FINITE = frozenset({int, bool, Fraction})  # the types of exact weights: finite by construction


def frozen_weight(w: Any) -> Any:
    """``w`` as the model keeps it: a read-only array of its own.  A model is a
    snapshot of its weights when it is built: a caller who later changes the
    array it passed (a training loop updating W in place) changes neither the
    model nor a conversion the number systems remember for that weight."""
    if not isinstance(w, np.ndarray) or (not w.flags.writeable and w.base is None):
        return w
    own = w.copy()
    own.flags.writeable = False
    return own


def _freeze_fields(obj: Any, names: tuple[str, ...]) -> None:
    for name in names:
        object.__setattr__(obj, name, frozen_weight(getattr(obj, name)))


def check_finite(name: str, w: Any) -> None:
    """Refuse a weight or parameter (η, β, α, λ, a bias, a read-out) with a NaN
    or infinite entry, naming it: no number system computes with those."""
    if w is None or callable(w):
        return
    a = w if isinstance(w, np.ndarray) else np.asarray(w, dtype=object)
    if a.dtype.kind in "fc":
        ok = bool(np.isfinite(a).all())
    elif a.dtype.kind in "iub" or set(map(type, a.flat)) <= _ALWAYS_FINITE:  # exact weights: no per-entry test
        ok = True
    else:
        ok = all(_finite_scalar(x) for x in a.flat)
    if not ok:
        raise PromptError(f"{name} has a non-finite entry (NaN or inf): a non-finite weight or parameter "
                          "(step size η, inverse temperature β, α, λ, ...)")


def _check_matrix(name: str, w: Any, rows: int | None = None, cols: int | None = None) -> None:
    shape = _shape_of(np.asarray(w) if not hasattr(w, "shape") else w)
    if len(shape) != 2:
        raise PromptError(f"{name} must be a matrix, got shape {shape}")
    if rows is not None and shape[0] != rows:
        raise PromptError(f"{name} has {shape[0]} rows, expected {rows} (shape {shape})")
    if cols is not None and shape[1] != cols:
        raise PromptError(f"{name} has {shape[1]} columns, expected {cols} (shape {shape})")


@dataclass(frozen=True)
class Head:
    """One attention head, weights acting on columns (TransformerLens stores
    their transposes: W_Q^TL = W_Q.T, shape [d_model, d_head])."""

    W_Q: np.ndarray  # (d_head, d_model)
    W_K: np.ndarray  # (d_head, d_model)
    W_V: np.ndarray  # (d_value, d_model)
    W_O: np.ndarray | None = None  # (d_model_out, d_value); None means identity
    # This head's own score ("linear", "relu", "exp", "softmax" or a kernel
    # callable); None means the layer's.  Lets one layer sum heads of different
    # kernels (multi-head functional GD).
    score: Any = None

    def __post_init__(self) -> None:
        _freeze_fields(self, ("W_Q", "W_K", "W_V", "W_O"))
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            check_finite(name, getattr(self, name))

    def validate(self, d_model: int, kernel: bool) -> None:
        _check_matrix("W_Q", self.W_Q, cols=d_model)
        _check_matrix("W_K", self.W_K, cols=d_model)
        _check_matrix("W_V", self.W_V, cols=d_model)
        if not kernel and self.W_Q.shape[0] != self.W_K.shape[0]:
            raise PromptError(f"W_Q {self.W_Q.shape} and W_K {self.W_K.shape} disagree on d_head")
        if self.W_O is not None:
            _check_matrix("W_O", self.W_O, cols=self.W_V.shape[0])


@dataclass(frozen=True)
class Attention:
    """A multi-head attention layer.

    ``score`` is "linear" (S = KᵀQ), "relu", "exp", "softmax" (normalised over
    the unmasked keys of each query), or a kernel callable.  ``scale``
    multiplies the sum over keys (the papers' 1/n); ``key_mask`` (length N,
    0/1) says which tokens serve as keys and values; ``causal`` adds i <= j.
    ``residual`` is "add" (Z + out) or "concat" (stack [Z; out], the
    disentangled stream); ``names`` names the appended coordinates."""

    heads: tuple[Head, ...]
    score: Union[ScoreName, Kernel]
    key_mask: np.ndarray
    causal: bool = False
    scale: Fraction | int | None = None
    residual: Literal["add", "concat"] = "add"
    names: tuple[str, ...] = ()
    # A softmax query with no unmasked key: "error" (default) refuses it;
    # "zero" gives that query the empty sum, an output column of 0.
    empty_query: Literal["error", "zero"] = "error"

    def __post_init__(self) -> None:
        _freeze_fields(self, ("key_mask",))
        check_finite("the attention scale", self.scale)

    def out_dim(self, d_model: int) -> int:
        h = self.heads[0]
        d_out = h.W_O.shape[0] if h.W_O is not None else h.W_V.shape[0]
        return d_model + d_out if self.residual == "concat" else d_model


@dataclass(frozen=True)
class MLP:
    """Z + W_out act(W_in Z + b_in) + b_out, act = ReLU or identity."""

    W_in: np.ndarray  # (hidden, d_model)
    W_out: np.ndarray  # (d_model, hidden)
    b_in: np.ndarray | None = None  # (hidden,)
    b_out: np.ndarray | None = None  # (d_model,)
    activation: Literal["relu", "identity"] = "relu"

    def __post_init__(self) -> None:
        _freeze_fields(self, ("W_in", "W_out", "b_in", "b_out"))
        for name in ("W_in", "W_out", "b_in", "b_out"):
            check_finite(f"MLP {name}", getattr(self, name))

    def out_dim(self, d_model: int) -> int:
        return d_model


Layer = Union[Attention, MLP]


@dataclass(frozen=True)
class Readout:
    """prediction = Σ_r vector[r] · Z[r, column] (the paper's read-out entry)."""

    vector: np.ndarray  # (D_final,)
    column: int

    def __post_init__(self) -> None:
        _freeze_fields(self, ("vector",))
        check_finite("the read-out vector", self.vector)


@dataclass(frozen=True)
class Transformer:
    """A stack of layers over a residual stream with named coordinates."""

    layers: tuple[Layer, ...]
    coordinates: tuple[str, ...]  # names of the input residual coordinates
    readout: Readout | None = None
    name: str = ""

    @property
    def d_model(self) -> int:
        return len(self.coordinates)

    def stream_names(self) -> list[tuple[str, ...]]:
        """Coordinate names after each layer (concat layers append theirs)."""
        names = [self.coordinates]
        for layer in self.layers:
            cur = names[-1]
            if isinstance(layer, Attention) and layer.residual == "concat":
                extra = layer.names or tuple(f"L{len(names)}:{k}" for k in range(layer.out_dim(len(cur)) - len(cur)))
                cur = cur + tuple(extra)
            names.append(cur)
        return names

    def with_layers(self, layers: Sequence[Layer]) -> "Transformer":
        return replace(self, layers=tuple(layers))


# ---------------------------------------------------------------------------
# forward pass
# ---------------------------------------------------------------------------


def attention_pattern(ar: Arithmetic, layer: Attention, head: Head, Z: Any) -> Any:
    """The (.., N_keys, N_queries) weights a(S)·mask of one head (before the
    value sum and before ``scale``)."""
    N = Z.shape[-1]
    mask = attention_mask(layer.key_mask, N, layer.causal)
    score = head_score(layer, head)
    Q = ar.matmul(ar.weight(head.W_Q), Z)  # (.., d_head, N)
    K = ar.matmul(ar.weight(head.W_K), Z)  # (.., d_head, N)
    if callable(score):
        S = score(ar, K, Q)  # (.., N, N)
    else:
        S = ar.matmul(ar.T(K), Q)  # (.., N, N): S[i, j] = <k_i, q_j>
    if callable(score) or score == "linear":
        return ar.apply_mask(S, mask)
    if score == "relu":
        return ar.apply_mask(ar.relu(S), mask)
    if score == "exp":
        return ar.apply_mask(ar.exp(ar.apply_mask(S, mask)), mask)
    if score == "softmax":
        shift = ar.softmax_shift(S, mask)
        shifted = ar.apply_mask(S if shift is None else S - shift, mask)
        E = ar.apply_mask(ar.exp(shifted), mask)  # (.., N, N)
        total = ar.sum(E, axis=-2)  # (.., N): normaliser of each query
        empty = (mask.sum(axis=0) == 0).astype(int)  # (N,): queries without a key (E is 0 there)
        if empty.any():
            total = total + ar.array(empty)  # divide 0 by 1: the empty sum
        return E / total[..., None, :]
    raise PromptError(f"unknown attention score {score!r}; expected one of {SCORES} or a kernel callable")


def head_score(layer: Attention, head: Head) -> Any:
    """The score of ``head``: its own if set, else its layer's."""
    return layer.score if head.score is None else head.score


_MASKS: dict[Any, Any] = {}  # (id(key_mask), (N, causal)) -> (weak ref, mask): see constructions.memo


def attention_mask(key_mask: np.ndarray, N: int, causal: bool) -> np.ndarray:
    """mask[i, j] = key_mask[i] · [i <= j if causal]: may key i serve query j.

    A new array each call; made once per key-mask array, N and causality
    (every layer of every forward pass asks for it; key masks, like weights,
    are never changed in place: a mutant's is a new array)."""
    if not isinstance(key_mask, np.ndarray):
        return _attention_mask(key_mask, N, causal)
    return remembered(_MASKS, key_mask, (N, causal), lambda: _attention_mask(key_mask, N, causal)).copy()


def _attention_mask(key_mask: Any, N: int, causal: bool) -> np.ndarray:
    km = np.asarray(key_mask)
    if km.shape != (N,):
        raise PromptError(f"key_mask has shape {km.shape}, but the prompt has {N} tokens")
    if not ((km == 0) | (km == 1)).all():  # (not np.isin: this runs once per layer and forward)
        raise PromptError("key_mask entries must be 0 or 1")
    mask = np.repeat(km.astype(int)[:, None], N, axis=1)  # (N_keys, N_queries)
    if causal:
        mask = mask * np.triu(np.ones((N, N), dtype=int))  # i <= j
    return mask


def associates(layer: Attention, head: Head, N: int) -> bool:
    """Is this head computed as (V·Kᵀ)·Q, and is that the cheaper order?

    Linear attention without a kernel and without a causal mask is bilinear
    in (keys, queries): Σ_i v_i (k_iᵀ q_j) m_i = (Σ_i m_i v_i k_iᵀ) q_j, so the
    (d_value × d_head) matrix V_M K_Mᵀ over the n_k unmasked keys replaces the
    N × N score matrix.  Costs in multiplications: d_v·d_h·(n_k + N)
    associated, (d_h + d_v)·n_k·N as scores; the engine takes the smaller
    (ties: the scores, as written in the papers)."""
    if callable(head_score(layer, head)) or head_score(layer, head) != "linear" or layer.causal:
        return False
    n_k = int(np.count_nonzero(np.asarray(layer.key_mask)))
    if n_k == 0 or np.shape(layer.key_mask) != (N,):
        return False  # no key (the empty sum) or a bad mask: the scores path says so
    d_h, d_v = head.W_Q.shape[0], head.W_V.shape[0]
    return d_v * d_h * (n_k + N) < (d_h + d_v) * n_k * N


def linear_head_associated(ar: Arithmetic, layer: Attention, head: Head, Z: Any) -> Any:
    """One linear head as W_O (V_M K_Mᵀ) Q: linear in the number of tokens.

    The key mask is applied structurally, by taking the n_k key columns of Z
    (a 0/1 mask multiplies exactly, so the value is the same in every number
    system; float64 rounds in this order and the running error bound of
    Float64Bounded follows it, since it is propagated operation by operation)."""
    keys = np.flatnonzero(np.asarray(layer.key_mask))
    if keys[-1] - keys[0] + 1 == len(keys):  # a run of tokens (the context): a view, not a copy
        Z_M = Z[..., int(keys[0]):int(keys[-1]) + 1]  # (.., D, n_k): the tokens that serve as keys
    else:
        Z_M = Z[..., keys]
    return ar.linear_attention(head.W_V, head.W_K, head.W_Q, head.W_O, Z_M, Z)  # (.., d_out, N)


def _float_plan(ar: Arithmetic, layer: Attention, d_model: int, N: int) -> bool:
    """May this layer run through :mod:`~transformer_proofs.constructions.float_attention`:
    a float64 number system, an additive residual, every head linear and
    associated, weights of the right shapes?"""
    if not (float_attention.supports(ar) and layer.residual == "add"
            and all(associates(layer, h, N) for h in layer.heads) and float_attention.plannable(layer)):
        return False
    for head in layer.heads:
        head.validate(d_model, kernel=False)
        d_out = head.W_O.shape[0] if head.W_O is not None else head.W_V.shape[0]
        if d_out != d_model:
            return False  # the general path names the problem
    return True


def apply_attention(ar: Arithmetic, layer: Attention, Z: Any) -> Any:
    d_model, N = Z.shape[-2], Z.shape[-1]
    if not layer.heads:
        raise PromptError("an attention layer needs at least one head")
    mask = attention_mask(layer.key_mask, N, layer.causal)  # validates the key mask on every path (remembered)
    if _float_plan(ar, layer, d_model, N):
        plan = float_attention.layer_plan(layer, d_model, N)
        return Z if plan is None else plan.apply(ar, Z)  # None: no head writes a nonzero
    if (any(head_score(layer, h) == "softmax" for h in layer.heads) and layer.empty_query != "zero"
            and (mask.sum(axis=0) == 0).any()):
        j = int(np.flatnonzero(mask.sum(axis=0) == 0)[0])
        raise PromptError(f"softmax attention: query token {j} has no unmasked key")
    out = None
    for head in layer.heads:
        head.validate(d_model, kernel=callable(head_score(layer, head)))
        if associates(layer, head, N):
            h = linear_head_associated(ar, layer, head, Z)
        else:
            A = attention_pattern(ar, layer, head, Z)  # (.., N, N)
            V = ar.matmul(ar.weight(head.W_V), Z)  # (.., d_value, N)
            h = ar.matmul(V, A)  # (.., d_value, N): Σ_i v_i A[i, j]
            if head.W_O is not None:
                h = ar.matmul(ar.weight(head.W_O), h)  # (.., d_out, N)
        out = h if out is None else out + h
    if layer.scale is not None:
        out = out * ar.const(layer.scale)
    if layer.residual == "concat":
        return ar.concat([Z, out], axis=-2)
    if out.shape[-2] != d_model:
        raise PromptError(f"an additive residual needs head outputs of size {d_model}, got {out.shape[-2]}")
    return Z + out


def apply_mlp(ar: Arithmetic, layer: MLP, Z: Any) -> Any:
    d_model = Z.shape[-2]
    _check_matrix("W_in", layer.W_in, cols=d_model)
    _check_matrix("W_out", layer.W_out, rows=d_model, cols=layer.W_in.shape[0])
    H = ar.matmul(ar.weight(layer.W_in), Z)  # (.., hidden, N)
    if layer.b_in is not None:
        H = H + ar.array(np.asarray(layer.b_in).reshape(-1, 1))
    if layer.activation == "relu":
        H = ar.relu(H)
    elif layer.activation != "identity":
        raise PromptError(f"unknown MLP activation {layer.activation!r}")
    out = ar.matmul(ar.weight(layer.W_out), H)  # (.., d_model, N)
    if layer.b_out is not None:
        out = out + ar.array(np.asarray(layer.b_out).reshape(-1, 1))
    return Z + out


def check_prompt(Z: Any, d_model: int, checked: Any = None) -> None:
    """Shape and finiteness checks for a prompt entering the engine
    (``checked``: the float array already found finite, not scanned again)."""
    shape = tuple(Z.shape)
    if len(shape) < 2:
        raise PromptError(f"a prompt must be (..., D, N), got shape {shape}")
    if shape[-2] != d_model:
        raise PromptError(f"prompt has {shape[-2]} residual coordinates, the transformer expects {d_model}")
    if shape[-1] == 0:
        raise PromptError("a prompt needs at least one token")
    vals = Z.val if isinstance(Z, ErrArray) else Z
    if isinstance(vals, np.ndarray) and vals.dtype.kind == "f" and vals is not checked \
            and not np.isfinite(vals).all():
        raise PromptError("prompt contains NaN or inf")


def forward(ar: Arithmetic, model: Transformer, Z: Any, trace: bool = False, factored: bool = True) -> Any:
    """Run ``model`` on prompt ``Z`` (already in ``ar``'s number system, or
    plain numbers that ``ar.array`` converts).  With ``trace``, return the list
    of states [Z_0, Z_1, ..., Z_L].  In exact arithmetic a model linear in the
    prompt's row space runs factored (:mod:`.factored`: the same values, by
    associativity) when that is cheaper; ``factored=False`` runs it layer by layer."""
    with ar.working_precision():
        if isinstance(Z, np.ndarray) and Z.dtype.kind == "f" and not np.isfinite(Z).all():
            raise PromptError("prompt contains NaN or inf")  # before a conversion sees it
        raw = Z
        if factored and not trace:
            from transformer_proofs.constructions.factored import factored_forward

            out = factored_forward(ar, model, Z)
            if out is not None:
                return out
        Z = ar.array(Z)
        check_prompt(Z, model.d_model, checked=raw if isinstance(raw, np.ndarray) and raw.dtype.kind == "f" else None)
        states = [Z]
        for layer in model.layers:
            if isinstance(layer, Attention):
                Z = apply_attention(ar, layer, Z)
            elif isinstance(layer, MLP):
                Z = apply_mlp(ar, layer, Z)
            else:
                raise PromptError(f"unknown layer type {type(layer).__name__}")
            states.append(Z)
    return states if trace else Z


def read_out(ar: Arithmetic, model: Transformer, Z_final: Any) -> Any:
    """The prediction Σ_r v[r] Z[.., r, column]."""
    if model.readout is None:
        raise PromptError(f"transformer {model.name!r} has no read-out")
    r = model.readout
    col = Z_final[..., :, r.column]  # (.., D)
    v = ar.array(np.asarray(r.vector))
    return ar.sum(col * v, axis=-1)


def predict(ar: Arithmetic, model: Transformer, Z: Any) -> Any:
    return read_out(ar, model, forward(ar, model, Z))


# ---------------------------------------------------------------------------
# prompts and export
# ---------------------------------------------------------------------------


def regression_prompt(X: np.ndarray, y: np.ndarray, x_q: np.ndarray, y_q: Any = 0) -> np.ndarray:
    """Z = [[x_1 … x_n x_q], [y_1 … y_n y_q]] of shape (d+1, n+1).

    X is (n, d) with the examples as rows; works for exact (object) entries
    and for float batches with leading axes: X (..., n, d), y (..., n),
    x_q (..., d)."""
    X, y, x_q = np.asarray(X), np.asarray(y), np.asarray(x_q)
    if X.ndim < 2:
        raise PromptError(f"X must be (n, d) with examples as rows, got shape {X.shape}")
    n, d = X.shape[-2], X.shape[-1]
    if n == 0:
        raise PromptError("a regression prompt needs n >= 1 examples (got n = 0)")
    if d == 0:
        raise PromptError("a regression prompt needs dimension d >= 1")
    if y.shape != X.shape[:-1]:
        raise PromptError(f"y has shape {y.shape}, expected {X.shape[:-1]} (one label per row of X)")
    if x_q.shape != X.shape[:-2] + (d,):
        raise PromptError(f"x_q has shape {x_q.shape}, expected {X.shape[:-2] + (d,)}")
    for name, a in (("X", X), ("y", y), ("x_q", x_q)):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise PromptError(f"{name} contains NaN or inf")
    top = np.concatenate([np.swapaxes(X, -1, -2), x_q[..., :, None]], axis=-1)  # (.., d, n+1)
    yq = np.broadcast_to(np.asarray(y_q, dtype=y.dtype if y.dtype != object else object), X.shape[:-2])
    bottom = np.concatenate([y, yq[..., None]], axis=-1)[..., None, :]  # (.., 1, n+1)
    return np.concatenate([top, bottom], axis=-2)


def context_mask(n: int) -> np.ndarray:
    """M = diag(I_n, 0) as a key mask: the n examples are keys, the query not."""
    return np.array([1] * n + [0])


def export_heads(model: Transformer) -> list[list[dict[str, np.ndarray]]]:
    """Every head's weights in TransformerLens orientation (float64):
    W_Q, W_K, W_V of shape [d_model, d_head], W_O of shape [d_head, d_model].
    A layer's ``scale`` is folded into W_O."""
    out: list[list[dict[str, np.ndarray]]] = []
    for layer in model.layers:
        if not isinstance(layer, Attention):
            out.append([])
            continue
        heads = []
        for h in layer.heads:
            scale = float(layer.scale) if layer.scale is not None else 1.0
            W_O = np.eye(h.W_V.shape[0]) if h.W_O is None else np.asarray(h.W_O, dtype=float)
            heads.append({
                "W_Q": np.asarray(h.W_Q, dtype=float).T,
                "W_K": np.asarray(h.W_K, dtype=float).T,
                "W_V": np.asarray(h.W_V, dtype=float).T,
                "W_O": scale * W_O.T,
            })
        out.append(heads)
    return out
