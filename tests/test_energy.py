"""Tests of constructions/energy.py, verify/algorithms/energy.py and the
``energy`` claims (verify/claims/energy/): identities on hypothesis draws
(float64 with running error bounds, exact where rational), descent decided
exactly or by arb balls through the claims' specs, tie handling, bad inputs,
falsifiers, our corrected reading of the Hopfield bound."""

from __future__ import annotations

from fractions import Fraction

import flint
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Ball, Float64, Float64Bounded, Rational
from transformer_proofs.constructions.energy import (
    ConditionError,
    feedforward_layer,
    feedforward_stack,
    hopfield_layer,
    hopfield_prompt,
    hopfield_transformer,
    last_block,
    mm_attention_stack,
    spectrum_report,
)
from transformer_proofs.constructions.engine import PromptError, forward
from transformer_proofs.verify.algorithms import energy as alg
from transformer_proofs.verify.claims.energy import claims as fam
from transformer_proofs.verify.claims.energy import errata
from transformer_proofs.verify.claims.energy.instances import (
    FeedForward,
    Hopfield,
    Tokens,
    draw_hopfield,
    draw_simplex,
    obj,
    symmetric_with_spectrum,
)
from transformer_proofs.verify.claims.energy.instances import (
    equal_norm_tokens as sphere_tokens,
)
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.registry import Context, select
from transformer_proofs.verify.relations import EQUAL, INEQUALITY


def bounded_equal(out, ref) -> bool:
    return EQUAL.float64(out, ref).status == "holds"


def descent_verdict(spec, inst, prec: int = 128):
    with Ball(prec).working_precision():
        return INEQUALITY.ball(*spec.evaluate(Ball(prec), inst))

# ---------------------------------------------------------------------------
# strategies (each with a test of its promise)
# ---------------------------------------------------------------------------


@st.composite
def dyadic_tokens(draw: st.DrawFn, max_d: int = 3, max_n: int = 4) -> np.ndarray:
    """A (d, n) object array of dyadic rationals k/16 in [-2, 2]."""
    d, n = draw(st.integers(1, max_d)), draw(st.integers(1, max_n))
    vals = [Fraction(draw(st.integers(-32, 32)), 16) for _ in range(d * n)]
    return obj(vals, (d, n))


@st.composite
def equal_norm_tokens(draw: st.DrawFn) -> np.ndarray:
    """Tokens of exactly equal Euclidean norm (rational sphere points)."""
    seed, d, n = draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 3)), draw(st.integers(2, 5))
    return sphere_tokens(DyadicDraw(np.random.default_rng(seed)), d, n)


@st.composite
def spectral_weight(draw: st.DrawFn, lo: int = -63, hi: int = 64) -> tuple[np.ndarray, list[Fraction]]:
    """(W, λ): W = Q diag(λ) Qᵀ exactly, λ_k = k/64 with k in [lo, hi]."""
    seed, d = draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 3))
    lams = [Fraction(draw(st.integers(lo, hi)), 64) for _ in range(d)]
    return symmetric_with_spectrum(DyadicDraw(np.random.default_rng(seed)), lams), lams


@settings(max_examples=15)
@given(dyadic_tokens())
def test_dyadic_tokens_promise(Y: np.ndarray) -> None:
    assert Y.ndim == 2 and all(isinstance(v, Fraction) and v.denominator <= 16 and abs(v) <= 2 for v in Y.ravel())


@settings(max_examples=15)
@given(equal_norm_tokens())
def test_equal_norm_tokens_promise(Y: np.ndarray) -> None:
    norms = {sum(v * v for v in Y[:, j]) for j in range(Y.shape[1])}
    assert len(norms) == 1 and norms.pop() > 0


@settings(max_examples=15)
@given(spectral_weight())
def test_spectral_weight_promise(Wl: tuple[np.ndarray, list[Fraction]]) -> None:
    W, lams = Wl
    d = len(lams)
    assert all(W[i, j] == W[j, i] for i in range(d) for j in range(d))
    charpoly = flint.fmpq_mat(d, d, [flint.fmpq(v.numerator, v.denominator) for v in W.ravel()]).charpoly()
    expected = flint.fmpq_poly([1])
    for lam in lams:
        expected *= flint.fmpq_poly([flint.fmpq(-lam.numerator, lam.denominator), 1])
    assert charpoly == expected


