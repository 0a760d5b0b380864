"""The cost of the exact population quantities as L and d grow (run:
python benchmarks/bench_moments.py [--quick]).

Each exact computation is timed beside a simple baseline measured in the same
run, and reported as a ratio to it, so the numbers mean the same on any machine:

1. Wishart trace moments E tr Ĝ^k, k ≤ 2L (the L-layer aligned loss needs them),
   by the integration-by-parts recursion, at d = 5, n = 20, in integers and with
   n, d symbolic (sympy); baseline: a Monte Carlo estimate of the same moments
   from 10⁴ float64 draws (which gives ~2 digits, not the value).
2. The aligned-set optimum (moments, Hankel solve, exact root isolation) per L.
3. Isserlis by the memoised recursion (2^m states) against the plain sum over
   all (m − 1)!! pairings, for m factors of one Gaussian vector.
4. The one-layer decision over all (P, Q) per d (moment tensors, exact gradient
   and Hessian, LDLᵀ); baseline: the Monte Carlo loss at one point, 10⁴ prompts.

Timings are best-of-3 wall-clock seconds, one thread."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from fractions import Fraction  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sympy as sp  # noqa: E402
from transformer_proofs.verify.claims.gd import optima  # noqa: E402
from transformer_proofs.verify.claims.gd.landscape import (  # noqa: E402
    OneLayerLoss,
    OneLayerProblem,
    lsa_point,
    optimal_preconditioner,
    rescaling_direction,
)
from transformer_proofs.verify.claims.gd.training import rational_covariance  # noqa: E402
from transformer_proofs.verify.population.gaussian import isserlis, wishart_trace_moment  # noqa: E402
from transformer_proofs.verify.population.stationary import decide  # noqa: E402


def best_of(fn, repeats: int = 3) -> float:  # noqa: D401  (as in bench_gd, with 3 repeats)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def monte_carlo_moments(n: int, d: int, K: int, draws: int = 10_000) -> np.ndarray:
    X = np.random.default_rng(0).standard_normal((draws, n, d))
    G = np.einsum("bni,bnj->bij", X, X) / n
    out, P = [], np.broadcast_to(np.eye(d), G.shape)
    for _ in range(K + 1):
        out.append(np.trace(P, axis1=1, axis2=2).mean())
        P = P @ G
    return np.array(out)


def naive_isserlis(cov, idx: list[int]):
    if not idx:
        return 1
    first, rest = idx[0], idx[1:]
    return sum(cov[first][rest[j]] * naive_isserlis(cov, rest[:j] + rest[j + 1:]) for j in range(len(rest)))


def symbolic_moments(n, d, K: int) -> list:
    return [sp.expand(wishart_trace_moment((k,), n, d)) for k in range(K + 1)]


def aligned(n: int, d: int, L: int) -> object:
    return optima.aligned_optimum(optima.moments(n, d, 2 * L), L)


def exact_decision(Sigma: list, A: list, n: int) -> None:
    d = len(Sigma)
    f = OneLayerLoss(OneLayerProblem(Sigma, n))
    th = lsa_point(d, A)
    assert decide(f, th, [rescaling_direction(th, d)]).local_minimum


def monte_carlo_loss(Sigma: list, A: list, n: int, draws: int = 10_000) -> float:
    d = len(Sigma)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((draws, n + 1, d)) @ np.linalg.cholesky(np.array(Sigma, float)).T
    w = rng.standard_normal((draws, d))
    y = np.einsum("bnd,bd->bn", X, w)
    pred = np.einsum("bn,bnd,de,be->b", y[:, :n], X[:, :n], np.array(A, float), X[:, n]) / n
    return float(np.mean((pred - y[:, n]) ** 2))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = p.parse_args()
    Ls = range(1, 4 if args.quick else 7)
    n, d = 20, 5

    print("1-2. moments E tr Ĝ^k (k ≤ 2L) and the aligned optimum, d = 5, n = 20; ratio to Monte Carlo (10⁴ draws)")
    print(f"{'L':>3} {'MC [s]':>9} {'exact int':>10} {'symbolic n,d':>13} {'optimum':>9}")
    nn, dd = sp.symbols("n d")
    for L in Ls:
        mc = best_of(partial(monte_carlo_moments, n, d, 2 * L))
        ex = best_of(partial(optima.moments, n, d, 2 * L))
        sy = best_of(partial(symbolic_moments, nn, dd, 2 * L), 1)
        op = best_of(partial(aligned, n, d, L), 1)
        print(f"{L:>3} {mc:>9.4f} {ex / mc:>9.3f}x {sy / mc:>12.3f}x {op / mc:>8.3f}x")

    print("\n3. Isserlis, m factors of a 3-vector: memoised recursion against all (m−1)!! pairings")
    cov = [[Fraction(2), Fraction(1), Fraction(0)], [Fraction(1), Fraction(3), Fraction(1)],
           [Fraction(0), Fraction(1), Fraction(1)]]
    for m in (6, 8, 10) if args.quick else (6, 8, 10, 12):
        idx = [k % 3 for k in range(m)]
        base = best_of(partial(naive_isserlis, cov, idx), 1)
        ours = best_of(partial(isserlis, cov, idx))
        assert isserlis(cov, idx) == naive_isserlis(cov, idx)
        print(f"  m = {m:>2}: pairings {base:.4f} s, recursion {ours / base:.3f}x")

    print("\n4. one layer over all (P, Q): exact decision against a Monte Carlo loss (10⁴ prompts)")
    cases = [([Fraction(1)], [], 3), ([Fraction(1), Fraction(1, 4)], [(0, 1, Fraction(1, 2))], 3)]
    if not args.quick:
        cases.append(([Fraction(1), Fraction(1, 4), Fraction(3)], [(0, 1, Fraction(1, 2)), (1, 2, Fraction(1, 3))], 5))
    for eigs, skew, nn_ in cases:
        Sigma, U = rational_covariance(eigs, skew)
        A = optimal_preconditioner(eigs, U, nn_)
        base = best_of(partial(monte_carlo_loss, Sigma, A, nn_))
        exact = best_of(partial(exact_decision, Sigma, A, nn_), 1)
        print(f"  d = {len(eigs)}, n = {nn_}: Monte Carlo {base:.4f} s, exact decision {exact / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
