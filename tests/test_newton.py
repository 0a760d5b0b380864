"""Tests of constructions/newton.py, verify/algorithms/newton.py and the
``newton`` claims: exact identities on hypothesis draws, bad inputs, errata,
falsifiers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Float64, PrimeField, Rational
from transformer_proofs.constructions.engine import PromptError, forward
from transformer_proofs.constructions.newton import (
    StepSizeOutsideRegion,
    convergent_step,
    inversion_prompt,
    layer_count,
    linear_newton_step,
    linearise_relu_pairs,
    newton_prompt,
    newton_transformer,
    printed_init_layer,
    printed_newton_layer,
)
from transformer_proofs.verify.algorithms import newton as alg
from transformer_proofs.verify.registry import Context, select

# ---------------------------------------------------------------------------
# strategies (each with a test of its promise below)
# ---------------------------------------------------------------------------


@st.composite
def dyadic_matrix(draw: st.DrawFn, rows: int, cols: int, bits: int = 4, bound: int = 2) -> np.ndarray:
    """Entries k / 2^bits in [-bound, bound]: exact as doubles and rationals."""
    vals = [Fraction(draw(st.integers(-bound * 2**bits, bound * 2**bits)), 2**bits) for _ in range(rows * cols)]
    out = np.empty(rows * cols, dtype=object)
    out[:] = vals
    return out.reshape(rows, cols)


@st.composite
def regression_prompt_exact(draw: st.DrawFn, max_d: int = 3, max_n: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d, n = draw(st.integers(1, max_d)), draw(st.integers(1, max_n))
    return draw(dyadic_matrix(n, d)), draw(dyadic_matrix(n, 1))[:, 0], draw(dyadic_matrix(d, 1))[:, 0]


@st.composite
def design_with_kappa(draw: st.DrawFn, d: int = 4, n: int = 32) -> tuple[np.ndarray, float]:
    """A design X whose Gram matrix has condition number exactly ``kappa``
    (built from chosen singular values, not filtered)."""
    kappa = draw(st.floats(1.0, 1e3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    sv = np.sqrt(np.geomspace(1.0, kappa, d))
    return U @ np.diag(sv) @ V.T, kappa


@given(regression_prompt_exact())
def test_strategy_regression_prompt_shapes(p):
    X, y, x_q = p
    n, d = X.shape
    assert y.shape == (n,) and x_q.shape == (d,)
    assert all(isinstance(v, Fraction) and float(v) == v for v in X.ravel())


@given(design_with_kappa())
def test_strategy_design_kappa(p):
    X, kappa = p
    lmax, lmin, rank = alg.spectrum(X.T @ X)
    assert rank == X.shape[1]
    assert abs(lmax / lmin / kappa - 1) < 1e-8


# ---------------------------------------------------------------------------
# the construction computes Newton exactly
# ---------------------------------------------------------------------------


def _prediction(ar, X, y, x_q, alpha, k):
    model = newton_transformer(X.shape[1], X.shape[0], k, alpha)
    if not ar.ordered:
        model = linearise_relu_pairs(model)
    return forward(ar, model, newton_prompt(X, y, x_q))[-1, -1]


@settings(max_examples=15, deadline=None)
@given(regression_prompt_exact(), st.integers(0, 3), st.integers(1, 64))
def test_transformer_equals_newton_exactly(p, k, a):
    X, y, x_q = p
    alpha = Fraction(a, 1024)
    ar = Rational()
    ref = alg.newton_prediction(ar, ar.array(X), ar.array(y.reshape(-1, 1)), ar.array(x_q.reshape(-1, 1)),
                                ar.const(alpha), k)[0, 0]
    assert _prediction(ar, X, y, x_q, alpha, k) == ref


@settings(max_examples=10, deadline=None)
@given(regression_prompt_exact(), st.integers(0, 4))
def test_transformer_prime_field_equals_newton(p, k):
    X, y, x_q = p
    F = PrimeField()
    alpha = Fraction(7)
    ref = alg.newton_prediction(F, F.array(X), F.array(y.reshape(-1, 1)), F.array(x_q.reshape(-1, 1)), F.const(alpha), k)
    assert _prediction(F, X, y, x_q, alpha, k) == ref[0, 0]


@settings(max_examples=10, deadline=None)
@given(regression_prompt_exact(), st.integers(0, 3))
def test_linearised_model_agrees_with_relu_model(p, k):
    X, y, x_q = p
    ar = Rational()
    m = newton_transformer(X.shape[1], X.shape[0], k, Fraction(1, 16))
    Z = newton_prompt(X, y, x_q)
    out, lin = forward(ar, m, Z), forward(ar, linearise_relu_pairs(m), Z)
    assert all(a == b for a, b in zip(out.ravel(), lin.ravel()))


def test_layer_count_is_k_plus_2():
    for k in (0, 1, 5):
        assert layer_count(newton_transformer(2, 3, k, Fraction(1))) == k + 2


def test_printed_sign_cannot_be_linearised():
    with pytest.raises(ValueError, match=r"\|s\|"):
        linearise_relu_pairs(printed_newton_layer(2, 3, v2_sign=1))
    with pytest.raises(ValueError, match="pair"):
        linearise_relu_pairs(printed_init_layer(2, 3, Fraction(1), v2_sign=1))


def test_printed_layer_computes_absolute_value():
    """d = n = 1, T = 1, x = 1: printed gives 2 + |x T x| = 3, Newton 2 - 1 = 1."""
    ar = Rational()
    Z = ar.array(np.array([[1, 0], [1, 0]], dtype=object))
    assert forward(ar, printed_newton_layer(1, 1, v2_sign=1), Z)[0, 0] == 3
    assert forward(ar, printed_newton_layer(1, 1, v2_sign=-1), Z)[0, 0] == 1


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 4).flatmap(lambda d: st.tuples(dyadic_matrix(d, d), dyadic_matrix(d, d))))
def test_linear_attention_newton_step(AX):
    A, X = AX
    ar = Rational()
    out = forward(ar, linear_newton_step(A.shape[0]), inversion_prompt(A, X))
    expected = ar.array(2 * X - X.dot(A).dot(X))
    assert all(a == b for a, b in zip(out[:A.shape[0]].ravel(), expected.ravel()))


# ---------------------------------------------------------------------------
# algorithms: rates and bad inputs
# ---------------------------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(design_with_kappa())
def test_newton_error_within_squared_contraction(p):
    X, kappa = p
    y = X @ np.ones(X.shape[1])
    S = alg.gram(X)
    alpha = alg.safe_alpha(S)
    rho = alg.check_newton_alpha(S, alpha)
    curve = alg.newton_curve(X, y, alpha, 30)
    floor = 10 * X.shape[1] * np.finfo(float).eps * kappa
    for k, e in enumerate(curve.errors):
        assert e <= min(rho ** (2**k), 1.0) * (1 + 1e-9) + floor


def test_printed_alpha_rejected_and_labelled():
    X = np.diag([3.0, 1.0])
    y = X @ np.array([1.0, 1.0])
    S = alg.gram(X)
    with pytest.raises(alg.StepSizeError, match="edge"):
        alg.check_newton_alpha(S, alg.printed_alpha(S))
    curve = alg.newton_curve(X, y, alg.printed_alpha(S), 10, strict=False)
    assert curve.status.startswith("stalls") and curve.errors[-1] > 0.1


def test_step_size_too_large_or_negative():
    S = alg.gram(np.diag([2.0, 1.0]))
    with pytest.raises(alg.StepSizeError, match="diverges"):
        alg.check_newton_alpha(S, 1.0)
    with pytest.raises(alg.StepSizeError, match="positive"):
        alg.check_newton_alpha(S, -0.1)
    with pytest.raises(alg.StepSizeError, match="GD diverges"):
        alg.check_gd_step(S, 2, 10.0)


def test_singular_design_raises_unless_allowed():
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    y = np.array([1.0, 2.0, 3.0])
    with pytest.raises(alg.SingularDesignError, match="singular"):
        alg.least_squares_target(X, y)
    w = alg.least_squares_target(X, y, allow_singular=True)
    assert np.allclose(w, [0.5, 0.5])


def test_negative_k_and_bad_shapes():
    with pytest.raises(ValueError, match="k must be"):
        newton_transformer(2, 3, -1, Fraction(1))
    with pytest.raises(ValueError, match="k must be"):
        alg.newton_schulz(Float64(), np.eye(2), 0.1, -2)
    with pytest.raises(PromptError, match="n >= 1"):
        newton_transformer(2, 0, 1, Fraction(1))
    with pytest.raises(PromptError, match="shapes"):
        newton_prompt(np.zeros((3, 2)), np.zeros(2), np.zeros(2))
    with pytest.raises(PromptError, match="NaN"):
        newton_prompt(np.array([[np.nan]]), np.array([1.0]), np.array([1.0]))
    with pytest.raises(PromptError, match="square"):
        inversion_prompt(np.zeros((2, 3)), np.zeros((2, 3)))


def test_gd_needs_more_steps_than_newton_when_ill_conditioned():
    rng = np.random.default_rng(1)
    X, y = alg.conditioned_design(rng, 6, 48, 100.0)
    S = alg.gram(X)
    newton = alg.newton_curve(X, y, alg.safe_alpha(S), 30)
    gd = alg.gd_curve(X, y, alg.optimal_gd_step(S, 48), 5000)
    k = next(k for k, e in enumerate(newton.errors) if e < 1e-6)
    t = alg.gd_steps_to_match(gd.errors, 1e-6)
    assert t is not None and t > 20 * k


# ---------------------------------------------------------------------------
# the registered claims
# ---------------------------------------------------------------------------

EXPECTED = {"newton.layer": "holds", "newton.k_steps": "holds", "newton.expansion": "holds",
            "newton.convergence": "holds", "newton.linear_attention_step": "holds", "newton.init_layer": "holds",
            "newton.layer_printed": "refuted", "newton.init_printed": "refuted",
            "newton.expansion_printed": "refuted", "newton.step_size_printed": "refuted"}


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_claim_checks_and_falsifiers(claim_id):
    (claim,) = select(claim_id)
    for mode, check in claim.checks.items():
        res = check(Context(0))
        assert res.status in (EXPECTED[claim_id], "skipped"), (mode, res.detail)
    for f in claim.falsifiers:
        caught, how = f.run(Context(0))
        assert caught, (f.name, how)
    if EXPECTED[claim_id] == "refuted":
        assert claim.erratum is not None and claim.erratum.corrected_claim in EXPECTED


# ---------------------------------------------------------------------------
# the spec port: α refused outside the convergent region, errata computed
# ---------------------------------------------------------------------------

EDGE = Fraction(2)  # X = [[1]]: S = 1, the region is 0 < α < 2/λ_max² = 2


@pytest.mark.parametrize("alpha, ok", [
    (EDGE - Fraction(1, 2**60), True), (EDGE, False), (EDGE + Fraction(1, 2**60), False),
    (Fraction(1, 2**60), True), (Fraction(0), False), (Fraction(-1, 2**60), False),
    (1.9999999999999998, True), (2.0, False),  # floats read as the rationals they are
])
def test_newton_transformer_alpha_region_both_sides(alpha, ok):
    X = np.array([[Fraction(1)]], dtype=object)
    assert convergent_step(X, alpha) is ok
    if ok:
        newton_transformer(1, 1, 2, alpha, design=X)
    else:
        with pytest.raises(StepSizeOutsideRegion):
            newton_transformer(1, 1, 2, alpha, design=X)


def test_alpha_region_agrees_with_the_float_checker_away_from_the_edge():
    """d = 2, S = diag(9, 1): the edge 2/81; the family's checker agrees off the fuzz."""
    X = np.array([[3.0, 0.0], [0.0, 1.0]])
    S = alg.gram(X)
    edge = 2 / 81
    for a in (edge * (1 - 1e-9), edge * (1 + 1e-9), edge / 2):
        inside = convergent_step(X, a)
        try:
            alg.check_newton_alpha(S, a)
            float_inside = True
        except alg.StepSizeError:
            float_inside = False
        assert inside == float_inside == (a < edge)
    with pytest.raises(StepSizeOutsideRegion, match="positive"):
        newton_transformer(2, 2, 1, -0.5)
    with pytest.raises(PromptError, match="design"):
        newton_transformer(2, 2, 1, 0.01, design=np.zeros((3, 2)))


