"""verify.claims.trained: the exact optimal step, reproducible checkpoints,
the claim's check and how its margin was chosen."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.verify.claims.trained.optimal import GAUSSIAN_MOMENTS, UNIFORM_MOMENTS, optimal_step
from transformer_proofs.verify.spec import Context


def test_optimal_step_exact_values():
    assert optimal_step(3, 5) == Fraction(25, 13)
    assert optimal_step(3, 5, GAUSSIAN_MOMENTS) == Fraction(5, 3)
    assert optimal_step(1, 1) == UNIFORM_MOMENTS[0] / UNIFORM_MOMENTS[1]  # E x² / E x⁴
    with pytest.raises(ValueError, match="n >= 1"):
        optimal_step(2, 0)


def test_optimal_step_minimises_the_sampled_loss():
    """The sampled one-step loss at η* is below its value at η* (1 ± 10%), and the
    sample minimiser is within its Monte Carlo error of η*."""
    d, n, m = 3, 5, 200_000
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (m, n, d))
    w = rng.standard_normal((m, d))
    xq = rng.uniform(-1, 1, (m, d))
    y = np.einsum("mnd,md->mn", X, w)
    g = np.einsum("mnd,mn->md", X, y) / n
    a = np.einsum("md,md->m", g, xq)  # ŷ = η a
    t = np.einsum("md,md->m", w, xq)
    eta_hat = float(np.sum(a * t) / np.sum(a * a))
    assert abs(eta_hat / float(optimal_step(d, n)) - 1) < 0.01
    assert abs(eta_hat / float(optimal_step(d, n, GAUSSIAN_MOMENTS)) - 1) > 0.1


def test_checkpoint_is_reproducible_from_the_seed():
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained.training import train

    a, b = train(7, 2, 3, steps=20), train(7, 2, 3, steps=20)
    assert np.array_equal(a.W_KQ, b.W_KQ) and np.array_equal(a.W_PV, b.W_PV)
    assert not np.array_equal(a.W_KQ, train(8, 2, 3, steps=20).W_KQ)


def test_trained_lsa_check_and_its_margin():
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained.claims import ETA_STAR, MARGIN, lsa_check

    ctx = Context(seed=0)
    assert lsa_check(ETA_STAR, "η*")(ctx).status == "holds"
    off_by_one = lambda: optimal_step(ex.D, ex.N - 1)
    res = lsa_check(off_by_one, "η*(d, n-1)")(ctx)
    assert res.status == "fails"
    # the ratio interval of the off-by-one-n step lies inside a tripled margin: the margin is what separates them
    r = res.data["eta_ratio"]
    assert not (1 - MARGIN <= r["lo"] and r["hi"] <= 1 + MARGIN)
    assert 1 - 3 * MARGIN <= r["lo"] and r["hi"] <= 1 + 3 * MARGIN


def test_t_quantile():
    from transformer_proofs.verify.claims.trained.experiment import t_quantile

    assert abs(t_quantile(2) - 4.302653) < 1e-5 and abs(t_quantile(30) - 2.042272) < 1e-5


def test_without_autograd_the_check_is_skipped(monkeypatch):
    from transformer_proofs.verify.claims.trained import claims

    monkeypatch.setattr(claims, "autograd_missing", lambda: "autograd is not importable (test)")
    res = claims.lsa_check(claims.ETA_STAR, "η*")(Context(seed=0))
    assert res.status == "skipped" and "autograd" in res.detail
