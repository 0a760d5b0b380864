"""Run claims' checks and falsifiers; fold them into one status per claim.

A claim's status:
- ``error``   a check raised (reported, never hidden);
- ``fails``   a check failed, or a falsifier was *not* caught (a check that
              cannot fail is a failed check), or an erratum's counterexample
              did not reproduce;
- ``refuted`` an erratum claim whose counterexample is confirmed;
- ``skipped`` every selected check was skipped (with its reason: an optional
              extra that is not installed, a number system without ReLU);
- ``holds``   every selected check holds (``skipped`` checks say why they
              do not apply) and every falsifier is caught.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable

from transformer_proofs.verify.evidence import strongest_evidence
from transformer_proofs.verify.registry import CheckResult, Claim, Context


@dataclass
class ClaimResult:
    claim: Claim
    checks: list[CheckResult]
    falsifiers: list[dict[str, Any]]
    status: str
    seconds: float = 0.0

    @property
    def evidence(self) -> str:
        """The strongest kind of evidence among the checks that passed."""
        return strongest_evidence(self.checks)

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        out: dict[str, Any] = {
            "id": c.id,
            "paper": c.paper.cite(),
            "arxiv": c.paper.arxiv,
            "kind": c.kind,
            "statement": c.statement,
            "status": self.status,
            "evidence": self.evidence,
            "checks": [r.to_json() for r in self.checks],
            "falsifiers": self.falsifiers,
        }
        if c.erratum is not None:
            out["erratum"] = c.erratum.to_json()
        return out


# The evidence kind of the usual check names, so that ``--mode exact`` selects
# both exact checks; a check name not listed here is selected by its own name.
MODE_EVIDENCE = {
    "float64": "numerical",
    "mpmath": "multiprecision",
    "rational": "exact",
    "prime-field": "exact",
    "symbolic": "symbolic",
    "lemma": "symbolic",
    "symbolic-lemma": "symbolic",
    "ball": "certified",
    "certified": "certified",
    "torch": "torch",
    "lens": "torch",
}


def mode_selected(name: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    keys = {w.strip() for w in wanted.split(",")}
    return name in keys or MODE_EVIDENCE.get(name) in keys


def fold_status(claim: Claim, checks: list[CheckResult], falsifiers: list[dict[str, Any]]) -> str:
    statuses = [c.status for c in checks]
    if "error" in statuses:
        return "error"
    if "fails" in statuses or any(not f["caught"] for f in falsifiers):
        return "fails"
    if claim.erratum is not None:
        return "refuted" if "refuted" in statuses else "fails"
    if "refuted" in statuses:
        return "fails"  # a counterexample to a claim we expect to hold is a regression
    if statuses and all(s == "skipped" for s in statuses):
        return "skipped"  # e.g. --mode torch without the torch extra: said, not hidden
    return "holds" if any(s == "holds" for s in statuses) else "error"


def run_claim(claim: Claim, ctx: Context, mode: str | None = None, falsify: bool = True) -> ClaimResult:
    t0 = time.perf_counter()
    checks = [check(ctx) for name, check in claim.checks.items() if mode_selected(name, mode)]
    falsifiers: list[dict[str, Any]] = []
    if falsify:
        for f in claim.falsifiers:
            try:
                caught, how = f.run(ctx)
            except Exception as exc:  # an erring falsifier is not a catch
                caught, how = False, f"error: {type(exc).__name__}: {exc}"
            falsifiers.append({"name": f.name, "description": f.description, "caught": bool(caught), "by": how})
    status = fold_status(claim, checks, falsifiers) if checks else "error"
    return ClaimResult(claim, checks, falsifiers, status, time.perf_counter() - t0)


def run_all(claims: Iterable[Claim], ctx: Context, mode: str | None = None, progress: bool = True,
            falsify: bool = True) -> list[ClaimResult]:
    results = []
    for claim in claims:
        r = run_claim(claim, ctx, mode, falsify)
        if mode and not r.checks:
            continue
        results.append(r)
        if progress:
            caught = sum(f["caught"] for f in r.falsifiers)
            print(f"{r.status:8s} {claim.id:40s} evidence={r.evidence:14s} "
                  f"falsifiers {caught}/{len(r.falsifiers)} caught  {r.seconds:6.2f}s", file=sys.stderr)
    return results


def exit_code(results: list[ClaimResult]) -> int:
    """0 only when no claim fails or errs and every falsifier is caught."""
    bad = [r for r in results if r.status not in ("holds", "refuted", "skipped")]
    return 1 if bad or not results else 0