ERRATA = ("newton.layer_printed", "newton.init_printed", "newton.expansion_printed", "newton.step_size_printed")


def test_errata_cite_their_own_equations_and_compute_their_counterexamples():
    wheres = set()
    for cid in ERRATA:
        (claim,) = select(cid)
        assert claim.provenance.kind == "printed" and claim.provenance.quote
        assert "eq" in claim.provenance.where
        wheres.add(claim.provenance.where)
        e = claim.erratum
        assert e.counterexample is None  # computed, not typed
        assert e.scope and e.authors_code
        (res,) = [chk(Context(0)) for chk in claim.checks.values()]
        assert res.status == "refuted" and res.data["counterexample"]
    assert len(wheres) == len(ERRATA)


def test_init_counterexample_is_a_context_token():
    (claim,) = select("newton.init_printed")
    res = claim.checks["rational"](Context(0))
    text = res.data["counterexample"]
    assert "n=2" in text and "x_1" in text and "context token" in text
    assert "x_q" not in text.split("(exact)")[0]


def test_printed_init_holds_on_a_single_context_token():
    """n = 1: the only score x_1ᵀx_1 >= 0, so the printed pair is right there."""
    ar = Rational()
    X = np.array([[Fraction(1), Fraction(-2)]], dtype=object)
    Z = np.concatenate([np.concatenate([X.T, np.zeros((2, 1), dtype=object)], axis=1)] * 2, axis=0)
    printed = forward(ar, printed_init_layer(2, 1, Fraction(1), v2_sign=1), Z)
    fixed = forward(ar, printed_init_layer(2, 1, Fraction(1), v2_sign=-1), Z)
    assert all(a == b for a, b in zip(printed[:, 0], fixed[:, 0]))


