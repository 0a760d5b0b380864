"""Claims over the cores of one machine, through the standard library's
process pool (``concurrent.futures``): no scheduler of our own.

Every claim's checks draw from their own seeded streams
(:func:`~transformer_proofs.verify.checkers.rng_for`), so a claim's result
does not depend on which process runs it nor on what ran before; the results
are put back in the catalogue's order, so the document a parallel run writes
is byte-identical to a serial run's.  Workers are forked after the catalogue
is imported: a claim is sent as its index, never pickled (its checks are
closures), and only its results (plain dataclasses and dicts) come back.

Claims are *submitted* longest first (:func:`submission_order`, from the
measured serial seconds in :mod:`~transformer_proofs.verify.claim_costs`):
the pool hands the next claim to whichever worker frees first, so with the
long claims started early no core sits idle behind one long claim at the end
(the longest-processing-time rule: within 4/3 of the best makespan).  The
order of submission changes when a claim runs, never what it computes nor
where its result goes.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Iterator, Mapping, Sequence

from transformer_proofs.verify.claim_costs import SECONDS
from transformer_proofs.verify.runner import ClaimResult, run_claim
from transformer_proofs.verify.spec import Claim, Context

_CLAIMS: Sequence[Claim] = ()  # the forked workers' view of the claims being run


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def submission_order(ids: Sequence[str], costs: Mapping[str, float] = SECONDS) -> list[int]:
    """Indices of ``ids``, longest expected run first (ties: catalogue order).
    A claim without a recorded cost (a plugin's, a new one) is given the
    median of the recorded ones."""
    known = sorted(costs.values())
    default = known[len(known) // 2] if known else 0.0
    return sorted(range(len(ids)), key=lambda i: (-costs.get(ids[i], default), i))


def _one_blas_thread() -> None:
    """A worker's BLAS runs on one thread (when threadpoolctl, the ``machine``
    extra, is there to say so): the pool already keeps every core busy, and
    BLAS threads of two workers on two cores only wait for each other."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _run_one(index: int, ctx: Context, mode: str | None, falsify: bool) -> tuple[Any, ...]:
    r = run_claim(_CLAIMS[index], ctx, mode, falsify)
    return r.checks, r.falsifiers, r.status, r.seconds


def run_claims(claims: Sequence[Claim], ctx: Context, mode: str | None = None, jobs: int | None = None,
               falsify: bool = True) -> Iterator[ClaimResult]:
    """:func:`~transformer_proofs.verify.runner.run_claim` of every claim,
    over ``jobs`` processes (default: every core), submitted longest first
    and yielded in the catalogue's order as soon as each is known.  One job,
    or a platform without ``fork``, runs serially in this process."""
    global _CLAIMS
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if jobs == 1 or len(claims) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (run_claim(c, ctx, mode, falsify) for c in claims)
        return
    _CLAIMS = claims
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(claims)), mp_context=multiprocessing.get_context("fork"),
                                 initializer=_one_blas_thread) as pool:
            futures: dict[int, Future[tuple[Any, ...]]] = {}
            for i in submission_order([c.id for c in claims]):
                futures[i] = pool.submit(_run_one, i, ctx, mode, falsify)
            for i, claim in enumerate(claims):
                yield ClaimResult(claim, *futures[i].result())
    finally:
        _CLAIMS = ()
