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
import traceback
from dataclasses import dataclass
from typing import Any, Iterable

from transformer_proofs.verify.evidence import selector_names, strongest_evidence
from transformer_proofs.verify.spec import STATUSES, Check, CheckResult, Claim, Context, Falsifier


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
        if c.provenance is not None:
            out["provenance"] = c.provenance.to_json()
        out["relation"] = c.relation.to_json()
        if c.erratum is not None:
            out["erratum"] = c.erratum.to_json(self.counterexample())
        if c.correction is not None:
            out["correction"] = c.correction.to_json(self.counterexample(c.correction.check))
        if c.trust:
            out["trust"] = list(c.trust)
        if c.source != "transformer-proofs":
            out["source"] = c.source
        return out

    def counterexample(self, mode: str | None = None) -> str | None:
        """The counterexample a check computed (of check ``mode``, or the first)."""
        for r in self.checks:
            if (mode is None or r.mode == mode) and r.data.get("counterexample"):
                return str(r.data["counterexample"])
        return None


def mode_selected(check: Check, wanted: str | None) -> bool:
    """``--mode`` (comma-separated): a check is selected by its own key or by
    a selector name of its kind of evidence (``certified`` and ``ball`` select
    every certified check, whatever its key)."""
    if not wanted:
        return True
    keys = {w.strip() for w in wanted.split(",")}
    return check.mode in keys or bool(keys & ({check.evidence.label} | set(check.evidence.selectors)))


def known_modes(claims: Iterable[Claim]) -> set[str]:
    """Every name ``--mode`` accepts for these claims."""
    return selector_names() | {name for c in claims for name in c.checks}


def fold_status(claim: Claim, checks: list[CheckResult], falsifiers: list[dict[str, Any]]) -> str:
    statuses = [c.status for c in checks]
    if "error" in statuses:
        return "error"
    if "fails" in statuses or any(not f["caught"] for f in falsifiers):
        return "fails"
    if claim.erratum is not None:
        if "refuted" not in statuses:
            return "fails"
        computed = any(c.data.get("counterexample") for c in checks if c.status == "refuted")
        return "refuted" if computed or claim.erratum.counterexample else "fails"
    if "refuted" in statuses:
        return "fails"  # a counterexample to a claim we expect to hold is a regression
    if statuses and all(s == "skipped" for s in statuses):
        return "skipped"  # e.g. --mode torch without the torch extra: said, not hidden
    return "holds" if any(s == "holds" for s in statuses) else "error"


def run_check(check: Check, ctx: Context) -> CheckResult:
    """One check, guarded: an exception is that claim's ``error``, never the run's."""
    try:
        res = check(ctx)
    except Exception as exc:
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return CheckResult(check.mode, check.evidence.label, 0, None, None, "error", line)
    if not isinstance(res, CheckResult) or res.status not in STATUSES:
        return CheckResult(check.mode, check.evidence.label, 0, None, None, "error",
                           f"the check returned {res!r:.80}, not a CheckResult with a known status")
    return res


def run_falsifier(f: Falsifier, ctx: Context) -> dict[str, Any]:
    try:
        caught, how = f.run(ctx)
    except Exception as exc:  # an erring falsifier is not a catch
        caught, how = False, f"error: {type(exc).__name__}: {exc}"
    return {"name": f.name, "description": f.description, "caught": bool(caught), "by": how}


def run_claim(claim: Claim, ctx: Context, mode: str | None = None, falsify: bool = True) -> ClaimResult:
    t0 = time.perf_counter()
    checks = [run_check(check, ctx) for check in claim.checks.values() if mode_selected(check, mode)]
    falsifiers: list[dict[str, Any]] = []
    if falsify:
        fctx = Context(ctx.seed, ctx.effort, mode)
        falsifiers = [run_falsifier(f, fctx) for f in claim.falsifiers]
    status = fold_status(claim, checks, falsifiers) if checks else "error"
    return ClaimResult(claim, checks, falsifiers, status, time.perf_counter() - t0)


def run_all(claims: Iterable[Claim], ctx: Context, mode: str | None = None, progress: bool = True,
            falsify: bool = True, jobs: int = 1) -> list[ClaimResult]:
    """Every claim, in order; with ``jobs`` > 1 over that many processes
    (:mod:`transformer_proofs.verify.parallel`: the same results, same order)."""
    from transformer_proofs.verify.parallel import run_claims

    results = []
    for r in run_claims(list(claims), ctx, mode, jobs, falsify):
        claim = r.claim
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