def test_convergence_table_states_no_machine_dependent_fate():
    from transformer_proofs.verify.claims.newton.figures import convergence_table

    text = convergence_table(Context(0))
    assert "blow up from" not in text and "happened to" not in text
    assert convergence_table(Context(0)) == text


def test_k_steps_readout_mutants_are_caught():
    (claim,) = select("newton.k_steps")
    names = {f.name: f for f in claim.falsifiers}
    for name in ("read-out sign", "read-out coordinate"):
        caught, how = names[name].run(Context(0))
        assert caught, how


@pytest.mark.parametrize("side, ok", [(-1, True), (+1, False)])
def test_float_step_checks_both_sides_of_their_fuzzed_edges(side: int, ok: bool) -> None:
    """S = diag(4, 1) (X = diag(2, 1)): Newton's edge 2/λ_max² = 1/8 and GD's
    edge 2n/λ_max = 1 (n = 2), each blurred by the stated spectral fuzz; one
    step of 4 fuzz widths inside is accepted, one as far outside refused."""
    S = alg.gram(np.diag([2.0, 1.0]))
    width = 4 * alg.spectral_fuzz(S)
    newton_edge, gd_edge = 2 / 16, 2 * 2 / 4
    for check, edge in ((lambda a: alg.check_newton_alpha(S, a), newton_edge),
                        (lambda e: alg.check_gd_step(S, 2, e), gd_edge)):
        value = edge * (1 + side * width)
        if ok:
            assert check(value) < 1
        else:
            with pytest.raises(alg.StepSizeError):
                check(value)
    # inside the fuzz band, just below Newton's edge: too close to call, refused
    with pytest.raises(alg.StepSizeError, match="edge"):
        alg.check_newton_alpha(S, newton_edge * (1 - alg.spectral_fuzz(S) / 2))


