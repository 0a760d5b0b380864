"""constructions.gradient_descent against verify.algorithms.gradient_descent:
hypothesis draws sizes, steps, preconditioners; float64 within the running
error bound, exact equality in rationals; each mutant rejected."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Float64Bounded, Rational
from transformer_proofs.constructions.engine import PromptError
from transformer_proofs.constructions.gradient_descent import preconditioned_layer, von_oswald_transformer
from transformer_proofs.verify.claims.gd import claims as gd
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.relations import EQUAL
from transformer_proofs.verify.spec import Context

from tests.strategies import regression_sizes

SPECS = {
    "one_layer": gd.ONE_LAYER_SPEC,
    "gd_plus_plus": gd.GD_PLUS_PLUS_SPEC,
    "multi_layer": gd.MULTI_LAYER_SPEC,
    "preconditioned": gd.PRECONDITIONED_SPEC,
    "relu_ridge": gd.RIDGE_SPEC,
}


@pytest.mark.parametrize("name", sorted(SPECS))
@given(sizes=regression_sizes(max_d=4, max_n=8, max_L=3), seed=st.integers(0, 2**31))
def test_float64_within_running_error_bound(name: str, sizes: dict, seed: int) -> None:
    spec = SPECS[name]
    inst = spec.sample(DyadicDraw(np.random.default_rng(seed)), sizes)
    v = EQUAL.float64(*spec.evaluate(Float64Bounded(), inst))
    assert v.status == "holds", f"error {v.error} > bound {v.tolerance}"


@pytest.mark.parametrize("name", sorted(SPECS))
@given(sizes=regression_sizes(max_d=3, max_n=5, max_L=2), seed=st.integers(0, 2**31))
def test_exact_identity(name: str, sizes: dict, seed: int) -> None:
    spec = SPECS[name]
    inst = spec.sample(DyadicDraw(np.random.default_rng(seed)), sizes)
    assert EQUAL.exact(*spec.evaluate(Rational(), inst)).status == "holds"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_mutant_is_rejected(name: str) -> None:
    spec = SPECS[name]
    for mutant in spec.mutants:
        rejected = False
        for seed in range(3):
            inst = spec.sample(DyadicDraw(np.random.default_rng(seed)), {"d": 2, "n": 3, "L": 2})
            rejected = rejected or EQUAL.exact(*spec.evaluate(Rational(), inst, mutant)).status == "fails"
        assert rejected, f"mutant {mutant.name!r} slipped through"


def test_printed_preconditioned_lemma_is_refuted_and_corrected_holds() -> None:
    from transformer_proofs.verify.registry import select

    (printed,) = select("gd.preconditioned_printed")
    res = printed.checks["rational"](Context(0))
    assert res.status == "refuted" and "A=[[0, 1], [0, 0]]" in res.detail


def test_bad_construction_inputs() -> None:
    with pytest.raises(PromptError, match="square"):
        preconditioned_layer(2, 3, np.zeros((2, 3), dtype=object))
    with pytest.raises(PromptError, match="n >= 1"):
        von_oswald_transformer(2, 0, [Fraction(1, 2)])
    with pytest.raises(PromptError, match="at least one layer"):
        von_oswald_transformer(2, 3, [])


def test_relu_ridge_offset_keeps_the_query_out() -> None:
    """With B = 0 the query's ReLU score leaks into the update."""
    from transformer_proofs.verify.claims.gd.instances import draw_ridge

    inst = draw_ridge(DyadicDraw(np.random.default_rng(0)), {"d": 2, "n": 3, "L": 2})
    ar, spec = Rational(), gd.RIDGE_SPEC
    ref = gd.ridge_reference(ar, inst)
    assert EQUAL.exact(spec.model_side(ar, gd.build_ridge(inst), inst), ref).status == "holds"
    assert EQUAL.exact(spec.model_side(ar, gd.build_ridge(inst, offset=0), inst), ref).status == "fails"


@pytest.mark.parametrize("L", [2, 3])
def test_multi_layer_from_a_nonzero_start(L: int) -> None:
    """von_oswald_transformer with W_0 != 0 and several layers computes L GD steps from W_0
    (it used to put W_0 in the first layer only)."""
    from transformer_proofs.verify.claims.gd.instances import draw_von_oswald

    inst = draw_von_oswald(DyadicDraw(np.random.default_rng(L)), {"d": 2, "n": 3, "L": L})
    assert any(w != 0 for w in inst.W_0)
    assert EQUAL.exact(*gd.MULTI_LAYER_SPEC.evaluate(Rational(), inst)).status == "holds"
