"""verify/population/finite.py: exact laws by enumeration, against hand
computations and against Monte Carlo with a stated confidence."""

from fractions import Fraction as F

import flint
import numpy as np
import pytest
from transformer_proofs.verify.population import finite as fl

PI = [[F(3, 4), F(1, 4)], [F(1, 2), F(1, 2)]]


def test_stationary_law_by_hand():
    # μ = (2/3, 1/3): 2/3·1/4 = 1/3·1/2
    assert fl.stationary_law(PI) == [F(2, 3), F(1, 3)]


def test_stationary_law_refuses_reducible():
    with pytest.raises(fl.LawError, match="not unique"):
        fl.stationary_law([[1, 0], [0, 1]])


def test_dag_law_chain_by_hand():
    law = fl.dag_law(2, [None, 0, 1], PI, root="stationary")
    probs = dict(law.outcomes)
    assert probs[(0, 0, 1)] == F(2, 3) * F(3, 4) * F(1, 4)
    assert probs[(1, 1, 0)] == F(1, 3) * F(1, 2) * F(1, 2)
    # stationarity: every position has law μ
    for j in range(3):
        assert dict(law.marginal([j]).outcomes) == {(0,): F(2, 3), (1,): F(1, 3)}


def test_dag_law_tree_and_uniform_roots():
    law = fl.dag_law(2, [None, 0, 0], PI)
    assert dict(law.outcomes)[(1, 0, 0)] == F(1, 2) * F(1, 2) * F(1, 2)
    assert law.probability(lambda s: s[1] == s[2]) == F(1, 2) * (F(9, 16) + F(1, 16)) + F(1, 2) * F(1, 2)


def test_dirichlet_moments_by_hand():
    # Beta(1, 1): E a² = 1/3, E a(1−a) = 1/6; Dirichlet(1,1,1): E π₀π₁ = 1/12
    assert fl.dirichlet_moment(1, [2, 0]) == F(1, 3)
    assert fl.dirichlet_moment(1, [1, 1]) == F(1, 6)
    assert fl.dirichlet_moment(1, [1, 1, 0]) == F(1, 12)
    assert fl.dirichlet_moment(F(1, 2), [1, 0]) == F(1, 2)


def test_dirichlet_dag_law_by_hand_and_as_mixture_limit():
    law = fl.dirichlet_dag_law(2, [None, 0, 1], 1)
    assert dict(law.outcomes)[(0, 0, 0)] == F(1, 2) * F(1, 3)
    assert dict(law.outcomes)[(0, 1, 0)] == F(1, 2) * F(1, 2) * F(1, 2)  # two independent rows


def test_mixture_and_expectation_exact():
    a = fl.dag_law(2, [None, 0], PI)
    b = fl.dag_law(2, [None, 0], [[F(1, 2), F(1, 2)], [F(1, 2), F(1, 2)]])
    m = fl.mixture([a, b], [F(1, 4), F(3, 4)])
    same = lambda s: int(s[0] == s[1])  # noqa: E731
    assert m.expectation(same) == F(1, 4) * a.expectation(same) + F(3, 4) * F(1, 2)
    assert a.expectation(same) == F(1, 2) * F(3, 4) + F(1, 2) * F(1, 2)


def test_expectation_ball_contains_exact_and_transcendental():
    law = fl.dag_law(2, [None, 0, 1], PI, root="stationary")
    f = lambda s: flint.arb(sum(s)).exp()  # noqa: E731
    ball = law.expectation_ball(f, prec=200)
    exact_parts = {k: law.probability(lambda s, k=k: sum(s) == k) for k in range(4)}
    check = sum(float(p) * np.exp(k) for k, p in exact_parts.items())
    assert abs(float(ball.mid()) - check) < 1e-12 and float(ball.rad()) < 1e-50


def test_monte_carlo_within_hoeffding():
    """Empirical: mean of n samples of f ∈ [0, 1] within the Hoeffding half-width at δ = 1e-6."""
    law = fl.dag_law(2, [None, 0, 1, 2], PI, root="stationary")
    f = lambda s: F(int(s[0] == s[3]))  # noqa: E731
    exact = law.expectation(f)
    rng = np.random.default_rng(0)
    xs = law.sample(rng, 20000)
    est = float(np.mean(xs[:, 0] == xs[:, 3]))
    h = fl.hoeffding_halfwidth(len(xs), 1e-6)
    assert abs(est - float(exact)) <= h
    # and the comparison can fail: the uniform-root law's value (0.5078 against 0.5625) lies outside
    wrong = fl.dag_law(2, [None, 0, 1, 2], PI).expectation(f)
    assert abs(est - float(wrong)) > h


def test_bad_input_clear_errors():
    with pytest.raises(fl.LawError, match="float"):
        fl.dag_law(2, [None, 0], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(fl.LawError, match="not a probability vector"):
        fl.dag_law(2, [None, 0], [[F(1, 2), F(1, 3)], [F(1, 2), F(1, 2)]])
    with pytest.raises(fl.LawError, match="earlier position"):
        fl.dag_law(2, [None, 1], PI)
    with pytest.raises(fl.LawError, match="positive"):
        fl.dirichlet_moment(0, [1, 1])
    with pytest.raises(fl.LawError, match="Hoeffding"):
        fl.hoeffding_halfwidth(0, 0.1)
