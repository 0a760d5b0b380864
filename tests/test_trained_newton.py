"""trained.fu_newton_layers: the multi-layer LSA trained for the comparison with Fu et al.'s Newton."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions.gradient_descent import von_oswald_transformer
from transformer_proofs.verify.claims.trained import newton_claims as nc
from transformer_proofs.verify.claims.trained import newton_experiment as ne
from transformer_proofs.verify.claims.trained import newton_training as nt
from transformer_proofs.verify.conform import measure
from transformer_proofs.verify.conform.newton import newton_iterates
from transformer_proofs.verify.spec import Context

EPS = np.finfo(float).eps


def _params(seed: int = 0, depth: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 0.3 + 0.2 * rng.standard_normal(depth), 0.3 * rng.standard_normal(depth)


def test_hand_gradient_matches_central_differences():
    g, f = _params()
    mu = nt.draw_spectra(np.random.default_rng(1), 4, 8, 64)
    _, dg, df = nt.loss_and_gradient(g, f, mu)
    h = 2.0**-20  # central differences: error O(h²) ≈ 1e-12 times the third derivative, rounding ≈ ε/h ≈ 2e-10
    for grad, which in ((dg, 0), (df, 1)):
        for i in range(len(g)):
            p, m = [g.copy(), f.copy()], [g.copy(), f.copy()]
            p[which][i] += h
            m[which][i] -= h
            fd = (nt.loss_and_gradient(*p, mu)[0] - nt.loss_and_gradient(*m, mu)[0]) / (2 * h)
            assert abs(fd - grad[i]) <= 1e-6 * max(1.0, abs(grad[i]))


def test_hand_gradient_matches_autograd():
    pytest.importorskip("autograd")
    import autograd.numpy as anp
    from autograd import grad

    g, f = _params(2)
    mu = nt.draw_spectra(np.random.default_rng(3), 4, 8, 64)

    def loss(p: list) -> object:
        sig, rho = mu, 1.0
        for gl, fl in zip(p[0], p[1]):
            rho = rho * (1 - gl * sig)
            sig = sig * (1 - gl * fl * sig) ** 2
        return anp.mean(rho**2)

    ag = grad(loss)([g, f])
    _, dg, df = nt.loss_and_gradient(g, f, mu)
    # the same arithmetic in another order: agreement to a few hundred ulps of the gradient's scale
    assert np.allclose(ag[0], dg, rtol=0, atol=1e3 * EPS * np.abs(dg).max())
    assert np.allclose(ag[1], df, rtol=0, atol=1e3 * EPS * max(np.abs(df).max(), 1.0))


def test_the_checkpoint_is_reproducible_from_the_seed():
    a, b = nt.train_newton_lsa(5, steps=30), nt.train_newton_lsa(5, steps=30)
    assert a.gamma == b.gamma and a.phi == b.phi
    assert nt.train_newton_lsa(6, steps=30).gamma != a.gamma


def test_the_spectral_recursion_is_the_engine_forward():
    """Per layer, the engine's read-out on drawn prompts equals x_qᵀ U diag(1 − ρ_ℓ(μ)) Uᵀ w."""
    g, f = _params(4, depth=3)
    ck = nt.NewtonCheckpoint(0, 3, 6, tuple(g), tuple(f), ())
    model = nt.newton_lsa_transformer(ck)
    rng = np.random.default_rng(7)
    m, n, d = 16, 6, 3
    X, w, xq = rng.standard_normal((m, n, d)), rng.standard_normal((m, d)), rng.standard_normal((m, d))
    y = np.einsum("mnd,md->mn", X, w)
    preds = measure.layer_predictions(model, measure.regression_batch(X, y, xq))[1:]  # after layers 1..L
    mu, U = np.linalg.eigh(np.einsum("mni,mnj->mij", X, X) / n)
    rho = nt.residual_factors(g, f, mu)
    expect = np.einsum("md,mde,lme,mfe,mf->lm", xq, U, 1 - rho, U, w)
    scale = np.abs(expect).max()
    # float64 through L = 3 layers of O(n d) products: a few hundred ulps of the prediction's scale
    assert np.abs(preds - expect).max() <= 1e3 * EPS * scale


