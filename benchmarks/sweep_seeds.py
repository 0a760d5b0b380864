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
# The child: the command line of ``python -m verify``, then its own CPU time
# on stderr (a thread pool's parent cannot tell its children's CPU apart).
_CHILD = ("import resource, sys\n"
          "from transformer_proofs.verify.cli import main\n"
          "code = main(sys.argv[1:])\n"
          "r = resource.getrusage(resource.RUSAGE_SELF)\n"
          "print(f'cpu-seconds {r.ru_utime + r.ru_stime:.2f}', file=sys.stderr)\n"
          "sys.exit(code)\n")


@dataclass
class SeedResult:
    seed: int
    ok: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0
    claim_seconds: dict[str, float] = field(default_factory=dict)


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


def claim_seconds(stderr: str) -> dict[str, float]:
    """Seconds per claim, from the runner's progress lines ("holds  gd.x ... 1.23s")."""
    out = {}
    for line in stderr.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-1].endswith("s") and "." in parts[1]:
            try:
                out[parts[1]] = float(parts[-1][:-1])
            except ValueError:
                continue
    return out


def run_seed(seed: int, claim: str | None, effort: float | None) -> SeedResult:
    # one process per seed: the pool over seeds is the parallelism
    cmd = [sys.executable, "-c", _CHILD, "run", "--json", "--jobs", "1", "--seed", str(seed)]
    if claim:
        cmd += ["--claim", claim]
    if effort is not None:
        cmd += ["--effort", repr(effort)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    cpu = next((float(line.split()[1]) for line in reversed(proc.stderr.splitlines())
                if line.startswith("cpu-seconds ")), float("nan"))
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return SeedResult(seed, False, [f"no results document (exit {proc.returncode}): {last[:200]}"], seconds, cpu)
    problems = problems_of(doc, proc.returncode)
    return SeedResult(seed, not problems, problems, seconds, cpu, claim_seconds(proc.stderr))


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
    totals: dict[str, float] = {}
    for r in results:
        for cid, sec in r.claim_seconds.items():
            totals[cid] = totals.get(cid, 0.0) + sec
    if totals:
        top = sorted(totals.items(), key=lambda kv: -kv[1])[:8]
        print("slowest claims (wall seconds per seed, mean): "
              + ", ".join(f"{cid} {sec / len(results):.1f}" for cid, sec in top))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
