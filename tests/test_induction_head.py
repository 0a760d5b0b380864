"""Tests of constructions/induction_head.py, verify/algorithms/induction.py and
the ``induction`` claims: bad inputs, the construction against the plain
algorithm on hypothesis draws, the bound, the gradient formula against finite
differences, errata, falsifiers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Ball, Multiprecision, Rational
from transformer_proofs.constructions.engine import Attention, Head, forward
from transformer_proofs.constructions.induction_head import (
    GraphError,
    SequenceError,
    causal_graph,
    embed,
    induction_transformer,
    markov_chain,
    predictions,
    previous_token_transformer,
    residual_embed,
    residual_predictions,
)
from transformer_proofs.verify.algorithms import induction as alg
from transformer_proofs.verify.registry import Context, select


@pytest.fixture(autouse=True)
def _arb_precision():
    """Tests also call the reference algorithms outside the engine and the
    checkers, which enter Ball.working_precision themselves: pin it here."""
    from transformer_proofs.constructions.arithmetic import arb_precision

    with arb_precision(160):
        yield


# ---------------------------------------------------------------------------
# strategies (each with a test of its promise below)
# ---------------------------------------------------------------------------


@st.composite
def dag_and_sequence(draw: st.DrawFn, max_T: int = 8, max_k: int = 2) -> tuple:
    """(graph, S, sequence): k parents per non-root, all strictly earlier,
    roots anywhere before the last position, the last position a non-root."""
    k = draw(st.integers(1, max_k))
    T = draw(st.integers(k + 1, max_T))
    S = draw(st.integers(2, 3))
    parents = []
    for j in range(T):
        if j < k or (j < T - 1 and draw(st.booleans()) and draw(st.booleans())):
            parents.append(None)
        else:
            parents.append(tuple(draw(st.permutations(range(j)))[:k]))
    seq = [draw(st.integers(0, S - 1)) for _ in range(T)]
    return causal_graph(parents, k), S, np.array(seq)


@given(dag_and_sequence())
@settings(max_examples=30)
def test_dag_strategy_keeps_its_promise(item: tuple) -> None:
    g, S, seq = item
    assert not g.is_root(g.T - 1)
    for j, ps in enumerate(g.parents):
        assert len(ps) in (0, g.k) and all(q < j for q in ps) and len(set(ps)) == len(ps)
    assert len(seq) == g.T and seq.min() >= 0 and seq.max() < S


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("parents, message", [
    ([None, 2, 1], "cycle"),
    ([None, 1], "cycle"),  # a self-loop
    ([None, None, 2], "cycle"),
    ([None, 0, 3, 1], "at or after"),
    ([None, 7], "outside"),
    ([None, (0, 0)], "twice"),
    ([], "empty"),
    ([None, 0, (0, 1)], "different numbers"),
])
def test_invalid_graphs(parents: list, message: str) -> None:
    with pytest.raises(GraphError, match=message):
        causal_graph(parents)


@pytest.mark.parametrize("seq, message", [([], "empty"), ([0, 3, 1], "outside the vocabulary"),
                                          ([0, -1], "outside the vocabulary"), ([0.5, 1], "integers")])
def test_invalid_sequences(seq: list, message: str) -> None:
    with pytest.raises(SequenceError, match=message):
        embed(seq, 3)


def test_sequence_graph_length_mismatch() -> None:
    with pytest.raises(SequenceError, match="positions"):
        alg.conditional_estimate([0, 1], markov_chain(3), 2, 1)


def test_all_roots_refused() -> None:
    with pytest.raises(GraphError, match="no keys"):
        induction_transformer(causal_graph([None, None], k=1), 2, 3)


# ---------------------------------------------------------------------------
# construction = plain algorithm; closed form; bound
# ---------------------------------------------------------------------------


@given(dag_and_sequence(), st.sampled_from([None, 3]), st.integers(1, 30))
@settings(max_examples=15)
def test_engine_equals_reference_mp(item: tuple, beta1: int | None, beta2: int) -> None:
    g, S, seq = item
    ar = Multiprecision(40)
    out = predictions(forward(ar, induction_transformer(g, S, beta2, beta1), embed(seq, S)), S, g)
    ref = alg.reference_predictions(ar, seq, g, S, beta2, beta1)
    assert np.abs(ar.to_float(out - ref)).max() < 1e-30


@given(dag_and_sequence(max_k=1), st.integers(0, 50))
@settings(max_examples=15)
def test_mixture_closed_form_and_bound(item: tuple, beta2: int) -> None:
    g, S, seq = item
    ar = Multiprecision(60)
    y = predictions(forward(ar, induction_transformer(g, S, beta2), embed(seq, S)), S, g)
    for t in range(g.T):
        closed = alg.mixture_closed_form(ar, seq, g, S, beta2, t)
        assert np.abs(ar.to_float(closed - y[:, t])).max() < 1e-50
        M, rest = alg.matching_keys(seq, g, t)
        p_hat = alg.conditional_estimate(seq, g, S, t)
        if p_hat is None:
            continue
        err = sum(abs(v - ar.const(p)) for v, p in zip(y[:, t], p_hat))
        sharp = alg.sharp_bound(ar, len(rest), len(M), beta2)
        assert err <= sharp * (1 + ar.unit_roundoff * 100) + ar.unit_roundoff * 100
        assert sharp <= alg.printed_bound(ar, t + 1, len(M), beta2) + ar.unit_roundoff


def test_which_positions_count() -> None:
    """The query's own transition counts; the root does not."""
    g, seq = markov_chain(4), np.array([0, 1, 1, 1])
    M, rest = alg.matching_keys(seq, g, 3)
    assert M == [2, 3] and rest == [1]  # keys 1..3; key 3 is the query's own transition 1 -> 1; root 0 is no key
    assert alg.conditional_estimate(seq, g, 2, 3) == [Fraction(0), Fraction(1)]
    assert alg.posterior_mean(seq, g, 2, 3, Fraction(1)) == [Fraction(1, 4), Fraction(3, 4)]


