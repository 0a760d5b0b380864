"""The claim registry: what a claim is, and the table of all of them.

A claim has a stable id (``family.name``: reports and the baseline key on it),
the paper it comes from, one sentence of statement, its kind (identity, bound,
inequality, rate, ranking, empirical), its checks (one per kind of evidence),
its falsifiers (mutants its checks must reject) and, for a printed statement
shown false, an erratum.

Claims are registered by the modules of :mod:`verify.claims`, one module per
paper family; :func:`all_claims` imports them all.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

STATUSES = ("holds", "refuted", "fails", "error")
# How strong each kind of evidence is (issue 7): higher is stronger.
EVIDENCE_STRENGTH = {
    "numerical": 1,
    "bound": 1,
    "empirical": 1,
    "torch": 1,
    "multiprecision": 2,
    "certified": 3,
    "exact": 4,
    "symbolic": 5,
    "all sizes": 6,
}


@dataclass(frozen=True)
class Paper:
    authors: str
    year: int
    title: str
    arxiv: str
    where: str  # theorem / proposition / lemma / equation

    def cite(self) -> str:
        return f"{self.authors} ({self.year}), \"{self.title}\", arXiv:{self.arxiv}, {self.where}"

    def short(self) -> str:
        first = self.authors.split(",")[0].split(" and ")[0].strip()
        surname = " ".join(w for w in first.split() if not w.endswith("."))  # drop initials
        etal = " et al." if ("," in self.authors or " and " in self.authors) else ""
        return f"{surname}{etal} {self.year} (arXiv:{self.arxiv})"


@dataclass
class CheckResult:
    """The outcome of one check of one claim."""

    mode: str  # float64, mpmath, rational, prime-field, symbolic, ball, bound, empirical, ...
    evidence: str  # numerical, multiprecision, exact, symbolic, certified, bound, empirical
    instances: int
    max_error: float | None
    tolerance: float | None
    status: str  # holds, fails, refuted, error, skipped
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "evidence": self.evidence,
            "instances": self.instances,
            "max_error": self.max_error,
            "tolerance": self.tolerance,
            "status": self.status,
            "detail": self.detail,
        }
        if self.data:
            out["data"] = self.data
        return out


@dataclass
class Context:
    """What a check is given: the seed and how hard to try."""

    seed: int = 0
    effort: float = 1.0  # scales instance counts (0.2 for quick runs, 5 for long ones)

    def count(self, base: int) -> int:
        return max(1, int(round(base * self.effort)))


Check = Callable[[Context], CheckResult]


@dataclass(frozen=True)
class Falsifier:
    """A mutant of the construction; ``run`` returns (caught, by what)."""

    name: str
    description: str
    run: Callable[[Context], tuple[bool, str]]


@dataclass(frozen=True)
class Erratum:
    counterexample: str
    correction: str
    corrected_claim: str  # id of the corrected claim

    def to_json(self) -> dict[str, str]:
        return {"counterexample": self.counterexample, "correction": self.correction,
                "corrected_claim": self.corrected_claim}


@dataclass
class Claim:
    id: str
    paper: Paper
    statement: str
    kind: str  # identity, bound, inequality, rate, ranking, empirical
    checks: dict[str, Check]
    falsifiers: list[Falsifier] = field(default_factory=list)
    erratum: Erratum | None = None
    notes: str = ""  # what the checks do and do not show, for the report
    # Optional figure: figure(ctx, outdir) writes an image (matplotlib is an
    # optional extra: return None when it is absent) and returns (file name, caption).
    figure: Callable[[Context, Any], tuple[str, str] | None] | None = None
    # Optional extra markdown (a table) for the claim's report section.
    table: Callable[[Context], str] | None = None

    @property
    def family(self) -> str:
        return self.id.split(".")[0]


_REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    if claim.id in _REGISTRY and _REGISTRY[claim.id] is not claim:
        raise ValueError(f"claim id {claim.id!r} registered twice")
    if claim.erratum is not None and claim.erratum.corrected_claim == claim.id:
        raise ValueError(f"erratum {claim.id!r} cannot be its own correction")
    _REGISTRY[claim.id] = claim
    return claim


def _import_families() -> None:
    import transformer_proofs.verify.claims as pkg

    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        if not mod.startswith("_"):
            importlib.import_module(f"transformer_proofs.verify.claims.{mod}")


def all_claims() -> list[Claim]:
    _import_families()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def select(pattern: str | None) -> list[Claim]:
    claims = all_claims()
    if not pattern:
        return claims
    pats = pattern.split(",")
    chosen = [c for c in claims if any(fnmatch.fnmatchcase(c.id, p) for p in pats)]
    if not chosen:
        raise LookupError(f"no claim matches {pattern!r}; `python -m verify list` shows them")
    return chosen
