"""Statements shown false in the fgd family.

No printed statement of Cheng, Chen, Sra is refuted here.  The one failed
statement is ours: our first closed form of the functional-GD iterates,
f_L(x_q) = k_qᵀK⁻¹(I − ∏(I − η_ℓK/n))y for every kernel of the layer, had K
where Kᵀ belongs.  It is registered as our *correction* of ``fgd.closed_form``
(not as an erratum of the paper), its counterexample computed by a check of
that claim."""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from typing import Any, Iterator

import numpy as np
from transformer_proofs.constructions.arithmetic import Rational
from transformer_proofs.verify.checkers import counterexample_search
from transformer_proofs.verify.claims.fgd.claims import (
    CLOSED_SIZES,
    build,
    prediction,
    reference_closed,
)
from transformer_proofs.verify.claims.fgd.instances import FgdInstance, draw_invertible, invertible
from transformer_proofs.verify.spec import Check, ClaimSpec, Context, Correction

EARLIER_KEY = "rational (our earlier form)"

CLOSED_CORRECTION = Correction(
    earlier=("f_L(x_q) = k_qᵀ K⁻¹ (I − ∏_ℓ (I − η_ℓ K/n)) y for every kernel of the layer, the softmax kernel "
             "normalised over the context keys included (our first derivation)"),
    check=EARLIER_KEY,
    why=("with K[i, j] = K(x_i, x_j) and k_q[i] = K(x_i, x_q) the residual obeys R_{ℓ+1} = (I − η_ℓ Kᵀ/n) R_ℓ, so the "
         "closed form needs Kᵀ; our first form had K, which is right exactly when K is symmetric — the softmax kernel, "
         "normalised per query, is not"))

# The earlier form against the construction (model side: the transformer's prediction).
EARLIER_SPEC = ClaimSpec(draw=draw_invertible, build=build, run=prediction,
                         reference=lambda ar, inst: reference_closed(ar, inst, transpose=False),
                         sizes={"float64": CLOSED_SIZES["rational"]})

# The earlier form on symmetric kernel matrices, where it does hold.
SYMMETRIC_SPEC = ClaimSpec(draw=lambda draw, s: draw_invertible(draw, {**s, "kernel": "free"}, symmetric=True),
                           build=build, run=prediction, reference=lambda ar, inst: reference_closed(ar, inst, transpose=False),
                           sizes={"float64": CLOSED_SIZES["rational"][: len(CLOSED_SIZES["rational"]) // 2]})

SEARCH = ("n = 2, L = 2, η_1 = η_2 = 1, d = 1, softmax kernel with symmetric e^{⟨x_i,x_j⟩} values in {1, 2}, labels in "
          "{0, 1}, in lexicographic order; candidates with a singular K are skipped (the closed form needs K invertible)")


def candidates() -> Iterator[FgdInstance]:
    """The smallest instances where the orientation can matter: for L = 1 both
    forms reduce to (η/n) k_qᵀy, so L = 2; n = 2 context keys."""
    ar = Rational()
    zero = np.array([[Fraction(0)], [Fraction(0)]], dtype=object)
    for entries in itertools.product((1, 2), repeat=6):  # symmetric 3 x 3 with these upper entries
        E = np.empty((3, 3), dtype=object)
        for (i, j), v in zip(((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)), entries):
            E[i, j] = E[j, i] = Fraction(v)
        for y in itertools.product((0, 1), repeat=2):
            inst = FgdInstance(1, 2, zero, np.array([Fraction(v) for v in y], dtype=object),
                               np.array([Fraction(0)], dtype=object), [Fraction(1), Fraction(1)], "free-softmax", E)
            if invertible(ar, inst):
                yield inst


def describe(inst: FgdInstance, got: Any, earlier: Any) -> str:
    E = [[int(v) for v in row] for row in inst.G]
    return (f"n=2, L=2, η_1=η_2=1, softmax kernel with e^{{⟨x_i,x_j⟩}} values E={E} (rows: keys x_1, x_2, x_q), "
            f"y={[int(v) for v in inst.y]}: the transformer predicts {got[0, 0]}, our earlier "
            f"k_qᵀK⁻¹(I-(I-K/2)²)y gives {earlier[0, 0]}")


def earlier_form_check() -> Check:
    """Holds when the counterexample to our earlier form is confirmed (and the
    earlier form is confirmed exactly on symmetric kernel matrices)."""
    inner = counterexample_search(candidates, EARLIER_SPEC, describe, "rational", holds_on=SYMMETRIC_SPEC,
                                  holds_where="with symmetric kernel matrices", budget=SEARCH, correction=True)

    # CORE-CANDIDATE: counterexample_search names its check by its mode; a claim
    # that also has a plain rational check needs another key.
    def run(ctx: Context) -> Any:
        return replace(inner(ctx), mode=EARLIER_KEY)

    return Check(EARLIER_KEY, inner.evidence, run)
