"""constructions.factored: the factored pass Z = A·P gives the layer-by-layer
result entry for entry in exact arithmetic, on random models and their
mutants (so falsifiers are still told apart), is taken only where it is
valid, and leaves bad input to the engine's named errors."""

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions.arithmetic import Ball, Float64, PrimeField, Rational
from transformer_proofs.constructions.engine import (
    MLP,
    Attention,
    Head,
    PromptError,
    Transformer,
    context_mask,
    forward,
)
from transformer_proofs.constructions.factored import block_cuts, block_selection, factored_forward, parts
from transformer_proofs.constructions.gradient_descent import von_oswald_transformer
from transformer_proofs.constructions.newton import linearise_relu_pairs, newton_prompt, newton_transformer

EXACT = [Rational(), PrimeField()]


def _q(rng: np.random.Generator, shape: tuple[int, ...], den: int = 4) -> np.ndarray:
    """Small exact rationals, about a third of them zero."""
    vals = [Fraction(int(v), den) if rng.random() > 0.3 else Fraction(0) for v in rng.integers(-6, 7, int(np.prod(shape)))]
    return np.array(vals, dtype=object).reshape(shape)


def _selection(rng: np.random.Generator, rows: int, D: int) -> np.ndarray:
    """c·[0 … I … 0]: a block selection (read) of ``rows`` coordinates."""
    start = int(rng.integers(0, D - rows + 1))
    w = np.zeros((rows, D), dtype=int).astype(object)
    c = Fraction(int(rng.integers(1, 5)), int(rng.integers(1, 4))) * int(rng.choice([-1, 1]))
    for r in range(rows):
        w[r, start + r] = c
    return w


def _some_zero_rows(rng: np.random.Generator, w: np.ndarray) -> np.ndarray:
    """w with a run of its rows zeroed (sometimes): the rows it reads that nobody writes from."""
    if rng.random() < 0.4 and w.shape[0] > 1:
        w = w.copy()
        lo = int(rng.integers(0, w.shape[0] - 1))
        w[lo:int(rng.integers(lo + 1, w.shape[0]))] = 0
    return w


def random_linear_model(rng: np.random.Generator, D: int, N: int) -> Transformer:
    """Linear heads (selections, general weights, W_O absent or not, several
    heads, values with zero rows), key masks (all tokens, context, scattered),
    identity MLPs."""
    layers = []
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.3:
            h = int(rng.integers(1, D + 1))
            W_in = _some_zero_rows(rng, _selection(rng, h, D) if rng.random() < 0.5 else _q(rng, (h, D)))
            W_out = _selection(rng, h, D).T.copy() if rng.random() < 0.5 else _q(rng, (D, h))
            layers.append(MLP(W_in=W_in, W_out=W_out, activation="identity"))
            continue
        heads = []
        for _ in range(int(rng.integers(1, 3))):
            dh = int(rng.integers(1, D + 1))
            pick = (lambda r: _selection(rng, r, D) if rng.random() < 0.5 else _q(rng, (r, D)))
            if rng.random() < 0.3:
                heads.append(Head(W_Q=pick(dh), W_K=pick(dh), W_V=_some_zero_rows(rng, pick(D))))  # W_O = I
            else:
                dv = int(rng.integers(1, D + 1))
                W_O = _selection(rng, dv, D).T.copy() if rng.random() < 0.5 else _q(rng, (D, dv))
                heads.append(Head(W_Q=pick(dh), W_K=pick(dh), W_V=_some_zero_rows(rng, pick(dv)), W_O=W_O))
        kind = rng.integers(0, 3)
        mask = (np.ones(N, dtype=int) if kind == 0 else context_mask(N - 1) if kind == 1
                else np.where(rng.random(N) < 0.5, 1, 0))
        if not mask.any():
            mask[0] = 1
        layers.append(Attention(tuple(heads), "linear", mask, scale=Fraction(1, N) if rng.random() < 0.7 else None))
    return Transformer(tuple(layers), tuple(f"c{k}" for k in range(D)))


def random_prompt(rng: np.random.Generator, D: int, N: int) -> np.ndarray:
    Z = _q(rng, (D, N))
    Z[rng.random(D) < 0.3] = Fraction(0)  # zero rows: the factored basis drops them
    return Z


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all(a == b)) and {type(v) for v in a.ravel()} == {type(v) for v in b.ravel()}


