"""The gd family's population losses against Monte Carlo of the layers themselves,
and the exact decisions of its training claims.

Monte Carlo: |mean − exact| ≤ 3.29·s/√N (a 99.9% interval from the sample
standard deviation), at a fixed seed."""

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.verify.claims.gd import optima
from transformer_proofs.verify.claims.gd.landscape import (
    OneLayerLoss,
    OneLayerProblem,
    aligned_loss,
    lsa_point,
    optimal_preconditioner,
    rescaling_direction,
)
from transformer_proofs.verify.claims.gd.training import rational_covariance
from transformer_proofs.verify.population.stationary import decide, directional, gradient_hessian

Z999 = 3.29
F = Fraction


def lsa_forward(Z: np.ndarray, Ps, Qs, n: int) -> np.ndarray:
    """Ahn et al. (3)-(4): Z ← Z + (1/n) P Z M (Zᵀ Q Z), batched over the first axis."""
    for P, Q in zip(Ps, Qs):
        ctx = Z[:, :, :n]  # Z M keeps the n context columns
        Z = Z + P @ (ctx @ ctx.transpose(0, 2, 1)) @ Q @ Z / n
    return Z


def sample_prompts(rng, Sigma, n, B, Sigma_w=None, sigma2=0.0):
    d = len(Sigma)
    X = rng.standard_normal((B, n + 1, d)) @ np.linalg.cholesky(Sigma).T
    w = rng.standard_normal((B, d)) @ (np.linalg.cholesky(Sigma_w).T if Sigma_w is not None else np.eye(d))
    y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(sigma2) * rng.standard_normal((B, n + 1))
    Z = np.concatenate([X, y[:, :, None]], axis=2).transpose(0, 2, 1).copy()  # tokens as columns
    target = Z[:, d, n].copy()
    Z[:, d, n] = 0
    return Z, target


def test_one_layer_loss_against_monte_carlo_of_the_layer():
    """Random full (P, Q), noisy labels, non-isotropic Σ: the exact f equals the layer's mean squared error."""
    Sigma, _ = rational_covariance([F(1), F(1, 4)], [(0, 1, F(1, 2))])
    n, d, s2 = 3, 2, F(1, 4)
    f = OneLayerLoss(OneLayerProblem(Sigma, n, s2))
    rng = np.random.default_rng(5)
    P = np.round(rng.standard_normal((d + 1, d + 1)) * 4) / 8
    Q = np.round(rng.standard_normal((d + 1, d + 1)) * 4) / 8
    theta = [F(x) for x in P[d]] + [F(x) for row in Q[:, :d] for x in row]
    Z, target = sample_prompts(rng, np.array(Sigma, float), n, 400_000, sigma2=float(s2))
    pred = -lsa_forward(Z, [P], [Q], n)[:, d, n]
    err = (pred - target) ** 2
    mean, half = err.mean(), Z999 * err.std(ddof=1) / np.sqrt(len(err))
    assert abs(mean - float(f(theta))) <= half, (mean, half, float(f(theta)))


def test_aligned_loss_against_monte_carlo_of_three_layers():
    """x ~ N(0, Σ), w ~ N(0, Σ⁻¹), Q_ℓ = −[[a_ℓΣ⁻¹, 0], [0, 0]]: the layers' error is E tr p(Ĝ₀)²."""
    Sigma, _ = rational_covariance([F(2), F(1, 2), F(1)], [(0, 1, F(1, 3)), (1, 2, F(1, 2))])
    S = np.array(Sigma, float)
    n, d, a = 6, 3, [F(1, 2), F(3, 4), F(1, 3)]
    rng = np.random.default_rng(9)
    Z, target = sample_prompts(rng, S, n, 100_000, Sigma_w=np.linalg.inv(S))
    P = np.zeros((d + 1, d + 1))
    P[d, d] = 1
    Qs = []
    for s in a:
        Q = np.zeros((d + 1, d + 1))
        Q[:d, :d] = -float(s) * np.linalg.inv(S)
        Qs.append(Q)
    err = (-lsa_forward(Z, [P] * 3, Qs, n)[:, d, n] - target) ** 2
    exact = float(aligned_loss(a, optima.moments(n, d, 6)))
    assert abs(err.mean() - exact) <= Z999 * err.std(ddof=1) / np.sqrt(len(err)), (err.mean(), exact)


