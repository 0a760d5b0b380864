"""Ratios against the limits, measured side by side in one run (issue 17).

Absolute times drift on a shared machine; a ratio of two computations timed
alternately in the same run does not (much).  Each row is the best of
``--repeats`` timings of each side.

1. exact ``gd.multi_layer`` (the engine's forward pass in GF(2^61-1), which
   runs factored: ``constructions.factored``) against the float64 forward of
   the same transformer on the same prompt, and against the same L layers
   written directly with python-flint ``nmod_mat`` (associated, the key mask
   applied by zeroing the query column); the engine's layer-by-layer exact
   pass (``factored=False``) for reference;
2. at large n: the same against the associated float64 layer written in numpy;
3. Newton in GF(p): the whole transformer (ReLU pairs linearised, as the
   prime-field check runs it) against the plain ``nmod_mat`` Newton–Schulz
   iteration of the same size, up to d=128, n=1024, k=30 (the first call on a
   fresh model, which analyses and converts its weights, reported apart);
4. the float64 engine forward (batched) against the direct associated numpy
   layer (and against numpy written for the layer's structure: only the label
   row changes), the running error bound (Float64Bounded) against plain
   float64, and the rate of the catalogue's own float64 checker of
   ``gd.one_layer`` (batched prompts, decided prompt by prompt);
5. symbolic ``gd.multi_layer``: the spec's symbolic evaluation, seconds.

Run: ``python benchmarks/bench_ratios.py [--quick] [--repeats 3]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from fractions import Fraction  # noqa: E402
from typing import Any, Callable  # noqa: E402

import flint  # noqa: E402
import numpy as np  # noqa: E402
from bench_gd import best_of  # noqa: E402  (benchmarks/ is on the path when run as a script)
from transformer_proofs.constructions.arithmetic import (  # noqa: E402
    MERSENNE_61,
    Arithmetic,
    Float64,
    Float64Bounded,
    PrimeField,
    Sym,
)
from transformer_proofs.constructions.engine import forward  # noqa: E402
from transformer_proofs.constructions.gradient_descent import von_oswald_transformer  # noqa: E402
from transformer_proofs.verify.claims.gd import claims as gd  # noqa: E402
from transformer_proofs.verify.draws import DyadicDraw, FieldDraw, SymbolDraw  # noqa: E402


def side_by_side(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Best-of timings of a and b, interleaved (a, b, a, b, ...)."""
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(best_of(a, 1))
        tb.append(best_of(b, 1))
    return min(ta), min(tb)


# ---------------------------------------------------------------------------
# 1, 2: gd.multi_layer
# ---------------------------------------------------------------------------


def _gd_instance(d: int, n: int, L: int, seed: int = 0) -> Any:
    field = PrimeField()
    return gd.MULTI_LAYER_SPEC.draw(FieldDraw(np.random.default_rng(seed), field), {"d": d, "n": n, "L": L})


def _float_model_and_prompt(d: int, n: int, L: int, seed: int = 0) -> tuple[Any, np.ndarray]:
    inst = gd.MULTI_LAYER_SPEC.draw(DyadicDraw(np.random.default_rng(seed)), {"d": d, "n": n, "L": L})
    model = gd.build_von_oswald(inst)
    Z = Float64().to_float(gd.von_oswald_prompt(Float64(), inst))
    return model, Z


def _nmod_weights(model: Any, p: int = MERSENNE_61) -> list[tuple[Any, ...]]:
    """Each layer's (W_Q, W_K, W_V, W_O, key mask, scale) as nmod_mat, converted once."""

    def mat(w: Any) -> Any:
        w = np.asarray(w, dtype=object)
        return flint.nmod_mat(w.shape[0], w.shape[1],
                              [int(flint.nmod(int(Fraction(v).numerator), p) / int(Fraction(v).denominator))
                               for v in w.ravel()], p)

    out = []
    for layer in model.layers:
        h = layer.heads[0]
        scale = flint.nmod(int(layer.scale.numerator), p) / int(layer.scale.denominator)
        out.append((mat(h.W_Q), mat(h.W_K), mat(h.W_V), mat(h.W_O), list(np.asarray(layer.key_mask)), scale))
    return out


def plain_nmod_gd(weights: list[tuple[Any, ...]], Z0: Any, p: int = MERSENNE_61) -> Any:
    """The same L layers directly in nmod_mat: Z += scale · W_O (V_M K_Mᵀ) Q,
    the key mask applied by zeroing the columns of the other tokens."""
    D, N = len(Z0), len(Z0[0])
    Z = flint.nmod_mat(D, N, [int(v) for row in Z0 for v in row], p)
    for W_Q, W_K, W_V, W_O, keep, scale in weights:
        Z_M = flint.nmod_mat(D, N, [v if keep[k % N] else 0 for k, v in enumerate(Z.entries())], p)
        Z = Z + ((W_O * ((W_V * Z_M) * (W_K * Z_M).transpose())) * (W_Q * Z)) * scale
    return Z


