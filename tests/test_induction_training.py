"""verify/algorithms/induction_training.py and the claim
induction.training_recovers_graph: the exact population gradient, the
certified trajectory, and the findings the claim's notes state."""

from dataclasses import replace
from fractions import Fraction as F

import flint
import numpy as np
import pytest
from transformer_proofs.constructions.arithmetic import arb_precision
from transformer_proofs.verify.algorithms import induction_training as it
from transformer_proofs.verify.algorithms.induction import task_law
from transformer_proofs.verify.claims.induction import training as tr


@pytest.fixture(scope="module")
def case():
    return tr.draw_case(np.random.default_rng(3), tr.CHAIN4, N=4)


def _ball(x):
    q = F(x)
    return flint.arb(q.numerator) / q.denominator


def test_gradient_is_the_derivative(case):
    """Central differences of the loss in 300-bit balls converge to the
    analytic gradient at rate h² (the error falls ≈ 4× when h halves): the
    gradient is the derivative, without a guessed tolerance."""
    law = tr.law_of(case)
    rng = np.random.default_rng(0)
    A1f = np.round(rng.normal(size=(law.L, law.L)) * 0.5, 3)
    A2f = np.round(rng.normal(size=(2, 2)), 3)
    with arb_precision(300):
        A1 = np.vectorize(lambda v: _ball(F(str(v))), otypes=[object])(A1f)
        A2 = np.vectorize(lambda v: _ball(F(str(v))), otypes=[object])(A2f)
        g1, g2 = it.gradients(law, A1, A2)
        for (M, G, idx) in [(0, g1, (3, 2)), (0, g1, (2, 0)), (1, g2, (0, 1))]:
            errs = []
            for h in (F(1, 2**8), F(1, 2**9)):
                E = np.full(A1.shape if M == 0 else A2.shape, _ball(0), dtype=object)
                E[idx] = _ball(h)
                if M == 0:
                    d = (it.loss(law, A1 + E, A2) - it.loss(law, A1 - E, A2)) / (2 * _ball(h))
                else:
                    d = (it.loss(law, A1, A2 + E) - it.loss(law, A1, A2 - E)) / (2 * _ball(h))
                errs.append(abs(float((d - G[idx]).mid())))
            assert 3.0 < errs[0] / errs[1] < 5.0, errs


def test_float64_gradient_matches_ball_gradient(case):
    law = tr.law_of(case)
    A1 = np.zeros((law.L, law.L))
    A2 = np.eye(2) / 4
    g1f, _ = it.gradients(law, A1, A2)
    with arb_precision(128):
        g1b, _ = it.gradients(law, A1.astype(int).astype(object) * _ball(0), np.eye(2, dtype=int).astype(object) * _ball(F(1, 4)))
    assert np.allclose(g1f, np.array([[float(x.mid()) for x in r] for r in g1b]), rtol=1e-12, atol=1e-15)


def test_certified_trajectory_holds_and_reports_steps(case):
    v, bits, rad = tr.run_case(case, tr.Variant())
    assert v.ok is True and bits is not None and rad < 1e-30
    assert v.steps[1] == 1 and all(s is not None for s in v.steps.values())


def test_finding_uniform_roots_same_recovery():
    rng = np.random.default_rng(11)
    for graph in (tr.CHAIN4, tr.TREE4):
        c = tr.draw_case(rng, graph)
        assert tr.run_case(c, tr.Variant(), certified=False, root="uniform")[0].ok is True


def test_finding_star_has_no_induction_head():
    c = tr.draw_case(np.random.default_rng(5), (None, 0, 0))
    t = it.train(tr.law_of(c), tr.SCHEDULE)
    D = t.A2[-1] - t.A2[0]
    assert D[0, 0] < D[0, 1]  # A⁽²⁾ does not grow along its diagonal


def test_stage_order_matters(case):
    v = tr.run_case(case, tr.Variant(order="A2 first"), certified=False)[0]
    assert v.ok is False


def test_moved_parents():
    assert tr.moved_parents((None, 0, 1, 2)) == (None, 0, 0, 1)
    assert tr.moved_parents((None, 0, 0)) == (None, 0, 1)


def test_target_law_rejects_bad_input():
    with pytest.raises(ValueError, match="earlier|probability|float"):
        it.task_target_law([None, 0], 2, [[[0.5, 0.5], [0.5, 0.5]]])
    sch = replace(tr.SCHEDULE, tau1=1, tau2=1)
    assert len(it.train(tr.law_of(tr.draw_case(np.random.default_rng(0), (None, 0), N=1)), sch).losses) == 3


def test_figure_is_deterministic(tmp_path):
    pytest.importorskip("matplotlib")
    from transformer_proofs.verify.claims.induction.training_figures import trajectory_figure
    from transformer_proofs.verify.spec import Context

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    name, caption = trajectory_figure(Context(0), a)
    assert trajectory_figure(Context(7), b)[0] == name  # one fixed instance, whatever the seed
    assert (a / name).read_bytes() == (b / name).read_bytes()
    assert "red boxes" in caption


def test_task_law_matches_the_family_sampler():
    """Empirical (Hoeffding, δ = 1e-6 per event): the exact task law against
    the family's sampler of the authors' InContextTree, for one π."""
    from transformer_proofs.constructions.induction_head import causal_graph
    from transformer_proofs.verify.algorithms import induction as alg
    from transformer_proofs.verify.population.finite import hoeffding_halfwidth

    rng = np.random.default_rng(2)
    pi = alg.dirichlet_transitions(rng, 2, 1, alpha=1.0, bits=8)
    law = it.task_target_law([None, 0, 1], 2, [pi])
    g = causal_graph([None, 0, 1, None], 1)
    n = 6000
    xs = np.array([alg.sample_task(rng, g, pi, 2) for _ in range(n)])
    h = hoeffding_halfwidth(n, 1e-6)
    for target in [(0, 0, 1, 1), (1, 1, 1, 0), (0, 1, 0, 1)]:
        m = next(k for k, s in enumerate(law.seqs.tolist()) if tuple(s) == target)
        exact = float(sum(law.W[m]))
        est = float(np.mean(np.all(xs == np.array(target), axis=1)))
        assert abs(est - exact) <= h


def test_ball_and_float64_trajectories_agree(case):
    """The certified run and the float64 run (the figure's and the table's) are
    the same recursion: they report the same recovery steps for every edge."""
    law = tr.law_of(case)
    f = it.train(law, tr.SCHEDULE)
    b = it.train(law, tr.SCHEDULE, prec=tr.bits_for(tr.SCHEDULE))
    for i, p in enumerate(case.parents):
        if p is not None:
            assert it.edge_steps(f.A1, i, p) == it.edge_steps(b.A1, i, p)
    assert it.width(b.A1[-1]) < 1e-30


def test_task_target_law_is_task_law_read_by_target() -> None:
    """Two enumerations of the authors' task (flint.fmpq products inside, Fractions out) agree exactly."""
    pis = [np.array([[F(1, 3), F(2, 3)], [F(3, 4), F(1, 4)]], dtype=object),
           np.array([[F(1, 2), F(1, 2)], [F(1, 5), F(4, 5)]], dtype=object)]
    parents = [None, 0, 0]
    law = dict(task_law(parents, 2, pis))
    target = it.task_target_law(parents, 2, pis)
    assert sum(law.values()) == 1 and all(type(v) is F for v in law.values())
    for m, s in enumerate(target.seqs.tolist()):
        for b in range(2):
            assert target.W[m, b] == law[tuple(s) + (b,)] and type(target.W[m, b]) is F
