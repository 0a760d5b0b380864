"""Run ``python -m verify run --seed s`` for many seeds in parallel; fail on any failure.

    python benchmarks/sweep_seeds.py --seeds 0-99 [--jobs N] [--claim GLOB] [--effort E]

Each seed is one ``verify run --json`` subprocess (a process pool of ``--jobs``
workers, default: the number of cores).  A seed passes when its run exits 0,
prints a results document, and every claim in it is ``holds`` or ``refuted``
(``skipped`` only for optional checks whose extra is absent), with every
falsifier caught.  Prints one line per seed as it finishes, then a summary
(seeds passed, the failing seeds with their claims, wall and CPU time); the
exit code is 1 when any seed failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

PASSING = ("holds", "refuted")


@dataclass
class SeedResult:
    seed: int
    ok: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0


def parse_seeds(text: str) -> list[int]:
    """``0-99``, ``3,5,7`` or ``0-9,20``: seeds are non-negative integers."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad seed range {part!r} (expected N, N-M or a comma list)") from None
        if a < 0 or b < a:
            raise argparse.ArgumentTypeError(f"bad seed range {part!r}: seeds are >= 0 and N <= M")
        seeds.extend(range(a, b + 1))
    return sorted(set(seeds))


def problems_of(doc: dict, returncode: int) -> list[str]:
    """What is wrong with one seed's results document."""
    out = []
    claims = doc.get("claims") or []
    if not claims:
        out.append("no claims in the results")
    for c in claims:
        if c["status"] not in PASSING and c["status"] != "skipped":
            bad = [f"{ch['mode']}: {ch['status']} ({ch['detail'][:120]})" for ch in c["checks"]
                   if ch["status"] not in ("holds", "refuted", "skipped")]
            out.append(f"{c['id']} {c['status']}" + (f" [{'; '.join(bad)}]" if bad else ""))
        for f in c.get("falsifiers", []):
            if not f["caught"]:
                out.append(f"{c['id']} falsifier not caught: {f['name']} ({str(f['by'])[:120]})")
    if returncode != 0 and not out:
        out.append(f"exit code {returncode}")
    return out


def run_seed(seed: int, claim: str | None, effort: float | None) -> SeedResult:
    cmd = [sys.executable, "-m", "verify", "run", "--json", "--seed", str(seed)]
    if claim:
        cmd += ["--claim", claim]
    if effort is not None:
        cmd += ["--effort", repr(effort)]
    t0 = time.perf_counter()
    before = os.times()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    after = os.times()
    cpu = after.children_user - before.children_user + after.children_system - before.children_system
    seconds = time.perf_counter() - t0
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return SeedResult(seed, False, [f"no results document (exit {proc.returncode}): {last[:200]}"], seconds, cpu)
    problems = problems_of(doc, proc.returncode)
    return SeedResult(seed, not problems, problems, seconds, cpu)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-99"), help="e.g. 0-99 or 0-9,42")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel runs (default: cores)")
    p.add_argument("--claim", help="passed to verify run --claim")
    p.add_argument("--effort", type=float, help="passed to verify run --effort")
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error("--jobs must be at least 1")
    t0 = time.perf_counter()
    results: list[SeedResult] = []
    # Threads only wait on the subprocesses; the pool bounds how many run at once.
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_seed, s, args.claim, args.effort) for s in args.seeds]
        for fut in as_completed(futures):
            r = fut.result()
            results.append(r)
            state = "ok  " if r.ok else "FAIL"
            print(f"seed {r.seed:4d} {state} {r.seconds:7.1f} s wall {r.cpu:7.1f} s cpu", flush=True)
            for line in r.problems:
                print(f"           {line}", flush=True)
    wall = time.perf_counter() - t0
    failed = sorted((r for r in results if not r.ok), key=lambda r: r.seed)
    cpu = sum(r.cpu for r in results)
    print(f"\n{len(results) - len(failed)}/{len(results)} seeds pass "
          f"({args.claim or 'every claim'}, effort {args.effort or 1.0}); "
          f"wall {wall:.0f} s, cpu {cpu:.0f} s, {args.jobs} jobs")
    for r in failed:
        print(f"  seed {r.seed}: " + "; ".join(r.problems))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
