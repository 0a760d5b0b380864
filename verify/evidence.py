"""Kinds of evidence: one enumeration (name, strength, words, the ``--mode``
names that select it).

Strength orders what a check that passed shows: a block-matrix lemma with
induction over layers > symbolic (sympy, the sizes tested) > exact
(rationals, or a prime field with its Schwartz–Zippel bound) > certified
(ball arithmetic) > multiprecision > numerical / library / empirical.  Only
checks that passed (``holds``, or ``refuted`` for an erratum) count.

``--mode X`` selects a check when X is the check's own key (``rational``,
``ball (α = 2)``) or one of the selector names of its evidence kind
(``--mode certified`` and ``--mode ball`` select every certified check,
whatever its key).
"""

from __future__ import annotations

from enum import Enum
from typing import Iterable


class Evidence(Enum):
    NUMERICAL = ("numerical", 1, "numerical (float64, derived running-error tolerance)", ("numerical",))
    LIBRARY = ("library", 1, "numerical in PyTorch / TransformerLens (running-error tolerance of the engine)",
               ("library", "torch"))
    EMPIRICAL = ("empirical", 1, "empirical (sampled, with confidence intervals)", ("empirical",))
    MULTIPRECISION = ("multiprecision", 2, "multiprecision (error falls with the working precision)",
                      ("multiprecision", "mpmath"))
    CERTIFIED = ("certified", 3, "certified (ball arithmetic: rigorous enclosures)", ("certified", "ball"))
    EXACT = ("exact", 4, "exact (rational arithmetic, or a prime field with its Schwartz–Zippel bound)", ("exact",))
    SYMBOLIC = ("symbolic", 5, "symbolic (sympy: identically zero for the sizes tested)", ("symbolic",))
    BLOCK_LEMMA = ("block lemma", 6, "block lemma (non-commutative block-matrix algebra + induction over layers, "
                   "on the block form stated in the check)", ("lemma", "block-lemma"))

    def __init__(self, label: str, strength: int, words: str, selectors: tuple[str, ...]) -> None:
        self.label = label
        self.strength = strength
        self.words = words
        self.selectors = selectors

    @classmethod
    def of(cls, label: str) -> Evidence:
        """The kind with this label (what CheckResult and the JSON carry)."""
        for e in cls:
            if e.label == label:
                return e
        raise ValueError(f"unknown kind of evidence {label!r}; known: {', '.join(e.label for e in cls)}")


# Compatibility: the labels' strengths, for callers that rank by label.
EVIDENCE_STRENGTH = {e.label: e.strength for e in Evidence}
PASSED = ("holds", "refuted")


def selector_names() -> set[str]:
    """Every evidence-kind name ``--mode`` accepts."""
    return {s for e in Evidence for s in e.selectors} | {e.label for e in Evidence}


def evidence_rank(evidence: str) -> int:
    """Rank of a kind of evidence (0 for a label no kind has)."""
    return EVIDENCE_STRENGTH.get(evidence, 0)


def strongest_evidence(check_results: Iterable) -> str:
    """The strongest evidence among the checks that passed; "none" if none did.
    Ties keep the first check's kind (the claim's check order)."""
    best, rank = "none", -1
    for r in check_results:
        if r.status in PASSED and evidence_rank(r.evidence) > rank:
            best, rank = r.evidence, evidence_rank(r.evidence)
    return best
