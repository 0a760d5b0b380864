"""Certified inequalities on many drawn instances, with honest ties.

``certify_le(instances, evaluate)`` decides lhs <= rhs on every instance with
arb balls: ``evaluate(inst, prec)`` returns the balls (lhs, rhs) computed at
``prec`` bits.  An instance is

- *certified* when lhs <= rhs holds for every point of the balls (arb's
  comparison means "certainly"),
- *violated* when lhs > rhs certainly (a confirmed counterexample),
- *undecided* when the balls overlap at 128, 512 and 2048 bits: a tie or a
  near-tie (an already converged state, a bound attained).  Undecided
  instances are counted and reported, never counted as passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from transformer_proofs.constructions.arithmetic import arb_precision

PRECISIONS = (128, 512, 2048)




@dataclass
class Tally:
    certified: int = 0
    violated: list[Any] = field(default_factory=list)
    undecided: list[Any] = field(default_factory=list)
    exact_ties: int = 0  # certified instances where rhs − lhs is exactly the ball 0 ± 0
    raised: int = 0  # decided only at a higher precision
    min_margin: float = float("inf")  # smallest certified rhs − lhs (lower end)

    @property
    def total(self) -> int:
        return self.certified + len(self.violated) + len(self.undecided)

    def summary(self, what: str) -> str:
        s = (f"{what}: certified on {self.certified} of {self.total} instances (arb, {PRECISIONS[0]} bits"
             + (f"; {self.raised} needed up to {PRECISIONS[-1]} bits" if self.raised else "") + ")")
        if self.exact_ties:
            s += f"; {self.exact_ties} of them exact equalities (ties, e.g. fixed points)"
        if self.undecided:
            s += f"; {len(self.undecided)} undecided ties/near-ties (balls overlap at {PRECISIONS[-1]} bits, not counted as passes)"
        if self.violated:
            s += f"; {len(self.violated)} certainly violated"
        if self.certified > self.exact_ties:
            s += f"; smallest certified margin {self.min_margin:.3g}"
        return s


def certify_le(instances: Iterable[Any], evaluate: Callable[[Any, int], tuple[Any, Any]],
               stop_at_violation: bool = False) -> Tally:
    tally = Tally()
    for inst in instances:
        for k, prec in enumerate(PRECISIONS):
            with arb_precision(prec):
                lhs, rhs = evaluate(inst, prec)
                gap = rhs - lhs
                if gap >= 0:
                    tally.certified += 1
                    tally.raised += k > 0
                    if gap.is_zero():
                        tally.exact_ties += 1
                    else:
                        tally.min_margin = min(tally.min_margin, float(gap.lower()))
                    break
                if gap < 0:
                    tally.violated.append((inst, lhs, rhs))
                    break
        else:
            tally.undecided.append((inst, lhs, rhs))
        if stop_at_violation and tally.violated:
            break
    return tally
