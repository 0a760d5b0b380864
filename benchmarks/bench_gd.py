"""Benchmarks for the gd family (run: python benchmarks/bench_gd.py).

1. Exact verification of gd.multi_layer at d = 16, n = 64, L = 10: one
   transformer forward pass and the GD reference, compared entry by entry,
   in GF(2^61 - 1) (uniform random point) and in exact rationals (dyadic point).
2. float64 checking of gd.one_layer at d = 10, n = 40, batched: prompts per
   second for forward + reference + comparison.
3. The cost of the abstraction: the engine's batched forward pass against the
   same layer written directly in numpy (einsum), on the same batch.

Timings are best-of-5 wall-clock seconds on one core (set OMP/OPENBLAS threads
to 1 before numpy loads)."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformer_proofs.constructions.arithmetic import Float64, Float64Bounded, PrimeField, Rational  # noqa: E402
from transformer_proofs.constructions.engine import forward, regression_prompt  # noqa: E402
from transformer_proofs.constructions.gradient_descent import von_oswald_transformer  # noqa: E402
from transformer_proofs.verify.algorithms.gradient_descent import gradient_descent  # noqa: E402
from transformer_proofs.verify.claims.gd import claims as gd  # noqa: E402
from transformer_proofs.verify.draws import DyadicDraw, FieldDraw  # noqa: E402
from transformer_proofs.verify.relations import EQUAL  # noqa: E402

CHUNK = 256  # prompts per batched check call (the score arrays stay in cache)


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def exact_multi_layer(ar, draw, sizes) -> float:
    inst = gd.MULTI_LAYER_SPEC.sample(draw, sizes)

    def once() -> None:
        observed, expected = gd.MULTI_LAYER_SPEC.evaluate(ar, inst)
        assert EQUAL.exact(observed, expected).status == "holds"

    return best_of(once, 3)


def float_batch(B: int, d: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, n, d))
    y = rng.standard_normal((B, n))
    x_q = rng.standard_normal((B, d))
    W_0 = rng.standard_normal(d) * 0.5
    return X, y, x_q, W_0


def one_layer_throughput(B: int = 10_000, d: int = 10, n: int = 40) -> tuple[float, float, float]:
    """(prompts/s for the full check, engine forward s, direct numpy s)."""
    X, y, x_q, W_0 = float_batch(B, d, n)
    eta = 0.125
    model = von_oswald_transformer(d, n, [Fraction(eta)], [Fraction(float(v)) for v in W_0])
    y_q = -(x_q @ W_0)
    Z = regression_prompt(X, y, x_q, 0.0)
    Z[:, d, n] = y_q
    F = Float64()

    def engine_forward() -> np.ndarray:
        return forward(F, model, Z)

    def direct_numpy() -> np.ndarray:
        # e_j + (η/n) Σ_i (0, W_0 x_i - y_i) x_iᵀ x_j over the n context tokens
        Xc = Z[:, :d, :n]  # (B, d, n)
        r = np.einsum("k,bkn->bn", W_0, Xc) - Z[:, d, :n]  # (B, n): W_0 x_i - y_i
        G = np.einsum("bki,bkj->bij", Xc, Z[:, :d, :])  # (B, n, n+1): x_iᵀ x_j
        out = Z.copy()
        out[:, d, :] += (eta / n) * np.einsum("bi,bij->bj", r, G)
        return out

    def check_chunk(sl: slice) -> bool:
        """The real float64 check on one chunk: forward pass and GD reference
        both in Float64Bounded; |model - reference| <= err_model + err_reference."""
        ar = Float64Bounded()
        Xb, yb, xqb = ar.array(X[sl]), ar.array(y[sl, :, None]), ar.array(x_q[sl, :, None])
        w0 = ar.array(W_0[:, None])
        top = ar.concat([ar.T(Xb), xqb], axis=-1)  # (b, d, n+1)
        labels = ar.concat([ar.T(yb), -ar.matmul(ar.T(xqb), w0)], axis=-1)  # (b, 1, n+1): query -W_0 x_q
        out = forward(ar, model, ar.concat([top, labels], axis=-2))
        w1 = gradient_descent(ar, Xb, yb, [ar.const(eta)], w0)[-1]  # (b, d, 1)
        context = yb - ar.matmul(Xb, w1 - w0)  # (b, n, 1): y_i - ΔW x_i
        query = -ar.matmul(ar.T(xqb), w1)  # (b, 1, 1)
        expected = ar.concat([ar.T(context), query], axis=-1)  # (b, 1, n+1)
        return EQUAL.float64(out[:, d:, :], expected).status == "holds"

    def full_check() -> None:
        # chunks of CHUNK prompts keep the (b, n+1, n+1) score arrays in cache
        assert all(check_chunk(slice(s, s + CHUNK)) for s in range(0, B, CHUNK))

    full_check()  # once, so a wrong construction fails loudly before timing
    t_check = best_of(full_check)
    return B / t_check, best_of(engine_forward), best_of(direct_numpy)


def main() -> None:
    rng = np.random.default_rng(0)
    sizes = {"d": 16, "n": 64, "L": 10}
    t_field = exact_multi_layer(PrimeField(), FieldDraw(rng, PrimeField()), sizes)
    t_rat = exact_multi_layer(Rational(), DyadicDraw(rng), sizes)
    rate, t_engine, t_direct = one_layer_throughput()
    rows = [
        ("gd.multi_layer exact, GF(2^61-1), d=16 n=64 L=10", f"{t_field:.3f} s", "< 1 s"),
        ("gd.multi_layer exact, rationals, d=16 n=64 L=10", f"{t_rat:.3f} s", "—"),
        ("gd.one_layer float64 check, d=10 n=40, batch 10k", f"{rate:,.0f} prompts/s", ">= 10,000/s"),
        ("engine forward, batch 10k", f"{t_engine * 1e3:.1f} ms", "—"),
        ("direct numpy (einsum), batch 10k", f"{t_direct * 1e3:.1f} ms", "—"),
        ("abstraction cost (engine / direct)", f"{t_engine / t_direct:.2f}x", "<= 2x"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':{width}}  {'measured':>18}  target")
    for name, value, target in rows:
        print(f"{name:{width}}  {value:>18}  {target}")


if __name__ == "__main__":
    main()