def gd_exact_row(d: int, n: int, L: int, repeats: int) -> list[Any]:
    field, f64 = PrimeField(), Float64()
    inst = _gd_instance(d, n, L)
    model = gd.build_von_oswald(inst)
    Zp = field.array(gd.von_oswald_prompt(field, inst))
    Z0 = [[int(v) for v in row] for row in Zp]
    fmodel, Zf = _float_model_and_prompt(d, n, L)

    # the float64 weights converted once, outside the timing (the limit is the arithmetic alone)
    fweights = [(*(np.asarray(w, dtype=float) for w in (layer.heads[0].W_Q, layer.heads[0].W_K, layer.heads[0].W_V,
                                                         layer.heads[0].W_O)),
                 np.asarray(layer.key_mask, dtype=float), float(layer.scale)) for layer in fmodel.layers]

    def direct_assoc() -> np.ndarray:
        Z = Zf.copy()
        for Wq, Wk, Wv, Wo, m, scale in fweights:
            ZM = Z * m
            Z = Z + scale * ((Wo @ ((Wv @ ZM) @ (Wk @ ZM).T)) @ (Wq @ Z))
        return Z

    t_exact, t_float = side_by_side(lambda: forward(field, model, Zp), lambda: forward(f64, fmodel, Zf), repeats)
    weights = _nmod_weights(model)
    t_plain, t_assoc = side_by_side(lambda: plain_nmod_gd(weights, Z0), direct_assoc, repeats)
    t_layers = best_of(lambda: forward(field, model, Zp, factored=False), repeats)
    return [f"gd.multi_layer GF(p) d={d} n={n} L={L}", f"{t_exact * 1e3:.1f} ms",
            f"{t_exact / t_float:.1f}x float64 engine", f"{t_exact / t_assoc:.1f}x assoc. numpy",
            f"{t_exact / t_plain:.1f}x plain nmod_mat", f"(layer by layer {t_layers / t_assoc:.0f}x assoc. numpy)"]


# ---------------------------------------------------------------------------
# 4: float64 engine against direct numpy; running bound against float64
# ---------------------------------------------------------------------------


def float_rows(B: int, d: int, n: int, repeats: int) -> list[list[Any]]:
    rng = np.random.default_rng(0)
    X, y, x_q = rng.standard_normal((B, n, d)), rng.standard_normal((B, n)), rng.standard_normal((B, d))
    W_0 = np.round(rng.standard_normal(d) * 32) / 64
    eta = 0.125
    model = von_oswald_transformer(d, n, [Fraction(eta)], [Fraction(float(v)) for v in W_0])
    Z = np.concatenate([np.concatenate([np.swapaxes(X, 1, 2), x_q[:, :, None]], axis=2),
                        np.concatenate([y, -(x_q @ W_0)[:, None]], axis=1)[:, None, :]], axis=1)
    F, FB = Float64(), Float64Bounded()
    Wv = np.zeros((d + 1, d + 1))
    Wv[d, :d], Wv[d, d] = W_0, -1
    w_row = np.append(W_0, -1.0)  # the one nonzero row of W_V

    def direct() -> np.ndarray:
        # e_j + (η/n) W_V Z M Zᵀ P_x e_j, associated: the (d+1) x (d+1) matrix first
        ZM = Z[:, :, :n]
        G = np.matmul(np.matmul(Wv, ZM), np.swapaxes(ZM[:, :d, :], 1, 2))  # (B, d+1, d)
        return Z + (eta / n) * np.matmul(G, Z[:, :d, :])

    def direct_label_row() -> np.ndarray:
        # the same layer written for its structure: only the label row changes,
        # y_j += (η/n) Σ_i (W_0 x_i - y_i) x_iᵀ x_j
        ZM = Z[:, :, :n]
        out = Z.copy()
        r = np.matmul(w_row, ZM)[:, None, :]  # (B, 1, n)
        out[:, d:, :] += np.matmul(np.matmul(r, np.swapaxes(ZM[:, :d, :], 1, 2)) * (eta / n), Z[:, :d, :])
        return out

    t_engine, t_direct = side_by_side(lambda: forward(F, model, Z), direct, repeats)
    t_engine2, t_row = side_by_side(lambda: forward(F, model, Z), direct_label_row, repeats)
    t_bound, t_plain = side_by_side(lambda: forward(FB, model, Z), lambda: forward(F, model, Z), repeats)
    rows = check_rate_rows(d, n, repeats)
    return rows + [[f"engine float64 forward, batch {B}, d={d} n={n}", f"{t_engine * 1e3:.1f} ms",
                    f"{t_engine / t_direct:.2f}x direct assoc. numpy",
                    f"{t_engine2 / t_row:.2f}x direct label-row numpy", ""],
                   [f"engine float64+bound forward, batch {B}", f"{t_bound * 1e3:.1f} ms",
                    f"{t_bound / t_plain:.2f}x plain float64 engine", "", ""]]


