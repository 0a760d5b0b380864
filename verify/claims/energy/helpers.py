"""Small general helpers the ``energy`` family needs and the core lacks.

Each is marked CORE-CANDIDATE: the lead may move it into the shared core.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable, Iterable

import flint
import numpy as np
from transformer_proofs.verify.checkers import counterexample_search, spec_checks, spec_falsifiers
from transformer_proofs.verify.spec import Check, ClaimSpec, Context, Falsifier


# CORE-CANDIDATE: spec_checks(spec, tag=...) -- a claim with several specs
# (an identity, a descent, a bound) needs distinct check keys, and the report
# rows need to say which statement each check is of.
def tagged(checks: dict[str, Check], tag: str) -> dict[str, Check]:
    """The checks with key and reported mode ``"<mode> (<tag>)"``."""
    out: dict[str, Check] = {}
    for mode, chk in checks.items():
        key = f"{mode} ({tag})"

        def run(ctx: Context, _chk: Check = chk, _key: str = key) -> Any:
            return replace(_chk.run(ctx), mode=_key)

        out[key] = Check(key, chk.evidence, run, chk.optional)
    return out


def spec_checks_tagged(spec: ClaimSpec, tag: str) -> dict[str, Check]:
    return tagged(spec_checks(spec), tag)


def spec_falsifiers_tagged(spec: ClaimSpec, tag: str) -> list[Falsifier]:
    """spec_falsifiers with the statement's tag in each name."""
    return [replace(f, name=f"{f.name} ({tag})") for f in spec_falsifiers(spec)]


# CORE-CANDIDATE: AtMost.exact reads its sides with Fraction(), which refuses
# python-flint's fmpq (what the Rational arithmetic computes); the relation
# could convert fmpq itself.
def fractions(a: Any) -> np.ndarray:
    """An object array with every flint.fmpq entry as a Fraction."""
    arr = np.asarray(a, dtype=object)
    flat = [Fraction(int(v.p), int(v.q)) if isinstance(v, flint.fmpq) else v for v in arr.ravel()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)


def scalar(x: Any) -> np.ndarray:
    """A scalar as a one-entry array of ``ar`` (relations compare arrays)."""
    out = np.empty(1, dtype=object)
    out[0] = x
    return out


# CORE-CANDIDATE: counterexample_search(correction=True) words its detail as
# "our earlier form is refuted"; a check that a theorem's *condition is
# needed* (a violation just outside it) wants the same machinery with its own
# words.
def violation_check(candidates: Callable[[], Iterable[Any]], spec: ClaimSpec, describe: Callable[..., str],
                    words: str, mode: str = "rational", budget: str = "") -> Check:
    """Holds when some candidate (searched in order) violates ``spec``: the
    statement is shown to need its condition; the violation is data["counterexample"]."""
    inner = counterexample_search(candidates, spec, describe, mode=mode, budget=budget, correction=True)

    def run(ctx: Context) -> Any:
        res = inner.run(ctx)
        detail = res.detail.replace("our earlier form is refuted: counterexample", f"{words}: violation", 1)
        return replace(res, detail=detail)

    return Check(mode, inner.evidence, run)
