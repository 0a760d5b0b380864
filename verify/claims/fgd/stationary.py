"""What training finds for functional GD, non-linear kernels: stationarity sampled.

``fgd.nonlinear_stationary`` (ours; Cheng, Chen, Sra's Theorem 1 known through a
summary).  One functional-GD layer with attention kernel h(x_iᵀ B x_q) and
value entry r predicts

    f(x_q) = −r · s(B),   s(B) = (1/n) Σ_i y_i h(x_iᵀ B x_q)

(the construction: B = I, r = −η).  Prompts: x_1..x_n, x_q uniform on the unit
sphere of R^d, f ~ GP(0, exp(⟨x, x'⟩)), y_i = f(x_i) + N(0, σ²), target f(x_q)
(``fgd.matched_activation``'s tasks and draw).  The in-context loss
ℓ(B, r) = E (f(x_q) − f_target)² is checked stationary at B = I, r = −η* in
the directions that must vanish there:

- r (the value entry), with η* = E[s y_q] / E[s²] the step's own optimum.
  Both expectations reduce to integrals over inner products of at most three
  points on the sphere (d = 3: ⟨x, x_q⟩ uniform on [−1, 1]; the third inner
  product through an angle uniform on the circle), computed by Gauss–Legendre
  and trapezoid quadrature (numerical, float64; split at 0 for the ReLU kink);
- B's off-diagonal entries and its traceless diagonal directions: they vanish
  by the rotation invariance of the law (ℓ(QᵀBQ) = ℓ(B), so ∇_B ℓ at I is a
  multiple of I).  The trace direction (the scale of B, i.e. whether B = I is
  the best scale) is measured and reported, not decided.

Evidence: empirical.  The gradient of the per-prompt loss is written out
analytically; its mean over P prompts gets a normal-approximation interval per
coordinate, Bonferroni over every decided coordinate at family-wise level
1e-4; all must contain 0.  The η* interval is not widened for quadrature error
(below 1e-12 relative, many orders under the half-widths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from statistics import NormalDist
from typing import Callable

import numpy as np
from transformer_proofs.verify.checkers import falsifier_from_check, rng_for
from transformer_proofs.verify.claims.fgd.claims import CHENG, MATCH, GPTasks, draw_gp_tasks
from transformer_proofs.verify.claims.fgd.relations import FAMILY_ALPHA
from transformer_proofs.verify.claims.fgd.training import THEOREM1_READ_IN
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Check, CheckResult, Claim, Context, Provenance

STATIONARY = dict(d=3, n=12, prompts=6000)  # d = 3: the quadrature below uses the d = 3 sphere's laws
KERNELS = ("exp", "relu")  # attention kernels checked; the GP is the exp kernel's throughout
NOISE = MATCH["noise"]
QUAD_NODES = 32  # 32 and 64 nodes agree to 1e-15 relative (exp, ReLU split at 0, linear)
# Decided coordinates per kernel: r, the d(d−1) off-diagonal entries of B and d − 1 traceless diagonal directions.
DECIDED = 1 + STATIONARY["d"] * (STATIONARY["d"] - 1) + STATIONARY["d"] - 1
Z_STATIONARY = NormalDist().inv_cdf(1 - FAMILY_ALPHA / (2 * DECIDED * len(KERNELS)))  # two-sided, Bonferroni


def attention(kind: str) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """The kernel profile h(t) and its derivative h'(t) of an attention kernel h(x_iᵀ B x_q)."""
    if kind == "exp":
        return np.exp, np.exp
    if kind == "relu":
        return (lambda t: np.maximum(t, 0.0)), (lambda t: (t > 0).astype(float))
    if kind == "linear":
        return (lambda t: t), np.ones_like
    raise ValueError(f"unknown attention kernel {kind!r} (expected exp, relu or linear)")