# ---------------------------------------------------------------------------
# identities
# ---------------------------------------------------------------------------


@settings(max_examples=20)
@given(dyadic_tokens(), st.integers(1, 3))
def test_mm_attention_equals_mm_step(Y: np.ndarray, L: int) -> None:
    ar = Float64Bounded()
    out = last_block(forward(ar, mm_attention_stack(*Y.shape, L), ar.array(Y)), Y.shape[0])
    ref = ar.array(Y)
    for _ in range(L):
        ref = alg.mm_step(ar, ref)
    assert bounded_equal(out, ref)


@settings(max_examples=15)
@given(equal_norm_tokens())
def test_plain_softmax_is_mm_step_for_equal_norms(Y: np.ndarray) -> None:
    ar = Float64Bounded()
    out = last_block(forward(ar, mm_attention_stack(*Y.shape, 1, key_bias=False), ar.array(Y)), Y.shape[0])
    assert bounded_equal(out, alg.mm_step(ar, ar.array(Y)))


def test_dropped_key_bias_differs_for_unequal_norms() -> None:
    Y = obj([Fraction(0), Fraction(2)], (1, 2))
    f = Float64()
    plain = last_block(forward(f, mm_attention_stack(1, 2, 1, key_bias=False), f.array(Y)), 1)
    assert np.abs(plain - alg.mm_step(f, f.array(Y))).max() > 0.1


