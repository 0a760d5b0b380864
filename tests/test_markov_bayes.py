"""verify/algorithms/markov_bayes.py: exact integrals in Q + Q·ln 2 and the
Bayes predictor of ICL-MC at S = 2."""

from fractions import Fraction as F

import mpmath
import numpy as np
from transformer_proofs.verify.algorithms import markov_bayes as mb
from transformer_proofs.verify.claims.induction import bayes
from transformer_proofs.verify.population.finite import hoeffding_halfwidth


def test_integral_over_sum_closed_forms():
    assert mb.integral_over_sum(0, 0) == mb.QLog2(F(0), F(2))  # ∫∫ 1/(a+b) = 2 ln 2
    assert mb.integral_over_sum(1, 1) == mb.QLog2(F(2, 3), F(-2, 3))


def test_integral_over_sum_against_quadrature():
    """Tanh-sinh quadrature at 30 digits (its error is far below 1e-20 on these
    smooth bounded integrands); the comparison is made in float64, so 1e-15."""
    with mpmath.workdps(30):
        for m, n in [(0, 3), (2, 1), (3, 2), (1, 4)]:
            q = mpmath.quad(lambda a, b, m=m, n=n: a**m * b**n / (a + b), [0, 1], [0, 1])
            v = mb.integral_over_sum(m, n).ball(200)
            assert abs(float(v.mid()) - float(q)) < 1e-15
    # symmetry I(m, n) = I(n, m), exactly
    assert mb.integral_over_sum(2, 5) == mb.integral_over_sum(5, 2)


def test_sequence_law_sums_to_one_exactly():
    for t in (1, 3, 5):
        total = mb.ZERO
        for x in mb.sequences(t):
            total = total + mb.sequence_probability(x)
        assert total == mb.QLog2(F(1))


def test_uniform_first_token_gives_laplace_exactly():
    for x in mb.sequences(4):
        num, den = mb.bayes_next(x, "uniform")
        assert (num - den.scale(mb.laplace_next(x))).is_zero()


def test_stationary_first_token_differs_and_t1_value():
    num, den = mb.bayes_next((0,))
    assert bayes.equals_ratio(num, den, bayes.T1_CLOSED_FORM)
    assert not (num - den.scale(F(1, 2))).is_zero()


def test_equals_ratio_uses_ln2_squared_term():
    c = mb.QLog2(F(1), F(1))
    den = mb.QLog2(F(0), F(1))
    num = mb.QLog2(F(0), F(1))  # ln2 ≠ (1 + ln2)·ln2
    assert not bayes.equals_ratio(num, den, c)
    assert bayes.equals_ratio(mb.QLog2(F(3), F(3)), mb.QLog2(F(3)), c)


def test_bayes_against_monte_carlo_at_t3():
    """Empirical, Hoeffding δ = 1e-6: P(x₄ = 1 | x = 0,1,1) from the sampler against the exact value."""
    rng = np.random.default_rng(1)
    x = bayes.sample_code_law(rng, 400_000, 4)
    cond = x[(x[:, 0] == 0) & (x[:, 1] == 1) & (x[:, 2] == 1)]
    est = float(cond[:, 3].mean())
    h = hoeffding_halfwidth(len(cond), 1e-6)
    num, den = mb.bayes_next((0, 1, 1))
    exact = float(mb.ratio_ball(num, den).mid())
    assert abs(est - exact) <= h
    lap = float(mb.laplace_next((0, 1, 1)))
    assert abs(exact - lap) > 0.01