def test_hard_layer_is_exact_in_rationals() -> None:
    """Layer 1 at β₁ = ∞ copies parents exactly (rational arithmetic)."""
    g = causal_graph([None, 0, None, 1, (2,)])
    seq = [1, 0, 2, 1, 0]
    model = induction_transformer(g, 3, 2)
    h1 = forward(Rational(), model.with_layers(model.layers[:1]), embed(seq, 3))
    copied = h1[8:11, :]  # L1h0 token block
    expect = alg.copied_tokens(Rational(), seq, g, 3)[0]
    for i in range(5):
        assert list(copied[:, i]) == list(expect[i])
    assert [Fraction(int(v.p), int(v.q)) for v in copied[:, 2]] == [Fraction(1, 3)] * 3  # a root at 2 averages s_0..s_2


@given(st.lists(st.integers(0, 2), min_size=2, max_size=8), st.sampled_from([None, 2, 6]))
@settings(max_examples=15)
def test_previous_token_head_equals_disentangled(seq: list, beta1: int | None) -> None:
    S, T, ar = 3, len(seq), Ball(160)
    add = residual_predictions(forward(ar, previous_token_transformer(S, T, 4, beta1), residual_embed(seq, S)), S, T)
    g = markov_chain(T)
    dis = predictions(forward(ar, induction_transformer(g, S, 4, beta1), embed(seq, S)), S, g)
    assert np.abs(ar.to_float(add) - ar.to_float(dis)).max() < 1e-30


def test_leakage_bound_is_met() -> None:
    g, S, seq = markov_chain(8), 2, np.array([0, 1, 1, 0, 1, 0, 0, 1])
    ar = Multiprecision(40)
    for beta1 in (2, 4, 8):
        hard = alg.reference_predictions(ar, seq, g, S, 5)
        soft = alg.reference_predictions(ar, seq, g, S, 5, beta1)
        for t in range(g.T):
            moved = sum(abs(a - b) for a, b in zip(hard[:, t], soft[:, t]))
            assert moved <= alg.leakage_bound(ar, t, 1, beta1, 5)


# ---------------------------------------------------------------------------
# the gradient at initialisation: formula against finite differences
# ---------------------------------------------------------------------------