def test_directional_derivatives_are_exact_for_quartics():
    f = lambda t: t[0] ** 4 - 3 * t[0] ** 2 * t[1] + t[1] ** 3 + 2 * t[0]
    g, H = gradient_hessian(f, [F(1, 2), F(-1)])
    assert g == [4 * F(1, 8) - 3 * 2 * F(1, 2) * (-1) + 2, -3 * F(1, 4) + 3]
    assert H == [[12 * F(1, 4) - 6 * (-1), -6 * F(1, 2)], [-6 * F(1, 2), 6 * (-1)]]
    with pytest.raises(ValueError, match="degree 4"):
        directional(f, [0, 0], [1, 0], degree=6)


def test_decide_gives_a_witness_at_a_saddle():
    f = lambda t: t[0] ** 2 - t[1] ** 2
    st = decide(f, [F(0), F(0)])
    assert st.gradient_zero and not st.positive_definite
    w = st.witness
    assert w[0] ** 2 - w[1] ** 2 <= 0


def test_theorem_1_isotropic_closed_form():
    """Σ = I: A = n/(n+d+1) I (eq. (7)) is decided a local minimum; 1·I is not stationary."""
    d, n = 2, 4
    I2 = [[F(int(i == j)) for j in range(d)] for i in range(d)]
    f = OneLayerLoss(OneLayerProblem(I2, n))
    A = optimal_preconditioner([F(1)] * d, I2, n)
    assert A == [[F(n, n + d + 1) if i == j else 0 for j in range(d)] for i in range(d)]
    th = lsa_point(d, A, scale=F(3, 2))  # any rescaling
    assert decide(f, th, [rescaling_direction(th, d)]).local_minimum
    assert not decide(f, lsa_point(d, I2), [rescaling_direction(lsa_point(d, I2), d)]).gradient_zero


def test_fig2_values_and_the_two_decimal_margin():
    from transformer_proofs.verify.claims.gd.training import fig2_check
    from transformer_proofs.verify.spec import Context

    steps = sorted(float(lo) for lo, _ in optima.aligned_optimum(optima.moments(20, 5, 6), 3).steps_intervals)
    assert [round(s, 4) for s in steps] == [0.4224, 0.6891, 1.7142]
    wrong = lambda n, d, L: optima.optimal_polynomial(optima.moments(n, d, 2 * L, shift=-1), L)
    exact = lambda n, d, L: optima.optimal_polynomial(optima.moments(n, d, 2 * L), L)
    assert fig2_check(exact).run(Context()).status == "holds"
    assert fig2_check(wrong).run(Context()).status == "fails"
    # an inflated tolerance (0.1 instead of half the printed last digit) would let the wrong moment through
    assert fig2_check(wrong, half=F(1, 10)).run(Context()).status == "holds"