@pytest.mark.parametrize("ar", EXACT, ids=lambda a: a.name)
@pytest.mark.parametrize("seed", range(60))
def test_factored_pass_is_the_layer_by_layer_pass(ar, seed: int) -> None:
    rng = np.random.default_rng(seed)
    D, N = int(rng.integers(2, 7)), int(rng.integers(2, 12))
    model, Z = random_linear_model(rng, D, N), random_prompt(rng, D, N)
    Zs = ar.array(Z)
    plain = forward(ar, model, Zs, factored=False)
    for prompt in (Zs, Z):  # in the system's scalars, or plain Fractions converted on the way
        got = factored_forward(ar, model, prompt)
        if got is None:  # zero prompt, or estimated dearer: the engine's own pass is the answer
            assert not Z.any() or forward(ar, model, prompt) is not None
            continue
        assert same(got, plain)
        assert same(forward(ar, model, prompt), plain)


def _mutants(model: Transformer, N: int) -> dict[str, Transformer]:
    """The falsifiers the claims use on linear attention: each must still differ."""
    att = [i for i, layer in enumerate(model.layers) if isinstance(layer, Attention)]
    i = att[0]
    layer = model.layers[i]
    out = {
        "query serves as key": model.with_layers(model.layers[:i] + (Attention(
            layer.heads, "linear", np.ones(N, dtype=int), scale=layer.scale),) + model.layers[i + 1:]),
        "dropped 1/n": model.with_layers(model.layers[:i] + (Attention(
            layer.heads, "linear", layer.key_mask, scale=None),) + model.layers[i + 1:]),
        "flipped sign of W_V": model.with_layers(model.layers[:i] + (Attention(
            tuple(Head(h.W_Q, h.W_K, -h.W_V, h.W_O) for h in layer.heads), "linear", layer.key_mask,
            scale=layer.scale),) + model.layers[i + 1:]),
        "one layer fewer": model.with_layers(model.layers[:-1]),
    }
    return out


@pytest.mark.parametrize("ar", EXACT, ids=lambda a: a.name)
@pytest.mark.parametrize("d,n,L", [(2, 5, 2), (3, 6, 3)])
def test_gd_mutants_are_told_apart_and_agree_with_the_plain_pass(ar, d: int, n: int, L: int) -> None:
    rng = np.random.default_rng(d * 10 + n)
    model = von_oswald_transformer(d, n, [Fraction(1, 2)] * L, [Fraction(int(v), 3) for v in rng.integers(-4, 5, d)])
    X, y, xq = _q(rng, (d, n)), _q(rng, (1, n)), _q(rng, (d, 1))
    X[0, 0], y[0, 0] = Fraction(1), Fraction(1)  # a nonzero example and label: every mutant moves the label
    Z = ar.array(np.concatenate([np.concatenate([X, xq], axis=1), np.concatenate([y, [[0]]], axis=1)]))
    original = forward(ar, model, Z)
    assert factored_forward(ar, model, Z) is not None
    # W_V's x rows are zero, so W_O = ηI changes only the label row: the x rows are cut apart and
    # returned as the prompt's own entries (no product, no conversion)
    assert block_cuts(model, d + 1) == (0, d, d + 1)
    assert original[0, 0] is Z[0, 0] and original[d, 0] is not Z[d, 0]
    assert same(original, forward(ar, model, Z, factored=False))
    for name, mutant in _mutants(model, n + 1).items():
        got = forward(ar, mutant, Z)
        assert same(got, forward(ar, mutant, Z, factored=False)), name
        assert not same(got, original), name


@pytest.mark.parametrize("ar", EXACT, ids=lambda a: a.name)
def test_newton_transformer_factored_is_the_layer_by_layer_pass(ar) -> None:
    rng = np.random.default_rng(7)
    d, n, k = 3, 6, 3
    X, y, xq = _q(rng, (n, d)), _q(rng, (n,)), _q(rng, (d,))
    model = linearise_relu_pairs(newton_transformer(d, n, k, Fraction(1, 50)))
    Z = ar.array(newton_prompt(X, y, xq))
    got = factored_forward(ar, model, Z)
    assert got is not None and same(got, forward(ar, model, Z, factored=False))
    # every weight of the Newton transformer is a block selection: no weight is multiplied as a matrix
    cuts = block_cuts(model, 2 * d + 2)
    assert cuts == (0, d, 2 * d, 2 * d + 1, 2 * d + 2)
    for layer in model.layers:
        ws = ([(w, 1) for h in layer.heads for w in (h.W_Q, h.W_K, h.W_V)] + [(h.W_O, 0) for h in layer.heads]
              if isinstance(layer, Attention) else [(layer.W_in, 1), (layer.W_out, 0)])
        for w, axis in ws:
            assert block_selection(w, axis) is not None
            assert all(p.scalar is not None for p in parts(w, axis, cuts))


