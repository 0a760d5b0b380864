"""Tests for constructions/functional_gd.py, verify/algorithms/functional_gd.py
and the fgd claims (Cheng, Chen, Sra 2024, arXiv:2312.06528, Prop. 3.1)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Float64Bounded, Rational
from transformer_proofs.constructions.engine import PromptError, forward, read_out
from transformer_proofs.constructions.functional_gd import (
    READOUT_SIGN,
    context_normalised,
    fgd_layer,
    fgd_prompt,
    functional_gd_transformer,
    multi_head_layer,
    value_entry,
)
from transformer_proofs.verify.algorithms import functional_gd as fgd
from transformer_proofs.verify.checks import ErrArray, bounded_comparison, exact_mismatches
from transformer_proofs.verify.claims import fgd as claims
from transformer_proofs.verify.registry import Context, select

from tests.strategies import dyadic_array, step_size


@st.composite
def kernel_matrix(draw: st.DrawFn, n: int, positive: bool = False) -> np.ndarray:
    """A free (n+1) x (n+1) kernel matrix of dyadic rationals; ``positive``:
    every entry > 0 (stand-ins for e^{⟨x_i,x_j⟩})."""
    G = draw(dyadic_array((n + 1, n + 1)))
    if positive:
        G = np.vectorize(lambda g: abs(g) + Fraction(1, 2), otypes=[object])(G)
    return G


@given(st.integers(1, 5), st.booleans(), st.data())
@settings(max_examples=10, deadline=None)
def test_kernel_matrix_strategy_keeps_its_promise(n, positive, data):
    G = data.draw(kernel_matrix(n, positive))
    assert G.shape == (n + 1, n + 1)
    assert all(isinstance(g, Fraction) for g in G.ravel())
    if positive:
        assert all(g > 0 for g in G.ravel())


def test_derived_value_entry_and_readout_sign():
    assert value_entry(Fraction(3, 4)) == Fraction(-3, 4)
    assert READOUT_SIGN == -1


def _predict(ar, model, X, y, x_q):
    return read_out(ar, model, forward(ar, model, ar.array(fgd_prompt(X, y, x_q))))


@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 3), st.booleans(), st.data())
@settings(max_examples=15, deadline=None)
def test_free_kernel_prediction_is_functional_gd_exactly(d, n, L, softmax, data):
    G = data.draw(kernel_matrix(n, positive=softmax))
    X, y, x_q = data.draw(dyadic_array((n, d))), data.draw(dyadic_array((n,))), data.draw(dyadic_array((d,)))
    etas = [data.draw(step_size()) for _ in range(L)]
    act = claims.free_kernel(G)
    ar = Rational()
    Gref = ar.array(G)
    if softmax:
        act = context_normalised(act, n)
        Gref = fgd.normalise_over_context(ar, Gref, n)
    got = _predict(ar, functional_gd_transformer(d, n, etas, act), X, y, x_q)
    f_L = fgd.functional_gd(ar, Gref, ar.array(y.reshape(-1, 1)), [ar.const(e) for e in etas])[-1]
    assert got == f_L[0, n]
    if not _singular(Gref, n):
        assert got == fgd.closed_form(ar, Gref, ar.array(y.reshape(-1, 1)), [ar.const(e) for e in etas])[0, 0]


def _singular(G, n):
    try:
        fgd.solve(Rational(), G[:n, :n], Rational().eye(n))
        return False
    except ZeroDivisionError:
        return True


@pytest.mark.parametrize("kind", ["linear", "relu", "exp", "softmax", "rbf"])
@given(data=st.data())
@settings(max_examples=8, deadline=None)
def test_float64_every_activation_within_running_error_bound(kind, data):
    d, n, L = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    X = data.draw(dyadic_array((n, d), bound=1))
    y, x_q = data.draw(dyadic_array((n,))), data.draw(dyadic_array((d,), bound=1))
    etas = [data.draw(step_size()) for _ in range(L)]
    ar = Float64Bounded()
    act = fgd.rbf_kernel if kind == "rbf" else kind
    got = _predict(ar, functional_gd_transformer(d, n, etas, act), X, y, x_q)
    pts = ar.array(np.concatenate([X, x_q[None, :]], axis=0))
    G = fgd.kernel_values(ar, act, pts, n)
    want = fgd.functional_gd(ar, G, ar.array(y.reshape(-1, 1)), [ar.const(e) for e in etas])[-1][0, n]
    err, tol, ok = bounded_comparison(ErrArray.lift(got), ErrArray.lift(want))
    assert ok, (err, tol)


def test_multi_head_layer_is_weighted_kernel_sum():
    n, d = 3, 2
    rng = np.random.default_rng(1)
    Gs = [np.vectorize(Fraction, otypes=[object])(rng.integers(-3, 4, (n + 1, n + 1))) for _ in range(2)]
    etas = [Fraction(1, 3), Fraction(1, 5)]
    X = np.vectorize(Fraction, otypes=[object])(rng.integers(-2, 3, (n, d)))
    y = np.array([Fraction(1), Fraction(-2), Fraction(3)], dtype=object)
    x_q = np.array([Fraction(1), Fraction(0)], dtype=object)
    ar = Rational()
    layer = multi_head_layer(d, n, etas, [claims.free_kernel(G) for G in Gs])
    model = functional_gd_transformer(d, n, [1], "linear").with_layers([layer])
    got = _predict(ar, model, X, y, x_q)
    want = fgd.functional_gd(ar, ar.array(Gs[0] * etas[0] + Gs[1] * etas[1]), ar.array(y.reshape(-1, 1)), [ar.const(1)])
    assert got == want[-1][0, n]


# --- bad input ------------------------------------------------------------------


def test_bad_inputs_have_clear_errors():
    with pytest.raises(PromptError, match="unknown activation"):
        fgd_layer(2, 3, Fraction(1, 2), "tanh")
    with pytest.raises(PromptError, match="n >= 1"):
        fgd_layer(2, 0, Fraction(1, 2), "linear")
    with pytest.raises(PromptError, match="at least one layer"):
        functional_gd_transformer(2, 3, [], "exp")
    with pytest.raises(PromptError, match="one per head"):
        multi_head_layer(2, 3, [Fraction(1)], ["linear", "exp"])
    G = np.ones((3, 3), dtype=object)
    model = functional_gd_transformer(1, 3, [Fraction(1, 2)], claims.free_kernel(G))
    with pytest.raises(PromptError, match="shape"):
        forward(Rational(), model, Rational().array(fgd_prompt(np.ones((3, 1)), np.ones(3), np.ones(1))))
    with pytest.raises(PromptError, match="shape"):
        fgd.functional_gd(Rational(), Rational().array(G), Rational().array(np.ones((3, 1), dtype=int)), [1])


def test_not_positive_definite_and_step_size_errors():
    y = np.array([1.0, 2.0])
    with pytest.raises(fgd.KernelNotPositiveDefinite, match="not positive definite"):
        fgd.remaining_error_bounds(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([1.0, 0.0]), y, [0.1])
    with pytest.raises(fgd.KernelNotPositiveDefinite, match="not symmetric"):
        fgd.remaining_error_bounds(np.array([[1.0, 0.5], [0.0, 1.0]]), np.array([1.0, 0.0]), y, [0.1])
    K = np.array([[2.0, 0.0], [0.0, 1.0]])  # λ_max = 2, n = 2: steps must lie in (0, 2)
    with pytest.raises(fgd.StepSizeError, match="outside the convergent region"):
        fgd.remaining_error_bounds(K, np.array([1.0, 0.0]), y, [Fraction(2)])
    with pytest.raises(fgd.StepSizeError):
        fgd.remaining_error_bounds(K, np.array([1.0, 0.0]), y, [0.0])
    with pytest.raises(PromptError, match="entries"):
        fgd.remaining_error_bounds(K, np.array([1.0, 0.0, 3.0]), y, [0.5])
    bounds = fgd.remaining_error_bounds(K, np.array([1.0, 0.0]), y, [Fraction(1)] * 5)
    assert all(b2 < b1 for b1, b2 in zip(bounds, bounds[1:]))


def test_softmax_closed_form_needs_the_transpose():
    text, got, printed = claims._printed_counterexample()
    assert "17/48" in text and exact_mismatches(got, printed)


# --- the claims -----------------------------------------------------------------


@pytest.fixture(scope="module")
def fgd_claims():
    return {c.id: c for c in select("fgd.*")}


def test_checks_hold_and_erratum_is_refuted(fgd_claims):
    for cid, claim in fgd_claims.items():
        if cid == "fgd.matched_activation":
            continue  # run in its own test
        want = "refuted" if claim.erratum else "holds"
        for mode, check in claim.checks.items():
            res = check(Context(0, 0.5))
            if mode in ("torch", "lens") and res.status == "skipped":
                continue  # the torch / transformer-lens extras are not installed (tests/test_torch_backend.py)
            assert res.status == want, (cid, mode, res.detail)


def test_every_falsifier_is_caught(fgd_claims):
    for cid, claim in fgd_claims.items():
        for f in claim.falsifiers:
            caught, how = f.run(Context(0))
            assert caught, (cid, f.name, how)


def test_matched_activation_table_and_figure(fgd_claims, tmp_path):
    claim = fgd_claims["fgd.matched_activation"]
    assert claim.checks["empirical"](Context(0)).status == "holds"
    assert "Bayes" in claim.table(Context(0, 0.5))
    out = claim.figure(Context(0, 0.5), tmp_path)
    if out is not None:
        assert (tmp_path / out[0]).exists()