def test_flow_gradient_matches_the_exact_loss():
    """The float64 gradient the flow simulation uses is ½ the exact ∂f/∂B of the population loss."""
    from transformer_proofs.verify.claims.gd.flow import ZFB_CASE, zfb_point
    from transformer_proofs.verify.claims.gd.training_figures import flow_gradient

    c = ZFB_CASE
    Sigma, _ = rational_covariance(c["eigs"], c["skew"])
    d, n = 2, c["n"]
    f = OneLayerLoss(OneLayerProblem(Sigma, n))
    B = [[F(1, 2), F(-1, 3)], [F(1, 4), F(2, 3)]]
    grad, _ = flow_gradient(np.array(Sigma, float), n)
    G = grad(np.array(B, float))
    theta = [x for row in B for x in row]
    loss_of_B = lambda b: f(zfb_point(d, F(1), [b[i * d:(i + 1) * d] for i in range(d)]))
    for k in range(d * d):
        exact = directional(loss_of_B, theta, [int(k == j) for j in range(d * d)], degree=2)[0]
        # float64 evaluation of a 2×2 product: relative rounding far below 1e-12
        assert abs(float(exact) / 2 - G[k // d, k % d]) <= 1e-12 * (1 + abs(G[k // d, k % d]))


def test_flow_reaches_the_certified_limit():
    from transformer_proofs.verify.claims.gd.flow import ZFB_CASE
    from transformer_proofs.verify.claims.gd.training_figures import simulate_flow

    c = ZFB_CASE
    Sigma, U = rational_covariance(c["eigs"], c["skew"])
    G = np.array(optimal_preconditioner(c["eigs"], U, c["n"]), float)
    t, u, V, _ = simulate_flow(np.array(Sigma, float), c["n"], 0.1, np.array(c["ThetaThetaT"], float), times=(200,),
                               h=0.05)[0]
    assert np.linalg.norm(u * V - G) < 1e-8 and abs(u - np.sqrt(np.linalg.norm(G))) < 1e-8


def test_training_claims_hold_and_catch_their_falsifiers():
    from transformer_proofs.verify.registry import select
    from transformer_proofs.verify.spec import Context

    for claim in select("gd.optimal_preconditioner,gd.multilayer_*,gd.zfb_gradient_flow,gd.one_step_noisy,"
                        "gd.aligned_closed_form"):
        for check in claim.checks.values():
            assert check(Context(seed=3)).status == "holds", claim.id
        for fal in claim.falsifiers:
            assert fal.run(Context(seed=3))[0], (claim.id, fal.name)


def test_landscape_figure_is_deterministic(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    from transformer_proofs.verify.claims.gd.training_figures import landscape_figure
    from transformer_proofs.verify.spec import Context

    matplotlib.rcParams["svg.hashsalt"] = "transformer-proofs"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    name, _ = landscape_figure(Context(), tmp_path / "a")
    landscape_figure(Context(), tmp_path / "b")
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_global_d1_decides_both_ways():
    import sympy as sp
    from transformer_proofs.verify.claims.gd.global_one_dim import decide_global_d1, nonnegative_on_R

    f = OneLayerLoss(OneLayerProblem([[F(2)]], 4, F(1, 2)))
    # the sparse family's minimiser, from the quadratic a ↦ f(a) through three exact values
    f0, f1, f2 = (f(lsa_point(1, [[F(a)]])) for a in (0, 1, 2))
    c2, c1 = (f2 - 2 * f1 + f0) / 2, (4 * f1 - 3 * f0 - f2) / 2
    a_star = -c1 / (2 * c2)
    assert decide_global_d1(f, f(lsa_point(1, [[a_star]]))).global_min
    assert not decide_global_d1(f, f(lsa_point(1, [[a_star * F(9, 10)]]))).global_min
    s = sp.Symbol("s")
    assert nonnegative_on_R(sp.Poly(s**2 * (s - 1) ** 2, s)) and not nonnegative_on_R(sp.Poly(s**3, s))
    with pytest.raises(ValueError, match="d = 1 only"):
        decide_global_d1(OneLayerLoss(OneLayerProblem([[F(1), F(0)], [F(0), F(1)]], 2)), F(0))


@pytest.mark.parametrize("kwargs,match", [
    ({"Sigma": [[F(1), F(2)], [F(0), F(1)]], "n": 3}, "symmetric"),
    ({"Sigma": [[F(1), F(0)]], "n": 3}, "square"),
    ({"Sigma": [[F(1)]], "n": 0}, "n >= 1"),
    ({"Sigma": [[F(1)]], "n": 2, "sigma2": F(-1)}, "noise variance"),
])
def test_bad_problems_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OneLayerProblem(**kwargs)


def test_a_wrong_point_gets_a_rational_point_of_lower_loss():
    d, n = 2, 3
    I2 = [[F(int(i == j)) for j in range(d)] for i in range(d)]
    f = OneLayerLoss(OneLayerProblem(I2, n))
    th = lsa_point(d, I2)
    st = decide(f, th, [rescaling_direction(th, d)])
    t, ft, f0 = st.lower
    grad = [g for g in (directional(f, th, [int(i == j) for j in range(len(th))])[0] for i in range(len(th)))]
    assert f([a - t * g for a, g in zip(th, grad)]) == ft < f0 == f(th)


def test_closed_form_agrees_with_the_exact_optimum_at_sizes():
    from transformer_proofs.verify.claims.gd.closed_form import exact_candidate

    a1, (c1, c2) = exact_candidate()
    for nv, dv in [(20, 5), (3, 1), (7, 4)]:
        p = optima.optimal_polynomial(optima.moments(nv, dv, 4), 2)
        at = lambda x, nv=nv, dv=dv: F(str(x.as_expr().subs({"n": nv, "d": dv})))
        assert [at(c1), at(c2)] == p[1:]
        assert at(a1) == optima.optimal_polynomial(optima.moments(nv, dv, 2), 1)[1] * -1
