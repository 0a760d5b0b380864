"""constructions.arithmetic: every number system agrees with exact rationals
where it should, and refuses what has no meaning in it."""

from fractions import Fraction

import flint
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import (
    ArithmeticDomainError,
    Ball,
    ErrArray,
    Float64,
    Float64Bounded,
    Multiprecision,
    PrimeField,
    Rational,
    Sym,
    Symbolic,
)

from tests.strategies import dyadic_array


def exact_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([[sum((a[i, k] * b[k, j] for k in range(a.shape[1])), Fraction(0))
                      for j in range(b.shape[1])] for i in range(a.shape[0])], dtype=object)


@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 4), st.data())
def test_matmul_agrees_with_fractions_in_every_system(m: int, k: int, n: int, data: st.DataObject) -> None:
    a = data.draw(dyadic_array((m, k)))
    b = data.draw(dyadic_array((k, n)))
    exact = exact_product(a, b)
    R = Rational()
    assert (R.matmul(R.array(a), R.array(b)) == R.array(exact)).all()
    F = PrimeField()
    assert (F.matmul(F.array(a), F.array(b)) == F.array(exact)).all()
    M = Multiprecision(40)
    got = M.matmul(M.array(a), M.array(b))
    assert all(abs(g - M.scalar(e)) <= 2 ** -120 for g, e in zip(got.ravel(), exact.ravel()))
    B = Ball(100)
    balls = B.matmul(B.array(a), B.array(b))
    assert all(v.contains(flint.fmpq(e.numerator, e.denominator)) for v, e in zip(balls.ravel(), exact.ravel()))


@given(st.integers(1, 4), st.integers(1, 30), st.data())
def test_running_error_bound_encloses_the_true_error(m: int, k: int, data: st.DataObject) -> None:
    """|fl(AB) - AB| <= err entrywise, AB computed exactly; and after exp."""
    a = data.draw(dyadic_array((m, k), bits=20))
    b = data.draw(dyadic_array((k, m), bits=20))
    E = Float64Bounded()
    prod = E.matmul(E.array(a), E.array(b)) * E.const(Fraction(1, 3))
    exact = exact_product(a, b) * Fraction(1, 3)
    diff = np.array([abs(Fraction(float(v)) - e) for v, e in zip(prod.val.ravel(), exact.ravel())], dtype=object)
    assert all(d <= Fraction(float(e)) for d, e in zip(diff, prod.err.ravel()))


def test_error_array_division_refuses_a_divisor_that_may_be_zero() -> None:
    x = ErrArray(np.array([1.0]), np.array([0.0]))
    with pytest.raises(ArithmeticDomainError):
        x / ErrArray(np.array([1e-20]), np.array([1e-19]))


def test_relu_and_exp_refused_where_meaningless() -> None:
    F, R = PrimeField(), Rational()
    with pytest.raises(ArithmeticDomainError, match="ReLU"):
        F.relu(F.array([[1, -1]]))
    with pytest.raises(ArithmeticDomainError, match="exp"):
        F.exp(F.array([[1]]))
    with pytest.raises(ArithmeticDomainError, match="exp"):
        R.exp(R.array([[1]]))
    assert (R.relu(R.array([[Fraction(-1, 2), Fraction(3, 2)]])) == R.array([[0, Fraction(3, 2)]])).all()


def test_prime_field_division_and_schwartz_zippel() -> None:
    F = PrimeField()
    x = F.scalar(Fraction(1, 3))
    assert x * 3 == 1
    assert F.schwartz_zippel(10, 2) == (10 / F.p) ** 2


def test_symbolic_identity_and_relu_cells() -> None:
    S = Symbolic(["a", "b"], point={"a": Fraction(1), "b": Fraction(-2)})
    a, b = S.scalar(Sym("a")), S.scalar(Sym("b"))
    assert (a + b) ** 2 - (a * a + 2 * a * b + b * b) == 0
    assert S.scalar(Sym("a") * 2 - Sym("b")) == 2 * a - b
    r = S.relu(np.array([a, b], dtype=object))
    assert r[0] == a and r[1] == 0
    with pytest.raises(ArithmeticDomainError, match="sign cell"):
        Symbolic(["a"]).relu(np.array([Symbolic(["a"]).scalar(Sym("a"))], dtype=object))
    with pytest.raises(ArithmeticDomainError, match="boundary"):
        S.relu(np.array([a - 1], dtype=object))


