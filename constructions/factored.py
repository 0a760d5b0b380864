"""A factored forward pass for transformers that are linear in the prompt's row space.

When every layer is *linear attention over a key set shared by all queries*
(score "linear", no kernel, no causal mask: a key mask, or none), with an
additive residual, or an MLP with the identity activation and no bias, then
every state is a product

    Z_l = A_l P,     P (D0 × N) the nonzero rows of the prompt, A_l (D × D0),

and a layer acts on A alone.  With keys K (the unmasked tokens) and
G_K = P_K P_Kᵀ (D0 × D0),

    Σ_{i ∈ K} (W_V z_i)(W_K z_i)ᵀ (W_Q z_j) = W_V A G_K Aᵀ W_Kᵀ W_Q A p_j,

so an attention layer maps A ↦ A + scale · Σ_heads W_O W_V A G_K Aᵀ W_Kᵀ W_Q A
and an identity MLP maps A ↦ A + W_out W_in A.  G_K is computed once per key
set; per layer the cost does not grow with N; Z = A P is formed once, at the
end.  This is associativity of matrix products (the same identity as the
engine's (V·Kᵀ)·Q order), so in exact arithmetic (rationals, GF(p)) the result
is the layer-by-layer result entry for entry (tests/test_factored.py, also on
mutated models).  Floating-point and ball arithmetic round or widen
differently in another order, so they never take this path.

Weights are read block by block.  The residual coordinates are cut where a
*block selection* (a weight c·[0 … I … 0], reading or writing one contiguous
run of coordinates, as most Newton and GD weights are) starts or stops.  A
weight's part on a block that is c·I is applied as the scalar c times the
state's block (no product); every other nonzero part is a product with the
part, converted once per weight array and number system; zero parts are
skipped.  Rows of A never written stay selections of the prompt, and their
output rows are the prompt's own entries.

:func:`factored_forward` returns None whenever the model, the prompt or the
number system does not fit (or the layer-by-layer pass is estimated cheaper),
and the engine's :func:`~transformer_proofs.constructions.engine.forward` then
runs the layers one by one (which also reports any malformed input).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import MLP, Attention, Head, PromptError, Transformer, head_score

# One entry converted into or out of a flint matrix (a Python object made or
# read) costs about as much as this many multiply-adds inside a flint product
# (measured with python-flint 0.9: a 128³ nmod_mat product 1.4 ms = 2.1M
# multiply-adds; 16,512 entries out of an nmod_mat 3.2 ms).  Used only to
# choose the cheaper of two exact evaluations.
CONVERT = 200


# ---------------------------------------------------------------------------
# weights: which parts are scalars times the identity
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """The part of a weight on one block of residual coordinates: ``scalar``
    c when the part is c·I, otherwise the sub-matrix ``sub`` (plain numbers)."""

    block: int
    scalar: Any = None
    sub: Any = None


_remembered: dict[tuple[int, str], tuple[Any, Any]] = {}


def _remember(w: Any, key: str, make: Any) -> Any:
    """``make()``, remembered while the array ``w`` lives (weights are not
    changed in place: a mutant is a new array)."""
    slot = (id(w), key)
    hit = _remembered.get(slot)
    if hit is not None and hit[0]() is w:
        return hit[1]
    value = make()
    try:
        _remembered[slot] = (weakref.ref(w, lambda _: _remembered.pop(slot, None)), value)
    except TypeError:  # not weak-referenceable: not remembered
        pass
    return value


def _nonzero(w: Any) -> np.ndarray:
    """Boolean pattern of the exactly nonzero entries (ints, Fractions, field
    elements, floats: their truth value is "≠ 0")."""
    return _remember(w, "nonzero", lambda: np.asarray(w, dtype=object).astype(bool))


def block_selection(w: Any, axis: int) -> tuple[int, int] | None:
    """(start, stop) when ``w`` is c·[0 … I … 0] along the stream axis
    (``axis`` 1: a weight reading the stream, its columns are coordinates; 0: a
    weight writing it), else None."""
    def find() -> tuple[int, int] | None:
        a = np.asarray(w, dtype=object)
        nz = _nonzero(w) if axis == 1 else _nonzero(w).T
        a = a if axis == 1 else a.T
        r = a.shape[0]
        cols = np.flatnonzero(nz.any(axis=0))
        if r == 0 or len(cols) != r or cols[-1] - cols[0] + 1 != r:
            return None
        start = int(cols[0])
        if not np.array_equal(nz[:, start:start + r], np.eye(r, dtype=bool)):
            return None
        diag = a[:, start:start + r].diagonal()
        if any(v != diag[0] for v in diag):
            return None
        return start, start + r
    return _remember(w, f"selection{axis}", find)


def parts(w: Any, axis: int, cuts: tuple[int, ...]) -> tuple[Part, ...]:
    """The nonzero parts of ``w`` on the blocks [cuts[b], cuts[b+1])."""
    def find() -> tuple[Part, ...]:
        a = np.asarray(w, dtype=object)
        nz = _nonzero(w)
        out = []
        for b in range(len(cuts) - 1):
            lo, hi = cuts[b], cuts[b + 1]
            sub, pattern = (a[:, lo:hi], nz[:, lo:hi]) if axis == 1 else (a[lo:hi, :], nz[lo:hi, :])
            if not pattern.any():
                continue
            m = hi - lo
            if sub.shape == (m, m) and np.array_equal(pattern, np.eye(m, dtype=bool)):
                diag = sub.diagonal()
                if all(v == diag[0] for v in diag):
                    out.append(Part(b, scalar=diag[0]))
                    continue
            out.append(Part(b, sub=np.array(sub, dtype=object)))  # a copy: no reference back to w
        return tuple(out)
    return _remember(w, f"parts{axis}{cuts}", find)


# ---------------------------------------------------------------------------
# the model: eligibility and cost
# ---------------------------------------------------------------------------


def _head_weights(head: Head, D: int) -> tuple[Any, Any, Any, Any]:
    W_O = head.W_O if head.W_O is not None else _identity(D)
    return head.W_Q, head.W_K, head.W_V, W_O


_identities: dict[int, np.ndarray] = {}


def _identity(D: int) -> np.ndarray:
    """I_D for a head without W_O (one array per size, so its parts are remembered)."""
    if D not in _identities:
        _identities[D] = np.eye(D, dtype=int).astype(object)
    return _identities[D]


def _keys(layer: Attention, N: int) -> np.ndarray | None:
    km = np.asarray(layer.key_mask)
    if km.shape != (N,) or not np.isin(km, (0, 1)).all() or not km.any():
        return None
    return km.astype(bool)


def _fits(model: Transformer, D: int, N: int) -> bool:
    """Is every layer linear in the row space, with the shapes the engine expects?"""
    if not model.layers:
        return False
    for layer in model.layers:
        if isinstance(layer, Attention):
            if (layer.causal or layer.residual != "add" or not layer.heads or _keys(layer, N) is None):
                return False
            for h in layer.heads:
                score = head_score(layer, h)
                if callable(score) or score != "linear":
                    return False
                try:
                    h.validate(D, kernel=False)
                except PromptError:
                    return False
                d_out = h.W_O.shape[0] if h.W_O is not None else h.W_V.shape[0]
                if d_out != D:
                    return False
        elif isinstance(layer, MLP):
            if layer.activation != "identity" or layer.b_in is not None or layer.b_out is not None:
                return False
            W_in, W_out = np.shape(layer.W_in), np.shape(layer.W_out)
            if len(W_in) != 2 or len(W_out) != 2 or W_in[1] != D or W_out != (D, W_in[0]):
                return False
        else:
            return False
    return True


def _stream_weights(model: Transformer, D: int) -> Iterable[tuple[Any, int]]:
    """Every weight acting on the stream, with its stream axis (1 reads, 0 writes)."""
    for layer in model.layers:
        if isinstance(layer, Attention):
            for h in layer.heads:
                W_Q, W_K, W_V, W_O = _head_weights(h, D)
                yield from ((W_Q, 1), (W_K, 1), (W_V, 1), (W_O, 0))
        else:
            yield from ((layer.W_in, 1), (layer.W_out, 0))


def block_cuts(model: Transformer, D: int) -> tuple[int, ...]:
    """Cut points of the residual coordinates: 0, D and both ends of every block selection."""
    cuts = {0, D}
    for w, axis in _stream_weights(model, D):
        run = block_selection(w, axis)
        if run is not None:
            cuts.update(run)
    return tuple(sorted(cuts))


def _part_cost(w: Any, axis: int, cuts: tuple[int, ...], D0: int) -> int:
    """Multiply-adds of w times a (D × D0) state (or of writing a (r × D0) result)."""
    other = np.shape(w)[0] if axis == 1 else np.shape(w)[1]
    return sum(other * (cuts[p.block + 1] - cuts[p.block]) * D0 for p in parts(w, axis, cuts) if p.sub is not None)


def _core_orders(d_v: int, d_h: int, D0: int) -> tuple[int, int]:
    """Multiply-adds of ((B_V G) B_Kᵀ) B_Q and of B_V (G (B_Kᵀ B_Q))."""
    return (d_v * D0 * D0 + d_v * D0 * d_h + d_v * d_h * D0,
            D0 * d_h * D0 + D0 * D0 * D0 + d_v * D0 * D0)


def factored_cost(model: Transformer, cuts: tuple[int, ...], D: int, D0: int, N: int, key_sets: int) -> int:
    """Estimated cost (multiply-adds; conversions at CONVERT each) of the factored pass."""
    cost = CONVERT * (D0 * N + D * N) + key_sets * D0 * D0 * N + D * D0 * N
    for w, axis in _stream_weights(model, D):
        cost += _part_cost(w, axis, cuts, D0)
    for layer in model.layers:
        if isinstance(layer, Attention):
            cost += sum(min(_core_orders(h.W_V.shape[0], h.W_Q.shape[0], D0)) for h in layer.heads)
    return cost


def layerwise_cost(model: Transformer, D: int, N: int) -> int:
    """A lower estimate of the layer-by-layer pass (linear heads associated,
    each layer converting its state into flint matrices and back)."""
    cost = 0
    for layer in model.layers:
        if isinstance(layer, Attention):
            n_k = int(np.count_nonzero(np.asarray(layer.key_mask)))
            for h in layer.heads:
                d_h, d_v = h.W_Q.shape[0], h.W_V.shape[0]
                cost += (d_v + d_h) * D * n_k + d_v * d_h * n_k + D * d_v * d_h + d_h * D * N + D * d_h * N
                cost += CONVERT * (D * n_k + 2 * D * N)
        else:
            hidden = np.shape(layer.W_in)[0]
            cost += 2 * hidden * D * N + CONVERT * (2 * D * N + 2 * hidden * N)
    return cost


# ---------------------------------------------------------------------------
# the state A, block by block
# ---------------------------------------------------------------------------


class _State:
    """A (D × D0) as row blocks.  A block never written is a selection of
    prompt rows (``picks[r]``: the row of P, or -1 for a zero row) and becomes a
    matrix only when read; a written block is a flint matrix."""

    def __init__(self, ar: Any, cuts: tuple[int, ...], row_of_P: list[int], D0: int) -> None:
        self.ar, self.cuts, self.D0 = ar, cuts, D0
        self.picks = [row_of_P[cuts[b]:cuts[b + 1]] for b in range(len(cuts) - 1)]
        self.mats: list[Any] = [None] * (len(cuts) - 1)

    def size(self, b: int) -> int:
        return self.cuts[b + 1] - self.cuts[b]

    def written(self, b: int) -> bool:
        return self.mats[b] is not None

    def block(self, b: int) -> Any:
        if self.mats[b] is None:
            entries = [0] * (self.size(b) * self.D0)
            for r, c in enumerate(self.picks[b]):
                if c >= 0:
                    entries[r * self.D0 + c] = 1
            self.mats[b] = self.ar.mat(self.size(b), self.D0, entries)
        return self.mats[b]

    def read(self, w: Any, axis_parts: tuple[Part, ...], rows: int, memo: dict[int, Any]) -> Any:
        """w · A (rows × D0)."""
        if id(w) in memo:
            return memo[id(w)]
        out = None
        for p in axis_parts:
            if p.scalar is not None:
                term = self.block(p.block) if p.scalar == 1 else self.block(p.block) * self.ar.scalar(p.scalar)
            else:
                term = _converted(self.ar, p) * self.block(p.block)
            out = term if out is None else out + term
        if out is None:
            out = self.ar.zero_mat(rows, self.D0)
        memo[id(w)] = out
        return out


def _converted(ar: Any, part: Part) -> Any:
    """A part's sub-matrix as a flint matrix of ``ar``, once per part and system."""
    key = (type(ar).__name__, getattr(ar, "p", None))
    cache = _remember(part.sub, "converted", dict)
    if key not in cache:
        cache[key] = ar._to_mat(ar.array(part.sub))
    return cache[key]


