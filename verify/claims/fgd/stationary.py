"""What training finds for functional GD, non-linear kernels: stationarity sampled.

``fgd.nonlinear_stationary`` (ours; Cheng, Chen, Sra's Theorem 1 known through a
summary).  One functional-GD layer with attention kernel h(x_iᵀ B x_q) and
value entry r predicts

    f(x_q) = −r · s(B),   s(B) = (1/n) Σ_i y_i h(x_iᵀ B x_q)

(the construction: B = b I, r = −η).  Prompts: x_1..x_n, x_q uniform on the unit
sphere of R^d, f ~ GP(0, exp(⟨x, x'⟩)), y_i = f(x_i) + N(0, σ²), target f(x_q)
(``fgd.matched_activation``'s tasks and draw).  The in-context loss
ℓ(B, r) = E (f(x_q) − f_target)² is checked stationary in every coordinate of
(r, B) at B = b* I, r = −η*(b*):

- η*(b) = E[s y_q] / E[s²] is the step's own optimum at B = bI, and b*
  maximises E[s y_q]² / E[s²] (the loss at η*(b) is a constant minus that)
  by golden section.  Both expectations reduce to integrals over inner
  products of at most three points on the sphere (d = 3: ⟨x, x_q⟩ uniform on
  [−1, 1]; the third inner product through an angle uniform on the circle),
  computed by Gauss–Legendre and trapezoid quadrature (numerical, float64;
  split at 0 for the ReLU kink).  ReLU is homogeneous (h(bt) = b h(t)): every
  scale is as good, b* = 1.  For exp, b* ≈ 2.666: B = I (the kernel as
  written) is not stationary, its trace derivative excludes 0 (a falsifier);
- B's off-diagonal entries and traceless diagonal directions vanish by the
  rotation invariance of the law (ℓ(QᵀBQ) = ℓ(B), so ∇_B ℓ at bI is a
  multiple of I); the r and trace directions test the two 1-D optima.

Evidence: empirical.  The gradient of the per-prompt loss is written out
analytically; its mean over P prompts gets a normal-approximation interval per
coordinate, Bonferroni over all 2(1 + d²) = 20 coordinates at family-wise level
1e-4; all must contain 0.  The intervals are not widened for the quadrature's
or the golden section's error (below 1e-12 relative and 1e-9: many orders
under the half-widths).
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
# Decided coordinates per kernel: r and the d² of B (as off-diagonal, traceless-diagonal and trace directions).
DECIDED = 1 + STATIONARY["d"] ** 2
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


@lru_cache(maxsize=4)
def _sphere3_quadrature(nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """t-nodes, weights and ḡ[i, j] = E_θ g(⟨x1, x2⟩) at ⟨x1, x_q⟩ = t_i, ⟨x2, x_q⟩ = t_j (g = exp, the GP's
    kernel): ⟨x1, x2⟩ = t_i t_j + √(1−t_i²)√(1−t_j²) cos θ, θ uniform (trapezoid, spectrally accurate)."""
    t, w = _legendre_on_sphere3(nodes)
    theta = 2 * np.pi * np.arange(2 * nodes) / (2 * nodes)
    t1, t2, c = t[:, None, None], t[None, :, None], np.cos(theta)[None, None, :]
    return t, w, np.exp(t1 * t2 + np.sqrt(1 - t1**2) * np.sqrt(1 - t2**2) * c).mean(axis=2)


def step_moments(kind: str, scale: float, n: int, noise: float, nodes: int = QUAD_NODES) -> tuple[float, float]:
    """(E[s y_q], E[s²]) for attention h(scale · x_iᵀx_q) on exp-GP tasks, d = 3:
    E[s y_q] = E h(bt)g(t); E[s²] = (1/n) E h(bt)² (g(1) + σ²) + ((n−1)/n) E h(bt1) g(⟨x1, x2⟩) h(bt2)."""
    h, _ = attention(kind)
    t, w, gbar = _sphere3_quadrature(nodes)
    hb = h(scale * t)
    sy = float(w @ (hb * np.exp(t)))
    ss = float(w @ hb**2) * (np.exp(1.0) + noise) / n + (n - 1) / n * float(np.einsum("i,j,ij->", w * hb, w * hb, gbar))
    return sy, ss


@lru_cache(maxsize=16)
def optimal_step(kind: str, d: int, n: int, noise: float, nodes: int = QUAD_NODES, scale: float = 1.0) -> float:
    """η* = E[s y_q] / E[s²], the value entry's own optimum at B = scale · I (d = 3 only; quadrature, numerical)."""
    if d != 3:
        raise ValueError(f"optimal_step: the quadrature is written for d = 3, not d = {d}")
    sy, ss = step_moments(kind, scale, n, noise, nodes)
    return sy / ss


