"""Mahankali, Hashimoto, Ma (2023): one GD step is the optimal one-layer LSA for
isotropic Gaussian data, and the step under label noise.

``gd.one_step_noisy``: x ~ N(0, I_d), w ~ N(0, I_d), y = ⟨x, w⟩ + N(0, σ²).  The
one-layer loss over all (P, Q) is stationary, and a strict local minimum
modulo the rescaling, at P = [[0,0],[0,1]], Q = −η[[I,0],[0,0]]: one GD step
w₁ = η (1/n) Xᵀy from w₀ = 0, with

    η = n / (n + d + 1 + σ²)        [ours: on the sparse family the loss is
    η² (E tr Ĝ² + σ² d/n) − 2η d + d + σ², E tr Ĝ² = d(n+d+1)/n].
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

from transformer_proofs.verify.claims.gd.landscape import OneLayerProblem
from transformer_proofs.verify.claims.gd.papers import MAHANKALI
from transformer_proofs.verify.claims.gd.training import falsifier_through, global_d1_check, stationarity_check
from transformer_proofs.verify.population.gaussian import identity
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Claim, Context, Provenance

F = Fraction
NOISY_CASES = [(2, 4, F(1, 2)), (2, 3, F(2))]  # (d, n, σ²)
NOISY_LARGE = [(2, 3, F(0)), (3, 5, F(3, 4))]  # σ² = 0 at d = 2 is gd.optimal_preconditioner's Σ = I case
NOISY_D1 = [(1, 3, F(0)), (1, 2, F(1, 2)), (1, 4, F(2))]

Step = Callable[[int, int, Fraction], Fraction]  # (d, n, σ²) -> η


def noisy_step(d: int, n: int, s2: Fraction) -> Fraction:
    return F(n) / (n + d + 1 + s2)


def noisy_problems(step: Step, d1: bool = False) -> Callable[[Context], list]:
    def make(ctx: Context) -> list:
        out = []
        cases = NOISY_D1 if d1 else NOISY_CASES + (NOISY_LARGE if ctx.effort > 1 else [])
        for d, n, s2 in cases:
            eta = step(d, n, s2)
            A = [[eta * x for x in row] for row in identity(d)]
            out.append((OneLayerProblem(identity(d), n, s2), A, f"d={d}, n={n}, σ²={s2}: η = {eta}"))
        return out
    return make


NOISY_FALSIFIERS: list[tuple[str, str, Step]] = [
    ("noiseless step under noise", "η = n/(n+d+1) whatever σ²", lambda d, n, s2: F(n, n + d + 1)),
    ("σ²/n for σ²", "η = n/(n+d+1+σ²/n)", lambda d, n, s2: F(n) / (n + d + 1 + s2 / n)),
    ("dσ² for σ²", "η = n/(n+d+1+dσ²)", lambda d, n, s2: F(n) / (n + d + 1 + d * s2)),
    ("(n−1) for (n+1)", "η = n/(n+d−1+σ²)", lambda d, n, s2: F(n) / (n + d - 1 + s2)),
    ("infinite-n limit", "η = 1", lambda d, n, s2: F(1)),
]

INVISIBLE_AT_D1 = {"dσ² for σ²": "at d = 1, dσ² = σ²"}  # run through the d ≥ 2 check only

register(Claim(
    id="gd.one_step_noisy", paper=MAHANKALI, kind="stationary",
    statement=("x ~ N(0, I), w ~ N(0, I), labels with noise N(0, σ²): over all (P, Q) of one linear self-attention "
               "layer, P = [[0,0],[0,1]], Q = −η[[I,0],[0,0]] (one GD step of size η from 0) with η = n/(n+d+1+σ²) is "
               "a stationary point and a strict local minimum modulo the rescaling, the global minimum over the "
               "sparse family, and at d = 1 the global minimum over all (P, Q)."),
    checks={"exact": stationarity_check("exact", noisy_problems(noisy_step)),
            "exact-global-d1": global_d1_check("exact-global-d1", noisy_problems(noisy_step, d1=True))},
    falsifiers=[falsifier_through(name, desc, [stationarity_check("exact", noisy_problems(s))]
                                  + ([global_d1_check("exact-global-d1", noisy_problems(s, d1=True))]
                                     if name not in INVISIBLE_AT_D1 else []))
                for name, desc, s in NOISY_FALSIFIERS],
    provenance=Provenance(
        "ours", "abstract (the isotropic statement); the noisy step size is our derivation",
        quote=("when the covariates are drawn from a standard Gaussian distribution, the one-layer transformer which "
               "minimizes the pre-training loss will implement a single step of GD on the least-squares linear "
               "regression objective"),
        read_in="the paper's abstract (the theorem's own normalisation of w and of the noise was not re-read)",
        note=("the abstract's statement, made exact at w ~ N(0, I) with our step size under label noise; the paper "
              "may normalise w ~ N(0, I/d), which rescales σ² in η")),
    trust=("exact: as gd.optimal_preconditioner (Isserlis moments with the noise in the token covariance, exact "
           "gradient and Hessian, LDLᵀ)",
           "at d = 1: global minimality over all (P, Q), as in gd.optimal_preconditioner",
           "not decided: global minimality over all (P, Q) at d ≥ 2"),
    notes=("σ² = 0 is Ahn et al. Thm 1 at Σ = I (eq. (7)). d = 3 runs at --effort > 1. The falsifier 'dσ² for σ²' "
           "is run through the d ≥ 2 check only (at d = 1 it is the claim itself).")))

