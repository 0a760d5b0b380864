"""fgd.nonlinear_stationary: the model the check differentiates is the engine's
functional-GD transformer, the quadrature step is the sampled optimum, the
analytic gradient is the per-prompt loss's, and the claim decides its check
and falsifiers (and would miss one with inflated intervals)."""

from dataclasses import replace

import numpy as np
import pytest
from transformer_proofs.constructions.arithmetic import Float64
from transformer_proofs.constructions.engine import predict
from transformer_proofs.constructions.functional_gd import fgd_prompt, functional_gd_transformer
from transformer_proofs.verify.claims.fgd import stationary as st
from transformer_proofs.verify.registry import select
from transformer_proofs.verify.spec import Context


def _prediction(p: st.Point, tasks) -> np.ndarray:
    n = st.STATIONARY["n"]
    h, _ = st.attention(p.kind)
    t = np.einsum("tid,de,te->ti", tasks.P[:, :n], p.B, tasks.P[:, n])
    return -p.r * np.einsum("ti,ti->t", tasks.y, h(t)) / n


@pytest.mark.parametrize("kind", st.KERNELS)
def test_model_is_the_engine_transformer_at_the_construction(kind):
    n, d = st.STATIONARY["n"], st.STATIONARY["d"]
    p = st.Point(kind, -st.optimal_step(kind, d, n, st.NOISE), np.eye(d))  # the engine's kernel is at scale 1
    tasks = st.prompts_for(3, kind, 50)
    model = functional_gd_transformer(d, n, [-p.r], kind)
    engine = np.asarray(predict(Float64(), model, fgd_prompt(tasks.P[:, :n], tasks.y, tasks.P[:, n])), dtype=float)
    assert np.allclose(engine, _prediction(p, tasks), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", st.KERNELS)
def test_quadrature_step_is_the_sampled_optimum(kind):
    # η* = E[s y_q]/E[s²]; sampled on 40000 fresh prompts, the delta-method 99.99% interval must contain it
    tasks = st.prompts_for(101, kind, 40_000)
    s = _prediction(replace(st.construction(kind), r=-1.0), tasks)  # at B = b* I
    a, b = s * tasks.f[:, -1], s * s
    eta = a.mean() / b.mean()
    hw = 3.9 * (a - eta * b).std(ddof=1) / np.sqrt(len(s)) / b.mean()
    assert abs(eta + st.construction(kind).r) <= hw, (eta, -st.construction(kind).r, hw)


@pytest.mark.parametrize("scale", [1.0, 2.7, 5.0])
def test_quadrature_has_converged(scale):
    for kind in ("exp", "relu", "linear"):
        a = st.optimal_step(kind, 3, 12, st.NOISE, nodes=32, scale=scale)
        b = st.optimal_step(kind, 3, 12, st.NOISE, nodes=64, scale=scale)
        assert abs(a - b) <= 1e-12 * abs(b)


def test_exp_scale_is_the_maximum_of_a_unimodal_gain():
    def gain(b):
        sy, ss = st.step_moments("exp", b, 12, st.NOISE)
        return sy * sy / ss

    grid = np.linspace(*st.SCALE_BRACKET, 400)
    g = np.array([gain(b) for b in grid])
    top = int(np.argmax(g))
    assert np.all(np.diff(g[: top + 1]) > 0) and np.all(np.diff(g[top:]) < 0)  # one peak in the bracket
    b = st.optimal_scale("exp", 12, st.NOISE)
    assert abs(b - grid[top]) <= grid[1] - grid[0]
    assert gain(b) >= max(gain(b - 1e-4), gain(b + 1e-4))
    assert st.optimal_scale("relu", 12, st.NOISE) == 1.0


def test_analytic_gradient_matches_central_differences():
    p = replace(st.construction("exp"), B=np.diag([1.5, 1.0, 0.7]))
    tasks = st.prompts_for(0, "exp", 200)
    G = st.per_prompt_gradients(p, 0, 200)

    def loss(q: st.Point) -> np.ndarray:
        return (_prediction(q, tasks) - tasks.f[:, -1]) ** 2

    eps = 1e-6
    fd_r = (loss(replace(p, r=p.r + eps)) - loss(replace(p, r=p.r - eps))) / (2 * eps)
    assert np.allclose(G[:, 0], fd_r, rtol=1e-5, atol=1e-7)
    for j in range(3):
        for k in range(3):
            E = np.zeros((3, 3))
            E[j, k] = eps
            fd = (loss(replace(p, B=p.B + E)) - loss(replace(p, B=p.B - E))) / (2 * eps)
            assert np.allclose(G[:, 1 + 3 * j + k], fd, rtol=1e-5, atol=1e-7)


def test_claim_holds_and_catches_its_falsifiers():
    (claim,) = select("fgd.nonlinear_stationary")
    for seed in (0, 1):
        assert claim.checks["empirical"].run(Context(seed=seed)).status == "holds"
        assert all(f.run(Context(seed=seed))[0] for f in claim.falsifiers)


def test_inflated_intervals_would_miss_the_scaled_step():
    # the scaled step is caught by ≈ 3 half-widths: intervals 4× wider would let it through
    name, _, points = st.FALSIFIERS[0]
    assert name == "step × 1.2"
    for p in points():
        _, mean, hw = st.gradient_intervals(p, 0, st.STATIONARY["prompts"])
        assert np.any(np.abs(mean) > hw)
        _, mean, hw = st.gradient_intervals(p, 0, st.STATIONARY["prompts"], z=4 * st.Z_STATIONARY)
        assert np.all(np.abs(mean) <= hw)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="d = 3"):
        st.optimal_step("exp", 4, 12, st.NOISE)
    with pytest.raises(ValueError, match="unknown attention kernel"):
        st.attention("tanh")
