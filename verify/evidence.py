"""Evidence levels (issue 7): which kind of evidence is strongest.

all sizes (symbolic block-matrix lemma + induction) > symbolic (sympy, the
sizes tested) > exact (rationals, or a prime field with its Schwartz–Zippel
bound) > certified (ball arithmetic) > multiprecision > numerical / bound /
empirical.  The ranks are ``verify.registry.EVIDENCE_STRENGTH``; only checks
that passed (``holds``, or ``refuted`` for an erratum) count.
"""

from __future__ import annotations

from typing import Iterable

from transformer_proofs.verify.registry import EVIDENCE_STRENGTH, CheckResult

PASSED = ("holds", "refuted")


def evidence_rank(evidence: str) -> int:
    """Rank of a kind of evidence (0 for a kind the registry does not know)."""
    return EVIDENCE_STRENGTH.get(evidence, 0)


def strongest_evidence(check_results: Iterable[CheckResult]) -> str:
    """The strongest evidence among the checks that passed; "none" if none did.
    Ties keep the first check's kind (the claim's check order)."""
    best, rank = "none", -1
    for r in check_results:
        if r.status in PASSED and evidence_rank(r.evidence) > rank:
            best, rank = r.evidence, evidence_rank(r.evidence)
    return best
