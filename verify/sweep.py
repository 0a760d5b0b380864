"""A sweep over seeds × claims on Dask distributed (the optional extra
``dask``): a ``LocalCluster`` by default, or a running scheduler's address.

Each task runs one claim at one seed in a worker and sends back the claim's
results document entry (plain JSON data); the merge sorts them by seed and by
the catalogue's order, so every seed's document is byte-identical to what
``python -m verify run --seed S --json`` prints on the same machine.

    python -m transformer_proofs.verify.sweep --seeds 0:100 [--claim GLOB]
        [--effort E] [--scheduler tcp://host:8786] [--workers N] --out sweep.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from transformer_proofs.verify.registry import Context, select
from transformer_proofs.verify.report import document_of
from transformer_proofs.verify.runner import run_claim


def run_one(claim_id: str, seed: int, effort: float, mode: str | None = None) -> dict[str, Any]:
    """One claim at one seed, as its entry of the results document (runs in a worker)."""
    (claim,) = [c for c in select(claim_id) if c.id == claim_id]
    return run_claim(claim, Context(seed=seed, effort=effort), mode).to_json()


def documents(seeds: Sequence[int], entries: dict[tuple[int, str], dict[str, Any]], order: Sequence[str],
              effort: float) -> list[dict[str, Any]]:
    """One results document per seed (the run's shape), in seed order, claims in catalogue order."""
    return [document_of(s, effort, [entries[(s, cid)] for cid in order]) for s in sorted(seeds)]


def sweep(seeds: Sequence[int], pattern: str | None = None, effort: float = 1.0, mode: str | None = None,
          scheduler: str | None = None, workers: int | None = None) -> list[dict[str, Any]]:
    """Every selected claim at every seed on Dask; the documents of :func:`documents`."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # the optional extra
        raise RuntimeError("the sweep needs Dask distributed: pip install 'transformer-proofs[dask]'") from exc
    order = [c.id for c in select(pattern)]
    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
    try:
        with Client(scheduler or cluster) as client:
            keys = [(s, cid) for s in seeds for cid in order]
            futures = [client.submit(run_one, cid, s, effort, mode, key=f"claim-{cid}-seed-{s}", pure=False)
                       for s, cid in keys]
            entries = dict(zip(keys, client.gather(futures)))
    finally:
        if cluster is not None:
            cluster.close()
    return documents(seeds, entries, order, effort)


def _seeds(text: str) -> list[int]:
    """``0:100`` (a range), ``3`` or ``1,5,9``."""
    try:
        if ":" in text:
            lo, hi = (int(x) for x in text.split(":"))
            return list(range(lo, hi))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise SystemExit(f"--seeds: expected a range 'lo:hi' or a comma-separated list, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m transformer_proofs.verify.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0:100")
    p.add_argument("--claim")
    p.add_argument("--mode")
    p.add_argument("--effort", type=float, default=1.0)
    p.add_argument("--scheduler", help="a running Dask scheduler's address (default: a LocalCluster)")
    p.add_argument("--workers", type=int, help="LocalCluster workers (default: Dask's choice)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    seeds = _seeds(args.seeds)
    if not seeds:
        raise SystemExit("--seeds: no seed in the range")
    try:
        docs = sweep(seeds, args.claim, args.effort, args.mode, args.scheduler, args.workers)
    except (LookupError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(json.dumps(docs, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(args.out)  # atomically
    bad = sum(c["status"] not in ("holds", "refuted", "skipped") for d in docs for c in d["claims"])
    print(f"wrote {args.out}: {len(seeds)} seeds x {len(docs[0]['claims'])} claims, {bad} not holding",
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