def test_newton_iterations_bound_at_and_past_the_target() -> None:
    """0 iterations when ρ ≤ ε already; else the smallest k with ρ^(2^k) ≤ ε."""
    assert alg.newton_iterations_bound(0.0, 1e-8) == 0
    assert alg.newton_iterations_bound(1e-9, 1e-8) == 0
    assert alg.newton_iterations_bound(0.5, 0.5**4) == 2
    assert alg.newton_iterations_bound(0.5, 0.5**4 * 0.99) == 3


def test_optimal_alpha_minimises_the_initial_error() -> None:
    """S = diag(4, 9/4) (λ_min ≠ 1, so no power of it hides): α* = 2/(λ_max² + λ_min²)
    = 32/337 gives ‖E_0‖₂ = (κ² − 1)/(κ² + 1) = 175/337, and any other α does worse."""
    S = alg.gram(np.diag([2.0, 1.5]))
    a = alg.optimal_alpha(S)
    assert a == pytest.approx(32 / 337, rel=1e-14)
    rho = alg.check_newton_alpha(S, a)
    assert rho == pytest.approx(175 / 337, rel=1e-14)
    assert rho < alg.check_newton_alpha(S, a * 1.01) and rho < alg.check_newton_alpha(S, a * 0.99)


@pytest.mark.parametrize("widths, label", [(1.5, "stalls"), (2.5, "diverges")])
def test_curve_label_at_the_edge_follows_the_stated_band(widths: float, label: str) -> None:
    """Past Newton's edge, the curve is labelled "stalls at the edge" within
    4 fuzz widths of αλ_max² = 2 (α within 2 widths), "diverges" beyond."""
    X = np.diag([2.0, 1.0])
    S = alg.gram(X)
    alpha = 2 / 16 * (1 + widths * alg.spectral_fuzz(S))
    curve = alg.newton_curve(X, X @ np.array([1.0, 1.0]), alpha, 3, strict=False)
    assert curve.status.startswith(label)