HOMOGENEOUS = ("relu", "linear")  # h(bt) = b h(t): B's scale trades against the step, any scale is as good
SCALE_BRACKET = (0.1, 10.0)
SCALE_TOL = 1e-9  # golden section; the trace derivative moves by curvature × 1e-9, far under the half-widths


@lru_cache(maxsize=8)
def optimal_scale(kind: str, n: int, noise: float) -> float:
    """b* maximising E[s y_q]² / E[s²] over B = bI (the loss at η*(b) is const − that ratio): golden section
    on SCALE_BRACKET (the ratio is unimodal there: a test scans it); 1 for the homogeneous kernels."""
    if kind in HOMOGENEOUS:
        return 1.0

    def gain(b: float) -> float:
        sy, ss = step_moments(kind, b, n, noise)
        return sy * sy / ss

    lo, hi = SCALE_BRACKET
    phi = (math.sqrt(5) - 1) / 2
    a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
    ga, gb = gain(a), gain(b)
    while hi - lo > SCALE_TOL:
        if ga > gb:
            hi, b, gb = b, a, ga
            a = hi - phi * (hi - lo)
            ga = gain(a)
        else:
            lo, a, ga = a, b, gb
            b = lo + phi * (hi - lo)
            gb = gain(b)
    return (lo + hi) / 2


@dataclass(frozen=True)
class Point:
    """A parameter point of the sparse family: value entry r, key-query matrix B."""

    kind: str
    r: float
    B: np.ndarray


def construction(kind: str) -> Point:
    """B = b* I, r = −η*(b*): the optimum over the scale and the step (b* = 1 for ReLU, any scale being as good)."""
    d, n = STATIONARY["d"], STATIONARY["n"]
    b = optimal_scale(kind, n, NOISE)
    return Point(kind, -optimal_step(kind, d, n, NOISE, scale=b), b * np.eye(d))


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


def decided_directions(d: int) -> tuple[np.ndarray, list[str]]:
    """Rows of unit directions in (r, vec B), all decided, and their names: r, B's off-diagonal entries, its
    d − 1 traceless diagonal directions and its trace direction (the kernel's scale)."""
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
    return np.array(rows + [trace]), names + ["tr B/√d"]


