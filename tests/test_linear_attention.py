"""constructions.linear_attention against verify.algorithms.linear_attention:
the parallel forms equal the recurrent and dual forms exactly (hypothesis over
sizes and seeds), every mutant is rejected, bad input is refused by name."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Float64Bounded, PrimeField, Rational
from transformer_proofs.constructions.engine import PromptError
from transformer_proofs.constructions.linear_attention import (
    LinearAttention,
    causal_mask,
    feature_map,
    linear_attention,
)
from transformer_proofs.verify.claims.linear_attention import claims as la
from transformer_proofs.verify.draws import DyadicDraw, FieldDraw
from transformer_proofs.verify.relations import EQUAL

SPECS = {
    "causal_rnn": (la.CAUSAL_SPEC, lambda D, N: {"D": D, "N": N}),
    "fast_weights": (la.FAST_WEIGHT_SPEC, lambda D, N: {"D": D, "N": N}),
    "delta_rule": (la.DELTA_SPEC, lambda D, N: {"D": D, "N": N}),
    "dual_form": (la.DUAL_SPEC, lambda D, N: {"d_in": D, "d_out": max(1, D - 1), "T": N}),
    "dai_dual_form": (la.DAI_SPEC, lambda D, N: {"D": D, "m": N, "c": max(1, N // 2)}),
}


@pytest.mark.parametrize("name", sorted(SPECS))
@given(D=st.integers(1, 4), N=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_parallel_equals_recurrent_exactly(name: str, D: int, N: int, seed: int) -> None:
    spec, sizes = SPECS[name]
    inst = spec.draw(DyadicDraw(np.random.default_rng(seed)), sizes(D, N))
    assert EQUAL.exact(*spec.evaluate(Rational(), inst)).status == "holds"
    assert EQUAL.float64(*spec.evaluate(Float64Bounded(), inst)).status == "holds"


@pytest.mark.parametrize("name", ["causal_rnn", "fast_weights", "delta_rule", "dual_form", "dai_dual_form"])
def test_prime_field_identity(name: str) -> None:
    spec, sizes = SPECS[name]
    field = PrimeField()
    inst = spec.draw(FieldDraw(np.random.default_rng(0), field), sizes(3, 5))
    assert EQUAL.exact(*spec.evaluate(field, inst)).status == "holds"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_mutant_is_rejected(name: str) -> None:
    spec, sizes = SPECS[name]
    for mutant in spec.mutants:
        exact = "rational" in (mutant.modes or ("rational",))
        ar = Rational() if exact else Float64Bounded()
        rejected = False
        for seed in range(3):
            inst = spec.draw(DyadicDraw(np.random.default_rng(seed)), sizes(3, 4))
            rel = EQUAL.exact if exact else EQUAL.float64
            rejected = rejected or rel(*spec.evaluate(ar, inst, mutant)).status == "fails"
        assert rejected, f"mutant {mutant.name!r} slipped through"


def test_elu_feature_map_is_positive_and_continuous_at_zero() -> None:
    ar = Float64Bounded()
    vals = feature_map(ar, "elu+1", ar.array(np.array([[-3.0, -1e-9, 0.0, 1e-9, 2.0]]))).val
    assert (vals > 0).all() and abs(vals[0, 2] - 1.0) == 0 and abs(vals[0, 1] - 1.0) < 1e-8


def test_bad_input_is_refused_by_name() -> None:
    head = LinearAttention(np.eye(2), np.eye(2), np.eye(2), causal_mask(3))
    with pytest.raises(PromptError, match="mask has shape"):
        linear_attention(Rational(), head, Rational().array(np.ones((2, 4), dtype=int)))
    with pytest.raises(PromptError, match="unknown feature map"):
        feature_map(Rational(), "tanh", Rational().array(np.ones((2, 2), dtype=int)))
