"""constructions.float_attention: the planned float64 linear layer against the
exact rational forward pass (value) and its running bound (Float64Bounded)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions import float_attention
from transformer_proofs.constructions.arithmetic import ErrArray, Float64, Float64Bounded, Rational
from transformer_proofs.constructions.engine import Attention, Head, Transformer, forward
from transformer_proofs.constructions.gradient_descent import von_oswald_transformer


def _dyadic(rng, shape, zero_rows=(), select=False):
    w = (np.round(rng.standard_normal(shape) * 8) / 8).astype(object)
    if select:  # one 1 per row: a selection
        w = np.zeros(shape, dtype=object)
        w[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = 1
    for r in zero_rows:
        w[r] = 0
    return np.vectorize(lambda v: Fraction(v), otypes=[object])(w)


def _layer(rng, D, N, heads, W_O_kind):
    hs = []
    for _ in range(heads):
        dh = int(rng.integers(1, D + 2))
        dv = int(rng.integers(1, D + 2)) if W_O_kind == "dense" else D
        zq = tuple(int(r) for r in rng.choice(dh, size=int(rng.integers(0, dh)), replace=False))
        zv = tuple(int(r) for r in rng.choice(dv, size=int(rng.integers(0, dv)), replace=False))
        W_Q = _dyadic(rng, (dh, D), zq, select=bool(rng.integers(0, 2)))
        W_K = _dyadic(rng, (dh, D), select=bool(rng.integers(0, 2)))
        W_V = _dyadic(rng, (dv, D), zv)
        W_O = {"none": None, "dense": _dyadic(rng, (D, dv)),
               "diagonal": np.diag([Fraction(int(k), 4) for k in rng.integers(-4, 5, D)]).astype(object)}[W_O_kind]
        hs.append(Head(W_Q=W_Q, W_K=W_K, W_V=W_V, W_O=W_O))
    mask = rng.integers(0, 2, N)
    mask[int(rng.integers(0, N))] = 1
    return Attention(tuple(hs), "linear", mask, scale=Fraction(1, int(rng.integers(1, 6))))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 30), st.integers(1, 3), st.sampled_from(["none", "dense", "diagonal"]),
       st.integers(0, 2**31))
def test_plan_value_and_bound_against_exact(D, N, heads, W_O_kind, seed) -> None:
    """The planned layer's float64 value lies within its running bound of the exact value."""
    rng = np.random.default_rng(seed)
    layer = _layer(rng, D, N, heads, W_O_kind)
    model = Transformer((layer,), tuple(f"c{k}" for k in range(D)))
    Z = np.round(rng.standard_normal((D, N)) * 16) / 16
    exact = forward(Rational(), model, Z.astype(object))
    exact_f = np.array([[Fraction(int(v.p), int(v.q)) for v in row] for row in exact], dtype=object)
    plan = float_attention.layer_plan(layer, D, N)  # the plan itself, whichever order the engine prefers here
    if plan is None:  # no head writes a nonzero: the layer is the identity
        assert all(v == w for v, w in zip(exact_f.ravel(), Z.ravel()))
        return
    bounded = plan.apply(Float64Bounded(), Float64Bounded().array(Z))
    plain = plan.apply(Float64(), Z)
    assert isinstance(bounded, ErrArray)
    np.testing.assert_array_equal(bounded.val, plain)  # the same operations
    diff = np.abs(np.vectorize(lambda a, b: Fraction(float(a)) - b, otypes=[object])(plain, exact_f))
    assert all(d <= Fraction(float(e)) for d, e in zip(diff.ravel(), bounded.err.ravel()))


def test_plan_drops_zero_rows_and_uses_selections() -> None:
    """von Oswald's layer: W_K = W_Q select the x rows; only the label row is written."""
    model = von_oswald_transformer(3, 5, [Fraction(1, 8)], [Fraction(1, 2), Fraction(-1, 4), Fraction(0)])
    layer = model.layers[0]
    plan = float_attention.layer_plan(layer, 4, 6)
    assert plan is not None and plan.rows == slice(3, 4) and plan.keys == slice(0, 5)
    (h,) = plan.heads
    assert h.K.dense is None and h.K.coef is None and h.K.reads == slice(0, 3)  # a selection: indexing
    assert h.V.dense is not None and h.V.dense.shape == (1, 3)  # the one nonzero value row, its nonzero columns
    assert float_attention.layer_plan(layer, 4, 6) is plan  # made once


def test_batched_plan_equals_per_prompt() -> None:
    rng = np.random.default_rng(3)
    model = von_oswald_transformer(2, 4, [Fraction(1, 4), Fraction(1, 8)], [Fraction(1, 2), Fraction(-1, 4)])
    Z = np.round(rng.standard_normal((7, 3, 5)) * 16) / 16
    batched = forward(Float64Bounded(), model, Z)
    for b in range(7):
        one = forward(Float64Bounded(), model, Z[b])
        np.testing.assert_allclose(batched.val[b], one.val, rtol=0, atol=1e-12)


def test_no_plan_for_non_float_systems() -> None:
    assert not float_attention.supports(Rational())
    with pytest.raises(ValueError, match="all-zero"):
        float_attention.WeightOp.of((np.zeros((2, 2)), np.ones((2, 2), dtype=bool)))


def test_a_weight_that_underflows_keeps_its_error() -> None:
    """A nonzero weight entry that rounds to 0.0 (2^-1100) is not an exact zero:
    the layer is not planned, and the general path bounds the entry's rounding
    (half the least subnormal), so the bound encloses the exact value."""
    tiny, big = Fraction(1, 2**1100), Fraction(2**1000)
    W_V = np.array([[tiny, 0], [0, 0]], dtype=object)
    W_O = np.array([[1, 0], [big, 0]], dtype=object)
    W_QK = np.array([[1, 0], [0, 1]], dtype=object)
    layer = Attention(heads=(Head(W_QK, W_QK, W_V, W_O),), score="linear", key_mask=np.array([1, 1]))
    model = Transformer(layers=(layer,), coordinates=("a", "b"))
    assert not float_attention.plannable(layer)
    Z = np.array([[1, 1], [1, 1]], dtype=object)
    out = forward(Float64Bounded(), model, Z)
    exact = forward(Rational(), model, Z)
    for v, e, x in zip(out.val.ravel(), np.broadcast_to(out.err, out.shape).ravel(), np.ravel(exact)):
        assert abs(Fraction(float(v)) - Fraction(str(x))) <= Fraction(float(e))
