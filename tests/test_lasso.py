"""constructions.lasso against verify.algorithms.lasso: the soft threshold is
the prox of t|.|, the KKT minimiser is a minimiser, the ISTA transformer is
ISTA exactly, every mutant is rejected, and Theorem 10's bound holds with the
tolerance it states (and not with a slightly inflated one for doing nothing)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Float64Bounded, Rational
from transformer_proofs.constructions.engine import MLP, PromptError
from transformer_proofs.constructions.lasso import ista_transformer, soft_threshold_mlp
from transformer_proofs.verify.algorithms import lasso as algorithms
from transformer_proofs.verify.claims.lasso import claims as lasso
from transformer_proofs.verify.claims.lasso.instances import draw_theorem_10
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.relations import BOUND, EQUAL

from tests.strategies import dyadic, dyadic_array, step_size


@given(z=dyadic(), t=step_size(Fraction(1)))
def test_soft_threshold_is_the_prox_of_t_abs(z: Fraction, t: Fraction) -> None:
    ar = Rational()
    s = algorithms.soft_threshold(ar, ar.array(np.array([[z]], dtype=object)), ar.const(t))[0, 0]
    s = Fraction(int(s.p), int(s.q))
    assert s == (1 if z > 0 else -1) * max(abs(z) - t, 0)
    # optimality of ½(u - z)² + t|u|: 0 ∈ u - z + t ∂|u|
    assert (abs(z) <= t) if s == 0 else (s - z + t * (1 if s > 0 else -1) == 0)


@given(X=dyadic_array((4, 2)), y=dyadic_array((4,)), lam=step_size(Fraction(1, 2)), probe=dyadic_array((2,)))
def test_exact_lasso_is_a_minimiser(X: np.ndarray, y: np.ndarray, lam: Fraction, probe: np.ndarray) -> None:
    ar = Rational()
    try:
        w = algorithms.exact_lasso(X, y, lam)
    except ValueError:
        return  # X_SᵀX_S singular everywhere: no KKT point by this search (e.g. X = 0)
    Xa, ya = ar.array(X), ar.array(y.reshape(-1, 1))
    best = algorithms.lasso_loss(ar, Xa, ya, ar.const(lam), ar.array(np.asarray(w, dtype=object).reshape(-1, 1)))
    other = algorithms.lasso_loss(ar, Xa, ya, ar.const(lam), ar.array(probe.reshape(-1, 1)))
    assert best[0, 0] <= other[0, 0]


def test_prox_mlp_has_the_printed_hidden_dimension() -> None:
    for d in (1, 3, 7):
        mlp = soft_threshold_mlp(d, Fraction(1, 8))
        assert isinstance(mlp, MLP) and mlp.W_in.shape == (4 * d, 2 * d + 3)


@given(d=st.integers(1, 3), n=st.integers(1, 5), L=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_ista_transformer_is_ista(d: int, n: int, L: int, seed: int) -> None:
    spec = lasso.ISTA_SPEC
    inst = spec.draw(DyadicDraw(np.random.default_rng(seed)), {"d": d, "n": n, "L": L})
    assert EQUAL.exact(*spec.evaluate(Rational(), inst)).status == "holds"
    assert EQUAL.float64(*spec.evaluate(Float64Bounded(), inst)).status == "holds"


@pytest.mark.parametrize("mutant", lasso.ISTA_SPEC.mutants, ids=lambda m: m.name)
def test_every_ista_mutant_is_rejected_exactly(mutant) -> None:
    spec = lasso.ISTA_SPEC
    for seed in range(3):
        inst = spec.draw(DyadicDraw(np.random.default_rng(seed)), {"d": 2, "n": 3, "L": 2})
        assert EQUAL.exact(*spec.evaluate(Rational(), inst, mutant)).status == "fails"


@pytest.mark.parametrize("seed", range(20))
def test_theorem_10_bound_at_many_seeds(seed: int) -> None:
    spec = lasso.THEOREM_10_SPEC
    inst = draw_theorem_10(DyadicDraw(np.random.default_rng(seed)), {"d": 2, "n": 4})
    assert inst.T <= 48 and inst.eps > 0
    assert BOUND.exact(*spec.evaluate(Rational(), inst)).status == "holds"


def test_theorem_10_inflated_tolerance_lets_doing_nothing_through() -> None:
    """The no-layer mutant's gap is exactly (4/3)ε: ε·4/3 would pass it, ε does not."""
    spec = lasso.THEOREM_10_SPEC
    nothing = spec.mutants[0]
    inst = draw_theorem_10(DyadicDraw(np.random.default_rng(0)), {"d": 2, "n": 4})
    gap, eps = spec.evaluate(Rational(), inst, nothing)
    assert BOUND.exact(gap, eps).status == "fails"
    assert BOUND.exact(gap, eps * Rational().const(Fraction(4, 3))).status == "holds"


def test_bad_input_is_refused_by_name() -> None:
    with pytest.raises(PromptError, match="at least one ISTA step"):
        ista_transformer(2, 3, [], Fraction(1, 4), 1)
    with pytest.raises(PromptError, match="n >= 1"):
        ista_transformer(2, 0, [Fraction(1, 4)], Fraction(1, 4), 1)


def test_theorem_10_transformer_has_the_printed_size() -> None:
    """App. F.1: T + 1 layers (attention + MLP), 2 heads each, for T proximal steps."""
    from transformer_proofs.constructions.engine import Attention

    inst = draw_theorem_10(DyadicDraw(np.random.default_rng(3)), {"d": 2, "n": 4})
    model = lasso.theorem_10_transformer(inst)
    attention = [layer for layer in model.layers if isinstance(layer, Attention)]
    assert len(attention) == inst.T + 1 and all(len(a.heads) == 2 for a in attention)
    assert sum(isinstance(layer, MLP) for layer in model.layers) == inst.T
