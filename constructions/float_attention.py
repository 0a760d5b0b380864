"""Linear attention layers in float64, planned once per layer.

A layer whose heads are all computed associated, (V_M K_Mᵀ) Q (see
:func:`~transformer_proofs.constructions.engine.associates`), is turned once
into a :class:`LayerPlan` for the float64 number systems (:class:`Float64`
and :class:`Float64Bounded`): weights converted to doubles once, and their
structure used instead of multiplied out:

- a head coordinate r (a row of W_Q and W_K) whose row is zero in W_Q or in
  W_K adds k_r q_r = 0 to every score: it is dropped;
- a value row that is zero in W_V, or whose column of W_O is zero, adds
  nothing: it is dropped; an output row that is zero adds nothing to the
  residual stream: only the rows some head writes are computed and added;
- a weight whose rows each hold one nonzero entry (a selection, as
  W_K = W_Q = [[I, 0], [0, 0]] of von Oswald et al., or a diagonal such as
  W_O = η I) is applied by indexing the state (and scaling by those entries),
  not by a matrix product; a zero column of a dense weight reads nothing:
  the product runs over the columns it reads;
- the key mask is a slice of the key tokens; the layer's ``scale`` multiplies
  the small (d_out × d_head) matrix W_O V_M K_Mᵀ, not the (D × N) output.

Each dropped term is an exact zero in every number system, so the value is
the layer's value; in float64 it is a different (fewer-term) rounding, and
the running error bound of :class:`Float64Bounded` follows the operations
actually performed, since it is propagated operation by operation
(γ_k with the k that was summed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from transformer_proofs.constructions.arithmetic import (
    SMALLEST_NORMAL_64,
    UNIT_ROUNDOFF_64,
    ErrArray,
    Float64,
    Float64Bounded,
    is_exact_double,
    no_error,
)
from transformer_proofs.constructions.memo import remembered

Index = Any  # a slice (a run of rows/tokens: a view) or an integer array


def _index(rows: np.ndarray) -> Index:
    """Rows as a slice when they are a run (indexing is then a view, not a copy)."""
    rows = np.asarray(rows, dtype=np.intp)
    if rows.size and rows[-1] - rows[0] + 1 == rows.size and np.all(np.diff(rows) == 1):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def _as_float(w: Any) -> tuple[np.ndarray, np.ndarray]:
    """A weight as doubles, and whether each entry is exactly that double
    (decided once per weight, for its nonzero entries: a zero is exact, and a
    nonzero that underflowed to 0.0 is not)."""
    a = np.asarray(w)
    if a.dtype != object:
        f = np.asarray(a, dtype=np.float64)
        return f, np.ones(f.shape, dtype=bool)
    f = a.astype(np.float64)
    exact = np.ones(a.shape, dtype=bool)
    for i in np.flatnonzero(a.ravel() != 0):
        exact.flat[i] = is_exact_double(a.flat[i], float(f.flat[i]))
    return f, exact


@dataclass(frozen=True)
class WeightOp:
    """W acting on the rows of a state, as planned: ``reads`` the state rows
    it reads; ``coef`` (one entry per output row, or None for 1) when each
    row holds one nonzero (a selection), else ``dense`` (output rows × read rows)."""

    reads: Index
    coef: np.ndarray | None = None
    dense: np.ndarray | None = None
    exact: bool = True  # every entry is exactly a double

    @staticmethod
    def of(w: tuple[np.ndarray, np.ndarray]) -> "WeightOp":
        """The op of a weight given as (doubles, exactness) (:func:`_as_float`)."""
        f, exact = w
        nonzero = f != 0
        cols = np.flatnonzero(nonzero.any(axis=0))
        if cols.size == 0:
            raise ValueError("an all-zero weight has no rows to plan")  # callers drop zero rows first
        one_per_row = nonzero.sum(axis=1) == 1
        if bool(one_per_row.all()):
            src = nonzero.argmax(axis=1)
            coef = f[np.arange(f.shape[0]), src]
            ok = bool(exact[np.arange(f.shape[0]), src].all())
            return WeightOp(_index(src), None if bool(np.all(coef == 1.0)) else coef, None, ok)
        return WeightOp(_index(cols), None, np.ascontiguousarray(f[:, cols]), bool(exact[:, cols].all()))

    def apply(self, ar: Any, Z: Any) -> Any:
        """W Z for Z of shape (.., D, M)."""
        part = Z[..., self.reads, :]
        if self.dense is not None:
            return ar.matmul(self._weight(ar, self.dense), part)
        if self.coef is None:
            return part
        return part * self._weight(ar, self.coef[:, None])

    def _weight(self, ar: Any, w: np.ndarray) -> Any:
        if isinstance(ar, Float64Bounded):
            # exact doubles (checked at planning) carry no error; a weight that is not
            # (a Fraction like 1/10) is rounded once: half an ulp of each entry
            err = no_error(w.shape) if self.exact else np.abs(w) * UNIT_ROUNDOFF_64  # normal doubles: plannable()
            return _weight_errarray(w, err)
        return w


def _weight_errarray(w: np.ndarray, err: np.ndarray) -> ErrArray:
    out = ErrArray(w, err)
    out.__dict__["_abs"] = np.abs(w)
    return out


@dataclass(frozen=True)
class HeadPlan:
    V: WeightOp  # the value rows kept
    K: WeightOp  # the head coordinates kept (nonzero in both W_Q and W_K)
    Q: WeightOp
    O: WeightOp | None  # onto the layer's written rows; None: identity (value rows = written rows)


@dataclass(frozen=True)
class LayerPlan:
    heads: tuple[HeadPlan, ...]
    keys: Index  # the key tokens
    rows: Index  # the residual rows some head writes
    scale: Any  # the layer's scale (exact), or None

    def apply(self, ar: Any, Z: Any) -> Any:
        """Z + scale Σ_h W_O (V_M K_Mᵀ) Q on the written rows; Z elsewhere."""
        if isinstance(Z, ErrArray):
            Z.abs()  # |Z| once: every view below (keys, selected rows) carries its slice of it
        Z_M = Z[..., :, self.keys]  # (.., D, n_k)
        out = None
        for h in self.heads:
            VK = ar.matmul(h.V.apply(ar, Z_M), ar.T(h.K.apply(ar, Z_M)))  # (.., d_v, d_h): Σ_i v_i k_iᵀ
            if h.O is not None:
                VK = h.O.apply(ar, VK)  # (.., rows, d_h)
            if self.scale is not None:
                VK = VK * ar.const(self.scale)
            term = ar.matmul(VK, h.Q.apply(ar, Z))  # (.., rows, N)
            out = term if out is None else out + term
        return _add_rows(Z, self.rows, Z[..., self.rows, :] + out)


def _add_rows(Z: Any, rows: Index, new: Any) -> Any:
    """Z with ``rows`` replaced by ``new`` (a new array)."""
    if isinstance(Z, ErrArray):
        val = Z.val.copy()
        val[..., rows, :] = new.val
        if Z.exact and new.exact:
            return ErrArray(val, no_error(val.shape))
        err = np.zeros(val.shape) if Z.exact else Z.err.copy()
        err[..., rows, :] = new.err
        return ErrArray(val, err)
    out = Z.copy()
    out[..., rows, :] = new
    return out


def plan_head(head: Any, rows: np.ndarray | None,
              floats: Callable[[Any], tuple[np.ndarray, np.ndarray]] = _as_float) -> tuple[HeadPlan | None, np.ndarray]:
    """A head's plan onto the written ``rows`` (None: find them); also the rows
    it writes.  ``floats`` converts a weight (:func:`_as_float`, or a memo of it)."""
    (WQ, eQ), (WK, eK), (WV, eV) = (floats(w) for w in (head.W_Q, head.W_K, head.W_V))
    coords = WQ.any(axis=1) & WK.any(axis=1)
    value_rows = WV.any(axis=1)
    if head.W_O is not None:
        WO, eO = floats(head.W_O)
        value_rows &= WO.any(axis=0)
        WO_kept, eO_kept = WO[:, value_rows], eO[:, value_rows]
        writes = np.flatnonzero(WO_kept.any(axis=1)) if value_rows.any() else np.array([], int)
    else:
        writes = np.flatnonzero(value_rows)
    if rows is None:
        return None, writes
    if not coords.any() or not value_rows.any():
        return None, writes  # a head that adds nothing: dropped from the plan
    rows = np.asarray(rows)
    if head.W_O is None:  # identity: value row r is residual row r
        onto = (rows[:, None] == np.flatnonzero(value_rows)[None, :]).astype(np.float64)
        onto_exact = np.ones(onto.shape, dtype=bool)
    else:
        onto, onto_exact = WO_kept[rows], eO_kept[rows]
    identity = onto.shape[0] == onto.shape[1] and bool(np.all(onto == np.eye(len(rows))))
    O = None if identity else WeightOp.of((onto, onto_exact))
    return HeadPlan(WeightOp.of((WV[value_rows], eV[value_rows])), WeightOp.of((WK[coords], eK[coords])),
                    WeightOp.of((WQ[coords], eQ[coords])), O), writes


_PLANS: dict[Any, Any] = {}  # (id(layer), (D, N)) -> (weak ref, plan): see constructions.memo


def layer_plan(layer: Any, D: int, N: int) -> LayerPlan | None:
    """The plan of a linear layer (every head associated, additive residual,
    already validated by the engine), made once per (layer, D, N) and
    remembered while the layer lives.  None when no head writes anything."""
    return remembered(_PLANS, layer, (D, N), lambda: _make_plan(layer))


def _make_plan(layer: Any) -> LayerPlan | None:
    memo: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def floats(w: Any) -> tuple[np.ndarray, np.ndarray]:  # each weight converted once
        if id(w) not in memo:
            memo[id(w)] = _as_float(w)
        return memo[id(w)]

    writes = [plan_head(h, None, floats)[1] for h in layer.heads]
    rows = np.unique(np.concatenate(writes)) if writes else np.array([], int)
    if rows.size == 0:
        return None
    heads = tuple(p for p in (plan_head(h, rows, floats)[0] for h in layer.heads) if p is not None)
    if not heads:
        return None
    keys = _index(np.flatnonzero(np.asarray(layer.key_mask)))
    return LayerPlan(heads, keys, _index(rows), layer.scale)


_NORMAL: dict[Any, Any] = {}  # (id(layer), None) -> (weak ref, bool): see constructions.memo


def plannable(layer: Any) -> bool:
    """Is every nonzero weight entry of ``layer`` a normal double after
    rounding?  The plan reads the sparsity of the doubles and gives an inexact
    entry half an ulp, u·|w|: a nonzero entry that underflowed to 0.0 or to a
    subnormal would be dropped or under-bounded, so such a layer runs the
    general path (whose conversion bounds it, :func:`~transformer_proofs.constructions.arithmetic.rounding_error`)."""
    def normal() -> bool:
        for h in layer.heads:
            for w in (h.W_Q, h.W_K, h.W_V, h.W_O):
                if w is None:
                    continue
                a = np.asarray(w)
                f = np.abs(np.asarray(a, dtype=np.float64))
                if ((a != 0) & (f < SMALLEST_NORMAL_64)).any():
                    return False
        return True

    return remembered(_NORMAL, layer, None, normal)


def supports(ar: Any) -> bool:
    """The number systems this module plans for."""
    return type(ar) in (Float64, Float64Bounded)