def check_rate_rows(d: int, n: int, repeats: int = 3) -> list[list[Any]]:
    """Prompts per second of the float64 check of gd.one_layer at one size:
    the catalogue's checker itself (``check_float64`` on the claim's spec with
    its batches: drawn, built, run with running bounds on both sides and
    decided prompt by prompt), best of ``repeats``, in wall and CPU time, at
    the default effort and at --effort 4 (four times the batch)."""
    from dataclasses import replace

    from transformer_proofs.verify.checkers import check_float64
    from transformer_proofs.verify.spec import Context

    spec = replace(gd.ONE_LAYER_SPEC, sizes={"float64": [{"d": d, "n": n}]})
    rows = []
    for effort in (1.0, 4.0):  # --effort scales the batch: 512 and 2048 prompts
        wall, cpu, res = [], [], None
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            res = check_float64(spec, Context(effort=effort))
            wall.append(res.instances / (time.perf_counter() - t0))
            cpu.append(res.instances / (time.process_time() - c0))
        rows.append([f"gd.one_layer float64 check d={d} n={n}, catalogue checker, --effort {effort:g}",
                     f"{max(wall):,.0f}/s", f"{max(cpu):,.0f}/s CPU", f"({res.instances:,} prompts, {res.status})", ""])
    return rows


# ---------------------------------------------------------------------------
# 3: Newton in GF(p)
# ---------------------------------------------------------------------------


def newton_row(d: int, n: int, k: int, repeats: int) -> list[Any]:
    """The whole Newton transformer (ReLU pairs linearised, as the prime-field
    check runs it) on one prompt, against plain nmod_mat Newton–Schulz
    (S = XᵀX, M_0 = αS, M_{j+1} = 2M_j - M_j S M_j) of the same size."""
    from transformer_proofs.constructions.newton import linearise_relu_pairs, newton_prompt, newton_transformer

    field, p, rng = PrimeField(), MERSENNE_61, np.random.default_rng(0)
    X, y, x_q = field.random(rng, (n, d)), field.random(rng, (n,)), field.random(rng, (d,))
    alpha = Fraction(int(rng.integers(1, p)))
    model = linearise_relu_pairs(newton_transformer(d, n, k, alpha))
    Z = field.array(newton_prompt(X, y, x_q))
    Xm = flint.nmod_mat(n, d, [int(v) for v in X.ravel()], p)
    t_first = best_of(lambda: forward(field, model, Z), 1)

    def plain() -> Any:
        S = Xm.transpose() * Xm
        M = S * int(alpha)
        for _ in range(k):
            M = M * 2 - M * S * M
        return M

    t_model, t_plain = side_by_side(lambda: forward(field, model, Z), plain, repeats)
    return [f"newton GF(p) d={d} n={n} k={k}", f"{t_model * 1e3:.1f} ms",
            f"{t_model / t_plain:.1f}x plain nmod_mat Newton-Schulz ({t_plain * 1e3:.1f} ms)",
            f"first call {t_first * 1e3:.1f} ms", ""]


# ---------------------------------------------------------------------------
# 5: symbolic
# ---------------------------------------------------------------------------


class NaiveSympy(Arithmetic):
    """The naive limit: sympy expressions (the same Sym draws as symbols), expanded at the comparison."""

    name = "naive sympy"

    def scalar(self, x: Any) -> Any:
        import sympy

        if isinstance(x, sympy.Basic):
            return x
        if isinstance(x, Sym):
            if x.op is None:
                return sympy.Symbol(x.name)
            u, v = (self.scalar(t) for t in x.args)
            return {"+": u + v, "-": u - v, "*": u * v, "/": u / v}[x.op]
        f = Fraction(x)
        return sympy.Rational(f.numerator, f.denominator)


