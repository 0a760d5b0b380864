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
skipped.  The coordinates are also cut around the rows a head or MLP can
change (rows of W_O meeting a nonzero row of W_V): rows of A never written
stay selections of the prompt, their output rows are the prompt's own entries,
and a block selection of them stays an identity, so a product with it is a
scalar multiple.  Each block is kept only on the prompt rows it depends on
(its *support*): a Newton layer is then the two d × d products T·G and
(T·G)·Tᵀ, as one Newton–Schulz step M·S·M.

:func:`factored_forward` returns None whenever the model, the prompt or the
number system does not fit (or the layer-by-layer pass is estimated cheaper),
and the engine's :func:`~transformer_proofs.constructions.engine.forward` then
runs the layers one by one (which also reports any malformed input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import MLP, Attention, Head, PromptError, Transformer, head_score
from transformer_proofs.constructions.memo import remembered

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
    # for a writing weight: which of its columns (the rows of the result it writes) this part reads
    cols: Any = None


_remembered: dict[Any, Any] = {}  # (id(w), key) -> (weak ref, value): see constructions.memo


def _remember(w: Any, key: str, make: Any) -> Any:
    """``make()``, remembered while the array ``w`` lives (weights are not
    changed in place: a mutant is a new array)."""
    return remembered(_remembered, w, key, make)


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
            m, cols = hi - lo, (pattern.any(axis=0) if axis == 0 else None)
            if sub.shape == (m, m) and np.array_equal(pattern, np.eye(m, dtype=bool)):
                diag = sub.diagonal()
                if all(v == diag[0] for v in diag):
                    out.append(Part(b, scalar=diag[0], cols=cols))
                    continue
            out.append(Part(b, sub=np.array(sub, dtype=object), cols=cols))  # a copy: no reference back to w
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
    """The key set as a boolean mask, or None for a malformed or empty mask (the engine reports those)."""
    def find() -> np.ndarray | None:
        km = np.asarray(layer.key_mask)
        if km.ndim != 1 or not ((km == 0) | (km == 1)).all() or not km.any():
            return None
        return km.astype(bool)
    keys = _remember(layer.key_mask, "keys", find)
    return keys if keys is not None and keys.shape == (N,) else None


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


def live_rows(w: Any) -> np.ndarray:
    """Rows of a reading weight that are not zero: the only rows of w·A that can be."""
    return _remember(w, "live", lambda: _nonzero(w).any(axis=1))


def _written_rows(model: Transformer, D: int) -> Iterable[np.ndarray]:
    """Per head and MLP, the stream rows it can change: rows of W_O (W_out)
    with a nonzero entry in a live row of W_V (W_in)."""
    for layer in model.layers:
        pairs = ([(_head_weights(h, D)[3], h.W_V) for h in layer.heads] if isinstance(layer, Attention)
                 else [(layer.W_out, layer.W_in)])
        for W_write, W_read in pairs:
            yield _nonzero(W_write)[:, live_rows(W_read)].any(axis=1)


def block_cuts(model: Transformer, D: int) -> tuple[int, ...]:
    """Cut points of the residual coordinates: 0, D, both ends of every block
    selection, and both ends of the rows a head or MLP changes when they are
    one run (rows never changed stay the prompt's, without a product)."""
    cuts = {0, D}
    for w, axis in _stream_weights(model, D):
        run = block_selection(w, axis)
        if run is not None:
            cuts.update(run)
    for rows in _written_rows(model, D):
        changed = np.flatnonzero(rows)
        if len(changed) and changed[-1] - changed[0] + 1 == len(changed):
            cuts.update((int(changed[0]), int(changed[-1]) + 1))
    return tuple(sorted(cuts))


def _part_cost(w: Any, axis: int, cuts: tuple[int, ...], D0: int) -> int:
    """Multiply-adds of w times a (D × D0) state (or of writing a (r × D0) result)."""
    other = np.shape(w)[0] if axis == 1 else np.shape(w)[1]
    return sum(other * (cuts[p.block + 1] - cuts[p.block]) * D0 for p in parts(w, axis, cuts) if p.sub is not None)


def _core_cost(d_v: int, d_h: int, D0: int) -> int:
    """Multiply-adds of ((B_V G) B_Kᵀ) B_Q with no factor an identity (an upper estimate)."""
    return d_v * D0 * D0 + d_v * D0 * d_h + d_v * d_h * D0


def factored_cost(model: Transformer, cuts: tuple[int, ...], D: int, D0: int, N: int, key_sets: int) -> int:
    """Estimated cost (multiply-adds; conversions at CONVERT each) of the factored pass."""
    cost = CONVERT * (D0 * N + D * N) + key_sets * D0 * D0 * N + D * D0 * N
    for w, axis in _stream_weights(model, D):
        cost += _part_cost(w, axis, cuts, D0)
    for layer in model.layers:
        if isinstance(layer, Attention):
            cost += sum(_core_cost(h.W_V.shape[0], h.W_Q.shape[0], D0) for h in layer.heads)
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
# terms: matrices over a support of prompt rows
# ---------------------------------------------------------------------------


class Ident:
    """c·I, kept symbolic: a product with it is a scalar multiple."""

    __slots__ = ("c",)

    def __init__(self, c: Any) -> None:
        self.c = c


@dataclass
class Term:
    """An (r × D0) matrix that is zero outside the columns ``supp`` (rows of P):
    ``X`` is its (r × len(supp)) restriction, a flint matrix or an :class:`Ident`.
    Block selections of unwritten rows stay identities, so the product with
    them costs nothing."""

    X: Any
    supp: tuple[int, ...]


class _Algebra:
    """Products, sums and restrictions of terms in one exact number system."""

    def __init__(self, ar: Any) -> None:
        self.ar = ar
        self._selections: dict[tuple[tuple[int, ...], tuple[int, ...]], Any] = {}
        self._scalars: dict[Any, Any] = {}

    def const(self, c: Any) -> Any:
        """The weight entry c in this system (each distinct value converted once per pass)."""
        key = (type(c), c)  # by type too: a float equal to a cached Fraction still meets exact_fraction's check
        try:
            return self._scalars[key]
        except KeyError:
            self._scalars[key] = v = self.ar.scalar(c)
            return v
        except TypeError:  # unhashable
            return self.ar.scalar(c)

    def scale(self, X: Any, c: Any) -> Any:
        if isinstance(X, Ident):
            return Ident(X.c * c)
        return X * c

    def mul(self, X: Any, Y: Any) -> Any:
        if isinstance(X, Ident):
            return Y if X.c == 1 else self.scale(Y, X.c)
        if isinstance(Y, Ident):
            return X if Y.c == 1 else X * Y.c
        return X * Y

    def T(self, X: Any) -> Any:
        return X if isinstance(X, Ident) else X.transpose()

    def matrix(self, X: Any, size: int) -> Any:
        if not isinstance(X, Ident):
            return X
        entries = [self.ar.const(0)] * (size * size)
        c = self.ar.scalar(X.c)
        for i in range(size):
            entries[i * size + i] = c
        return self.ar.mat(size, size, entries)

    def embedding(self, supp: tuple[int, ...], into: tuple[int, ...]) -> Any:
        """E (len(supp) × len(into)), 0/1, with X E = X placed on the columns ``into``."""
        key = (supp, into)
        if key not in self._selections:
            where = {c: j for j, c in enumerate(into)}
            entries = [0] * (len(supp) * len(into))
            for i, c in enumerate(supp):
                entries[i * len(into) + where[c]] = 1
            self._selections[key] = self.ar.mat(len(supp), len(into), entries)
        return self._selections[key]

    def widen(self, t: Term, into: tuple[int, ...]) -> Any:
        """t's restriction to the columns ``into`` (a superset of t.supp)."""
        if t.supp == into:
            return t.X
        return self.mul(t.X, self.embedding(t.supp, into)) if not isinstance(t.X, Ident) else \
            self.scale(self.embedding(t.supp, into), self.ar.scalar(t.X.c))

    def add(self, a: Term | None, b: Term | None) -> Term | None:
        if a is None or b is None:
            return b if a is None else a
        if a.supp == b.supp:
            if isinstance(a.X, Ident) and isinstance(b.X, Ident):
                return Term(Ident(a.X.c + b.X.c), a.supp)
            return Term(self.matrix(a.X, len(a.supp)) + self.matrix(b.X, len(b.supp)), a.supp)
        into = tuple(sorted(set(a.supp) | set(b.supp)))
        return Term(self.widen(a, into) + self.widen(b, into), into)

    def submatrix(self, M: Any, rows: tuple[int, ...], cols: tuple[int, ...]) -> Any:
        """M[rows][:, cols] (entries read once and placed)."""
        e, n = M.entries(), M.ncols()
        return self.ar.mat(len(rows), len(cols), [e[i * n + j] for i in rows for j in cols])


# ---------------------------------------------------------------------------
# the state A, block by block
# ---------------------------------------------------------------------------


class _State:
    """A (D × D0) as row blocks, each a :class:`Term` (None: zero rows).  A
    block never written is a selection of prompt rows (``picks[r]``: the row of
    P, or -1 for a zero row); its output rows are the prompt's own."""

    def __init__(self, alg: _Algebra, cuts: tuple[int, ...], row_of_P: list[int]) -> None:
        self.alg, self.cuts = alg, cuts
        self.picks = [row_of_P[cuts[b]:cuts[b + 1]] for b in range(len(cuts) - 1)]
        self.terms: list[Term | None] = [self._initial(p) for p in self.picks]
        self.written = [False] * (len(cuts) - 1)

    def _initial(self, picks: list[int]) -> Term | None:
        supp = tuple(c for c in picks if c >= 0)  # increasing: rows of P in order
        if not supp:
            return None
        if len(supp) == len(picks):
            return Term(Ident(1), supp)
        entries = [0] * (len(picks) * len(supp))
        for r, c in enumerate(picks):
            if c >= 0:
                entries[r * len(supp) + supp.index(c)] = 1
        return Term(self.alg.ar.mat(len(picks), len(supp), entries), supp)

    def read(self, w: Any, axis_parts: tuple[Part, ...], memo: dict[int, Any]) -> Term | None:
        """w · A, None when zero."""
        if id(w) in memo:
            return memo[id(w)]
        alg, out = self.alg, None
        for p in axis_parts:
            t = self.terms[p.block]
            if t is None:
                continue
            if p.scalar is not None:
                X = t.X if p.scalar == 1 else alg.scale(t.X, alg.const(p.scalar))
            else:
                X = alg.mul(_converted(alg.ar, p), t.X)
            out = alg.add(out, Term(X, t.supp))
        memo[id(w)] = out
        return out


def _converted(ar: Any, part: Part) -> Any:
    """A part's sub-matrix as a flint matrix of ``ar``, once per part and system."""
    key = (type(ar).__name__, getattr(ar, "p", None))
    cache = _remember(part.sub, "converted", dict)
    if key not in cache:
        cache[key] = ar._to_mat(ar.array(part.sub))
    return cache[key]


def _write(alg: _Algebra, deltas: dict[int, Term | None], w_parts: tuple[Part, ...], M: Term,
           live: np.ndarray) -> None:
    """deltas += w · M, block by block; ``live`` marks the rows of M that can be
    nonzero, and a part reading none of them adds nothing."""
    for p in w_parts:
        if not (p.cols & live).any():
            continue
        if p.scalar is not None:
            X = M.X if p.scalar == 1 else alg.scale(M.X, alg.const(p.scalar))
        else:
            X = alg.mul(_converted(alg.ar, p), M.X)
        deltas[p.block] = alg.add(deltas.get(p.block), Term(X, M.supp))


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
    alg = _Algebra(ar)
    grams: dict[Any, Any] = {}

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

    def gram_part(keys: np.ndarray, s_v: tuple[int, ...], s_k: tuple[int, ...]) -> Any:
        """G_K restricted to rows s_v and columns s_k."""
        tag = (keys.tobytes(), s_v, s_k)
        if tag not in grams:
            G = gram(keys)
            grams[tag] = G if s_v == s_k == tuple(range(D0)) else alg.submatrix(G, s_v, s_k)
        return grams[tag]

    state = _State(alg, cuts, row_of_P)
    for layer in model.layers:
        deltas: dict[int, Term | None] = {}
        memo: dict[int, Any] = {}
        if isinstance(layer, Attention):
            keys = _keys(layer, N)
            scale = None if layer.scale is None else alg.const(layer.scale)
            for h in layer.heads:
                W_Q, W_K, W_V, W_O = _head_weights(h, D)
                B_Q = state.read(W_Q, parts(W_Q, 1, cuts), memo)
                B_K = state.read(W_K, parts(W_K, 1, cuts), memo)
                B_V = state.read(W_V, parts(W_V, 1, cuts), memo)
                if B_Q is None or B_K is None or B_V is None:
                    continue  # a zero factor: this head adds nothing
                # (W_V A) G (W_K A)ᵀ (W_Q A), on the supports: ((B_V G) B_Kᵀ) B_Q
                G = gram_part(keys, B_V.supp, B_K.supp)
                M = alg.mul(alg.mul(alg.mul(B_V.X, G), alg.T(B_K.X)), B_Q.X)
                if scale is not None:
                    M = alg.scale(M, scale)
                _write(alg, deltas, parts(W_O, 0, cuts), Term(M, B_Q.supp), live_rows(W_V))
        else:
            H = state.read(layer.W_in, parts(layer.W_in, 1, cuts), memo)
            if H is not None:
                _write(alg, deltas, parts(layer.W_out, 0, cuts), H, live_rows(layer.W_in))
        for b, delta in deltas.items():
            if delta is not None:
                state.terms[b] = alg.add(state.terms[b], delta)
                state.written[b] = True
    return _assemble(ar, alg, state, Z, rows, conv, P)


def _assemble(ar: Any, alg: _Algebra, state: _State, Z: np.ndarray, rows: list[int], conv: np.ndarray,
              P: Any) -> np.ndarray:
    """Z_L = A P: written blocks as products, the others copied from the prompt."""
    D, N = Z.shape
    D0 = len(rows)
    out = np.empty((D, N), dtype=object)
    zero = ar.const(0)
    converted = dict(zip(rows, range(D0)))
    for b in range(len(state.cuts) - 1):
        lo, hi = state.cuts[b], state.cuts[b + 1]
        t = state.terms[b]
        if state.written[b] and t is not None:
            X = alg.matrix(alg.widen(t, tuple(range(D0))), hi - lo)
            flat = np.empty((hi - lo) * N, dtype=object)
            flat[:] = (X * P).entries()
            out[lo:hi] = flat.reshape(hi - lo, N)
            continue
        if state.written[b]:  # written, and the writes cancelled: zero rows
            out[lo:hi] = zero
            continue
        for r in range(lo, hi):  # unwritten: A's row r is still e_r restricted to the prompt's rows
            if r in converted:
                out[r] = conv[converted[r]]
            else:
                out[r] = zero
    return out
