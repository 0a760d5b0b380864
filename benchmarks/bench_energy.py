"""Benchmarks for the energy family (run: python benchmarks/bench_energy.py [effort]).

Runs every energy check at a chosen effort (default 5: about 5,000 certified
or exactly decided instances per inequality) and prints, per check, the
status, the number of instances, the wall-clock time and the per-instance
cost.  The inequality checks are ClaimSpecs with an inequality relation: the
``ball`` ones escalate 128 -> 512 -> 2048 bits and fail on an instance that
stays undecided; their detail line gives the smallest certified slack (0 for
the exact ties of converged MM states) and how many needed more than 128 bits.
At effort 1 the family's checks run in about 10 s."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformer_proofs.verify.registry import Context, select  # noqa: E402


def main(effort: float) -> None:
    ctx = Context(seed=0, effort=effort)
    total = 0.0
    for claim in select("energy.*"):
        for mode, check in claim.checks.items():
            t = time.perf_counter()
            res = check(ctx)
            dt = time.perf_counter() - t
            total += dt
            per = f"{1e3 * dt / res.instances:.2f} ms/instance" if res.instances else ""
            print(f"{claim.id:30s} {mode:18s} {res.status:8s} n={res.instances:6d} {dt:6.2f}s {per}")
            if res.status not in ("holds", "skipped", "refuted") or mode.startswith("ball") or "descent" in mode:
                print(f"    {res.detail}")
    print(f"total {total:.2f}s at effort {effort}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
