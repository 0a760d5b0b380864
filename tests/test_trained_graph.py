"""verify.claims.trained (Nichani et al.): the task sampler, reproducible
checkpoints, the reading of A⁽¹⁾ and A⁽²⁾, and the claim's check with its
falsifiers and bounds."""

from __future__ import annotations

import numpy as np
import pytest
from transformer_proofs.verify.claims.induction.training import moved_parents
from transformer_proofs.verify.claims.trained import graph_experiment as ge
from transformer_proofs.verify.claims.trained.graph_training import (
    GraphCheckpoint,
    layer1_mask,
    predict,
    sample_batch,
    stationary,
)
from transformer_proofs.verify.spec import Context


def test_stationary_law():
    pi = np.array([[[0.9, 0.1], [0.5, 0.5]]])
    mu = stationary(pi)[0]
    assert np.allclose(mu @ pi[0], mu) and np.isclose(mu.sum(), 1) and np.allclose(mu, [5 / 6, 1 / 6])


def test_sampler_follows_the_graph_and_the_law():
    """Transitions along an edge follow the sequence's π (a deterministic π copies
    the parent's token), roots follow μ_π, the query is uniform; the target law is π(·|s_q)."""
    rng = np.random.default_rng(0)
    s, Y = sample_batch(rng, (None, 0, 0, 1), 3, 4000, alpha=1e-3)  # α → 0: π's rows nearly one-hot
    np.testing.assert_allclose(Y.sum(1), 1)
    assert np.mean(s[:, 4] == 0) == pytest.approx(1 / 3, abs=0.03)  # the query uniform
    # with near-deterministic rows, a child equals the image of its parent: s_2 = s_1 whenever both children of 0
    assert np.mean(s[:, 1] == s[:, 2]) > 0.97
    s2, _ = sample_batch(np.random.default_rng(0), (None, 0, 0, 1), 3, 4000, alpha=1e-3)
    assert np.array_equal(s, s2)


def test_layer1_masks():
    assert np.array_equal(layer1_mask(3, "causal"), np.tril(np.ones((3, 3), bool)))
    assert layer1_mask(3, "none").all() and np.array_equal(layer1_mask(3, "anticausal"), np.triu(np.ones((3, 3), bool)))
    with pytest.raises(ValueError, match="unknown layer-1 mask"):
        layer1_mask(3, "diagonal")


def test_predict_is_the_induction_head_in_the_limit():
    """A⁽¹⁾ copying the parent (large β₁) and A⁽²⁾ = β₂ I with β₂ large: ŷ is the
    empirical law of the children of the positions holding the query's token."""
    parents = (None, 0, 1, 2)  # a chain; the query is position 4
    L = 5
    A1 = np.zeros((L, L))
    for i, p in enumerate(parents):
        if p is not None:
            A1[i, p] = 60.0
    A1[0, 0] = 0.0
    seq = np.array([[0, 1, 0, 2, 0]])  # query token 0: the transitions 0→1 and 0→2 are in context
    X = np.eye(3)[seq]
    y = predict(np, A1, 60.0 * np.eye(3), X)
    # keys 1 and 3 copy token 0 (their parents 0 and 2); key 0 copies itself, also token 0
    np.testing.assert_allclose(y[0], [1 / 3, 1 / 3, 1 / 3], atol=1e-9)


def test_read_graph_and_margin():
    L, S = 4, 2
    A1 = np.zeros((L, L))
    A1[1, 0] = A1[2, 0] = A1[3, 2] = 5.0
    ck = GraphCheckpoint(0, (None, 0, 0), S, "causal", A1, np.diag([2.0, 3.0]), np.eye(S), ())
    rec, share = ge.read_graph(ck, (None, 0, 0))
    assert rec == 1.0 and share == pytest.approx(np.mean([ge.attention_rows(A1, i, "causal")[0] for i in (1, 2)]))
    assert ge.read_graph(ck, (None, 0, 1))[0] == 0.5
    tie = GraphCheckpoint(0, (None, 0), S, "causal", np.zeros((3, 3)), np.eye(S), np.eye(S), ())
    assert ge.read_graph(tie, (None, 0))[0] == 0.0  # a tie is not a recovery
    assert ge.induction_margin(ck) == pytest.approx(1.5)  # increment diag(1, 2): margins 1 and 2


