"""Wall time of the whole catalogue, measured side by side in one run.

    python benchmarks/bench_catalogue.py [--claims GLOB] [--seeds 0,1,2] [--jobs 2]
    python benchmarks/bench_catalogue.py --per-claim [--write-costs verify/claim_costs.py]
    python benchmarks/bench_catalogue.py --pytest [--claims GLOB]

Default: ``python -m verify run --json`` serial (``--jobs 1``) and over
``--jobs`` processes, at each seed: wall seconds, CPU seconds (the run and its
workers), their ratio, and whether the two documents are byte-identical (they
must be).  ``--per-claim``: each claim's serial seconds in this process,
longest first (with ``--write-costs``: written as the cost table the process
pool submits by, :mod:`transformer_proofs.verify.claim_costs`).  ``--pytest``:
the claims as pytest items, serial against ``-n 2`` (pytest-xdist).  Absolute
times drift on a shared machine: compare the two columns of one run."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: str | Path = ROOT) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the child and its workers, exit code, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, res.returncode, res.stdout


def catalogue_runs(claims: str, seeds: list[int], jobs: int) -> int:
    rc = 0
    select = [] if claims == "*" else ["--claim", claims]
    print(f"{'seed':>4s} {'serial wall':>11s} {'serial CPU':>10s} {f'-j{jobs} wall':>10s} {f'-j{jobs} CPU':>9s} "
          f"{'speed-up':>8s}  identical")
    for seed in seeds:
        base = [sys.executable, "-m", "verify", "run", "--json", "--seed", str(seed), *select]
        w1, c1, r1, out1 = timed([*base, "--jobs", "1"])
        wj, cj, rj, outj = timed([*base, "--jobs", str(jobs)])
        same = out1 == outj and bool(out1)
        print(f"{seed:4d} {w1:10.1f}s {c1:9.1f}s {wj:9.1f}s {cj:8.1f}s {w1 / wj:7.2f}x  {'yes' if same else 'NO'}")
        rc = rc or r1 or rj or (0 if same else 1)
    return rc


def per_claim(claims: str, seed: int, write: Path | None) -> int:
    from transformer_proofs.verify.registry import Context, select
    from transformer_proofs.verify.runner import run_claim

    ctx = Context(seed=seed)
    times = []
    for c in select(None if claims == "*" else claims):
        t0 = time.process_time()
        r = run_claim(c, ctx)
        times.append((time.process_time() - t0, c.id, r.status))
    total = sum(t for t, _, _ in times)
    for t, cid, status in sorted(times, reverse=True):
        print(f"{t:7.2f}s {100 * t / total:5.1f}%  {cid:42s} {status}")
    print(f"{total:7.2f}s CPU in all ({len(times)} claims); the longest is {max(times)[0] / total:.0%} of it")
    measured = {cid: t for t, cid, _ in times}
    for jobs in (2, 4):
        print(f"{jobs} workers, claims submitted longest first (this run's costs): makespan "
              f"{makespan(measured, jobs):.2f} s against CPU/{jobs} = {total / jobs:.2f} s")
    if write is not None:
        lines = [f'    "{cid}": {t:.2f},' for t, cid, _ in sorted(times, key=lambda x: x[1])]
        text = (f'"""Serial CPU seconds of each claim at the default effort (seed {seed}), as measured by\n'
                '``python benchmarks/bench_catalogue.py --per-claim --write-costs verify/claim_costs.py``.\n\n'
                "Only the order matters: :func:`~transformer_proofs.verify.parallel.submission_order`\n"
                'submits the longest claims first.  Regenerate after a claim\'s cost changes much."""\n\n'
                "SECONDS: dict[str, float] = {\n" + "\n".join(lines) + "\n}\n")
        tmp = write.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, write)
        print(f"wrote {write}")
    return 0


def makespan(costs: dict[str, float], jobs: int) -> float:
    """The pool's finishing time if each claim took its cost: claims in
    :func:`~transformer_proofs.verify.parallel.submission_order` (by the
    recorded table), each to the worker that frees first."""
    import heapq

    from transformer_proofs.verify.parallel import submission_order

    ids = list(costs)
    free = [0.0] * jobs
    for i in submission_order(ids):
        heapq.heappush(free, heapq.heappop(free) + costs[ids[i]])
    return max(free)


def pytest_runs(claims: str) -> int:
    with tempfile.TemporaryDirectory() as empty:
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--claims", claims, empty]
        serial, _, rc1, _ = timed(args, empty)
        parallel, _, rc2, _ = timed([*args, "-n", "2"], empty)
    print(f"catalogue ({claims}) as pytest items: serial {serial:.1f} s, -n 2 {parallel:.1f} s, "
          f"ratio {serial / parallel:.2f}x")
    return rc1 or rc2


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--claims", default="*")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--per-claim", action="store_true", help="each claim's serial seconds, longest first")
    p.add_argument("--write-costs", type=Path, help="with --per-claim: write the cost table to this file")
    p.add_argument("--pytest", action="store_true", help="the claims as pytest items, serial against -n 2")
    args = p.parse_args()
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds {args.seeds!r}: expected comma-separated integers")
    if args.jobs < 1:
        p.error(f"--jobs {args.jobs}: expected at least 1")
    if args.per_claim:
        return per_claim(args.claims, seeds[0], args.write_costs)
    if args.pytest:
        return pytest_runs(args.claims)
    return catalogue_runs(args.claims, seeds, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
