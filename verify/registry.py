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

from transformer_proofs.verify.evidence import EVIDENCE_STRENGTH  # noqa: F401  (re-exported)
from transformer_proofs.verify.spec import (  # noqa: F401  (re-exported: the registry's vocabulary)
    STATUSES,
    Check,
    CheckResult,
    Claim,
    Context,
    Erratum,
    Falsifier,
    Paper,
)

ENTRY_POINT_GROUP = "transformer_proofs.claims"


_REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    if claim.id in _REGISTRY and _REGISTRY[claim.id] is not claim:
        raise ValueError(f"claim id {claim.id!r} registered twice")
    if claim.erratum is not None and claim.erratum.corrected_claim == claim.id:
        raise ValueError(f"erratum {claim.id!r} cannot be its own correction")
    _REGISTRY[claim.id] = claim
    return claim


_LOADED = False


class ClaimPluginError(RuntimeError):
    """An installed package's claims could not be loaded."""


def _import_families() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import transformer_proofs.verify.claims as pkg

    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        if not mod.startswith("_"):
            importlib.import_module(f"transformer_proofs.verify.claims.{mod}")
    _load_entry_points()


def _load_entry_points() -> None:
    """Claims of other installed packages: each entry point of the group
    ``transformer_proofs.claims`` names a module (imported: it registers its
    claims) or a callable (called: it registers them or returns a list)."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        before = set(_REGISTRY)
        try:
            obj = ep.load()
            if callable(obj):
                for claim in obj() or ():
                    register(claim)
        except Exception as exc:
            raise ClaimPluginError(f"the claims entry point {ep.name!r} ({ep.value}) failed to load: "
                                   f"{type(exc).__name__}: {exc}") from exc
        dist = getattr(getattr(ep, "dist", None), "name", None) or ep.name
        for cid in set(_REGISTRY) - before:
            _REGISTRY[cid].source = dist


def all_claims() -> list[Claim]:
    _import_families()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def select(pattern: str | None) -> list[Claim]:
    """The claims whose id matches one of the comma-separated globs; a part
    that matches nothing is an error naming it."""
    claims = all_claims()
    if not pattern:
        return claims
    pats = [p.strip() for p in pattern.split(",")]
    for p in pats:
        if not p or not any(fnmatch.fnmatchcase(c.id, p) for c in claims):
            raise LookupError(f"no claim matches {p!r}; `python -m verify list` shows them")
    return [c for c in claims if any(fnmatch.fnmatchcase(c.id, p) for p in pats)]