def test_drawn_graphs():
    for seed in range(30):
        g = ge.drawn_graph(seed)
        assert len(g) == ge.T and g[0] is None and all(p is not None and p < j for j, p in enumerate(g) if j)
        assert len({p for p in g if p is not None}) >= 2  # no star
        assert ge.other_graph(seed) != g
    assert ge.drawn_graph(3) == ge.drawn_graph(3)


def test_checkpoint_is_reproducible_from_the_seed():
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained.graph_training import train_graph

    g = (None, 0, 1)
    a, b = train_graph(5, g, 2, steps=5, steps2=3), train_graph(5, g, 2, steps=5, steps2=3)
    assert np.array_equal(a.A1, b.A1) and np.array_equal(a.A2, b.A2)
    assert not np.array_equal(a.A1, train_graph(6, g, 2, steps=5, steps2=3).A1)


def test_trained_graph_check_holds_and_its_falsifiers_fail():
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained import graph_claims as gc

    ctx = Context(seed=0)
    res = gc.graph_check()(ctx)
    assert res.status == "holds", res.detail
    assert res.data["recovered"]["lo"] >= gc.RECOVERY_BOUND and res.data["parent_share"]["lo"] > gc.SHARE_BOUND
    for f in gc.FALSIFIERS:
        caught, detail = f.run(ctx)
        assert caught, (f.name, detail)


def test_recovery_bound_separates_the_claim_from_the_nearest_falsifier():
    """The nearest falsifier in edges recovered (data from another graph: the graphs share
    some edges) has its interval's upper end below the bound, and the claim's lower end is
    at or above it: the bound lies between them."""
    pytest.importorskip("autograd")
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained import graph_claims as gc

    seeds = ex.seeds_for(0, ge.SEEDS)
    other = ex.t_interval([ge.seed_result(s, ge.GraphVariant(data_graph=ge.other_graph)).recovered for s in seeds])
    wrong = ex.t_interval([ge.seed_result(s, ge.GraphVariant(claimed=moved_parents)).recovered for s in seeds])
    mine = ex.t_interval([ge.seed_result(s).recovered for s in seeds])
    assert wrong.hi < other.hi < gc.RECOVERY_BOUND <= mine.lo
    assert other.estimate > 0.2  # shared edges: the falsifier is not trivially far


def test_without_autograd_the_check_is_skipped(monkeypatch):
    from transformer_proofs.verify.claims.trained import graph_claims as gc

    monkeypatch.setattr(gc, "autograd_missing", lambda: "autograd is not importable (test)")
    res = gc.graph_check()(Context(seed=0))
    assert res.status == "skipped" and "autograd" in res.detail


def test_checkpoint_in_the_engine_predicts_as_the_training_model():
    """The engine's two-layer disentangled transformer built from a checkpoint gives the
    training model's prediction at the query, to float64 rounding."""
    from transformer_proofs.constructions.arithmetic import Float64
    from transformer_proofs.constructions.engine import forward
    from transformer_proofs.constructions.induction_head import embed
    from transformer_proofs.verify.claims.trained.graph_training import graph_transformer

    rng = np.random.default_rng(3)
    S, parents = 3, (None, 0, 1, 1)
    L = len(parents) + 1
    ck = GraphCheckpoint(0, parents, S, "causal", 2 * rng.standard_normal((L, L)), rng.standard_normal((S, S)),
                         np.eye(S), ())
    model = graph_transformer(ck)
    s, _ = sample_batch(rng, parents, S, 12)
    ours = predict(np, ck.A1, ck.A2, np.eye(S)[s])
    ar = Float64()
    for b in range(len(s)):
        out = np.asarray(forward(ar, model, ar.array(embed(s[b], S))), dtype=float)
        D0 = S + L
        np.testing.assert_allclose(out[2 * D0: 2 * D0 + S, -1], ours[b], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="mask"):
        graph_transformer(GraphCheckpoint(0, parents, S, "none", ck.A1, ck.A2, ck.A2_init, ()))