def test_read_layers_round_trip_and_the_gd_construction():
    g, f = _params(8, depth=2)
    ck = nt.NewtonCheckpoint(0, 4, 8, tuple(g), tuple(f), ())
    rg, rf = nt.read_layers(nt.newton_lsa_transformer(ck))
    assert np.allclose(rg, g, rtol=1e-14) and np.allclose(rf, f, rtol=1e-14, atol=1e-15)
    rg, rf = nt.read_layers(von_oswald_transformer(4, 8, [Fraction(1, 4), Fraction(1, 2)]))
    assert list(rg) == [0.25, 0.5] and list(rf) == [0.0, 0.0]


def test_filters_are_the_algorithms():
    """newton_filter and gd_filter are iterative Newton (verify.conform.newton) and GD (verify.conform.measure)."""
    rng = np.random.default_rng(9)
    m, n, d = 8, 8, 4
    X, w = rng.standard_normal((m, n, d)), rng.standard_normal((m, d))
    y = np.einsum("mnd,md->mn", X, w)
    lam, U = np.linalg.eigh(np.einsum("mni,mnj->mij", X, X))
    for k in (0, 2, 4):
        for i in range(m):  # one α = 1/λ_max² per prompt
            Mk = newton_iterates(X[i:i + 1], 1 / lam[i, -1] ** 2, k)[-1, 0]
            w_newton = Mk @ X[i].T @ y[i]
            f = ne.newton_filter(lam[i:i + 1], k)[0]
            # float64: 2^k products of matrices with κ(S²) ≲ 1e4 here, each ε-accurate: ≲ 2^k κ ε ≈ 4e-11 ≪ 1e-9
            assert np.allclose(w_newton, U[i] @ (f * (U[i].T @ w[i])), rtol=1e-9, atol=1e-9 * np.abs(w).max())
    for t in (1, 3, 9):
        for i in range(m):  # η = 1/λ_max(XᵀX) on (1/2)‖y − Xw‖², i.e. n/λ_max on the 1/n-normalised risk
            w_gd = measure.gd_iterates(X[i:i + 1], y[i:i + 1], [np.eye(d) * n / lam[i, -1]] * t)[-1, 0]
            f = ne.gd_filter(lam[i:i + 1], t)[0]
            assert np.allclose(w_gd, U[i] @ (f * (U[i].T @ w[i])), rtol=1e-9, atol=1e-9 * np.abs(w).max())


def test_best_constant_step_is_a_minimum():
    mu = ne.prompt_spectra(0)
    eta, loss = ne.best_gd_constant_step_loss(mu, 4)
    for e in (eta * 0.99, eta * 1.01):
        assert np.mean((1 - e * mu) ** 8) > loss


def test_the_claim_holds_and_its_falsifiers_are_caught():
    res = nc.CHECK(Context(seed=0))
    assert res.status == "holds", res.detail
    for f in nc.FALSIFIERS:
        caught, why = f.run(Context(seed=0))
        assert caught, (f.name, why)


def test_a_lowered_improvement_bound_lets_the_one_layer_model_through(monkeypatch):
    """A one-layer model is one GD step: its loss is at or just above the one-step bound (the best step),
    so the bound 0 is what rejects it; a bound lowered by 0.1% lets it through."""
    monkeypatch.setattr(nc, "IMPROVEMENT_BOUND", -1e-3)
    one = next(f for f in nc.FALSIFIERS if f.name == "one layer deep")
    caught, why = one.run(Context(seed=0))
    assert not caught, why