def test_init_gradient_matches_finite_difference() -> None:
    S, T, alpha = 2, 3, Fraction(1)
    g = markov_chain(T)
    law = alg.incontext_law(g, S, alpha, T + 1)
    assert sum(p for _, p in law) == 1
    G = alg.init_gradient(g, S, law)
    ar = Multiprecision(50)
    beta0, eps = Fraction(1, 10**12), Fraction(1, 10**12)

    def loss(i: int, j: int, sign: int) -> float:
        D0 = S + T
        W_Q = np.zeros((T, D0), dtype=object)
        W_Q[:, :] = 0
        W_Q[j, S + i] = sign * eps  # q_i = A⁽¹⁾[i, :] with one entry perturbed
        W_K = np.zeros((T, D0), dtype=object)
        W_K[:, :] = 0
        for r in range(T):
            W_K[r, S + r] = 1
        model = induction_transformer(g, S, beta0, mask_roots=False)
        l1 = model.layers[0]
        l1 = Attention(heads=(Head(W_Q, W_K, l1.heads[0].W_V, l1.heads[0].W_O),), score="softmax",
                       key_mask=np.ones(T, dtype=int), causal=True, residual="concat", names=l1.names)
        m = model.with_layers([l1, model.layers[1]])
        total = ar.const(0)
        for seq, p in law:
            y = predictions(forward(ar, m, embed(seq[:T], S)), S, g)
            total = total - y[seq[T], T - 1] * ar.const(p)
        return total

    for i, j in [(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)]:
        fd = (loss(i, j, 1) - loss(i, j, -1)) / (2 * ar.const(eps) * ar.const(beta0))
        assert abs(float(fd) - float(G[i, j])) < 1e-9 * max(1.0, abs(float(G[i, j]))) + 1e-8


def test_chi2_of_independent_pair_is_zero() -> None:
    P = np.array([[Fraction(1, 6), Fraction(1, 3)], [Fraction(1, 6), Fraction(1, 3)]], dtype=object)
    assert alg.chi2_mutual_information(P) == 0
    Q = np.array([[Fraction(1, 2), Fraction(0)], [Fraction(0), Fraction(1, 2)]], dtype=object)
    assert alg.chi2_mutual_information(Q) == 1


def test_sampler_shapes_and_rows() -> None:
    rng = np.random.default_rng(0)
    pi = alg.dirichlet_transitions(rng, 3, 2)
    assert pi.shape == (3, 3, 3)
    assert all(sum(pi[a, b]) == 1 and min(pi[a, b]) > 0 for a in range(3) for b in range(3))
    g = alg.random_dag(rng, 7, 2, 0.3)
    seq = alg.sample_sequence(rng, g, pi, 3, length=8)
    assert len(seq) == 8 and set(seq.tolist()) <= {0, 1, 2}


# ---------------------------------------------------------------------------
# the claims
# ---------------------------------------------------------------------------

_EXPECTED: dict[str, str] = {}  # no erratum of the paper in this family: every claim holds


@pytest.mark.parametrize("claim", select("induction.*"), ids=lambda c: c.id)
def test_claim_checks_and_falsifiers(claim) -> None:
    ctx = Context(seed=0, effort=0.5)
    for mode, check in claim.checks.items():
        r = check(ctx)
        if r.status == "skipped":  # a kind declared not applicable, or the torch / lens extras missing
            continue  # the torch / transformer-lens extras are not installed (tests/test_torch_backend.py)
        assert r.status == _EXPECTED.get(claim.id, "holds"), (mode, r.detail)
    for f in claim.falsifiers:
        caught, how = f.run(ctx)
        assert caught, (f.name, how)


def test_the_printed_forms_are_withdrawn() -> None:
    """Neither earlier form is registered as the paper's erratum (neither was read in the paper)."""
    ids = {c.id for c in select("induction.*")}
    assert "induction.bigram_limit_printed" not in ids and "induction.chi2_gradient_printed" not in ids
    claim = select("induction.bigram_limit")[0]
    assert claim.provenance.kind == "ours" and claim.correction is not None and claim.erratum is None


def test_correction_counterexample_is_computed() -> None:
    claim = select("induction.bigram_limit")[0]
    r = claim.checks["correction"](Context(0))
    assert r.status == "holds" and "copies its own token" in r.data["counterexample"]


def test_stationary_law_is_stationary() -> None:
    rng = np.random.default_rng(3)
    for S in (2, 3, 4):
        pi = alg.dirichlet_transitions(rng, S, 1, alpha=0.5)
        mu = alg.stationary_law(pi)
        assert sum(mu) == 1 and all(m > 0 for m in mu)
        assert all(sum(mu[a] * pi[a][b] for a in range(S)) == mu[b] for b in range(S))


