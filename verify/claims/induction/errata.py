"""Our corrected statements.  The induction family has no erratum of the
paper: its text is not in our corpus, so no printed statement was read, and
none can be shown false.

``induction.bigram_limit`` corrects an earlier statement of *ours*: with every
position a layer-2 key, a root (no parent to copy) copies its own token at
position 0, joins M whenever that token is the query's, and the β₂ → ∞ limit
is not the bigram estimate.  The counterexample is computed by an exhaustive
search in a stated order (smallest T first, sequences in lexicographic
order) and certified in arb; the check reports ``holds`` when it is found
(``counterexample_search(correction=True)``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any, Iterator

import numpy as np
from transformer_proofs.constructions.arithmetic import Rational
from transformer_proofs.constructions.induction_head import causal_graph
from transformer_proofs.verify.algorithms import induction as alg
from transformer_proofs.verify.checkers import counterexample_search
from transformer_proofs.verify.claims.induction.common import column, disentangled, l1_errors, read
from transformer_proofs.verify.claims.induction.instances import SequenceInstance
from transformer_proofs.verify.relations import BOUND
from transformer_proofs.verify.spec import Check, ClaimSpec, Correction

EARLIER_BETA2 = 10
SEARCH = ("S = 2, chains of T − 1 positions with the query token appended (T = 3..6), every sequence in "
          f"lexicographic order, hard layer 1, β₂ = {EARLIER_BETA2}")


def earlier_keys(inst: SequenceInstance, t: int) -> list[int]:
    """The earlier form's M: every j ≤ t (roots included) whose copied token
    (hard layer 1; a root copies the average of j' ≤ j) is exactly e_{s_t}."""
    copies = alg.copied_tokens(Rational(), inst.seq, inst.g, inst.S)[0]
    return [j for j in range(t + 1) if copies[j][int(inst.seq[t])] == 1]


def _queries(inst: SequenceInstance) -> list[int]:
    return [t for t in range(inst.g.T)
            if earlier_keys(inst, t) and alg.conditional_estimate(inst.seq, inst.g, inst.S, t) is not None]


def _earlier_bound(ar: Any, inst: SequenceInstance) -> Any:
    return column(ar, [alg.printed_bound(ar, t + 1, len(earlier_keys(inst, t)), inst.beta2) for t in _queries(inst)])


EARLIER_SPEC: ClaimSpec[SequenceInstance] = ClaimSpec(
    draw=lambda draw, sizes: None,  # searched, not drawn
    build=lambda inst: disentangled(inst, mask_roots=False),
    run=lambda ar, b, inst: l1_errors(ar, read(ar, b, inst), inst, _queries(inst)),
    reference=_earlier_bound, relation=BOUND, sizes={"float64": []}, modes=("ball",))


def candidates() -> Iterator[SequenceInstance]:
    for T in range(3, 7):
        g = causal_graph([None] + list(range(T - 2)) + [None], 1)
        for seq in itertools.product(range(2), repeat=T):
            yield SequenceInstance(g, 2, np.array(seq), EARLIER_BETA2)


def describe(inst: SequenceInstance, lhs: Any, rhs: Any) -> str:
    qs = _queries(inst)
    i = next(k for k in range(len(qs)) if lhs[k] > rhs[k])
    t = qs[i]
    M = earlier_keys(inst, t)
    p_hat = alg.conditional_estimate(inst.seq, inst.g, inst.S, t)
    limit = [Fraction(sum(1 for j in M if inst.seq[j] == b), len(M)) for b in range(inst.S)]
    gap = sum(abs(a - b) for a, b in zip(limit, p_hat))
    return (f"chain of {inst.g.T - 1} positions + query, S=2, s={inst.seq.tolist()}, query t={t} (token {inst.seq[t]}): "
            f"with roots as keys, position 0 copies its own token {inst.seq[0]} and joins M={M} (m={len(M)}) while "
            f"the bigram keys give p̂={[str(v) for v in p_hat]}; at β₂={inst.beta2} ‖ŷ − p̂‖₁ ∈ "
            f"[{float(lhs[i].mid()):.6f} ± {float(lhs[i].rad()):.1g}] certainly exceeds the bound "
            f"{float(rhs[i].mid()):.3g}; as β₂ → ∞, ŷ → {[str(v) for v in limit]} exactly, so the error tends to "
            f"{gap} ≠ 0")


def bigram_correction_check() -> Check:
    return counterexample_search(candidates, EARLIER_SPEC, describe, mode="ball", budget=SEARCH, correction=True)


BIGRAM_CORRECTION = Correction(
    earlier=("(ours, earlier) the construction with every position a layer-2 key satisfies ‖ŷ − p̂‖₁ ≤ "
             "2(T − m)e^{−β₂}/m, M = keys whose copied parent token equals the query token"),
    check="ball",
    why=("a root has no parent to copy: at position 0 it copies its own token, a spurious transition s_0 → s_0; "
         "keeping roots out of the layer-2 keys (key mask = positions with a parent) makes construction and "
         "estimator count the same keys"))
