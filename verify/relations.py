"""Relations: what a claim asserts between the model's side and the reference's.

The checkers (:mod:`transformer_proofs.verify.checkers`) are generic over these:
each arithmetic hands a relation the two sides of one instance and gets back a
:class:`Verdict`; the relation alone knows what "holds" means there.

| relation    | exact (Q, GF(p), sympy)  | float64 + running bound            | balls (arb)                      |
|-------------|--------------------------|------------------------------------|----------------------------------|
| Equal       | lhs − rhs == 0           | |lhs − rhs| ≤ err_lhs + err_rhs    | 0 ∈ lhs − rhs (|diff| ≤ radius)  |
| AtMost      | lhs ≤ rhs (Q only)       | lhs + err ≤ rhs − err; tie: undecided | rhs − lhs ≥ 0 certainly      |
| Ranking     | argmax of each row of lhs is the index rhs (unique)              | —                                |

An *undecided* verdict (a float64 or ball inequality too close to call) is
never a pass: the checker escalates the precision where it can and reports
what stays undecided.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import ErrArray


@dataclass(frozen=True)
class Verdict:
    """The outcome of one relation on one instance.

    ``status``: ``holds``, ``fails`` (certainly violated) or ``undecided``;
    ``error``/``tolerance`` at the binding entry (the entry of largest
    error/tolerance ratio), ``margin`` the smallest certified slack of an
    inequality, ``where`` a short text naming the entry."""

    status: str
    error: float | None = None
    tolerance: float | None = None
    margin: float | None = None
    where: str = ""

    @property
    def ratio(self) -> float | None:
        if self.error is None or self.tolerance is None:
            return None
        if self.tolerance > 0:
            return self.error / self.tolerance
        return 0.0 if self.error == 0 else float("inf")


def _flat(a: Any) -> Any:
    if isinstance(a, ErrArray):
        return a.reshape(-1)
    arr = np.asarray(a)
    return np.asarray(a, dtype=object if arr.dtype == object else float).reshape(-1)


def _shape(a: Any) -> tuple[int, ...]:
    return a.val.shape if isinstance(a, ErrArray) else np.shape(a)


def _same_shape(lhs: Any, rhs: Any) -> None:
    if _shape(lhs) != _shape(rhs):
        raise ValueError(f"model side has shape {_shape(lhs)} but the reference side {_shape(rhs)}")


def _as_float(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


class Relation:
    """Base class: a name, words for the report, and one method per arithmetic."""

    name = "relation"
    words = ""

    def exact(self, lhs: Any, rhs: Any) -> Verdict:
        raise NotImplementedError(f"{self.name}: no exact reading")

    def float64(self, lhs: ErrArray, rhs: ErrArray) -> Verdict:
        raise NotImplementedError(f"{self.name}: no float64 reading")

    def multiprecision(self, lhs: Any, rhs: Any, tolerance: float) -> Verdict:
        raise NotImplementedError(f"{self.name}: no multiprecision reading")

    def ball(self, lhs: Any, rhs: Any) -> Verdict:
        raise NotImplementedError(f"{self.name}: no ball reading")

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "words": self.words}


class Equal(Relation):
    """Entry by entry equality of two arrays (the whole state, or the read-out)."""

    name = "equal"
    words = "the model's output equals the reference algorithm's, entry by entry"

    def exact(self, lhs: Any, rhs: Any) -> Verdict:
        _same_shape(lhs, rhs)
        o, e = _flat(lhs), _flat(rhs)
        bad = [i for i, (a, b) in enumerate(zip(o, e)) if not (a - b) == 0]
        if not bad:
            return Verdict("holds", 0.0, 0.0)
        errs = [_as_float(abs(o[i] - e[i])) if _orderable(o[i]) else None for i in bad]
        known = [x for x in errs if x is not None]
        return Verdict("fails", max(known) if known else None, 0.0,
                       where=f"{len(bad)} of {len(o)} entries differ (first: entry {bad[0]})")

    def float64(self, lhs: ErrArray, rhs: ErrArray) -> Verdict:
        o, e = ErrArray.lift(lhs), ErrArray.lift(rhs)
        _same_shape(o, e)
        err = np.abs(o.val - e.val).ravel()
        tol = (o.err + e.err).ravel()
        if not (np.all(np.isfinite(o.val)) and np.all(np.isfinite(e.val))):
            return Verdict("fails", float("inf"), float(tol.max(initial=0.0)), where="a non-finite entry")
        if err.size == 0:
            return Verdict("holds", 0.0, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(tol > 0, err / np.where(tol > 0, tol, 1.0), np.where(err > 0, np.inf, 0.0))
        worst = int(np.argmax(ratio))
        ok = bool(np.all(err <= tol))
        return Verdict("holds" if ok else "fails", float(err[worst]), float(tol[worst]), where=f"entry {worst}")

    def multiprecision(self, lhs: Any, rhs: Any, tolerance: float) -> Verdict:
        _same_shape(lhs, rhs)
        diff = [abs(a - b) for a, b in zip(_flat(lhs), _flat(rhs))]
        err = float(max(diff, default=0))
        return Verdict("holds" if err <= tolerance else "fails", err, tolerance)

    def ball(self, lhs: Any, rhs: Any) -> Verdict:
        _same_shape(lhs, rhs)
        worst_rad, bad = 0.0, None
        for i, (a, b) in enumerate(zip(_flat(lhs), _flat(rhs))):
            g = a - b
            if not g.contains(0):
                bad = i
                break
            worst_rad = max(worst_rad, float(abs(g).upper()))
        if bad is not None:
            return Verdict("fails", None, 0.0, where=f"entry {bad} certainly differs")
        # certified: |exact lhs - exact rhs| <= the enclosure's width
        return Verdict("holds", worst_rad, worst_rad)


def exact_value(x: Any) -> Fraction:
    """An exact ordered value as a Fraction (ints, Fractions, flint's fmpq)."""
    if hasattr(x, "p") and hasattr(x, "q"):
        return Fraction(int(x.p), int(x.q))
    return Fraction(x)


def _orderable(x: Any) -> bool:
    try:
        exact_value(x)
        return True
    except (TypeError, ValueError):
        try:
            float(x)
            return True
        except (TypeError, ValueError):
            return False


class AtMost(Relation):
    """lhs ≤ rhs entry by entry: a bound, an inequality, a descent, a rate.

    ``name`` says which (``bound``, ``inequality``, ``rate``); the arithmetic
    is the same."""

    def __init__(self, name: str = "bound", words: str = "the model's side is at most the bound, entry by entry"):
        self.name = name
        self.words = words

    def exact(self, lhs: Any, rhs: Any) -> Verdict:
        _same_shape(lhs, rhs)
        slack = [exact_value(b) - exact_value(a) for a, b in zip(_flat(lhs), _flat(rhs))]
        worst = min(range(len(slack)), key=lambda i: slack[i]) if slack else 0
        if slack and slack[worst] < 0:
            return Verdict("fails", float(-slack[worst]), 0.0, where=f"entry {worst} exceeds its bound")
        return Verdict("holds", 0.0, 0.0, margin=float(slack[worst]) if slack else None)

    def float64(self, lhs: ErrArray, rhs: ErrArray) -> Verdict:
        o, e = ErrArray.lift(lhs), ErrArray.lift(rhs)
        _same_shape(o, e)
        lo = (e.val - e.err - o.val - o.err).ravel()  # certified slack, lower end
        hi = (e.val + e.err - o.val + o.err).ravel()
        if lo.size == 0:
            return Verdict("holds")
        if np.any(hi < 0):
            i = int(np.argmin(hi))
            return Verdict("fails", float(-hi[i]), 0.0, where=f"entry {i} exceeds its bound beyond rounding")
        if np.all(lo >= 0):
            return Verdict("holds", margin=float(lo.min()))
        return Verdict("undecided", where=f"entry {int(np.argmin(lo))} is within rounding of its bound")

    def ball(self, lhs: Any, rhs: Any) -> Verdict:
        _same_shape(lhs, rhs)
        margin = float("inf")
        for i, (a, b) in enumerate(zip(_flat(lhs), _flat(rhs))):
            gap = b - a
            if gap >= 0:
                margin = min(margin, float(gap.lower()))
            elif gap < 0:
                return Verdict("fails", float(-gap.mid()), 0.0, where=f"entry {i} certainly exceeds its bound")
            else:
                return Verdict("undecided", where=f"entry {i}: the balls overlap")
        return Verdict("holds", margin=margin)


class Ranking(Relation):
    """Row i of the model's side (scores) has its largest entry, uniquely, at
    column rhs[i] (the reference's expected index; -1 for a row not claimed)."""

    name = "ranking"
    words = "the largest entry of each row is, uniquely, the expected one"

    def exact(self, lhs: Any, rhs: Any) -> Verdict:
        scores = np.asarray(lhs, dtype=object)
        for i, want in enumerate(np.asarray(rhs).ravel()):
            if int(want) < 0:
                continue
            row = [exact_value(v) for v in scores[i]]
            others = [v for j, v in enumerate(row) if j != int(want)]
            if others and not row[int(want)] > max(others):
                top = max(range(len(row)), key=lambda j: row[j])
                return Verdict("fails", None, 0.0, where=f"row {i} peaks at {top}, not {int(want)}")
        return Verdict("holds", 0.0, 0.0)


EQUAL = Equal()
BOUND = AtMost("bound")
INEQUALITY = AtMost("inequality", "the left side is at most the right side (e.g. an energy does not increase)")
RATE = AtMost("rate", "the iteration count is at most the stated rate")
RANKING = Ranking()


class Empirical(Relation):
    """A statement about expected values, decided from samples with
    confidence intervals (the claim says which comparison)."""

    name = "empirical"
    words = "a statement about expectations, decided with confidence intervals"
