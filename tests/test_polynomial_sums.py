"""constructions.polynomial_sums: polynomials kept as sums of products
(multiplier × large polynomial), expanded only when read."""

import weakref
from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions import polynomial_sums as ps
from transformer_proofs.constructions.arithmetic import Sym, Symbolic
from transformer_proofs.constructions.polynomial_sums import PolynomialSum, lazy_sum, product
from transformer_proofs.constructions.rational_functions import RationalFunction, polynomial_context

CTX = polynomial_context(["x", "y", "z", "w"])
X, Y, Z, W = (RationalFunction(g) for g in CTX.gens())


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ps, "LAZY_MIN_TERMS", 3)  # "large" = 3 terms or more, so small examples stay lazy


BIG = (X + Y + Z) ** 3 / 8  # 10 terms over 8
BIG2 = (Y - W + 2) ** 3


def test_product_of_a_small_and_a_large_factor_stays_lazy() -> None:
    p = product(X, BIG)
    assert isinstance(p, PolynomialSum) and len(p.terms) == 1
    assert p == X * BIG and p.expand() == X * BIG
    assert not isinstance(product(X, Y), PolynomialSum)  # both small: multiplied out
    assert not isinstance(product(BIG, BIG2), PolynomialSum)  # both large: multiplied out


def test_sums_with_the_same_multiplier_merge_before_expanding() -> None:
    a = product(X, BIG) + product(Y, BIG2)
    b = product(X, BIG) - product(Y, BIG2 / 2) * 2
    diff = a - b
    assert set(diff.terms) == {ps._key(Y.num)}  # the X·BIG terms cancelled without an expansion
    assert diff == 2 * Y * BIG2
    assert product(X, BIG) - product(X, BIG) == 0 and not (product(X, BIG) - product(X, BIG)).terms


def test_a_false_identity_is_not_hidden() -> None:
    wrong = BIG + Fraction(1, 8) * Z**3 * 0 + W  # differs from BIG by W
    assert product(X, BIG) != product(X, wrong)
    assert product(X, BIG) - product(X, wrong) == -X * W
    assert product(-X, BIG) != product(X, BIG)
    # multipliers that differ by a constant factor share a key; the factor goes into B
    assert product(2 * X, BIG) == product(X, 2 * BIG) and len((product(2 * X, BIG) + product(X, BIG)).terms) == 1


def test_constants_signs_and_mixed_operands() -> None:
    p = product(X, BIG)
    assert -p == -(X * BIG) and p * -3 == -3 * X * BIG and p / 4 == X * BIG / 4
    scaled = p * Fraction(1, 5)
    (_, B, _), = scaled.terms.values()
    (_, B0, _), = p.terms.values()
    assert B.num is B0.num  # 1/5 changes the denominator only
    assert 1 + p == X * BIG + 1 and p - 1 == X * BIG - 1 and 1 - p == 1 - X * BIG
    assert p * Y == X * Y * BIG  # a small factor: the sum is expanded and kept as one term
    assert p * p == (X * BIG) ** 2 and p ** 2 == (X * BIG) ** 2
    assert (p / (X + 1)) == X * BIG / (X + 1) and (1 / p) == 1 / (X * BIG)
    assert p + X / (Y + 1) == X * BIG + X / (Y + 1)  # a quotient: added to the expansion
    assert p(Fraction(1), Fraction(2), Fraction(3), Fraction(4)) == (X * BIG)(1, 2, 3, 4)
    assert p.total_degree() == 4 and p.is_polynomial()
    assert p * 0 == 0 and not (p * 0).terms


def test_lazy_sum_mixes_polynomials_and_sums() -> None:
    vals = [product(X, BIG), Y * 3, product(X, BIG2), Z]
    assert lazy_sum(vals, CTX) == X * BIG + 3 * Y + X * BIG2 + Z
    assert isinstance(lazy_sum([Y, Z], CTX), RationalFunction)
    assert lazy_sum([], CTX) == 0


def test_reused_results_stay_right_when_objects_are_recycled() -> None:
    # the result cache is keyed by identity; dead operands (whose ids Python may reuse) must not hit
    for k in range(200):
        a, b = BIG * k, BIG2 * (k + 1)
        assert ps._shared_op(a, b, "+") == BIG * k + BIG2 * (k + 1)
        assert ps._shared_op(a, b, "-") == BIG * k - BIG2 * (k + 1)
    a, b = BIG * 3, BIG2
    assert ps._shared_op(a, b, "*") is ps._shared_op(a, b, "*")