def test_polynomial_bounds_agree_with_least_squares():
    mu = ne.prompt_spectra(1)
    bounds = ne.polynomial_bounds(mu)
    x = 2 * mu.ravel() / mu.max() - 1
    for t in (1, 4, 9, ne.DEGREE_MAX):
        A = (np.polynomial.chebyshev.chebvander(x, t)[:, 1:]
             - np.polynomial.chebyshev.chebvander(np.array([-1.0]), t)[:, 1:])
        a, *_ = np.linalg.lstsq(A, -np.ones_like(x), rcond=None)
        direct = float(np.mean((1 + A @ a) ** 2))
        # normal equations lose accuracy as cond(A)²·ε: below 1e-6 relative at these degrees (measured ~1e-10)
        assert abs(bounds[t - 1] - direct) <= 1e-6 * direct


def test_polynomial_bound_is_the_best_step_for_one_step_and_falls_with_the_degree():
    mu = ne.prompt_spectra(0)
    _, one_step = ne.best_gd_constant_step_loss(mu, 1)
    assert abs(ne.polynomial_bound(mu, 1) - one_step) <= 1e-9 * one_step  # degree 1: p = 1 − ημ, the best η
    bounds = [ne.polynomial_bound(mu, t) for t in range(1, 8)]
    assert all(a > b for a, b in zip(bounds, bounds[1:]))


def test_conform_against_newton_on_a_saved_checkpoint(tmp_path, capsys):
    from transformer_proofs.verify.cli import main
    from transformer_proofs.verify.conform import conform, load_weights, save_export
    from transformer_proofs.verify.torch_backend import export_transformer

    model = nt.newton_lsa_transformer(nt.newton_checkpoint(0))
    path = tmp_path / "trained_lsa.npz"
    save_export(export_transformer(model), path, readout=(list(model.readout.vector), model.readout.column))
    rep = conform(load_weights(path), "newton", prompts=64)
    assert rep.d == nt.D and rep.n == nt.N and rep.slot == "prediction" and len(rep.layer_match) == nt.DEPTH
    assert main(["conform", str(path), "--against", "newton", "--prompts", "64"]) == 1  # fitted, not exact
    out = capsys.readouterr().out
    assert "layer 4: prediction closest to" in out


def test_bad_depth_is_one_line():
    with pytest.raises(ValueError, match="at least one layer"):
        nt.train_newton_lsa(0, depth=0)


def test_table_and_figure(tmp_path):
    from transformer_proofs.verify.claims.trained.newton_figures import newton_layers_figure, newton_layers_table

    ctx = Context(seed=0, effort=0.25)  # two seeds
    table = newton_layers_table(ctx)
    assert table.count("\n| ") == 3 and "bootstrap over prompts" in table  # header and two seeds
    pytest.importorskip("matplotlib")
    name, caption = newton_layers_figure(ctx, tmp_path)
    assert (tmp_path / name).stat().st_size > 0 and "k(ℓ)" in caption and "residual coordinates" in caption


def test_read_layers_refuses_another_form():
    g, f = _params(3, depth=1)
    model = nt.newton_lsa_transformer(nt.NewtonCheckpoint(0, 4, 8, tuple(g), tuple(f), ()))
    head = model.layers[0].heads[0]
    W_V = np.array(head.W_V, dtype=float)
    W_V[0, 1] = 1e-6  # an off-diagonal x block: not φI
    from dataclasses import replace

    bad = model.with_layers([replace(model.layers[0], heads=(replace(head, W_V=W_V),))])
    with pytest.raises(ValueError, match="block form"):
        nt.read_layers(bad)


def test_a_lowered_gap_bound_lets_three_newton_iterates_per_layer_through(monkeypatch):
    """Layers that are Newton's iterates 3ℓ beat the L-step GD bound, so only the last-layer gap rejects them
    (their last layer is Newton's iterate, closer than GD's): a gap bound lowered to −0.05 lets them through."""
    three = next(f for f in nc.FALSIFIERS if f.name == "three Newton iterates per layer")
    caught, why = three.run(Context(seed=0))
    assert caught, why
    monkeypatch.setattr(nc, "GAP_BOUND", -0.05)
    caught, why = three.run(Context(seed=0))
    assert not caught, why
