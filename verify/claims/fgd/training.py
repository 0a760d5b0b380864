"""What training finds for functional GD: the linear kernel's exact step sizes.

``fgd.linear_kernel_optimum``: with the linear kernel K(x, x') = ⟨x, x'⟩, the
functional-GD transformer (A_ℓ = 0, B_ℓ = C_ℓ = I, r_ℓ = −η_ℓ) predicts
⟨w_L, x_q⟩ with w_{ℓ+1} = w_ℓ − η_ℓ ∇R(w_ℓ) (f_ℓ = ⟨w_ℓ, ·⟩ in the RKHS of the
linear kernel).  Labels from the Gaussian process with that kernel on
x ~ N(0, I) are y = ⟨w, x⟩, w ~ N(0, I), so the in-context loss over the steps
is E tr p(Ĝ)², p(t) = ∏(1 − η_ℓ t): Ahn et al.'s aligned loss at Σ = I
(:mod:`transformer_proofs.verify.claims.gd.optima`).  Its stationary point in the
steps exists, is the global minimiser over them and is unique up to the order
of the layers [ours].

Cheng, Chen, Sra's Theorem 1 (the construction is a stationary point of the
in-context loss under a sparsity constraint) we know only through a summary;
the exp, ReLU and softmax kernels are not decided here: their expectations
are not polynomial Gaussian moments; a sampled gradient at the construction
(one exp / ReLU layer) is ``fgd.nonlinear_stationary`` (:mod:`.stationary`), empirical.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from transformer_proofs.verify.checkers import falsifier_from_check
from transformer_proofs.verify.claims.fgd.claims import CHENG
from transformer_proofs.verify.claims.gd import optima
from transformer_proofs.verify.claims.gd.training import exact_candidate, multilayer_check
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Claim, Provenance

F = Fraction


def _rescaled(c: Fraction):
    """The exact steps times c: p(ct) has coefficients p_k c^k."""
    return lambda n, d, L: [pk * c**k for k, pk in enumerate(exact_candidate(n, d, L))]


def _query_counted(n: int, d: int, L: int) -> list:
    """Steps normalised by 1/(n+1) (the query counted as a key) for 1/n."""
    return _rescaled(F(n, n + 1))(n, d, L)


THEOREM1_READ_IN = ("a third-party summary of the paper (Theorem 1: the construction is a stationary point of the "
                    "in-context loss under a sparsity constraint on the value matrix); the paper's text was not read")

FGD_FALSIFIERS = [
    ("1/(n+1) normalisation", "the sum over keys normalised by the n + 1 tokens present: every step × n/(n+1)",
     _query_counted),
    ("read-out sign flipped", "r_ℓ = +η_ℓ: every step negated", _rescaled(F(-1))),
    ("infinite-n limit (Marchenko–Pastur)", "the n, d → ∞ moments at d/n fixed",
     lambda n, d, L: optima.optimal_polynomial(optima.marchenko_pastur_moments(n, d, 2 * L), L)),
    ("unit steps", "η_ℓ = 1 in every layer (the n → ∞ limit at fixed d)",
     lambda n, d, L: optima.power_polynomial(F(1), L)),
]

register(Claim(
    id="fgd.linear_kernel_optimum", paper=replace(CHENG, where="Theorem 1"), kind="stationary",
    statement=("Linear kernel, x ~ N(0, I), labels from the Gaussian process with that kernel: the in-context loss of "
               "the L-layer functional-GD transformer over its step sizes η_ℓ has a unique minimiser up to the order "
               "of the layers, a stationary point: η_ℓ = 1/r_ℓ, r_ℓ the roots of the degree-L orthogonal polynomial "
               "of t·dμ(t) (μ the expected spectral law of the n-sample Gram matrix)."),
    checks={"exact": multilayer_check(exact_candidate)},
    falsifiers=[falsifier_from_check(name, desc, multilayer_check(c).run) for name, desc, c in FGD_FALSIFIERS],
    provenance=Provenance(
        "ours", "Theorem 1 (stationarity of the functional-GD construction), for the linear kernel",
        read_in=THEOREM1_READ_IN,
        note=("ours: the exact statement for the linear kernel on the step sizes (the free value entries r_ℓ = −η_ℓ); "
              "the paper's constraint set and its non-linear kernels are not decided here")),
    trust=("exact: as gd.multilayer_optimum (its check, at Σ = I)",
           "ours: the reduction of the linear-kernel construction to preconditioned GD with A_ℓ = η_ℓ I (the identity "
           "itself is fgd.functional_gd); a test compares the engine's transformer with the exact loss by Monte Carlo",
           "not decided: exp, ReLU, softmax kernels; the paper's full constraint set"),
    notes="The steps are gd.multilayer_optimum's: at d = 5, n = 20, L = 3, η = (1.7142, 0.6891, 0.4224)."))