def _legendre_on_sphere3(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of t = ⟨x, x_q⟩ on the d = 3 sphere (uniform on [−1, 1]),
    Gauss–Legendre on [−1, 0] and [0, 1] apart (exact across the ReLU kink)."""
    u, w = np.polynomial.legendre.leggauss(nodes)
    t = np.concatenate([(u - 1) / 2, (u + 1) / 2])
    return t, np.concatenate([w, w]) / 4  # each half has length 1; density 1/2


@lru_cache(maxsize=16)
def optimal_step(kind: str, d: int, n: int, noise: float, nodes: int = QUAD_NODES) -> float:
    """η* = E[s y_q] / E[s²] for attention ``kind`` on exp-GP tasks (d = 3 only):
    E[s y_q] = E h(t)g(t); E[s²] = (1/n) E h(t)² (g(1) + σ²) + ((n−1)/n) E h(t1) g(⟨x1, x2⟩) h(t2),
    ⟨x1, x2⟩ = t1 t2 + √(1−t1²)√(1−t2²) cos θ, θ uniform (quadrature, numerical)."""
    if d != 3:
        raise ValueError(f"optimal_step: the quadrature is written for d = 3, not d = {d}")
    h, _ = attention(kind)
    t, w = _legendre_on_sphere3(nodes)
    g = np.exp
    theta = 2 * np.pi * np.arange(2 * nodes) / (2 * nodes)
    t1, t2, c = t[:, None, None], t[None, :, None], np.cos(theta)[None, None, :]
    inner = t1 * t2 + np.sqrt(1 - t1**2) * np.sqrt(1 - t2**2) * c
    three = float(np.einsum("i,j,ij->", w, w, (h(t1) * g(inner) * h(t2)).mean(axis=2)))
    sy = float(w @ (h(t) * g(t)))
    ss = float(w @ h(t) ** 2) * (g(1.0) + noise) / n + (n - 1) / n * three
    return sy / ss


@dataclass(frozen=True)
class Point:
    """A parameter point of the sparse family: value entry r, key-query matrix B."""

    kind: str
    r: float
    B: np.ndarray


def construction(kind: str) -> Point:
    d, n = STATIONARY["d"], STATIONARY["n"]
    return Point(kind, -optimal_step(kind, d, n, NOISE), np.eye(d))


@lru_cache(maxsize=4)
def prompts_for(seed: int, kind: str, prompts: int) -> GPTasks:
    """The exp-GP prompts of one seed and kernel: the same for every parameter point (common random numbers)."""
    draw = DyadicDraw(rng_for(Context(seed=seed), f"fgd-stationary-{kind}"))
    return draw_gp_tasks(draw, {"gp": "exp", "d": STATIONARY["d"], "n": STATIONARY["n"], "T": prompts})


def per_prompt_gradients(p: Point, seed: int, prompts: int) -> np.ndarray:
    """(P, 1 + d²): ∂/∂r and ∂/∂B (row-major) of the per-prompt loss (f − f(x_q))², analytic:
    ∂/∂r = −2 (f − f_q) s,  ∂/∂B = −2 r (f − f_q) (1/n) Σ_i y_i h'(x_iᵀBx_q) x_i x_qᵀ."""
    n = STATIONARY["n"]
    tasks = prompts_for(seed, p.kind, prompts)
    X, q = tasks.P[:, :n, :], tasks.P[:, n, :]
    h, dh = attention(p.kind)
    t = np.einsum("tid,de,te->ti", X, p.B, q)
    s = np.einsum("ti,ti->t", tasks.y, h(t)) / n
    resid = -p.r * s - tasks.f[:, n]
    g_r = -2 * resid * s
    g_B = -2 * p.r * resid[:, None, None] * np.einsum("ti,ti,tid,te->tde", tasks.y, dh(t), X, q) / n
    return np.concatenate([g_r[:, None], g_B.reshape(len(s), -1)], axis=1)


def decided_directions(d: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Rows of unit directions in (r, vec B): the decided ones, their names, and the trace direction."""
    rows, names = [np.eye(1 + d * d)[0]], ["r"]
    for j in range(d):
        for k in range(d):
            if j != k:
                rows.append(np.eye(1 + d * d)[1 + j * d + k])
                names.append(f"B[{j},{k}]")
    for j in range(d - 1):
        v = np.zeros(1 + d * d)
        v[1 + j * d + j], v[1 + (j + 1) * d + j + 1] = 1 / math.sqrt(2), -1 / math.sqrt(2)
        rows.append(v)
        names.append(f"B[{j},{j}]−B[{j + 1},{j + 1}]")
    trace = np.zeros(1 + d * d)
    for j in range(d):
        trace[1 + j * d + j] = 1 / math.sqrt(d)
    return np.array(rows), names, trace


def gradient_intervals(p: Point, seed: int, prompts: int, z: float = Z_STATIONARY
                       ) -> tuple[list[str], np.ndarray, np.ndarray, tuple[float, float]]:
    """Names, means and half-widths (z·sd/√P, Bonferroni z by default) of the decided directional
    derivatives; the trace direction's (mean, 95% half-width)."""
    G = per_prompt_gradients(p, seed, prompts)
    D, names, trace = decided_directions(STATIONARY["d"])
    proj = G @ D.T
    mean = proj.mean(axis=0)
    hw = z * proj.std(axis=0, ddof=1) / math.sqrt(len(G))
    tr = G @ trace
    return names, mean, hw, (float(tr.mean()), float(1.959963984540054 * tr.std(ddof=1) / math.sqrt(len(G))))


def stationary_check(points: Callable[[], list[Point]]) -> Check:
    def run(ctx: Context) -> CheckResult:
        prompts = max(STATIONARY["prompts"], ctx.count(STATIONARY["prompts"]))  # fewer would miss falsifiers
        rows, worst, fails = [], 0.0, []
        for p in points():
            names, mean, hw, (tm, th) = gradient_intervals(p, ctx.seed, prompts)
            ratio = np.abs(mean) / hw
            j = int(np.argmax(ratio))
            worst = max(worst, float(ratio[j]))
            rows.append(f"{p.kind}: r = {p.r:.5f}, ∂ℓ/∂r = {mean[0]:+.2e} ± {hw[0]:.1e}, largest |mean|/half-width "
                        f"{ratio[j]:.2f} ({names[j]}); trace direction (not decided) {tm:+.2e} ± {th:.1e} (95%)")
            fails += [f"{p.kind}: ∂ℓ/∂{names[k]} = {mean[k]:+.3e} ± {hw[k]:.2e} excludes 0"
                      for k in np.flatnonzero(ratio > 1)]
        detail = (f"{prompts} prompts per kernel (d={STATIONARY['d']}, n={STATIONARY['n']}, exp-GP tasks, σ²={NOISE}); "
                  f"intervals mean ± z·sd/√P, z = {Z_STATIONARY:.2f} (family-wise 1e-4, Bonferroni over "
                  f"{DECIDED * len(KERNELS)} coordinates): " + "; ".join(rows))
        status = "fails" if fails else "holds"
        if fails:
            detail = "; ".join(fails[:4]) + " — " + detail
        return CheckResult("empirical", Evidence.EMPIRICAL.label, len(rows) * prompts, worst, 1.0, status, detail)

    return Check("empirical", Evidence.EMPIRICAL, run)


def constructions() -> list[Point]:
    return [construction(k) for k in KERNELS]


WRONG_KERNEL = {"exp": "linear", "relu": "exp"}  # whose optimal step each kernel is given by the falsifier

FALSIFIERS = [
    ("step × 1.2", "r = −1.2 η*: the step off its optimum",
     lambda: [replace(p, r=1.2 * p.r) for p in constructions()]),
    ("value sign flipped", "r = +η*: the read-out's sign flipped",
     lambda: [replace(p, r=-p.r) for p in constructions()]),
    ("another kernel's optimal step", "exp attention with the linear attention's η*, ReLU attention with exp's",
     lambda: [replace(p, r=-optimal_step(WRONG_KERNEL[p.kind], STATIONARY["d"], STATIONARY["n"], NOISE))
              for p in constructions()]),
    ("anisotropic key-query matrix", "B = diag(1.5, 1, 0.7) in place of I (r = −η*)",
     lambda: [replace(p, B=np.diag([1.5, 1.0, 0.7])) for p in constructions()]),
]

register(Claim(
    id="fgd.nonlinear_stationary", paper=replace(CHENG, where="Theorem 1"), kind="stationary",
    statement=("One functional-GD layer, attention h(x_iᵀBx_q) (exp; ReLU), value entry r, on exp-GP tasks on the unit "
               "sphere of R^3 (n = 12, σ² = 0.01): at B = I, r = −η* (η* the step's own optimum, by quadrature), the "
               "gradient of the in-context loss vanishes in r, in B's off-diagonal entries and in B's traceless "
               "diagonal directions (sampled intervals, family-wise level 1e-4)."),
    checks={"empirical": stationary_check(constructions)},
    falsifiers=[falsifier_from_check(name, desc, stationary_check(pts).run) for name, desc, pts in FALSIFIERS],
    provenance=Provenance(
        "ours", "Theorem 1 (stationarity of the functional-GD construction), for the exp and ReLU kernels, one layer",
        read_in=THEOREM1_READ_IN,
        note=("ours: the free parameters (r, B), the data law, the step η* as a 1-D optimum and the choice of decided "
              "directions are our reading; the trace direction of B (the kernel's scale) is measured, not decided, "
              "and is not zero at B = I for the exp kernel")),
    trust=("empirical: 6000 sampled prompts per kernel, analytic per-prompt gradients, normal-approximation intervals, "
           "Bonferroni over 18 coordinates at family-wise level 1e-4",
           "numerical: η* by Gauss–Legendre / trapezoid quadrature in float64 (32 and 64 nodes agree to 1e-15)",
           "by symmetry the B directions vanish for any rotation-invariant law: their check tests the gradient's "
           "implementation and the anisotropic falsifier, the r direction tests the step",
           "not decided: the trace direction of B, several layers, softmax attention, the paper's constraint set"),
    notes=("At seed 0: exp η* = 0.88950, ∂ℓ/∂r = +2.6e−2 ± 0.17; ReLU η* = 3.71454, ∂ℓ/∂r = +2.8e−3 ± 0.042; the "
           "exp kernel's trace direction −0.24 ± 0.02 (95%): B = I is not the best scale of the exp kernel here.  Seeds "
           "0..19: the construction's largest |mean|/half-width 0.71; the falsifiers are caught, by each kernel alone, "
           "by at least 3.1 (step × 1.2), 9.3 (sign), 9.4 (another kernel's step) and 1.7 (anisotropic B) half-widths.  "
           "At least 6000 prompts at every effort (fewer would miss falsifiers).")))