def test_an_entry_of_dead_operands_under_live_ids_is_not_used() -> None:
    """An entry whose operands died, left under the ids that two new objects now have (as Python may reuse
    them), with a wrong live result: the identity test refuses it."""
    a, b = BIG * 5, BIG2 * 7
    dead_a, dead_b = BIG * 2, BIG2 * 2
    wrong = BIG * 11
    ps._RESULTS[(id(a), id(b), "+")] = (weakref.ref(dead_a), weakref.ref(dead_b), weakref.ref(wrong))
    del dead_a, dead_b
    assert ps._shared_op(a, b, "+") == BIG * 5 + BIG2 * 7


def test_symbolic_matmul_matches_numpy_and_skips_zeros() -> None:
    names = [f"s{k}" for k in range(6)]
    S = Symbolic(names)
    s = [S.symbol(n) for n in names]
    big = (s[0] + s[1] + s[2] + 1) ** 2
    A = np.array([[s[3], 0, Fraction(1, 3)], [0, 0, 0]], dtype=object)
    B = np.array([[big, s[4]], [s[5], 1], [big, 0]], dtype=object)
    got = S.matmul(S.array(A), S.array(B))
    want = np.matmul(S.array(A), S.array(B))
    assert got.shape == (2, 2) and all(g == w for g, w in zip(got.ravel(), want.ravel()))
    assert got[1, 0] == 0 and got[1, 1] == 0
    batch = np.stack([S.array(A), S.array(A)])
    assert S.matmul(batch, S.array(B)).shape == (2, 2, 2)
    with pytest.raises(ValueError, match="do not align"):
        S.matmul(S.array(A), S.array(A))
    # ReLU reads a lazy entry's sign at the point
    P = Symbolic(["a"], point={"a": Fraction(1, 2)})
    a = P.scalar(Sym("a"))
    e = product(a, (a + 1) ** 3) - 1  # 1/2 · 27/8 - 1 > 0
    assert P.relu(np.array([e], dtype=object))[0] == e


def test_gd_multi_layer_with_sums_of_products_holds_and_rejects_every_mutant() -> None:
    """The claim's own symbolic evaluation, with "large" lowered so the sums of
    products carry the whole comparison: the identity holds, every mutant fails."""
    from transformer_proofs.verify.claims.gd import claims as gd
    from transformer_proofs.verify.draws import SymbolDraw

    spec = gd.MULTI_LAYER_SPEC
    for mutant in (None, *spec.mutants):
        draw = SymbolDraw(np.random.default_rng(3))
        inst = spec.draw(draw, {"d": 2, "n": 3, "L": 3})
        lhs, rhs = spec.evaluate(draw.arithmetic(), inst, mutant)
        assert any(isinstance(v, PolynomialSum) for v in np.ravel(lhs)), "the lazy path is exercised"
        verdict = spec.relation.exact(lhs, rhs).status
        assert verdict == ("holds" if mutant is None else "fails"), mutant and mutant.name


def _random_polynomial(rng: np.random.Generator, terms: int) -> RationalFunction:
    gens = [X, Y, Z, W]
    out = RationalFunction(CTX.constant(0))
    for _ in range(terms):
        mono = RationalFunction(CTX.constant(int(rng.integers(-5, 6))), int(rng.integers(1, 4)))
        for g in gens:
            mono = mono * g ** int(rng.integers(0, 3))
        out = out + mono
    return out


@pytest.mark.parametrize("seed", range(12))
def test_random_sums_of_products_agree_with_the_expansion(seed: int) -> None:
    """Random expressions over shared large factors, lazily and eagerly: the
    same polynomial; one changed coefficient is always seen."""
    rng = np.random.default_rng(seed)
    bigs = [_random_polynomial(rng, 8) for _ in range(3)]
    smalls = [X, Y * 2, -Z, W / 3, X + Y]
    lazy, eager = RationalFunction(CTX.constant(0)), RationalFunction(CTX.constant(0))
    for _ in range(10):
        s, b = smalls[int(rng.integers(len(smalls)))], bigs[int(rng.integers(len(bigs)))]
        c = Fraction(int(rng.integers(-3, 4)), int(rng.integers(1, 3)))
        if rng.random() < 0.5:
            lazy, eager = lazy + product(s, b) * c, eager + s * b * c
        else:
            lazy, eager = lazy - product(b, s), eager - s * b
    assert lazy == eager and (lazy - eager) == 0 and eager == lazy
    assert lazy + X ** 5 != eager and lazy != eager + Fraction(1, 7) * Y * Z * W
    assert lazy(1, 2, 3, 4) == eager(1, 2, 3, 4)
