"""Tests of the dimension-free layer lemmas (issue 7), the Schwartz–Zippel
point count and the evidence ranking."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import MERSENNE_61, Rational
from transformer_proofs.verify.checkers import schwartz_zippel_points
from transformer_proofs.verify.claims.gd import claims as gd
from transformer_proofs.verify.evidence import strongest_evidence
from transformer_proofs.verify.lemmas import fgd, newton
from transformer_proofs.verify.lemmas.catalogue import lemmas
from transformer_proofs.verify.lemmas.gd import XQ, X, Y, ahn_lemma, gd_step, lemma_falsifiers, von_oswald_lemma
from transformer_proofs.verify.lemmas.layers import N_SYM, KernelHead, NotABlockPattern, Parameters, read_matrix
from transformer_proofs.verify.lemmas.lemma import lemma_check, prove
from transformer_proofs.verify.lemmas.ncalgebra import ONE, Atom, Poly, ShapeError, evaluate, random_values
from transformer_proofs.verify.registry import CheckResult, Context

CTX = Context(0)

# ---------------------------------------------------------------------------
# why our own normaliser
# ---------------------------------------------------------------------------


def test_sympy_matrix_expressions_miss_scalar_transposes():
    n, d = sympy.symbols("n d")
    Xs, A = sympy.MatrixSymbol("X", n, d), sympy.MatrixSymbol("A", d, d)
    q, y = sympy.MatrixSymbol("q", d, 1), sympy.MatrixSymbol("y", n, 1)
    residual = sympy.expand(q.T * A * Xs.T * y - y.T * Xs * A.T * q).doit()
    assert residual != 0  # sympy keeps a 1 x 1 difference that is identically zero
    a = sympy.Symbol("a", commutative=False)
    assert not hasattr(a, "T")  # non-commutative symbols have no transpose
    A_, Xa, qa, ya = Atom("A", "d", "d"), Atom("X", "n", "d"), Atom("q", "d", ONE), Atom("y", "n", ONE)
    p = lambda t: Poly.atom(t)
    ours = p(qa).T @ p(A_) @ p(Xa).T @ p(ya) - p(ya).T @ p(Xa) @ p(A_).T @ p(qa)
    assert ours.is_zero()


# ---------------------------------------------------------------------------
# the normaliser: soundness against concrete matrices (hypothesis)
# ---------------------------------------------------------------------------

DIMS = ("d", "n", ONE)
ATOMS = [Atom(f"{name}{r}{c}", r, c) for r in DIMS for c in DIMS for name in ("a", "b")] + \
        [Atom("S", "d", "d", symmetric=True)]


@st.composite
def words(draw, max_len: int = 5):
    """A well-shaped product of atoms (transposed or not), with its shape."""
    k = draw(st.integers(1, max_len))
    rows = draw(st.sampled_from(DIMS))
    cur, letters = rows, []
    for _ in range(k):
        options = [(a, t) for a in ATOMS for t in (False, True) if (a.cols if t else a.rows) == cur]
        a, t = draw(st.sampled_from(options))
        letters.append((a, t))
        cur = a.rows if t else a.cols
    return letters, rows, cur


@given(words())
@settings(max_examples=30, deadline=None)
def test_word_strategy_is_well_shaped(w):
    letters, rows, cols = w
    shape = rows
    for a, t in letters:
        assert (a.cols if t else a.rows) == shape
        shape = a.rows if t else a.cols
    assert shape == cols


def _product(letters, vals):
    m = None
    for a, t in letters:
        v = vals[a].T if t else vals[a]
        m = v if m is None else m.dot(v)
    return m


@given(words(), words(), st.integers(0, 2**31))
@settings(max_examples=40, deadline=None)
def test_normal_form_is_sound(w1, w2, seed):
    dims = {"d": 3, "n": 2}
    vals, subs = random_values(ATOMS, dims, np.random.default_rng(seed))
    polys = []
    for letters, _r, _c in (w1, w2):
        p = None
        for a, t in letters:
            q = Poly.atom(a).T if t else Poly.atom(a)
            p = q if p is None else p @ q
        polys.append((p, letters))
        np.testing.assert_array_equal(evaluate(p, vals, subs, dims), _product(letters, vals))
        np.testing.assert_array_equal(evaluate(p.T, vals, subs, dims), _product(letters, vals).T)
    (p1, l1), (p2, l2) = polys
    if p1.shape == p2.shape:
        np.testing.assert_array_equal(evaluate(p1 - p2, vals, subs, dims), _product(l1, vals) - _product(l2, vals))
    if p1.cols == p2.rows:
        np.testing.assert_array_equal(evaluate(p1 @ p2, vals, subs, dims), _product(l1 + l2, vals))


def test_shape_errors_are_named():
    with pytest.raises(ShapeError, match="product of shapes"):
        Poly.atom(X) @ Poly.atom(Y)
    with pytest.raises(ShapeError, match="sum of shapes"):
        Poly.atom(X) + Poly.atom(Y)
    with pytest.raises(ShapeError, match="symmetric atom must be square"):
        Atom("B", "d", "n", symmetric=True)


def test_reader_rejects_a_non_block_pattern():
    W = np.array([[1, 2, 0], [0, 1, 0], [0, 0, 1]], dtype=object)
    with pytest.raises(NotABlockPattern, match="neither 0, c·I"):
        read_matrix(W, ("d", ONE), ("d", ONE), {"d": 2, "n": 3}, Parameters())


# ---------------------------------------------------------------------------
# the algorithm step used in the lemma = the reference algorithm
# ---------------------------------------------------------------------------


def test_gd_step_matches_reference_algorithm():
    from transformer_proofs.verify.algorithms.gradient_descent import gradient_descent

    dims = {"d": 2, "n": 3}
    rng = np.random.default_rng(1)
    w = Atom("w", "d", ONE)
    eta = sympy.Symbol("η1")
    vals, subs = random_values([X, Y, XQ, w], dims, rng, [eta])
    step = gd_step(eta, None)({"w": Poly.atom(w)})["w"]
    ar = Rational()
    ref = gradient_descent(ar, ar.array(vals[X]), ar.array(vals[Y]), [ar.const(subs[eta])], ar.array(vals[w]))[-1]
    got = evaluate(step, vals, subs, dims)
    assert all(Fraction(int(r.p), int(r.q)) == g for r, g in zip(ref.ravel(), got.ravel()))


# ---------------------------------------------------------------------------
# the lemmas
# ---------------------------------------------------------------------------

HOLD = ["gd.one_layer", "gd.multi_layer", "gd.preconditioned", "gd.preconditioned_printed (A symmetric)",
        "fgd.functional_gd", "newton.layer"]
FAIL = ["gd.preconditioned_printed", "newton.layer (printed V_2 = J)"]


@pytest.mark.parametrize("cid", HOLD)
def test_lemma_holds_for_all_sizes(cid):
    res = prove(lemmas()[cid](CTX))
    assert res.holds, res.residual_text()
    assert any(p.startswith("layer") for p in res.proved)


@pytest.mark.parametrize("cid", FAIL)
def test_printed_lemma_fails_with_confirmed_residual(cid):
    res = prove(lemmas()[cid](CTX))
    assert not res.holds and res.residuals[0].witness


def test_printed_preconditioned_residual_is_the_antisymmetric_part():
    res = prove(lemmas()["gd.preconditioned_printed"](CTX))
    text = res.residual_text(limit=1)
    assert "A1ᵀ" in text and "x_qᵀ A1 Xᵀ y" in text


def test_newton_printed_pair_holds_on_the_nonnegative_cell_only():
    res = prove(newton.newton_layer_lemma(+1, L=1)(CTX))
    assert any("≥ 0" in p for p in res.proved)
    assert len(res.residuals) == 1 and "≤ 0" in res.residuals[0].where
    assert "2·T Xᵀ X T" in res.residual_text()


def test_lemma_check_reports_all_sizes_and_induction():
    r = lemma_check(lemmas()["gd.multi_layer"])(CTX)
    assert (r.mode, r.evidence, r.status) == ("symbolic-lemma", "block lemma", "holds")
    assert "Induction:" in r.detail and "normalises to 0 for all d, n" in r.detail


def test_registered_claims_carry_the_lemma():
    from transformer_proofs.verify.registry import select

    for c in select("gd.one_layer,gd.multi_layer,gd.preconditioned"):
        assert c.checks["lemma"](CTX).status == "holds"
    printed = select("gd.preconditioned_printed")[0].checks["lemma"](CTX)
    assert printed.status == "refuted" and "A symmetric" in printed.detail


@pytest.mark.parametrize("spec,make", [
    (gd.ONE_LAYER_SPEC, lambda m: von_oswald_lemma(gd.ONE_LAYER_SPEC, 1, True, m)),
    (gd.MULTI_LAYER_SPEC, lambda m: von_oswald_lemma(gd.MULTI_LAYER_SPEC, 3, True, m)),
    (gd.PRECONDITIONED_SPEC, lambda m: ahn_lemma(gd.PRECONDITIONED_SPEC, 2, True, mutant=m)),
])
def test_every_gd_mutant_breaks_the_lemma(spec, make):
    for f in lemma_falsifiers(spec, make, only_layers=True):
        caught, how = f.run(CTX)
        assert caught, (f.name, how)
        assert "residual" in how


def _flip_fgd(layer):
    return replace(layer, heads=tuple(KernelHead(-h.value, h.scores) for h in layer.heads))


@pytest.mark.parametrize("mutate", [_flip_fgd, lambda l: replace(l, query_is_key=1), lambda l: replace(l, scale=1)],
                         ids=["flipped sign", "query not masked", "dropped 1/n"])
def test_fgd_mutants_break_the_lemma(mutate):
    res = prove(fgd.functional_gd_lemma(L=1, mutate=mutate)(CTX))
    assert not res.holds and res.residuals[0].witness


@pytest.mark.parametrize("mutate", [lambda l: newton.printed_layer(-1, c_sign=-1), lambda l: replace(l, query_is_key=1),
                                    lambda l: replace(l, scale=1), lambda l: replace(l, mlp=None)],
                         ids=["flipped sign", "query not masked", "dropped 1/n", "no MLP doubling"])
def test_newton_mutants_break_the_lemma(mutate):
    res = prove(newton.newton_layer_lemma(-1, L=1, mutate=mutate)(CTX))
    assert not res.holds and res.residuals[0].witness


def test_depth_mismatch_is_a_residual():
    lem = fgd.functional_gd_lemma(L=2)(CTX)
    res = prove(replace(lem, layers=lem.layers[:1]))
    assert not res.holds and res.residuals[-1].where.startswith("depth")


# ---------------------------------------------------------------------------
# Schwartz–Zippel and evidence levels
# ---------------------------------------------------------------------------


@given(st.integers(1, 2**40))
@settings(max_examples=50, deadline=None)
def test_schwartz_zippel_points_reach_2_to_minus_64_minimally(D):
    r = schwartz_zippel_points(D, MERSENNE_61)
    assert Fraction(D, MERSENNE_61) ** r < Fraction(1, 2**64)
    assert r == 1 or Fraction(D, MERSENNE_61) ** (r - 1) >= Fraction(1, 2**64)


def test_schwartz_zippel_rejects_useless_degree():
    with pytest.raises(ValueError, match="no bound"):
        schwartz_zippel_points(MERSENNE_61, MERSENNE_61)


def test_prime_field_check_states_its_bound():
    from transformer_proofs.verify.checkers import check_prime_field

    res = check_prime_field(gd.ONE_LAYER_SPEC, CTX)
    assert res.status == "holds" and "< 2^-64" in res.detail and res.data["schwartz_zippel"] < 2.0**-64


def _cr(evidence: str, status: str = "holds") -> CheckResult:
    return CheckResult("m", evidence, 1, 0.0, 0.0, status)


def test_strongest_evidence_order():
    order = ["numerical", "multiprecision", "certified", "exact", "block lemma"]
    for k in range(len(order)):
        assert strongest_evidence([_cr(e) for e in order[: k + 1]]) == order[k]
        assert strongest_evidence([_cr(e) for e in reversed(order[: k + 1])]) == order[k]
    assert strongest_evidence([_cr("block lemma", "fails"), _cr("exact")]) == "exact"
    assert strongest_evidence([_cr("exact", "refuted")]) == "exact"
    assert strongest_evidence([_cr("numerical", "error")]) == "none"


# ---------------------------------------------------------------------------
# reading engine layers: how the fgd and newton claims attach their lemmas
# ---------------------------------------------------------------------------


def _fgd_engine_layers(score, r_sign=-1, mask_query=True):
    """Engine layers as the fgd construction would build them (A = 0, B = C = I)."""
    from transformer_proofs.constructions.arithmetic import Sym
    from transformer_proofs.constructions.engine import Attention, Head, context_mask

    def build(sizes):
        d, n = sizes["d"], sizes["n"]
        params, layers = Parameters(), []
        for l in range(2):
            eta = Sym(f"step{l}")
            params.add_scalar(eta, sympy.Symbol(f"η{l + 1}"))
            BX = np.hstack([np.eye(d, dtype=int), np.zeros((d, 1), dtype=int)]).astype(object)
            W_V = np.zeros((d + 1, d + 1), dtype=object)
            W_V[d, d] = r_sign * eta
            mask = context_mask(n) if mask_query else np.ones(n + 1, dtype=int)
            layers.append(Attention((Head(W_Q=BX, W_K=BX.copy(), W_V=W_V),), score, mask, scale=Fraction(1, n)))
        return layers, params
    return build


@pytest.mark.parametrize("score", ["softmax", "exp", "relu"])
def test_fgd_lemma_reads_engine_layers_for_every_kernel(score):
    res = prove(fgd.functional_gd_lemma(L=2, build=_fgd_engine_layers(score))(CTX))
    assert res.holds, res.residual_text()


@pytest.mark.parametrize("kw", [{"r_sign": 1}, {"mask_query": False}], ids=["flipped sign", "query not masked"])
def test_fgd_engine_mutants_break_the_lemma(kw):
    res = prove(fgd.functional_gd_lemma(L=2, build=_fgd_engine_layers("softmax", **kw))(CTX))
    assert not res.holds and res.residuals[0].witness


def _newton_engine_layers(v2_sign, L=2):
    """Engine layers as printed in Fu et al. App. B.2: two ReLU heads, then h + J h."""
    from transformer_proofs.constructions.engine import MLP, Attention, Head, context_mask

    def build(sizes):
        d, n = sizes["d"], sizes["n"]
        I, Z = np.eye(d, dtype=int).astype(object), np.zeros((d, d), dtype=object)
        J = np.block([[I, Z], [Z, Z]]).astype(object)
        C = np.block([[Z, -Fraction(n, 2) * I], [Z, Z]]).astype(object)
        layers = []
        for _ in range(L):
            heads = (Head(W_Q=C, W_K=J, W_V=J), Head(W_Q=-C, W_K=J, W_V=v2_sign * J))
            layers.append(Attention(heads, "relu", context_mask(n), scale=Fraction(1, n)))
            layers.append(MLP(W_in=J, W_out=np.eye(2 * d, dtype=int).astype(object), activation="identity"))
        return layers, Parameters()
    return build


def test_newton_lemma_reads_engine_layers():
    assert prove(newton.newton_layer_lemma(build=_newton_engine_layers(-1))(CTX)).holds
    printed = prove(newton.newton_layer_lemma(build=_newton_engine_layers(+1))(CTX))
    assert not printed.holds and "≤ 0" in printed.residuals[0].where


def test_reader_turns_numbers_into_functions_of_n():
    from transformer_proofs.verify.lemmas.layers import unify_coefficient

    assert unify_coefficient([sympy.Rational(-3, 2), -2, -3], [3, 4, 6]) == -N_SYM / 2
    assert unify_coefficient([sympy.Rational(1, 3), sympy.Rational(1, 4)], [3, 4]) == 1 / N_SYM
    with pytest.raises(NotABlockPattern, match="not a·f"):
        unify_coefficient([1, 5], [3, 4])
