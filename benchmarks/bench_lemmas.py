"""Benchmark (issue 7): each layer lemma in under 10 s; the full exact and
symbolic pass (rational, prime-field, symbolic, lemma checks; no falsifiers)
over every registered identity claim in under 60 s.

    PYTHONPATH=. python benchmarks/bench_lemmas.py [--seed N]

Prints one line per lemma and per claim; exits 1 when a limit is exceeded.
"""

from __future__ import annotations

import sys
import time

from transformer_proofs.verify.lemmas.catalogue import lemmas
from transformer_proofs.verify.lemmas.lemma import prove
from transformer_proofs.verify.registry import Context, select
from transformer_proofs.verify.runner import run_all

LEMMA_LIMIT_S = 10.0
PASS_LIMIT_S = 60.0


def main(argv: list[str]) -> int:
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    ctx = Context(seed)
    ok = True
    print(f"{'lemma':44s} {'result':7s} {'seconds':>8s}")
    for cid, make in lemmas().items():
        t0 = time.perf_counter()
        res = prove(make(ctx))  # reading the construction + normalising + witnesses
        dt = time.perf_counter() - t0
        ok &= dt < LEMMA_LIMIT_S
        print(f"{cid:44s} {'holds' if res.holds else 'fails':7s} {dt:8.3f}")
    identity = [c for c in select(None) if c.kind == "identity"]
    t0 = time.perf_counter()
    results = run_all(identity, ctx, mode="exact,symbolic", progress=False, falsify=False)
    dt = time.perf_counter() - t0
    for r in results:
        print(f"  {r.claim.id:42s} {r.status:8s} {r.evidence:10s} {r.seconds:7.2f}s")
    print(f"exact + symbolic pass over {len(results)} identity claims: {dt:.2f} s (limit {PASS_LIMIT_S:.0f} s)")
    ok &= dt < PASS_LIMIT_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