def test_symbols_refused_outside_the_symbolic_system() -> None:
    with pytest.raises(ArithmeticDomainError, match="free symbol"):
        Rational().scalar(Sym("x"))


def test_exact_systems_refuse_non_finite_floats() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        Rational().array([float("nan")])


def test_ball_exp_encloses_e() -> None:
    B = Ball(128)
    e = B.exp(B.array([[1]]))[0, 0]
    digits = "2.71828182845904523536028747135266249775572470936999595749669676"  # e to 63 places
    e_tight = Ball(256)._with_prec(lambda: flint.arb(digits))  # radius ~1e-63
    assert e.contains(e_tight)
    assert float(e.rad()) < 1e-35


def test_multiprecision_has_its_own_context() -> None:
    import mpmath

    before = mpmath.mp.dps
    Multiprecision(80)
    assert mpmath.mp.dps == before
    with pytest.raises(ValueError):
        Multiprecision(10)


def test_float64_softmax_shift_ignores_masked_keys() -> None:
    S = np.array([[1000.0, 0.0], [1.0, 2.0]])
    mask = np.array([[0, 1], [1, 1]])
    assert Float64().softmax_shift(S, mask).tolist() == [[1.0, 2.0]]


def test_ball_forward_runs_every_operator_at_the_ball_precision() -> None:
    """Softmax attention divides and adds arb arrays with plain operators: the
    engine enters Ball.working_precision, so radii stay near 2^-prec, not 2^-53."""
    from transformer_proofs.constructions.engine import Attention, Head, Transformer, forward

    W = np.eye(2, dtype=int).astype(object)
    model = Transformer((Attention((Head(W, W, W),), "softmax", np.ones(3, dtype=int)),), ("a", "b"))
    out = forward(Ball(200), model, np.array([[1, 2, 3], [Fraction(1, 3), 0, 1]], dtype=object))
    assert max(float(v.rad()) for v in out.ravel()) < 2.0 ** -150
    assert flint.ctx.prec == 53, "the working precision is restored afterwards"


def test_multiprecision_product_is_the_exact_dot_product_rounded_once() -> None:
    """Each entry of an mpmath product is within one rounding (2^-prec relative)
    of the exact rational product, and a product with an infinity keeps mpmath's meaning."""
    M, R = Multiprecision(30), Rational()
    rng = np.random.default_rng(5)
    a = np.array([Fraction(int(v) * 12345679, 8) for v in rng.integers(-50, 50, 12)], dtype=object).reshape(3, 4)
    b = np.array([Fraction(int(v) * 98765431, 4) for v in rng.integers(-50, 50, 8)], dtype=object).reshape(4, 2)
    got, exact = M.matmul(M.array(a), M.array(b)), R.matmul(R.array(a), R.array(b))
    for g, e in zip(got.ravel(), exact.ravel()):
        e = Fraction(int(e.p), int(e.q))
        sign, man, exp, _ = g._mpf_
        value = (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)
        assert abs(value - e) <= abs(e) * Fraction(1, 2**M.ctx.prec)
    inf = M.matmul(M.array(np.array([[1, 1]], dtype=object)),
                   np.array([[M.ctx.inf], [M.ctx.mpf(1)]], dtype=object))
    assert inf[0, 0] == M.ctx.inf


def test_flint_systems_convert_a_weight_once_and_a_new_array_anew() -> None:
    F = PrimeField()
    w = np.array([[Fraction(1, 2), 3], [0, Fraction(-5, 7)]], dtype=object)
    first = F.weight_matrix(w)
    assert F.weight_matrix(w) is first
    w2 = w.copy()
    w2[0, 0] = Fraction(1, 3)  # a mutant is a new array: its own conversion
    assert F.weight_matrix(w2) is not first and F.weight_matrix(w2)[0, 0] == F.scalar(Fraction(1, 3))