def symbolic_rows(grid: list[tuple[int, int, int]], naive_up_to: tuple[int, int, int],
                  eager_up_to: tuple[int, int, int]) -> list[list[Any]]:
    """Symbolic ``gd.multi_layer``: the spec's symbolic evaluation and its
    comparison (what the claim's symbolic check runs: the whole state and the
    read-out as polynomials in every drawn entry), seconds (wall, and CPU: the
    machine is shared), against the naive sympy expansion where that finishes
    (to d=2, n=4, L=3), and against the same evaluation with every product
    expanded at once (no sums of products).  The grid goes to d=4, n=8, L=4;
    L=5 at d=4, n=8 is out of reach of an expansion: the coordinates of the GD
    iterates w_1..w_4 have 41, 1249, 32137, 690501 terms, so w_5's have ~10^7
    (gigabytes at 52 variables; a run stopped at a 10 GB limit), and the grid
    grows L at smaller d, n instead."""
    import sympy
    from transformer_proofs.constructions import polynomial_sums

    def evaluate_and_compare(ar: Any, inst: Any) -> tuple[bool, float, float]:
        """(identity holds, wall seconds, CPU seconds of this process: the machine is shared)."""
        t0, c0 = time.perf_counter(), time.process_time()
        lhs, rhs = gd.MULTI_LAYER_SPEC.evaluate(ar, inst)
        ok = all((a - b) == 0 for a, b in zip(np.ravel(lhs), np.ravel(rhs)))
        return ok, time.perf_counter() - t0, time.process_time() - c0

    def within(size: tuple[int, int, int], limit: tuple[int, int, int]) -> bool:
        return all(a <= b for a, b in zip(size, limit))

    warm = SymbolDraw(np.random.default_rng(0))  # imports and first calls, outside the timings
    warm_inst = gd.MULTI_LAYER_SPEC.draw(warm, {"d": 1, "n": 1, "L": 1})
    evaluate_and_compare(warm.arithmetic(), warm_inst)
    rows = []
    for d, n, L in grid:
        draw = SymbolDraw(np.random.default_rng(0))
        inst = gd.MULTI_LAYER_SPEC.draw(draw, {"d": d, "n": n, "L": L})
        ok, t_flint, cpu = evaluate_and_compare(draw.arithmetic(), inst)
        ratios = []
        if within((d, n, L), naive_up_to):
            t0 = time.perf_counter()
            lhs, rhs = gd.MULTI_LAYER_SPEC.evaluate(NaiveSympy(), inst)
            assert all(sympy.expand(a - b) == 0 for a, b in zip(np.ravel(lhs), np.ravel(rhs)))
            ratios.append(f"{t_flint / (time.perf_counter() - t0):.2g}x naive sympy expansion")
        if within((d, n, L), eager_up_to):
            lazy_min, polynomial_sums.LAZY_MIN_TERMS = polynomial_sums.LAZY_MIN_TERMS, 2**62  # every product expanded
            try:
                ok_eager, t_eager, _ = evaluate_and_compare(draw.arithmetic(), inst)
            finally:
                polynomial_sums.LAZY_MIN_TERMS = lazy_min
            ratios.append(f"{t_flint / t_eager:.2g}x expanded at once" + ("" if ok_eager else " (MISMATCH)"))
        rows.append([f"gd.multi_layer symbolic d={d} n={n} L={L} ({len(draw.names)} symbols)", f"{t_flint:.2f} s",
                     ("identity holds" if ok else "MISMATCH") + f" (CPU {cpu:.2f} s)", *ratios, "", ""][:5])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the smallest grid")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="gd,newton,float,symbolic", help="comma-separated: gd, newton, float, symbolic")
    args = ap.parse_args()
    only = set(args.only.split(","))
    grid = [(4, 8, 3), (16, 64, 10)] if args.quick else [(4, 8, 3), (16, 64, 10), (16, 256, 10), (16, 1024, 10)]
    rows: list[list[Any]] = []
    if "gd" in only:
        rows += [gd_exact_row(d, n, L, args.repeats) for d, n, L in grid]
    if "float" in only:
        rows += float_rows(2_000 if args.quick else 10_000, 10, 40, args.repeats)
    if "symbolic" in only:
        rows += symbolic_rows([(2, 2, 2), (2, 4, 3)] if args.quick else
                              [(2, 2, 2), (2, 4, 3), (4, 8, 3), (4, 8, 4), (3, 6, 5), (2, 4, 8)],
                              naive_up_to=(2, 4, 3), eager_up_to=(4, 8, 8))
    if "newton" in only:
        rows += [newton_row(d, n, k, args.repeats) for d, n, k in
                 ([(4, 16, 3), (16, 64, 10)] if args.quick else
                  [(4, 16, 3), (16, 64, 10), (32, 256, 10), (128, 1024, 30)])]
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:{width}}  {r[1]:>10}  " + "  ".join(x for x in r[2:] if x))


if __name__ == "__main__":
    main()
