"""Timing of the exact checks of the Newton transformer (newton.k_steps).

Prime field GF(2^61 - 1) at d = 16, n = 64, k = 0..10 (target: k = 10 in
under 2 s, build + forward pass + reference), and exact rationals at
d = 4, n = 8 and d = 16, n = 64 up to k = 6 with the largest bit size.

Run: PYTHONPATH=. python benchmarks/bench_newton.py
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
from tabulate import tabulate
from transformer_proofs.constructions.arithmetic import PrimeField, Rational
from transformer_proofs.constructions.engine import forward
from transformer_proofs.constructions.newton import linearise_relu_pairs, newton_prompt, newton_transformer
from transformer_proofs.verify.algorithms.newton import newton_prediction


def _dyadic(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    vals = [Fraction(int(v), 16) for v in rng.integers(-32, 33, int(np.prod(shape)))]
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out.reshape(shape)


def one_run(ar, d: int, n: int, k: int, seed: int = 0) -> tuple[bool, float, int]:
    rng = np.random.default_rng(seed)
    if isinstance(ar, PrimeField):
        X, y, x_q = ar.random(rng, (n, d)), ar.random(rng, (n,)), ar.random(rng, (d,))
        alpha = Fraction(int(rng.integers(1, ar.p)))
    else:
        X, y, x_q = _dyadic(rng, (n, d)), _dyadic(rng, (n,)), _dyadic(rng, (d,))
        S = X.T.dot(X)
        tr = sum(v * v for v in S.ravel())
        alpha = Fraction(1, 2 ** int(np.ceil(np.log2(float(tr)))))
    t0 = time.perf_counter()
    model = newton_transformer(d, n, k, alpha)
    if not ar.ordered:
        model = linearise_relu_pairs(model)
    out = forward(ar, model, newton_prompt(X, y, x_q))[-1, -1]
    ref = newton_prediction(ar, ar.array(X), ar.array(y.reshape(-1, 1)), ar.array(x_q.reshape(-1, 1)),
                            ar.const(alpha), k)[0, 0]
    seconds = time.perf_counter() - t0
    bits = Rational.max_bits(np.array([out])) if isinstance(ar, Rational) else 61
    return bool(out == ref), seconds, bits


def main() -> None:
    rows = []
    F = PrimeField()
    for k in (0, 2, 4, 6, 8, 10):
        ok, s, _ = one_run(F, 16, 64, k)
        rows.append([F.name, 16, 64, k, ok, f"{s:.2f}", "-", f"{5 * 2**k + 1}"])
    R = Rational()
    for d, n in ((4, 8), (16, 64)):
        for k in range(7):
            ok, s, bits = one_run(R, d, n, k)
            rows.append(["rational", d, n, k, ok, f"{s:.2f}", bits, f"{5 * 2**k + 1}"])
    print(tabulate(rows, headers=["arithmetic", "d", "n", "k", "equal", "seconds", "bits of prediction",
                                  "degree"], tablefmt="github"))
    k10 = next(r for r in rows if r[0] == F.name and r[3] == 10)
    print(f"\nprime field, d=16, n=64, k=10: {k10[5]} s (target < 2 s): "
          f"{'met' if float(k10[5]) < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
