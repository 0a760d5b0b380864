"""Cost of exact enumeration over finite laws (run: python
benchmarks/bench_population_finite.py [max_seconds]).

For S tokens and L positions an enumeration visits S^L sequences; this
prints, as S and L grow, the time to build a law exactly (``dag_law``: a
Markov chain with stationary root, rational π; ``dirichlet_dag_law``: π's
rows integrated out), one exact population gradient of the reduced model of
Nichani et al. (float64 and arb balls at 256 bits, over the task law of a
16-draw prior), and the exact Bayes predictor of ICL-MC (S = 2, Q(ln 2)) for
all 2^t contexts.  Each row stops growing L once one call passes
``max_seconds`` (default 2)."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402

import flint  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformer_proofs.constructions.arithmetic import arb_precision  # noqa: E402
from transformer_proofs.verify.algorithms import induction_training as it  # noqa: E402
from transformer_proofs.verify.algorithms import markov_bayes as mb  # noqa: E402
from transformer_proofs.verify.claims.induction.training import draw_case, law_of  # noqa: E402
from transformer_proofs.verify.population import finite as fl  # noqa: E402


def timed(fn, *args, **kwargs) -> float:
    t = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t


def all_bayes(t: int) -> None:
    for x in mb.sequences(t):
        mb.bayes_next(x)


def random_pi(rng: np.random.Generator, S: int) -> list[list[Fraction]]:
    rows = []
    for _ in range(S):
        q = rng.integers(1, 16, size=S)
        rows.append([Fraction(int(v), int(q.sum())) for v in q])
    return rows


def main(limit: float) -> None:
    rng = np.random.default_rng(0)
    print(f"{'what':34s} {'S':>2s} {'L':>3s} {'outcomes':>9s} {'seconds':>8s}")
    for S in (2, 3, 4):
        pi = random_pi(rng, S)
        for L in range(2, 16):
            dt = timed(fl.dag_law, S, [None] + list(range(L - 1)), pi, root="stationary")
            print(f"{'dag_law (exact, stationary root)':34s} {S:2d} {L:3d} {S**L:9d} {dt:8.3f}")
            if dt > limit:
                break
        for L in range(2, 16):
            dt = timed(fl.dirichlet_dag_law, S, [None] + list(range(L - 1)), 1)
            print(f"{'dirichlet_dag_law (exact)':34s} {S:2d} {L:3d} {S**L:9d} {dt:8.3f}")
            if dt > limit:
                break
    for S in (2, 3):
        for n in range(2, 9):
            case = draw_case(np.random.default_rng(0), [None] + list(range(n - 1)), S=S)
            t_law = time.perf_counter()
            law = law_of(case)
            t_law = time.perf_counter() - t_law
            A1, A2 = np.zeros((law.L, law.L)), np.eye(S) / 4
            dt = timed(it.gradients, law, A1, A2)
            with arb_precision(256):
                B1 = np.full((law.L, law.L), flint.arb(0), dtype=object)
                B2 = np.full((S, S), flint.arb(0), dtype=object)
                db = timed(it.gradients, law, B1, B2)
            print(f"{'task law + gradient (float64 | arb)':34s} {S:2d} {law.L:3d} {len(law.seqs):9d} "
                  f"{t_law:8.3f} + {dt:.4f} | {db:.3f}")
            if max(t_law, db) > limit:
                break
    for t in range(2, 16):
        dt = timed(all_bayes, t)
        print(f"{'ICL-MC Bayes, all contexts (Q(ln2))':34s} {2:2d} {t:3d} {2**t:9d} {dt:8.3f}")
        if dt > limit:
            break


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
