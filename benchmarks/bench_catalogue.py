"""Wall time of the whole catalogue as pytest items, serial against ``-n 2``
(pytest-xdist), measured side by side in one run.

    python benchmarks/bench_catalogue.py [--claims GLOB]

Prints both times and their ratio; only the claims' items are run (the unit
tests are left out with an empty test directory)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time


def wall(args: list[str], cwd: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, cwd],
                         cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, res.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--claims", default="*")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as empty:
        serial, rc1 = wall(["--claims", args.claims], empty)
        parallel, rc2 = wall(["--claims", args.claims, "-n", "2"], empty)
    print(f"catalogue ({args.claims}): serial {serial:.1f} s, -n 2 {parallel:.1f} s, ratio {serial / parallel:.2f}x")
    return rc1 or rc2


if __name__ == "__main__":
    sys.exit(main())
