"""verify.claims.trained (Cheng et al.): the Gaussian-process task, the
engine import of the trained layer, reproducible checkpoints, and the
claim's check with its falsifiers and bound."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.verify.claims.trained import kernel_experiment as ke
from transformer_proofs.verify.claims.trained.kernel_training import (
    RADIUS,
    KernelCheckpoint,
    gp_tasks,
    kernel_predict,
    kernel_transformer,
)
from transformer_proofs.verify.conform import measure
from transformer_proofs.verify.spec import Context


def test_gp_labels_have_the_kernel_covariance():
    """E y_i y_j = exp(x_iᵀx_j): checked on the sample covariance of fixed points' labels."""
    rng = np.random.default_rng(0)
    Z, t = gp_tasks(rng, 2, 3, 20000, "exp")
    X = Z[:, :2, :]
    assert np.allclose(np.linalg.norm(X, axis=1), RADIUS)
    # E y_q² = exp(|x|²) for every draw; the sample mean of y_q² is within 5 standard errors
    v = t**2
    assert abs(v.mean() - np.exp(RADIUS**2)) < 5 * v.std() / np.sqrt(len(v))
    with pytest.raises(ValueError, match="unknown score"):
        gp_tasks(rng, 2, 3, 4, "relu")


@pytest.mark.parametrize("score", ["exp", "linear"])
def test_engine_import_predicts_as_the_training_model(score):
    rng = np.random.default_rng(1)
    ck = KernelCheckpoint(0, 2, 4, score, "exp", 0.3 * rng.standard_normal((3, 3)), 0.3 * rng.standard_normal((3, 3)))
    Z, _ = gp_tasks(rng, 2, 4, 16, "exp")
    ours = kernel_predict(np, ck.W_KQ, ck.W_PV, Z, 4, score)
    engine = measure.layer_predictions(kernel_transformer(ck), Z)[-1]
    np.testing.assert_allclose(engine, ours, rtol=1e-12, atol=1e-12)


def test_functional_gd_weights_have_zero_deviation():
    """Weights of functional GD's form (Γ = I, η = 1/2): the trained-layer code and
    functional GD with the kernel read by conform agree to rounding."""
    d, n = ke.D, ke.N
    KQ = np.zeros((d + 1, d + 1))
    KQ[:d, :d] = np.eye(d)
    PV = np.zeros((d + 1, d + 1))
    PV[d, d] = -0.5
    from transformer_proofs.verify.conform.fgd import fgd_iterates, read_heads

    ck = KernelCheckpoint(0, d, n, "exp", "exp", KQ, PV)
    fit = read_heads(kernel_transformer(ck), d, n)[0]
    assert fit.eta == Fraction(1, 2) and all(v == 0 for v in fit.departures.values())
    Z, t, X, y, xq = ke.task_prompts(0, "exp")
    np.testing.assert_allclose(kernel_predict(np, KQ, PV, Z, n, "exp"), fgd_iterates([fit], X, y, xq, 1)[-1],
                               rtol=1e-12, atol=1e-12)


def test_checkpoint_is_reproducible_from_the_seed():
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained.kernel_training import train_kernel

    a, b = train_kernel(3, 2, 4, "exp", steps=5), train_kernel(3, 2, 4, "exp", steps=5)
    assert np.array_equal(a.W_KQ, b.W_KQ) and np.array_equal(a.W_PV, b.W_PV)
    assert not np.array_equal(a.W_KQ, train_kernel(4, 2, 4, "exp", steps=5).W_KQ)


def test_trained_kernel_check_holds_and_its_falsifiers_fail():
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained import kernel_claims as kc

    ctx = Context(seed=0)
    res = kc.kernel_check()(ctx)
    assert res.status == "holds", res.detail
    for f in kc.FALSIFIERS:
        caught, detail = f.run(ctx)
        assert caught, (f.name, detail)


def test_error_bound_lies_between_the_claim_and_the_nearest_falsifier():
    """The claim's upper end is under half the bound; the nearest falsifier's (untrained)
    mean error is above the bound: the bound separates them, and one at that mean would not."""
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained.kernel_claims import ERROR_BOUND

    seeds = ex.seeds_for(0, ke.SEEDS)
    mine = ex.t_interval([ke.seed_result(s).rel_error for s in seeds])
    untrained = ex.t_interval([ke.seed_result(s, ke.KernelVariant(trained=False)).rel_error for s in seeds])
    assert mine.hi <= ERROR_BOUND / 2 and untrained.estimate > ERROR_BOUND


def test_without_autograd_the_check_is_skipped(monkeypatch):
    from transformer_proofs.verify.claims.trained import kernel_claims as kc

    monkeypatch.setattr(kc, "autograd_missing", lambda: "autograd is not importable (test)")
    res = kc.kernel_check()(Context(seed=0))
    assert res.status == "skipped" and "autograd" in res.detail