@settings(max_examples=20)
@given(spectral_weight(), st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_feedforward_is_pgd_exactly(Wl: tuple[np.ndarray, list[Fraction]], seed: int, L: int) -> None:
    W, _ = Wl
    draw = DyadicDraw(np.random.default_rng(seed))
    d = W.shape[0]
    b, Y = draw.real((d,)), draw.real((d, 3))  # any sign: the layer is ReLU(Wy + b) regardless
    ar = Rational()
    out = forward(ar, feedforward_stack(W, b, L), ar.array(Y))
    ref = ar.array(Y)
    for _ in range(L):
        ref = alg.pgd_step(ar, W, b, ref)
    assert all(o == r for o, r in zip(out.ravel(), ref.ravel()))


@settings(max_examples=20)
@given(spectral_weight(), st.integers(0, 2**32 - 1))
def test_feedforward_descends_exactly(Wl: tuple[np.ndarray, list[Fraction]], seed: int) -> None:
    W, _ = Wl
    draw = DyadicDraw(np.random.default_rng(seed))
    d = W.shape[0]
    inst = FeedForward(W, draw.real((d,)), obj([abs(v) for v in draw.real((d, 2)).ravel()], (d, 2)))
    after, before = fam.FF_DESCENT.evaluate(Rational(), inst)
    assert after[0] <= before[0]


@settings(max_examples=15)
@given(dyadic_tokens(max_n=3))
def test_mm_descends_certified(Y: np.ndarray) -> None:
    v = descent_verdict(fam.MM_DESCENT, Tokens(Y))
    assert v.status != "fails"


def test_hopfield_layer_is_update() -> None:
    X = obj([Fraction(1), Fraction(-1, 2), Fraction(3, 4), Fraction(1, 4)], (2, 2))
    xi = obj([Fraction(1, 2), Fraction(-1)], (2,))
    ar = Float64Bounded()
    out = forward(ar, hopfield_transformer(2, 2, Fraction(3, 2)), ar.array(hopfield_prompt(X, xi)))[2:, -1]
    assert bounded_equal(out, alg.hopfield_update(ar, X, Fraction(3, 2), ar.array(xi)))


# ---------------------------------------------------------------------------
# ties, conditions, bad inputs
# ---------------------------------------------------------------------------


def test_ball_relation_reports_ties_honestly() -> None:
    """The reading the descent checks rely on: an exact zero gap is a certified
    tie, overlapping balls are undecided (a failed check), a certain excess fails."""
    one, third = flint.arb(1), flint.arb(1) / 3
    assert INEQUALITY.ball(obj([one], (1,)), obj([one], (1,))).status == "holds"
    assert INEQUALITY.ball(obj([third], (1,)), obj([flint.arb(1) / 3], (1,))).status == "undecided"
    assert INEQUALITY.ball(obj([flint.arb(2)], (1,)), obj([one], (1,))).status == "fails"


def test_fixed_point_is_an_exact_tie() -> None:
    Y = obj([Fraction(1, 2)] * 3, (1, 3))  # all tokens equal: MM(Y) = Y, computed exactly in arb
    v = descent_verdict(fam.MM_DESCENT, Tokens(Y))
    assert v.status == "holds" and v.margin == 0.0


def test_hopfield_draws_avoid_undecidable_ties() -> None:
    draw = DyadicDraw(np.random.default_rng(3))
    for _ in range(200):
        inst = draw_hopfield(draw, {"d": 1, "N": 1, "scale": 0})
        assert not (inst.X[0, 0] == inst.xi[0]) and inst.X[0, 0] != 0
        simplex = draw_simplex(draw, {"d": 2, "N": 3})
        assert any(v != 0 for v in simplex.X.ravel())


def test_spectrum_report_exact() -> None:
    I = np.eye(2, dtype=int).astype(object)
    assert spectrum_report(I) == {"lower": True, "lower_closed": True, "upper": True}
    assert spectrum_report(-I) == {"lower": False, "lower_closed": True, "upper": True}
    assert not spectrum_report(I * 2)["upper"]


@pytest.mark.parametrize("W, b, match", [
    ([[0, 1], [0, 0]], [0, 0], "not symmetric"),
    ([[-2, 0], [0, 0]], [0, 0], "outside the theorem's conditions"),
    ([[2, 0], [0, 0]], [0, 0], "outside the theorem's conditions"),
    ([[1, 0, 0]], [0], "square"),
    ([[0, 0], [0, 0]], [0], "b must have shape"),
])
def test_feedforward_refuses_bad_weights(W: list, b: list, match: str) -> None:
    with pytest.raises(ConditionError, match=match):
        feedforward_layer(np.array(W, dtype=object), np.array(b, dtype=object))


def test_bad_inputs() -> None:
    with pytest.raises(ConditionError, match="positive"):
        hopfield_layer(2, 3, 0)
    with pytest.raises(PromptError, match="X must be"):
        hopfield_prompt(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(PromptError, match="need d >= 1"):
        mm_attention_stack(0, 3, 1)
    with pytest.raises(TypeError, match="no logarithm"):
        alg.log(Rational(), np.array([1], dtype=object))
    with pytest.raises(PromptError, match="NaN"):
        forward(Float64(), mm_attention_stack(1, 2, 1), np.array([[np.nan, 1.0]]))


def test_step_size_bound_for_feedforward() -> None:
    """W = −1, b = 1: the boundary λ = −1 gives an exact 2-cycle (a tie); λ = −5/4 raises f."""
    for lam, expect in ((Fraction(-1), "tie"), (Fraction(-5, 4), "up")):
        inst = FeedForward(obj([lam], (1, 1)), obj([Fraction(1)], (1,)), obj([Fraction(1, 4)], (1, 1)))
        after, before = fam.FF_DESCENT.evaluate(Rational(), inst)
        assert (after[0] == before[0]) if expect == "tie" else (after[0] > before[0])


def test_hopfield_earlier_reading_corrected() -> None:
    """Our earlier reading (E ≤ 2M² for every ξ) is refuted at ξ = −2, outside Lemma A1's simplex;
    the check belongs to the corrected claim, so it holds."""
    res = errata.BOUND_CORRECTION_CHECK(Context(0))
    assert res.status == "holds" and "ξ = -2" in res.data["counterexample"] and "9/2" in res.data["counterexample"]
    claim = select("energy.hopfield")[0]
    assert claim.erratum is None and claim.correction.check == res.mode and claim.provenance.kind == "printed"


def test_hopfield_upper_bound_holds_at_simplex_vertices() -> None:
    X = obj([Fraction(1), Fraction(-1, 2), Fraction(0), Fraction(3, 4)], (2, 2))
    for k in range(2):
        v = descent_verdict(fam.HOP_UPPER, Hopfield(X, X[:, k].copy(), Fraction(1, 8)))
        assert v.status == "holds"


# ---------------------------------------------------------------------------
# the family
# ---------------------------------------------------------------------------


def test_family_checks_and_falsifiers() -> None:
    ctx = Context(seed=1, effort=0.2)
    for claim in select("energy.*"):
        for mode, check in claim.checks.items():
            res = check(ctx)
            expected = {"holds", "skipped"}
            assert res.status in expected, (claim.id, mode, res.detail)
        for f in claim.falsifiers:
            caught, how = f.run(ctx)
            assert caught, (claim.id, f.name, how)


def test_figure_deterministic(tmp_path) -> None:
    pytest.importorskip("matplotlib")  # the plots extra
    claim = select("energy.attention_mm")[0]
    name, _ = claim.figure(Context(0), tmp_path)
    first = (tmp_path / name).read_bytes()
    claim.figure(Context(0), tmp_path)
    assert (tmp_path / name).read_bytes() == first


# both sides of every condition the constructions refuse ----------------------

EPS = Fraction(1, 2**60)
# a rotation by the angle with cos = 3/5: W = R diag(λ₁, λ₂) Rᵀ is exact and not diagonal
ROT = np.array([[Fraction(3, 5), Fraction(-4, 5)], [Fraction(4, 5), Fraction(3, 5)]], dtype=object)


def _with_spectrum(l1: Fraction, l2: Fraction) -> np.ndarray:
    return ROT @ np.diag(np.array([l1, l2], dtype=object)) @ ROT.T


@pytest.mark.parametrize("lams, ok", [
    ((Fraction(1), Fraction(0)), True), ((1 + EPS, Fraction(0)), False),           # λ_max ≤ 1: 1 is inside
    ((-1 + EPS, Fraction(0)), True), ((Fraction(-1), Fraction(0)), False),         # λ_min > −1: −1 is outside
    ((Fraction(1), -1 + EPS), True), ((1 + EPS, Fraction(-1)), False),
])
def test_feedforward_spectrum_both_sides_of_each_edge(lams: tuple, ok: bool) -> None:
    W, b = _with_spectrum(*lams), np.zeros(2, dtype=object)
    if ok:
        feedforward_layer(W, b)
    else:
        with pytest.raises(ConditionError, match="spectrum is not inside"):
            feedforward_layer(W, b)


@pytest.mark.parametrize("beta, ok", [(EPS, True), (Fraction(0), False), (-EPS, False)])
def test_hopfield_beta_both_sides_of_zero(beta: Fraction, ok: bool) -> None:
    if ok:
        hopfield_layer(2, 3, beta)
    else:
        with pytest.raises(ConditionError, match="positive"):
            hopfield_layer(2, 3, beta)


def test_exact_fixed_points_of_the_hopfield_update_are_redrawn() -> None:
    """ξ = 0 between patterns ±a (seed 75's draw) is an exact fixed point: the
    descent's two energy balls overlap at any precision, so the draw is redrawn;
    an asymmetric set or ξ off the mean is not degenerate."""
    from fractions import Fraction as Fr

    from transformer_proofs.verify.claims.energy.instances import fixed_point_by_symmetry

    a = Fr(3, 4)
    assert fixed_point_by_symmetry(np.array([[a, -a, a, -a]], dtype=object), np.array([Fr(0)], dtype=object))
    assert fixed_point_by_symmetry(np.array([[a, a], [Fr(1), Fr(1)]], dtype=object), np.array([a, Fr(1)], dtype=object))
    assert not fixed_point_by_symmetry(np.array([[a, -a, a]], dtype=object), np.array([Fr(0)], dtype=object))
    assert not fixed_point_by_symmetry(np.array([[a, -a]], dtype=object), np.array([Fr(1, 8)], dtype=object))