def test_task_law_sums_to_one_and_a_single_pi_carries_no_signal() -> None:
    """Given one π, the chain is independent of (query, target): the gradient
    of the task law has no row that singles out the parent."""
    rng = np.random.default_rng(4)
    parents = [None, 0, 1, 2]
    pis = [alg.dirichlet_transitions(rng, 2, 1, alpha=1.0, bits=8) for _ in range(3)]
    law = alg.task_law(parents, 2, pis)
    assert sum(p for _, p in law) == 1
    G = alg.init_gradient(causal_graph(parents + [None], 1), 2, alg.task_law(parents, 2, pis[:1]))
    # each row sums to zero over j <= i (softmax gradient), whatever the law
    assert all(sum(G[i, j] for j in range(i + 1)) == 0 for i in range(4))


def _row_peaks(G, parents):
    out = {}
    for i, p in enumerate(parents):
        if p is None:
            continue
        row = [-G[i, j] for j in range(i + 1)]
        out[i] = max(range(i + 1), key=lambda j: row[j])
    return out


def test_star_peaks_at_the_parent_under_the_authors_law_but_not_the_old_one() -> None:
    """The earlier 'a star DAG's row peaks at the position itself' was an artefact
    of our old law (query = the last chain token, roots uniform)."""
    S, T, alpha = 2, 5, Fraction(1, 2)
    star = [None] + [0] * (T - 1)
    rng = np.random.default_rng(0)
    pis = [alg.dirichlet_transitions(rng, S, 1, alpha=0.5, bits=8) for _ in range(16)]
    G = alg.init_gradient(causal_graph(star + [None], 1), S, alg.task_law(star, S, pis))
    assert set(_row_peaks(G, star).values()) == {0}
    g = causal_graph(star, 1)
    G_old = alg.init_gradient(g, S, alg.incontext_law(g, S, alpha, T + 1))
    assert any(best == i for i, best in _row_peaks(G_old, star).items())


def test_uniform_roots_break_the_ranking_of_a_chain() -> None:
    """With roots uniform instead of μ_π (π integrated exactly), row 3 of a chain
    at S = 2, T = 5, α = 1/10 peaks at 0, not at its parent 2."""
    chain = [None, 0, 1, 2, 3]
    G = alg.init_gradient(causal_graph(chain + [None], 1), 2, alg.query_law_uniform_roots(chain, 2, Fraction(1, 10)))
    assert _row_peaks(G, chain)[3] == 0


def test_bigram_figure(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    claim = select("induction.bigram_limit")[0]
    name, caption = claim.figure(Context(0), tmp_path)
    assert (tmp_path / name).stat().st_size > 0 and "β₂" in caption


@pytest.mark.parametrize("beta1", [None, 3])
def test_reference_predictions_in_plain_float64(beta1: int | None) -> None:
    """Plain float64 runs the reference too (it used to hand numpy an object array)."""
    from transformer_proofs.constructions.arithmetic import Float64, Float64Bounded

    g, seq = markov_chain(4), [0, 1, 0, 1]
    plain = alg.reference_predictions(Float64(), seq, g, 2, 5, beta1)
    bounded = alg.reference_predictions(Float64Bounded(), seq, g, 2, 5, beta1)
    assert plain.dtype == np.float64 and np.array_equal(plain, bounded.val)


def test_markov_chain_accepts_one_position_and_refuses_none() -> None:
    assert markov_chain(1).T == 1 and markov_chain(1).is_root(0)
    with pytest.raises(GraphError, match="T >= 1"):
        markov_chain(0)


def test_hard_parent_query_columns() -> None:
    """Column i is e_{p(i)} at a non-root, the uniform average over j ≤ i at a
    root (weights 1/(i+1), summing to 1): what softmax of all-equal scores is."""
    from transformer_proofs.constructions.induction_head import hard_parent_query

    S, g = 2, causal_graph([None, 0, None, 1])
    W = hard_parent_query(g, 0, S)
    assert list(W[:, S + 1]) == [1, 0, 0, 0] and list(W[:, S + 3]) == [0, 1, 0, 0]
    assert list(W[:, S + 0]) == [1, 0, 0, 0]
    assert list(W[:, S + 2]) == [Fraction(1, 3)] * 3 + [0]
