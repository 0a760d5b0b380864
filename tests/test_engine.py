"""constructions.engine: the forward pass against independent numpy code,
masks, residual kinds, and clear errors on bad input."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import (
    ArithmeticDomainError,
    Float64,
    Float64Bounded,
    PrimeField,
    Rational,
)
from transformer_proofs.constructions.engine import (
    MLP,
    Attention,
    Head,
    PromptError,
    Readout,
    Transformer,
    attention_mask,
    check_finite,
    context_mask,
    export_heads,
    forward,
    predict,
    regression_prompt,
)

F = Float64()


def one_head_model(D: int, N: int, score, rng, causal=False, residual="add", scale=None, key_mask=None):
    W = [rng.standard_normal((D, D)) for _ in range(3)]
    head = Head(W_Q=W[0], W_K=W[1], W_V=W[2])
    att = Attention((head,), score, np.ones(N, dtype=int) if key_mask is None else key_mask,
                    causal=causal, scale=scale, residual=residual)
    return Transformer((att,), tuple(f"c{k}" for k in range(D))), W


@given(st.integers(1, 5), st.integers(1, 7), st.sampled_from(["linear", "relu", "exp", "softmax"]),
       st.booleans(), st.integers(0, 2**31))
def test_attention_matches_direct_numpy(D: int, N: int, score: str, causal: bool, seed: int) -> None:
    """out[:, j] = z_j + Σ_i v_i a(k_i·q_j) mask[i, j], written independently."""
    rng = np.random.default_rng(seed)
    key_mask = np.ones(N, dtype=int)
    model, (WQ, WK, WV) = one_head_model(D, N, score, rng, causal=causal, key_mask=key_mask)
    Z = rng.standard_normal((D, N)) * 0.5
    out = forward(F, model, Z)
    expected = Z.copy()
    for j in range(N):
        keys = [i for i in range(N) if (not causal or i <= j)]
        s = np.array([(WK @ Z[:, i]) @ (WQ @ Z[:, j]) for i in keys])
        a = {"linear": s, "relu": np.maximum(s, 0), "exp": np.exp(s),
             "softmax": np.exp(s - s.max()) / np.exp(s - s.max()).sum()}[score]
        expected[:, j] += sum(a[t] * (WV @ Z[:, i]) for t, i in enumerate(keys))
    scale = np.abs(expected).max() + 1
    assert np.allclose(out, expected, rtol=0, atol=64 * N * D * np.finfo(float).eps * scale * 10)


def test_batched_forward_equals_per_prompt() -> None:
    rng = np.random.default_rng(1)
    model, _ = one_head_model(3, 4, "linear", rng, scale=Fraction(1, 4))
    Zs = rng.standard_normal((5, 3, 4))
    batched = forward(F, model, Zs)
    for b in range(5):
        assert np.array_equal(batched[b], forward(F, model, Zs[b]))


def test_mask_semantics() -> None:
    m = attention_mask(np.array([1, 1, 0]), 3, causal=True)
    assert m.tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 0]]
    with pytest.raises(PromptError, match="key_mask has shape"):
        attention_mask(np.array([1, 1]), 3, causal=False)


def test_concat_residual_and_mlp() -> None:
    rng = np.random.default_rng(2)
    model, _ = one_head_model(2, 3, "softmax", rng, causal=True, residual="concat")
    out = forward(F, model, rng.standard_normal((2, 3)))
    assert out.shape == (4, 3)
    assert model.stream_names()[-1][:2] == ("c0", "c1")
    assert len(model.stream_names()[-1]) == out.shape[0], "the concatenated coordinates are named too"
    mlp = MLP(W_in=np.eye(2), W_out=np.eye(2), activation="identity")
    Z = rng.standard_normal((2, 3))
    assert np.allclose(forward(F, Transformer((mlp,), ("a", "b")), Z), 2 * Z)


def test_exact_and_float_runs_are_the_same_code() -> None:
    W = np.array([[1, 0], [0, 0]], dtype=object)
    head = Head(W, W, np.array([[0, 0], [1, -1]], dtype=object))
    model = Transformer((Attention((head,), "linear", context_mask(2), scale=Fraction(1, 2)),), ("x", "y"),
                        Readout(np.array([0, -1]), 2))
    Z = np.array([[1, 2, 3], [Fraction(1, 2), 1, 0]], dtype=object)
    exact = predict(Rational(), model, Z)
    assert float(exact) == pytest.approx(float(predict(F, model, Z.astype(float))), rel=1e-15)


def test_bad_prompts_get_named_errors() -> None:
    rng = np.random.default_rng(3)
    model, _ = one_head_model(2, 3, "linear", rng)
    with pytest.raises(PromptError, match="NaN"):
        forward(F, model, np.array([[np.nan, 0, 0], [0, 0, 0]]))
    with pytest.raises(PromptError, match="residual coordinates"):
        forward(F, model, np.zeros((3, 3)))
    with pytest.raises(PromptError, match="at least one token"):
        forward(F, model, np.zeros((2, 0)))
    with pytest.raises(PromptError, match="at least one token"):  # batched: the token axis is the last
        forward(F, model, np.zeros((4, 2, 0)))
    with pytest.raises(PromptError, match="n >= 1"):
        regression_prompt(np.zeros((0, 2)), np.zeros(0), np.zeros(2))
    with pytest.raises(PromptError, match="y has shape"):
        regression_prompt(np.zeros((3, 2)), np.zeros(2), np.zeros(2))
    with pytest.raises(PromptError, match="inf"):
        regression_prompt(np.array([[np.inf]]), np.zeros(1), np.zeros(1))


def test_softmax_query_without_keys_is_an_error() -> None:
    rng = np.random.default_rng(4)
    model, _ = one_head_model(2, 3, "softmax", rng, key_mask=np.array([0, 0, 1]), causal=True)
    with pytest.raises(PromptError, match="no unmasked key"):
        forward(F, model, rng.standard_normal((2, 3)))


def test_relu_in_a_prime_field_is_refused() -> None:
    W = np.eye(2, dtype=int).astype(object)
    model = Transformer((Attention((Head(W, W, W),), "relu", np.ones(2, dtype=int)),), ("a", "b"))
    with pytest.raises(ArithmeticDomainError, match="ReLU"):
        forward(PrimeField(), model, np.array([[1, 2], [3, 4]], dtype=object))


def test_export_heads_in_transformerlens_orientation() -> None:
    WQ = np.arange(6).reshape(2, 3)
    head = Head(W_Q=WQ, W_K=WQ, W_V=np.eye(3), W_O=None)
    model = Transformer((Attention((head,), "linear", np.ones(4, dtype=int), scale=Fraction(1, 2)),), ("a", "b", "c"))
    (h,), = export_heads(model)
    assert h["W_Q"].shape == (3, 2) and np.array_equal(h["W_Q"], WQ.T)
    assert np.array_equal(h["W_O"], 0.5 * np.eye(3))


@given(st.integers(1, 4), st.integers(2, 9), st.integers(1, 3), st.integers(0, 2**31))
def test_associated_linear_attention_is_the_same_layer(D: int, N: int, d_head: int, seed: int) -> None:
    """(V_M K_Mᵀ) Q, linear in the tokens, is exactly the scores' V (KᵀQ ∘ M):
    compared in exact rationals, whichever order the engine picks, with a
    key mask that is not a run of tokens."""
    from transformer_proofs.constructions.engine import associates, attention_pattern, linear_head_associated

    rng = np.random.default_rng(seed)
    R = Rational()

    def frac(shape: tuple[int, ...]) -> np.ndarray:
        return np.array([Fraction(int(v), 8) for v in rng.integers(-16, 17, int(np.prod(shape)))],
                        dtype=object).reshape(shape)

    key_mask = rng.integers(0, 2, N)
    key_mask[0] = 1
    head = Head(W_Q=frac((d_head, D)), W_K=frac((d_head, D)), W_V=frac((D, D)), W_O=frac((D, D)))
    layer = Attention((head,), "linear", key_mask)
    Z = R.array(frac((D, N)))
    scores = R.matmul(R.matmul(R.array(head.W_O), R.matmul(R.array(head.W_V), Z)), attention_pattern(R, layer, head, Z))
    assert (linear_head_associated(R, layer, head, Z) == scores).all()
    assert not associates(layer, Head(W_Q=head.W_Q, W_K=head.W_K, W_V=head.W_V, score="relu"), N)
    assert not associates(Attention((head,), "linear", key_mask, causal=True), head, N)


def test_associated_order_is_taken_when_cheaper_and_bounded() -> None:
    """At n = 64 tokens and d = 4 the engine associates; the running error
    bound (Float64Bounded) covers the float64 result of the order it used."""
    from transformer_proofs.constructions.arithmetic import Float64Bounded
    from transformer_proofs.constructions.engine import associates
    from transformer_proofs.constructions.gradient_descent import von_oswald_transformer

    d, n = 4, 64
    rng = np.random.default_rng(1)
    X = np.array([Fraction(int(v), 16) for v in rng.integers(-32, 33, n * d)], dtype=object).reshape(n, d)
    y = np.array([Fraction(int(v), 16) for v in rng.integers(-32, 33, n)], dtype=object)
    model = von_oswald_transformer(d, n, [Fraction(1, 8), Fraction(3, 16)])
    assert associates(model.layers[0], model.layers[0].heads[0], n + 1)
    Z = regression_prompt(X, y, X[0], Fraction(0))
    exact = Rational().to_float(forward(Rational(), model, Z))
    bounded = forward(Float64Bounded(), model, Z)
    assert np.all(np.abs(bounded.val - exact) <= bounded.err)
    assert np.all(np.abs(forward(F, model, Z) - bounded.val) == 0)


# ---------------------------------------------------------------------------
# non-finite weights and parameters are refused, named, by every construction
# ---------------------------------------------------------------------------


def _nonfinite_cases() -> dict:
    import transformer_proofs.constructions.energy as en
    import transformer_proofs.constructions.functional_gd as fg
    import transformer_proofs.constructions.gradient_descent as gd
    import transformer_proofs.constructions.induction_head as ih
    import transformer_proofs.constructions.newton as nw

    W, b = np.array([[0.5, 0], [0, 0.5]]), np.zeros(2)
    return {
        "von Oswald η": lambda v: gd.von_oswald_transformer(2, 3, [1, v]),
        "von Oswald W_0": lambda v: gd.von_oswald_transformer(2, 3, [1], W_0=[v, 0]),
        "GD++ γ": lambda v: gd.von_oswald_layer(2, 3, 1, gamma=v),
        "preconditioner A": lambda v: gd.preconditioned_transformer(2, 3, [np.array([[v, 0], [0, 1]])]),
        "ReLU ridge η": lambda v: gd.relu_ridge_transformer(2, 3, [v], 1, 1),
        "ReLU ridge λ": lambda v: gd.relu_ridge_transformer(2, 3, [1], v, 1),
        "ReLU ridge offset": lambda v: gd.relu_ridge_transformer(2, 3, [1], 1, v),
        "Newton α": lambda v: nw.newton_transformer(2, 3, 2, v),
        "Newton init α": lambda v: nw.printed_init_layer(2, 3, v),
        "functional GD η": lambda v: fg.functional_gd_transformer(2, 3, [v], "relu"),
        "multi-head η": lambda v: fg.multi_head_transformer(2, 3, [[v]], ["relu"]),
        "induction β₂": lambda v: ih.induction_transformer(ih.markov_chain(4), 2, v),
        "induction β₁": lambda v: ih.induction_transformer(ih.markov_chain(4), 2, 1, v),
        "previous-token β₂": lambda v: ih.previous_token_transformer(2, 4, v),
        "Hopfield β": lambda v: en.hopfield_transformer(2, 3, v),
        "feed-forward W": lambda v: en.feedforward_stack(np.array([[v, 0], [0, 0.5]]), b, 2),
        "feed-forward b": lambda v: en.feedforward_stack(W, np.array([v, 0]), 2),
        "PGD η": lambda v: en.pgd_weights(W, b, v),
        "attention scale": lambda v: Attention((Head(np.eye(1), np.eye(1), np.eye(1)),), "linear", np.ones(2), scale=v),
        "read-out": lambda v: Readout(np.array([1, v], dtype=object), 0),
        "MLP weight": lambda v: MLP(np.array([[v]]), np.eye(1)),
    }


@pytest.mark.parametrize("name", sorted(_nonfinite_cases()))
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_parameters_are_refused(name: str, value: float) -> None:
    build = _nonfinite_cases()[name]
    build(1)  # the same call with a finite value is accepted
    with pytest.raises(ValueError, match="finite|exact number"):
        with np.errstate(invalid="ignore"):
            build(value)


def test_check_finite_names_the_weight_and_passes_exact_and_symbolic_values() -> None:
    import sympy

    check_finite("W", np.array([Fraction(10**400), 2, sympy.Symbol("x")], dtype=object))
    check_finite("W", np.eye(2))
    with pytest.raises(PromptError, match="^W_V has a non-finite entry"):
        Head(np.eye(1), np.eye(1), np.array([[float("nan")]]))


def test_attention_mask_is_made_once_per_key_mask_and_returned_fresh() -> None:
    km = np.array([1, 1, 0])
    first = attention_mask(km, 3, causal=True)
    again = attention_mask(km, 3, causal=True)
    assert again is not first and np.array_equal(again, first)
    again[0, 0] = 5  # the caller's own copy
    assert attention_mask(km, 3, causal=True)[0, 0] == 1
    assert np.array_equal(attention_mask(km, 3, causal=False), [[1, 1, 1], [1, 1, 1], [0, 0, 0]])
    assert np.array_equal(attention_mask([1, 0, 1], 3, causal=False)[1], [0, 0, 0])  # a list: not remembered
    with pytest.raises(PromptError, match="0 or 1"):
        attention_mask(np.array([1, 2, 0]), 3, causal=False)


@pytest.mark.parametrize("ar", [Float64(), Float64Bounded(), Rational(), PrimeField()], ids=lambda a: a.name)
def test_a_model_is_a_snapshot_of_the_weights_it_was_built_from(ar) -> None:
    """A training loop that updates its arrays in place after building a model
    changes neither the model nor what the number systems remember of its
    weights (they are cached per weight array)."""
    W = np.array([[1, 0], [0, 1]], dtype=object)
    mask = np.array([1, 1, 0])
    model = Transformer(layers=(Attention(heads=(Head(W, W, W),), score="linear", key_mask=mask, scale=Fraction(1, 2)),),
                        coordinates=("a", "b"))
    Z = np.array([[1, 2, 3], [4, 5, 6]], dtype=object)
    before = [Fraction(float(x)) if ar.name.startswith("float") else x for x in np.ravel(_values(ar, forward(ar, model, Z)))]
    W[0, 0] = 7
    mask[2] = 1
    after = [Fraction(float(x)) if ar.name.startswith("float") else x for x in np.ravel(_values(ar, forward(ar, model, Z)))]
    assert before == after
    assert not model.layers[0].heads[0].W_Q.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        model.layers[0].heads[0].W_Q[0, 0] = 0


def _values(ar, Z):
    return Z.val if hasattr(Z, "val") else Z


@pytest.mark.parametrize("ar", [Float64(), Float64Bounded(), Rational()], ids=lambda a: a.name)
def test_a_key_mask_of_other_values_is_refused_on_every_path(ar) -> None:
    """The planned float64 path validates the key mask as the general path does (a 0/2 mask was read as 0/1)."""
    W = np.array([[1, 0], [0, 1]], dtype=object)
    model = Transformer(layers=(Attention(heads=(Head(W, W, W),), score="linear", key_mask=np.array([1, 2, 0])),),
                        coordinates=("a", "b"))
    with pytest.raises(PromptError, match="0 or 1"):
        forward(ar, model, np.array([[1, 2, 3], [4, 5, 6]], dtype=object))
