"""Tests for constructions/functional_gd.py, verify/algorithms/functional_gd.py
and the fgd claims (Cheng, Chen, Sra 2024, arXiv:2312.06528, Prop. 3.1)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import ErrArray, Float64Bounded, PrimeField, Rational
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
from transformer_proofs.verify.claims.fgd import errata, instances
from transformer_proofs.verify.draws import DyadicDraw, FieldDraw
from transformer_proofs.verify.registry import Context, select
from transformer_proofs.verify.relations import EQUAL
from transformer_proofs.verify.runner import run_claim

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
    act = instances.free_kernel(G)
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
    v = EQUAL.float64(ErrArray.lift(got).reshape(1), ErrArray.lift(want).reshape(1))
    assert v.status == "holds", v


def test_multi_head_layer_is_weighted_kernel_sum():
    n, d = 3, 2
    rng = np.random.default_rng(1)
    Gs = [np.vectorize(Fraction, otypes=[object])(rng.integers(-3, 4, (n + 1, n + 1))) for _ in range(2)]
    etas = [Fraction(1, 3), Fraction(1, 5)]
    X = np.vectorize(Fraction, otypes=[object])(rng.integers(-2, 3, (n, d)))
    y = np.array([Fraction(1), Fraction(-2), Fraction(3)], dtype=object)
    x_q = np.array([Fraction(1), Fraction(0)], dtype=object)
    ar = Rational()
    layer = multi_head_layer(d, n, etas, [instances.free_kernel(G) for G in Gs])
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
    model = functional_gd_transformer(1, 3, [Fraction(1, 2)], instances.free_kernel(G))
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
    res = select("fgd.closed_form")[0].checks[errata.EARLIER_KEY](Context(0))
    assert res.status == "holds" and res.mode == errata.EARLIER_KEY, res.detail
    assert "17/48" in res.data["counterexample"] and "3/8" in res.data["counterexample"]


def test_closed_form_is_ours_with_a_correction_not_an_erratum(fgd_claims):
    claim = fgd_claims["fgd.closed_form"]
    assert claim.provenance.kind == "ours" and claim.erratum is None
    assert claim.correction is not None and claim.correction.check in claim.checks
    assert "fgd.closed_form_printed" not in fgd_claims


@pytest.mark.parametrize("kernel", ["free", "free-softmax"])
def test_singular_kernel_draws_are_redrawn(kernel):
    """The stated rule: a draw whose K is singular is redrawn (issue 18: seed 12 drew one)."""
    rng = np.random.default_rng(12)
    sizes = {"d": 1, "n": 1, "L": 2, "kernel": kernel}
    for draw in (DyadicDraw(rng, bits=1), FieldDraw(rng, PrimeField(5))):
        for _ in range(40):
            inst = instances.draw_invertible(draw, sizes)
            ar = instances._field_of(draw)
            assert instances.invertible(ar, inst)


def test_closed_form_holds_at_seed_12():
    res = run_claim(select("fgd.closed_form")[0], Context(12, 0.5))
    assert res.status == "holds", [(c.mode, c.detail) for c in res.checks if c.status != "holds"]


def test_tied_points_are_redrawn_for_the_exp_kernel():
    rng = np.random.default_rng(0)
    for _ in range(30):
        inst = instances.draw_invertible(DyadicDraw(rng, bits=2), {"d": 1, "n": 3, "L": 1, "kernel": "exp"})
        pts = list(inst.X[:, 0]) + [inst.x_q[0]]
        assert len(set(pts)) == len(pts)


def test_limit_bound_reports_comparable_error_and_tolerance(fgd_claims):
    res = fgd_claims["fgd.kernel_regression_limit"].checks["ball"](Context(0, 0.5))
    assert res.status == "holds", res.detail
    assert 0 < res.max_error <= res.tolerance < 1e3


# --- the claims -----------------------------------------------------------------


@pytest.fixture(scope="module")
def fgd_claims():
    return {c.id: c for c in select("fgd.*")}


def test_checks_hold(fgd_claims):
    for cid, claim in fgd_claims.items():
        if cid == "fgd.matched_activation":
            continue  # run in its own test
        assert claim.erratum is None and claim.provenance is not None and claim.trust
        for mode, check in claim.checks.items():
            res = check(Context(0, 0.5))
            if res.status == "skipped":
                assert res.detail  # a kind that cannot apply, or an extra not installed, says why
                continue
            assert res.status == "holds", (cid, mode, res.detail)


def test_every_falsifier_is_caught(fgd_claims):
    for cid, claim in fgd_claims.items():
        for f in claim.falsifiers:
            caught, how = f.run(Context(0))
            assert caught, (cid, f.name, how)


def test_matched_activation_table_and_figure(fgd_claims, tmp_path):
    claim = fgd_claims["fgd.matched_activation"]
    res = claim.checks["empirical"](Context(0))
    assert res.status == "holds" and res.evidence == "empirical", res.detail
    assert res.tolerance > 0 and res.max_error <= res.tolerance
    assert "Bayes" in claim.table(Context(0, 0.5))
    out = claim.figure(Context(0, 0.5), tmp_path)
    if out is not None:
        assert (tmp_path / out[0]).exists()


@pytest.mark.parametrize("eta, ok", [
    (Fraction(2) - Fraction(1, 2**60), True), (Fraction(2), False), (Fraction(2) + Fraction(1, 2**60), False),
    (Fraction(1, 2**60), True), (Fraction(0), False), (Fraction(-1, 2**60), False),
])
def test_step_size_region_both_sides(eta: Fraction, ok: bool) -> None:
    """K = diag(2, 1), n = 2: the region is 0 < η < 2n/λ_max = 2, decided at the
    spectrum's 40 digits (η was read at 53 bits, so 2 − 2⁻⁶⁰ was refused)."""
    K, k_q, y = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([1.0, 0.0]), np.array([1.0, 2.0])
    if ok:
        fgd.remaining_error_bounds(K, k_q, y, [eta])
    else:
        with pytest.raises(fgd.StepSizeError, match="outside the convergent region"):
            fgd.remaining_error_bounds(K, k_q, y, [eta])