def test_running_error_bound_of_exp_encloses_the_true_error() -> None:
    """|fl(e^x) − e^x| ≤ err at 20,000 points, e^x to 200 bits.  numpy's exp is
    within 1 ulp (the bound takes 2u); on this machine it reaches 1.1 u, so a
    bound of 1u would be caught here."""
    import mpmath

    x = np.random.default_rng(0).uniform(-20, 20, 20_000)
    out = Float64Bounded().exp(ErrArray(x, np.zeros_like(x)))
    with mpmath.workprec(200):
        true = [mpmath.exp(mpmath.mpf(float(v))) for v in x]
        assert all(abs(mpmath.mpf(float(v)) - t) <= mpmath.mpf(float(e)) for v, t, e in zip(out.val, true, out.err))


@given(st.integers(2, 40), st.data())
def test_running_error_bound_of_a_sum_encloses_the_true_error(k: int, data: st.DataObject) -> None:
    """|fl(Σ v) − Σ v| ≤ err, the sum of exact dyadic values of mixed scales done in Fractions."""
    v = data.draw(dyadic_array((k,), bits=52)) * np.array([2.0 ** (3 * (i % 7)) for i in range(k)], dtype=object)
    s = ErrArray(np.array([float(x) for x in v]), np.zeros(k)).sum(axis=0)
    exact = sum((Fraction(float(x)) for x in v), Fraction(0))
    assert abs(Fraction(float(s.val)) - exact) <= Fraction(float(s.err))


def _exact_of(x: ErrArray) -> np.ndarray:
    return np.vectorize(lambda v: Fraction(float(v)), otypes=[object])(x.val)


def _encloses(x: ErrArray, exact: np.ndarray) -> bool:
    return all(abs(Fraction(float(v)) - e) <= Fraction(float(r))
               for v, e, r in zip(x.val.ravel(), np.ravel(exact), np.broadcast_to(x.err, x.shape).ravel()))


@given(st.integers(1, 3), st.integers(1, 12), st.integers(1, 3), st.integers(0, 3), st.data())
def test_bound_of_every_exactness_combination_encloses_the_error(m, k, n, which, data) -> None:
    """A product whose operands are exact (a no_error bound) or carry an error
    (a third of a rounded value: 1/3 is not a double), batched or not: the
    fused bound encloses |fl(a b) - a b| with a b the product of the exact values."""
    E = Float64Bounded()
    a = E.array(data.draw(dyadic_array((2, m, k), bits=20)))
    b = E.array(data.draw(dyadic_array((k, n), bits=20)))
    exact_a, exact_b = _exact_of(a), _exact_of(b)
    third = E.const(Fraction(1, 3))
    if which & 1:
        a, exact_a = a * third, exact_a * Fraction(1, 3)
    if which & 2:
        b, exact_b = b * third, exact_b * Fraction(1, 3)
    assert a.exact == (not which & 1) and b.exact == (not which & 2)
    prod = E.matmul(a, b)
    exact = np.stack([exact_product(exact_a[i], exact_b) for i in range(2)])
    assert _encloses(prod, exact)


def test_no_error_is_known_without_reading_and_survives_views() -> None:
    from transformer_proofs.constructions.arithmetic import is_no_error, no_error

    E = Float64Bounded()
    x = E.array(np.arange(12.0).reshape(3, 4))
    assert is_no_error(x.err) and x.exact and x.err.shape == (3, 4)
    assert x[1:, ::2].exact and x.swapaxes(0, 1).exact and x.reshape(4, 3).exact
    with pytest.raises(ValueError):  # a shared zero: read-only
        x.err[0, 0] = 1.0
    y = ErrArray(np.ones(3), np.zeros(3))  # a materialised zero bound: found exact by one read
    assert y.exact and is_no_error(y.err)
    z = ErrArray(np.ones(3), np.array([0.0, 1e-17, 0.0]))
    assert not z.exact and not z[1:2].exact and z[::2].exact
    assert not is_no_error(no_error((2,)) + 1.0)