def _write(ar: Any, deltas: dict[int, Any], w_parts: tuple[Part, ...], M: Any) -> None:
    """deltas += w · M, block by block."""
    for p in w_parts:
        if p.scalar is not None:
            term = M if p.scalar == 1 else M * ar.scalar(p.scalar)
        else:
            term = _converted(ar, p) * M
        deltas[p.block] = term if p.block not in deltas else deltas[p.block] + term


# ---------------------------------------------------------------------------
# the pass
# ---------------------------------------------------------------------------


def _prompt_rows(ar: Any, Z: np.ndarray) -> tuple[list[int], np.ndarray] | None:
    """The nonzero rows of Z (exact zero test) and those rows in ``ar``'s scalars."""
    rows = [i for i, row in enumerate(Z.tolist()) if any(row)]
    if not rows:
        return None
    nz = Z[rows]
    if Z.dtype == object and set(map(type, nz.ravel().tolist())) <= {ar.scalar_type}:
        return rows, nz  # already this system's scalars: used as they are
    return rows, ar.array(nz)


def factored_forward(ar: Arithmetic, model: Transformer, Z: Any) -> np.ndarray | None:
    """The final state of ``model`` on ``Z`` computed factored (see the module
    docstring), or None when this path does not apply or is estimated dearer
    than the layer-by-layer pass."""
    if not getattr(ar, "exact_matrices", False) or not isinstance(Z, np.ndarray) or Z.ndim != 2:
        return None
    if Z.dtype.kind not in "Oiu":
        return None
    D, N = Z.shape
    if D != model.d_model or N == 0 or not _fits(model, D, N):
        return None
    cuts = block_cuts(model, D)
    key_masks = {np.asarray(layer.key_mask).astype(bool).tobytes() for layer in model.layers
                 if isinstance(layer, Attention)}
    # D0 <= D: the estimate with D0 = D bounds the factored cost before the prompt is scanned
    if factored_cost(model, cuts, D, D, N, len(key_masks)) >= layerwise_cost(model, D, N):
        return None
    found = _prompt_rows(ar, Z)
    if found is None:
        return None
    rows, conv = found
    D0 = len(rows)
    P = ar.mat(D0, N, conv.ravel().tolist())
    row_of_P = [-1] * D
    for i, r in enumerate(rows):
        row_of_P[r] = i
    grams: dict[bytes, Any] = {}

    def gram(keys: np.ndarray) -> Any:
        """G_K = P_K P_Kᵀ: from P Pᵀ minus the few non-keys, or from the keys."""
        tag = keys.tobytes()
        if tag not in grams:
            n_k = int(keys.sum())
            if n_k == N:
                grams[tag] = P * P.transpose()
            elif N - n_k <= n_k:
                full = gram(np.ones(N, dtype=bool))
                P_o = ar.mat(D0, N - n_k, conv[:, ~keys].ravel().tolist())
                grams[tag] = full - P_o * P_o.transpose()
            else:
                P_k = ar.mat(D0, n_k, conv[:, keys].ravel().tolist())
                grams[tag] = P_k * P_k.transpose()
        return grams[tag]

    state = _State(ar, cuts, row_of_P, D0)
    written = [False] * (len(cuts) - 1)
    for layer in model.layers:
        deltas: dict[int, Any] = {}
        memo: dict[int, Any] = {}
        if isinstance(layer, Attention):
            G = gram(_keys(layer, N))
            scale = None if layer.scale is None else ar.scalar(layer.scale)
            for h in layer.heads:
                W_Q, W_K, W_V, W_O = _head_weights(h, D)
                B_Q = state.read(W_Q, parts(W_Q, 1, cuts), W_Q.shape[0], memo)
                B_K = state.read(W_K, parts(W_K, 1, cuts), W_K.shape[0], memo)
                B_V = state.read(W_V, parts(W_V, 1, cuts), W_V.shape[0], memo)
                left, right = _core_orders(W_V.shape[0], W_Q.shape[0], D0)
                if left <= right:
                    M = ((B_V * G) * B_K.transpose()) * B_Q
                else:
                    M = B_V * (G * (B_K.transpose() * B_Q))
                if scale is not None:
                    M = M * scale
                _write(ar, deltas, parts(W_O, 0, cuts), M)
        else:
            H = state.read(layer.W_in, parts(layer.W_in, 1, cuts), np.shape(layer.W_in)[0], memo)
            _write(ar, deltas, parts(layer.W_out, 0, cuts), H)
        for b, delta in deltas.items():
            state.mats[b] = state.block(b) + delta
            written[b] = True
    return _assemble(ar, state, written, Z, rows, conv, P)


def _assemble(ar: Any, state: _State, written: list[bool], Z: np.ndarray, rows: list[int], conv: np.ndarray,
              P: Any) -> np.ndarray:
    """Z_L = A P: written blocks as products, the others copied from the prompt."""
    D, N = Z.shape
    out = np.empty((D, N), dtype=object)
    zero = ar.const(0)
    converted = dict(zip(rows, range(len(rows))))
    for b in range(len(state.cuts) - 1):
        lo, hi = state.cuts[b], state.cuts[b + 1]
        if written[b]:
            flat = np.empty((hi - lo) * N, dtype=object)
            flat[:] = (state.mats[b] * P).entries()
            out[lo:hi] = flat.reshape(hi - lo, N)
            continue
        for r in range(lo, hi):  # unwritten: A's row r is still e_r restricted to the prompt's rows
            if r in converted:
                out[r] = conv[converted[r]]
            else:
                out[r] = zero
    return out
