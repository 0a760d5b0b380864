"""Zhang, Frei, Bartlett (2024): what gradient flow from their initialisation converges to.

One layer, ŷ = u · (1/n) Σ_i y_i x_iᵀ V x_q (value weight u on the label slot, key-query
block V; in Ahn et al.'s form p = (0, u), Q₁₁ = −V), x ~ N(0, Σ), w ~ N(0, I), loss
R = E(ŷ − y_q)² (ZFB's ½ changes no stationary point; the flow's clock only).  Initialisation u(0) = σ, V(0) = σ ΘΘᵀ with ‖ΘΘᵀ‖_F = 1.

The limit, certified by invariants (our argument; each step is an exact check):

1. the set {p_x = 0, q₂₁ = 0} is invariant: the gradient has no component off it
   at any of its points (w ↦ −w flips the error and fixes those derivatives);
2. R depends on (u, V) through B = uV only, so u ∂_u R = ⟨V, ∂_V R⟩ and
   u² − ‖V‖²_F is conserved; the initialisation makes it 0 (balanced);
3. R(B) is a strictly convex quadratic (Hessian ≻ 0, exact LDLᵀ) with minimiser
   B* = Γ⁻¹, Γ = (1 + 1/n) Σ + (tr Σ / n) I, and (u, V) = (1, Γ⁻¹) is a stationary
   point of the full (P, Q) loss;
4. R(init) < R(0), so the flow (which decreases R) never reaches the only other
   stationary point of the balanced set, the origin; the trajectory is bounded
   (R is coercive in B, and balance gives u⁴ = u²‖V‖²_F = ‖B‖²_F), so it converges
   (Łojasiewicz) to a stationary point with u ≠ 0: u V = Γ⁻¹ and u² = ‖V‖²_F, i.e.
   u*² = ‖Γ⁻¹‖_F, V* = Γ⁻¹ / u*, u* > 0 (u cannot cross 0 while balanced).

The trajectory itself is simulated (RK4, float64, gradient from the exact
moments) for the table; it is an illustration, not the evidence.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np
from transformer_proofs.verify.checkers import falsifier_from_check
from transformer_proofs.verify.claims.gd.landscape import (
    OneLayerLoss,
    OneLayerProblem,
    lsa_point,
    optimal_preconditioner,
    rescaling_direction,
)
from transformer_proofs.verify.claims.gd.papers import ZFB
from transformer_proofs.verify.claims.gd.training import EXACT, exact_check, rational_covariance
from transformer_proofs.verify.population.gaussian import ldl_certificate, mat_mul
from transformer_proofs.verify.population.stationary import decide, directional, gradient_hessian
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import CheckResult, Claim, Context, Provenance

F = Fraction
ZFB_CASE = {"eigs": [F(1), F(1, 4)], "skew": [(0, 1, F(1, 2))], "n": 4,
            "sigma": F(1, 10), "ThetaThetaT": [[F(3, 5), F(0)], [F(0), F(4, 5)]]}


def zfb_point(d: int, u: Any, V: list) -> list:
    """θ of p = (0, u), Q_x = −[[V], [0]]."""
    return lsa_point(d, [[u * x for x in row] for row in V], scale=u)


def frob2(V: list) -> Fraction:
    return sum(x * x for row in V for x in row)


Limit = Callable[[list, list, int], tuple[Fraction, list]]  # (eigs, U, n) -> (u*², B* = u* V*)


def zfb_limit(eigs: list, U: list, n: int) -> tuple[Fraction, list]:
    """The claimed limit: B* = u*V* = Γ⁻¹ and u*² = ‖Γ⁻¹‖_F (given by u*⁴ = ‖Γ⁻¹‖²_F)."""
    G = optimal_preconditioner(eigs, U, n)
    return frob2(G), G  # u*⁴, B*


def flow_check(limit: Limit, theta_theta_t: list | None = None) -> Callable[[Context], CheckResult]:
    def run(ctx: Context) -> CheckResult:
        c = ZFB_CASE
        Sigma, U = rational_covariance(c["eigs"], c["skew"])
        d, n = len(c["eigs"]), c["n"]
        f = OneLayerLoss(OneLayerProblem(Sigma, n))
        facts = []
        # 1. invariance of the set: zero gradient off it at drawn points of it
        rng = np.random.default_rng([ctx.seed, 13])
        D = d + 1
        off = list(range(d)) + [D + d * d + k for k in range(d)]  # p_x, then q₂₁ (last row of Q_x)
        for _ in range(2):
            u = F(int(rng.integers(1, 9)), 4)
            V = [[F(int(rng.integers(-8, 9)), 8) for _ in range(d)] for _ in range(d)]
            th = zfb_point(d, u, V)
            g = [directional(f, th, [int(i == j) for j in range(len(th))])[0] for i in off]
            if any(x != 0 for x in g):
                return CheckResult("exact", EXACT.label, 1, None, 0.0, "fails", f"the set is not invariant: ∂f = {g}")
            # 2. rescaling invariance: the derivative along (p, −Q_x) is 0, i.e. u ∂_u f = ⟨V, ∂_V f⟩,
            #    so d/dt (u² − ‖V‖²_F) = 0 along the flow
            if directional(f, th, rescaling_direction(th, d))[0] != 0:
                return CheckResult("exact", EXACT.label, 1, None, 0.0, "fails", "u ∂_u f ≠ ⟨V, ∂_V f⟩")
        facts.append("the set {p_x = 0, q₂₁ = 0} is invariant and u² − ‖V‖²_F conserved (exact, at drawn points)")
        # 3. the limit: B* stationary over all (P, Q) with Hessian ≻ 0 off the rescaling; R(B) strictly convex
        u4, B = limit(c["eigs"], U, n)
        th = zfb_point(d, F(1), B)
        st = decide(f, th, [rescaling_direction(th, d)])
        if not st.local_minimum:
            i, gi = (st.nonzero or [(None, None)])[0]
            return CheckResult("exact", EXACT.label, 1, None, 0.0, "fails",
                               f"the claimed limit B* is not a minimum of the loss (∂f/∂θ_{i} = {gi})")
        _, H = gradient_hessian(lambda b: f(zfb_point(d, F(1), [b[r * d:(r + 1) * d] for r in range(d)])),
                                [x for row in B for x in row], degree=2)
        if not ldl_certificate(H)[0]:
            return CheckResult("exact", EXACT.label, 1, None, 0.0, "fails", "R(B) is not strictly convex")
        facts.append(f"B* = Γ⁻¹ = {[[str(x) for x in r] for r in B]} is the unique stationary B (R(B) strictly convex) "
                     "and stationary over all (P, Q)")
        # balance of the claimed limit: V* = B*/u*, so u*² = ‖V*‖²_F ⇔ u*⁴ = ‖B*‖²_F
        if u4 != frob2(B):
            return CheckResult("exact", EXACT.label, 1, None, 0.0, "fails",
                               f"the claimed limit is not balanced: u*⁴ = {u4} but ‖B*‖²_F = {frob2(B)} "
                               "(the flow keeps u² = ‖V‖²_F)")
        # 4. the initialisation: balanced, and below the origin's loss
        TT = theta_theta_t if theta_theta_t is not None else c["ThetaThetaT"]
        s = c["sigma"]
        if frob2(TT) != 1:
            return CheckResult("exact", EXACT.label, 1, None, 0.0, "fails",
                               f"the initialisation is not balanced: ‖ΘΘᵀ‖²_F = {frob2(TT)} ≠ 1")
        r0 = f(zfb_point(d, s, [[s * x for x in row] for row in TT]))
        origin = f([F(0)] * f.size())
        if not r0 < origin:
            return CheckResult("exact", EXACT.label, 1, None, 0.0, "fails", "R(init) ≥ R(0): the flow may stall")
        facts.append(f"balanced initialisation with R(init) = {float(r0):.6g} < R(0) = {float(origin):.6g}")
        return CheckResult("exact", EXACT.label, 1, 0.0, 0.0, "holds",
                           f"d={d}, n={n}, λ={[str(e) for e in c['eigs']]}: " + "; ".join(facts)
                           + f"; limit u*² = ‖Γ⁻¹‖_F = {float(frob2(B)) ** 0.5:.6g}, V* = Γ⁻¹/u*")
    return run


def _inverse_covariance(eigs: list, U: list) -> list:
    d = len(eigs)
    return mat_mul(mat_mul(U, [[1 / eigs[i] if i == j else F(0) for j in range(d)] for i in range(d)]),
                   [list(r) for r in zip(*U)])


def _balanced(B: list) -> tuple[Fraction, list]:
    return frob2(B), B


def zfb_table(ctx: Context) -> str:
    from transformer_proofs.verify.claims.gd.training_figures import flow_table

    return flow_table(ctx)


FLOW_FALSIFIERS: list[tuple[str, str, Limit | None, list | None]] = [
    ("(n−1)/n for (n+1)/n in Γ", "Γ = (1 − 1/n)Σ + (tr Σ/n) I",
     lambda e, U, n: _balanced(optimal_preconditioner(e, U, n, plus=-1)), None),
    ("dropped tr Σ/n", "Γ = (1 + 1/n) Σ",
     lambda e, U, n: _balanced(optimal_preconditioner(e, U, n, with_trace=False)), None),
    ("infinite-n limit", "B* = Σ⁻¹", lambda e, U, n: _balanced(_inverse_covariance(e, U)), None),
    ("unbalanced limit", "W^{PV} → 1, W^{KQ} → Γ⁻¹ (the product right, the scale not the flow's)",
     lambda e, U, n: (F(1), optimal_preconditioner(e, U, n)), None),
    ("unbalanced initialisation", "‖ΘΘᵀ‖_F = 1/2: u² − ‖V‖²_F ≠ 0 is conserved, the limit's scale changes",
     zfb_limit, [[F(1, 2), F(0)], [F(0), F(0)]]),
]

register(Claim(
    id="gd.zfb_gradient_flow", paper=ZFB, kind="stationary",
    statement=("Gradient flow on the one-layer LSA loss (x ~ N(0, Σ), w ~ N(0, I)) from u(0) = σ, V(0) = σΘΘᵀ, "
               "‖ΘΘᵀ‖_F = 1, stays in {W^{PV} = [[0,0],[0,u]], W^{KQ} = [[V,0],[0,0]]} and converges to u*² = ‖Γ⁻¹‖_F, "
               "V* = Γ⁻¹/u*, Γ = (1 + 1/n)Σ + (tr Σ/n) I: the global minimum of Ahn et al. Thm 1."),
    checks={"exact": exact_check("exact", flow_check(zfb_limit))},
    falsifiers=[falsifier_from_check(name, desc, flow_check(lim, tt)) for name, desc, lim, tt in FLOW_FALSIFIERS],
    provenance=Provenance(
        "recalled", "Theorem 4.1 (§4.1): the limit of gradient flow and its initialisation",
        quote=("We show that despite non-convexity, gradient flow with a suitable random initialization finds a global "
               "minimum of the objective function."),
        read_in="the paper's abstract only; Theorem 4.1's displays (initialisation, Γ, the limit's scale) were not re-read",
        note=("the form checked (balanced initialisation with ‖ΘΘᵀ‖_F = 1, the limit's scale ‖Γ⁻¹‖_F^{1/2}) is from "
              "memory of Theorem 4.1; the certificate of convergence (invariants + uniqueness) is ours")),
    trust=("exact: each step of the certificate (invariant set, conservation law, strict convexity in B, stationarity "
           "over all (P, Q), balanced initialisation with R(init) < R(0)) in rationals",
           "ours: the argument that these facts force the limit (Łojasiewicz convergence of an analytic gradient "
           "flow with bounded trajectory)",
           "numerical only: the simulated trajectory in the table"),
    table=zfb_table,
    notes=("We use Ahn et al.'s masked layer; ZFB's layer also lets the query into the sum, which changes only terms "
           "in p_x, zero on the invariant set.")))