def gradient_intervals(p: Point, seed: int, prompts: int, z: float = Z_STATIONARY
                       ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, means and half-widths (z·sd/√P, the Bonferroni z by default) of the directional derivatives."""
    G = per_prompt_gradients(p, seed, prompts)
    D, names = decided_directions(STATIONARY["d"])
    proj = G @ D.T
    return names, proj.mean(axis=0), z * proj.std(axis=0, ddof=1) / math.sqrt(len(G))


def stationary_check(points: Callable[[], list[Point]]) -> Check:
    def run(ctx: Context) -> CheckResult:
        prompts = max(STATIONARY["prompts"], ctx.count(STATIONARY["prompts"]))  # fewer would miss falsifiers
        rows, worst, fails = [], 0.0, []
        for p in points():
            names, mean, hw = gradient_intervals(p, ctx.seed, prompts)
            ratio = np.abs(mean) / hw
            j = int(np.argmax(ratio))
            worst = max(worst, float(ratio[j]))
            rows.append(f"{p.kind}: B = {p.B[0, 0]:.5f}·I, r = {p.r:.5f}: ∂ℓ/∂r = {mean[0]:+.2e} ± {hw[0]:.1e}, "
                        f"∂ℓ/∂tr = {mean[-1]:+.2e} ± {hw[-1]:.1e}, largest |mean|/half-width {ratio[j]:.2f} ({names[j]})")
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
     lambda: [replace(p, r=-optimal_step(WRONG_KERNEL[p.kind], STATIONARY["d"], STATIONARY["n"], NOISE,
                                         scale=optimal_scale(WRONG_KERNEL[p.kind], STATIONARY["n"], NOISE)))
              for p in constructions()]),
    ("anisotropic key-query matrix", "B = b*·diag(1.5, 1, 0.7) in place of b* I (r = −η*)",
     lambda: [replace(p, B=p.B @ np.diag([1.5, 1.0, 0.7])) for p in constructions()]),
    ("the kernel's own scale", "B = I with the step at its own optimum η*(1) (exp: not the scale's optimum b*)",
     lambda: [Point(p.kind, -optimal_step(p.kind, STATIONARY["d"], STATIONARY["n"], NOISE), np.eye(STATIONARY["d"]))
              for p in constructions()]),
]

register(Claim(
    id="fgd.nonlinear_stationary", paper=replace(CHENG, where="Theorem 1"), kind="stationary",
    statement=("One functional-GD layer, attention h(x_iᵀBx_q) (exp; ReLU), value entry r, on exp-GP tasks on the unit "
               "sphere of R^3 (n = 12, σ² = 0.01): at B = b*·I, r = −η*(b*) (the optimal scale and step, by quadrature "
               "and a 1-D search; b* = 1 for the homogeneous ReLU), every coordinate of the gradient of the in-context "
               "loss in (r, B) vanishes (sampled intervals, family-wise level 1e-4).  For exp, B = I itself is not "
               "stationary."),
    checks={"empirical": stationary_check(constructions)},
    falsifiers=[falsifier_from_check(name, desc, stationary_check(pts).run) for name, desc, pts in FALSIFIERS],
    provenance=Provenance(
        "ours", "Theorem 1 (stationarity of the functional-GD construction), for the exp and ReLU kernels, one layer",
        read_in=THEOREM1_READ_IN,
        note=("ours: the free parameters (r, B), the data law, the scale b* and step η* as our 1-D optima and one "
              "layer are our reading; the summary's constraint set and the paper's own stationary point were not read")),
    trust=("empirical: 6000 sampled prompts per kernel, analytic per-prompt gradients (a test compares them with "
           "central differences), normal-approximation intervals, Bonferroni over 20 coordinates at family-wise level 1e-4",
           "numerical: η* and b* by Gauss–Legendre / trapezoid quadrature in float64 (32 and 64 nodes agree to 1e-15) "
           "and golden section to 1e-9",
           "by symmetry B's off-diagonal and traceless directions vanish for any rotation-invariant law: they test "
           "the gradient's implementation and catch the anisotropic falsifier; the r and trace directions test the optima",
           "not decided: several layers, softmax attention, the paper's constraint set"),
    notes=("At seed 0: exp b* = 2.66606, η* = 0.34813, ∂ℓ/∂r = −3.0e−2 ± 0.50, ∂ℓ/∂tr = +1.8e−3 ± 0.074; ReLU η* = "
           "3.71454.  Seeds 0..19: the construction's largest |mean|/half-width 0.71; the falsifiers are caught by at "
           "least 2.9 (step × 1.2), 9.1 (sign), 7.8 (another kernel's step), 2.6 (anisotropic B) half-widths on each "
           "kernel, and B = I by 4.6 on exp (ReLU, homogeneous, is stationary at any scale).  At least 6000 prompts at "
           "every effort (fewer would miss falsifiers).")))