def test_a_weight_is_converted_once() -> None:
    E = Float64Bounded()
    w = np.array([[Fraction(1, 2), Fraction(1, 3)]], dtype=object)
    first = E.weight(w)
    assert E.weight(w) is first and not first.val.flags.writeable
    assert first.err[0, 0] == 0 and first.err[0, 1] > 0  # 1/3 rounded: half an ulp


def test_an_array_is_not_remembered() -> None:
    """A prompt may be refilled in place between two forward passes: ``array``
    converts it afresh every time (only ``weight`` remembers)."""
    E = Float64Bounded()
    Z = np.array([[Fraction(1, 2), Fraction(1, 3)]], dtype=object)
    first = E.array(Z)
    Z[0, 0] = Fraction(3, 4)
    assert E.array(Z).val[0, 0] == 0.75 and first.val[0, 0] == 0.5


def test_flint_systems_build_matrices_from_flat_lists() -> None:
    """``mat`` (row by row, from this system's scalars or ints), used by the
    factored pass; only the exact systems may reorder products."""
    for ar in (Rational(), PrimeField()):
        half, other = ar.scalar(Fraction(1, 2)), ar.scalar(Fraction(-5, 7))
        M = ar.mat(2, 3, [half, 0, 1, 2, 3, other])
        assert (M.nrows(), M.ncols()) == (2, 3) and M[0, 0] == half and M[1, 0] == 2 and M[1, 2] == other
        assert ar.exact_matrices and isinstance(half, ar.scalar_type)
    assert not Ball(64).exact_matrices


@pytest.mark.parametrize("ar", [Float64(), Float64Bounded(), Multiprecision(30), Rational(), PrimeField(), Ball(64)],
                         ids=lambda a: a.name)
def test_a_weight_is_converted_once_read_only_and_equal_to_its_array(ar: object) -> None:
    w = np.array([[Fraction(1, 2), 3], [0, Fraction(-5, 8)]], dtype=object)
    first = ar.weight(w)
    assert ar.weight(w) is first  # the second use is the first conversion
    fresh = ar.array(w)
    if isinstance(first, ErrArray):
        assert np.array_equal(first.val, fresh.val) and np.array_equal(first.err, fresh.err)
    else:
        assert all(x == y for x, y in zip(np.ravel(first), np.ravel(fresh)))  # exact dyadics: equal in every system
    with pytest.raises(ValueError, match="read-only"):
        (first.val if isinstance(first, ErrArray) else first)[0, 0] = 0
    w2 = w.copy()
    w2[0, 0] = Fraction(1, 4)  # a mutant is a new array: its own conversion
    assert ar.weight(w2) is not first
    assert ar.weight([[1, 2]]) is not ar.weight([[1, 2]])  # a list is not remembered (no weak reference)


def test_a_weight_cache_never_freezes_the_callers_array() -> None:
    w = np.eye(2)  # float64 already: Float64 converts it to itself
    Float64().weight(w)
    w[0, 0] = 2.0  # still the caller's to change


@given(st.integers(-(2**300), 2**300), st.one_of(st.integers(0, 200).map(lambda k: 2**k), st.integers(1, 2**200)),
       st.sampled_from([15, 30, 60, 120]))
def test_multiprecision_converts_a_fraction_as_numerator_over_denominator(p: int, q: int, dps: int) -> None:
    """The fast paths (dyadic; numerator exact at the precision) give the very bits of mpf(p) / q."""
    M = Multiprecision(dps)
    assert M.scalar(Fraction(p, q))._mpf_ == (M.ctx.mpf(Fraction(p, q).numerator) / Fraction(p, q).denominator)._mpf_


def test_multiprecision_contexts_are_shared_per_precision_and_replaced_when_changed() -> None:
    a, b = Multiprecision(40), Multiprecision(40)
    assert a.ctx is b.ctx and Multiprecision(41).ctx is not a.ctx
    a.ctx.dps = 20  # someone changed it: the next system of 40 digits gets a fresh context at 40
    c = Multiprecision(40)
    assert c.ctx is not a.ctx and c.ctx.dps == 40