def test_block_selection_and_parts() -> None:
    w = np.array([[0, Fraction(3), 0, 0], [0, 0, Fraction(3), 0]], dtype=object)
    assert block_selection(w, 1) == (1, 3)
    assert block_selection(w.T.copy(), 0) == (1, 3)
    unequal = w.copy()
    unequal[1, 2] = Fraction(2)
    assert block_selection(unequal, 1) is None  # not c·I: a product, not a scalar
    assert block_selection(np.array([[1, 0], [0, 0]], dtype=object), 1) is None  # a zero row
    (p,) = parts(w, 1, (0, 1, 3, 4))
    assert p.block == 1 and p.scalar == 3
    (q,) = parts(unequal, 1, (0, 1, 3, 4))
    assert q.scalar is None and q.sub.shape == (2, 2)
    assert parts(w, 1, (0, 2, 4))[0].scalar is None  # straddling a cut: both parts are products


def _linear_model(D: int, N: int, **kw) -> Transformer:
    rng = np.random.default_rng(3)
    head = Head(W_Q=_q(rng, (D, D)), W_K=_q(rng, (D, D)), W_V=_q(rng, (D, D)))
    return Transformer((Attention((head,), kw.pop("score", "linear"), np.ones(N, dtype=int), **kw),),
                       tuple(f"c{k}" for k in range(D)))


@pytest.mark.parametrize("variant", ["causal", "relu", "concat", "relu MLP", "MLP bias"])
def test_the_path_is_not_taken_where_it_is_not_valid(variant: str) -> None:
    D, N = 3, 5
    R = Rational()
    Z = _q(np.random.default_rng(1), (D, N))
    if variant in ("causal", "concat"):
        model = _linear_model(D, N, **({"causal": True} if variant == "causal" else {"residual": "concat"}))
    elif variant == "relu":
        model = _linear_model(D, N, score="relu")
    else:
        mlp = MLP(W_in=_q(np.random.default_rng(2), (2, D)), W_out=_q(np.random.default_rng(4), (D, 2)),
                  activation="relu" if variant == "relu MLP" else "identity",
                  b_out=np.array([Fraction(1)] * D, dtype=object) if variant == "MLP bias" else None)
        model = Transformer((mlp,), tuple(f"c{k}" for k in range(D)))
    assert factored_forward(R, model, R.array(Z)) is None


def test_float_and_ball_systems_never_take_it() -> None:
    D, N = 3, 40
    model = _linear_model(D, N, scale=Fraction(1, N))
    Z = _q(np.random.default_rng(5), (D, N))
    assert factored_forward(Rational(), model, Rational().array(Z)) is not None
    assert factored_forward(Ball(64), model, Ball(64).array(Z)) is None
    assert factored_forward(Float64(), model, Z.astype(float)) is None


def test_bad_input_still_gets_the_engines_named_errors() -> None:
    D, N = 3, 6
    R = Rational()
    model = _linear_model(D, N)
    with pytest.raises(PromptError, match="residual coordinates"):
        forward(R, model, R.array(_q(np.random.default_rng(0), (D + 1, N))))
    with pytest.raises(PromptError, match="key_mask"):
        forward(R, model, R.array(_q(np.random.default_rng(0), (D, N + 1))))
    zero = np.zeros((D, N), dtype=int).astype(object)
    assert factored_forward(R, model, R.array(zero)) is None  # no nonzero row: the engine's pass
    assert bool(np.all(forward(R, model, zero) == 0))


def test_a_mutant_weight_array_is_analysed_anew() -> None:
    w = np.array([[0, Fraction(3), 0]], dtype=object)
    assert block_selection(w, 1) == (1, 2)
    w2 = w.copy()
    w2[0, 0] = Fraction(1)
    assert block_selection(w2, 1) is None
