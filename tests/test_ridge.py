"""constructions.ridge against verify.algorithms.ridge: the Sherman–Morrison
transformer leaves the closed-form ridge inverse, solution and prediction in
the query token, exactly (rationals, GF(p)); the recurrence equals the closed
form; every mutant is rejected; bad input is refused by name."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Float64Bounded, PrimeField, Rational
from transformer_proofs.constructions.engine import PromptError
from transformer_proofs.constructions.ridge import Layout, ridge_tokens, sherman_morrison_transformer
from transformer_proofs.verify.algorithms import ridge as algorithms
from transformer_proofs.verify.claims.ridge import claims as ridge
from transformer_proofs.verify.draws import DyadicDraw, FieldDraw
from transformer_proofs.verify.prompts import columns
from transformer_proofs.verify.relations import EQUAL


@given(d=st.integers(1, 3), n=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_transformer_is_the_closed_form(d: int, n: int, seed: int) -> None:
    inst = ridge.SPEC.draw(DyadicDraw(np.random.default_rng(seed)), {"d": d, "n": n})
    assert EQUAL.exact(*ridge.SPEC.evaluate(Rational(), inst)).status == "holds"
    assert EQUAL.float64(*ridge.SPEC.evaluate(Float64Bounded(), inst)).status == "holds"


def test_prime_field() -> None:
    field = PrimeField()
    inst = ridge.SPEC.draw(FieldDraw(np.random.default_rng(1), field), {"d": 2, "n": 3})
    assert EQUAL.exact(*ridge.SPEC.evaluate(field, inst)).status == "holds"


@given(seed=st.integers(0, 2**31))
def test_recurrence_equals_closed_form(seed: int) -> None:
    ar = Rational()
    inst = ridge.SPEC.draw(DyadicDraw(np.random.default_rng(seed)), {"d": 3, "n": 5})
    X, y, _ = columns(ar, inst)
    A1, w1 = algorithms.sherman_morrison(ar, X, y, ar.const(inst.lam))
    A2, w2 = algorithms.ridge_closed_form(ar, X, y, ar.const(inst.lam))
    assert (A1 == A2).all() and (w1 == w2).all()


@pytest.mark.parametrize("mutant", ridge.SPEC.mutants, ids=lambda m: m.name)
def test_every_mutant_is_rejected(mutant) -> None:
    for seed in range(3):
        inst = ridge.SPEC.draw(DyadicDraw(np.random.default_rng(seed)), {"d": 2, "n": 3})
        assert EQUAL.exact(*ridge.SPEC.evaluate(Rational(), inst, mutant)).status == "fails"


def test_sizes_are_the_printed_orders() -> None:
    """O(d²) hidden size, a constant number of layers per example (5), heads per layer <= d + 1."""
    for d, n in [(1, 1), (3, 4), (5, 2)]:
        m = sherman_morrison_transformer(d, n, 1)
        assert len(m.layers) == 1 + 5 * n + 2
        assert m.layout.D == 2 * d * d + 5 * d + n + 7
        assert max(len(layer.heads) for layer in m.layers) <= d + 1


def test_bad_input_is_refused_by_name() -> None:
    with pytest.raises(PromptError, match="n >= 1"):
        sherman_morrison_transformer(2, 0, 1)
    with pytest.raises(PromptError, match="do not fit"):
        ridge_tokens(2, 3, np.zeros((3, 1)), np.zeros(3), np.zeros(2))
    assert Layout(2, 3).N == 5


@given(d=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_sgd_chain_is_one_ridge_sgd_step(d: int, seed: int) -> None:
    inst = ridge.SGD_SPEC.draw(DyadicDraw(np.random.default_rng(seed)), {"d": d})
    assert EQUAL.exact(*ridge.SGD_SPEC.evaluate(Rational(), inst)).status == "holds"


@pytest.mark.parametrize("mutant", ridge.SGD_SPEC.mutants, ids=lambda m: m.name)
def test_every_sgd_mutant_is_rejected(mutant) -> None:
    inst = ridge.SGD_SPEC.draw(DyadicDraw(np.random.default_rng(0)), {"d": 2})
    assert EQUAL.exact(*ridge.SGD_SPEC.evaluate(Rational(), inst, mutant)).status == "fails"


def test_printed_chain_is_refuted_with_a_computed_counterexample() -> None:
    from transformer_proofs.verify.registry import select
    from transformer_proofs.verify.runner import run_claim
    from transformer_proofs.verify.spec import Context

    (claim,) = select("ridge.sgd_chain_printed")
    res = run_claim(claim, Context(0, 1.0))
    assert res.status == "refuted"
    assert all(f["caught"] for f in res.falsifiers)
    assert "predicts 5/4" in res.checks[0].data["counterexample"]
