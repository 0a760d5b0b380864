"""verify/claims/memory: the claims hold, every falsifier is caught; the
empirical check's interval is derived, and a slightly wrong formula is caught
at a higher effort."""

import numpy as np
import pytest
from transformer_proofs.verify.claims.memory import empirical as E
from transformer_proofs.verify.registry import select
from transformer_proofs.verify.runner import run_claim
from transformer_proofs.verify.spec import Context


@pytest.mark.parametrize("cid", ["memory.orthonormal_retrieval", "memory.induction_head", "memory.gaussian_crosstalk"])
def test_claim_holds_and_falsifiers_caught(cid):
    (claim,) = select(cid)
    res = run_claim(claim, Context(seed=3))
    assert res.status == "holds", [c.detail for c in res.checks]
    assert res.falsifiers and all(f["caught"] for f in res.falsifiers), res.falsifiers


def test_sample_errors_shapes_and_scale():
    stored, unstored = E.sample_errors(np.random.default_rng(0), 64, 8, 50)
    assert stored.shape == unstored.shape == (50,)
    assert 0.02 < stored.mean() < 0.2  # formula: 0.0669


def test_bonferroni_quantiles():
    assert 4.2 < E.bonferroni_z(6) < 4.4
    assert E.bonferroni_z(1, 0.05) == pytest.approx(1.959963984540054)
    assert E.student_t_quantile(0.025, 10) == pytest.approx(2.228138851986, abs=1e-9)  # the t table
    assert E.student_t_quantile(0.025, 10**7) == pytest.approx(1.959964, abs=1e-5)
    assert E.bonferroni_t(6, 19) > E.bonferroni_t(6, 159) > E.bonferroni_z(6)


def test_batch_means():
    x = np.arange(32, dtype=float)
    assert (E.batch_means(x, 15) == np.array([7.0, 22.0])).all()
    with pytest.raises(ValueError, match="fewer than two batches"):
        E.batch_means(x[:20], 15)


def test_intervals_shrink_with_effort():
    """The check's resolution: the effort-1 intervals are about ±10% wide at d = 16, so a formula 1% too
    large passes them; at effort 8 (intervals √8 narrower) a formula 5% too large is caught (at d = 16)."""
    def wrong(factor):
        return lambda d, N: factor * float(E.alg.stored_error_moment(d, N))

    assert E.check_crosstalk(Context(seed=1), stored_formula=wrong(1.01)).status == "holds"
    caught = E.check_crosstalk(Context(seed=1, effort=8), stored_formula=wrong(1.05))
    assert caught.status == "fails" and "d = 16" in caught.detail


def test_figure_curves():
    from transformer_proofs.verify.claims.memory.figures import rms_curves

    c = rms_curves(Context())
    assert len(c["stored_rms"]) == len(c["d"])
    assert all(lo <= m <= hi for lo, m, hi in zip(c["stored_lo"], c["stored_rms"], c["stored_hi"]))


def test_sequences_are_informative():
    from transformer_proofs.verify.claims.memory.instances import draw_sequence, informative
    from transformer_proofs.verify.draws import DyadicDraw

    assert not informative((1, 1, 1, 1, 1), 2) and informative((0, 1, 0, 0, 0), 2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        inst = draw_sequence(DyadicDraw(rng), {"V": 2, "T": 5, "r": 1})
        assert informative(inst.seq, 2) and len(inst.ws) == 1 and len(inst.ws[0]) == 3 * 2 + 5


def test_every_induction_mutant_caught_on_each_informative_draw():
    """Each mutant changes the counts on every informative sequence (so a falsifier never hinges on the seed)."""
    from transformer_proofs.constructions.arithmetic import Rational
    from transformer_proofs.verify.claims.memory import claims as C
    from transformer_proofs.verify.draws import DyadicDraw
    from transformer_proofs.verify.relations import EQUAL

    rng = np.random.default_rng(1)
    for _ in range(5):
        inst = C.draw_sequence(DyadicDraw(rng), {"V": 3, "T": 7, "r": 1})
        for m in C.INDUCTION_SPEC.mutants:
            assert EQUAL.exact(*C.INDUCTION_SPEC.evaluate(Rational(), inst, m)).status == "fails", m.name
