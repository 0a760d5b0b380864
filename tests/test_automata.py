"""constructions/automata.py and verify/algorithms/automata.py: the Z_p and
prefix-composition simulators against the recurrent run."""

import itertools

import numpy as np
import pytest
from transformer_proofs.constructions import automata as A
from transformer_proofs.constructions.arithmetic import Float64, Rational
from transformer_proofs.constructions.engine import forward
from transformer_proofs.constructions.exact_batch import Integers
from transformer_proofs.verify.algorithms import automata as alg

S3 = A.Semiautomaton(3, ((1, 0, 2), (1, 2, 0)), 0, "S_3")


@pytest.mark.parametrize("p,T", [(2, 1), (2, 5), (3, 3), (5, 2)])
def test_cyclic_every_word_rational(p, T):
    model, elements = A.cyclic_transformer(p, T), list(range(p))
    for word in itertools.product(range(p), repeat=T):
        Z = forward(Rational(), model, A.cyclic_prompt(word, elements, p, T))
        assert (A.cyclic_states(Z, p, T) == np.array(alg.one_hot_columns(alg.cyclic_run(elements, p, word), p))).all()


def test_cyclic_generator_alphabet_float64():
    """Z_5 with the two symbols 'add 0' and 'add 2' (a generator): float64 agrees to rounding."""
    p, T, elements = 5, 6, [0, 2]
    model = A.cyclic_transformer(p, T)
    for word in itertools.product(range(2), repeat=T):
        Z = forward(Float64(), model, A.cyclic_prompt(word, elements, p, T))
        ref = np.array(alg.one_hot_columns(alg.cyclic_run(elements, p, word), p))
        assert np.abs(A.cyclic_states(Z, p, T) - ref).max() < 1e-9  # values O(T), a few roundings


@pytest.mark.parametrize("T,ar", [(1, Rational()), (3, Rational()), (5, Integers()), (8, Integers())])
def test_prefix_every_word(T, ar):
    model = A.prefix_transformer(S3.n, T)
    assert len(model.layers) == 2 * A.levels_for(T)
    for word in itertools.product(range(2), repeat=T):
        Z = forward(ar, model, A.prefix_prompt(S3, word, T))
        ref = alg.one_hot_columns([0] + alg.run(S3.table, 0, word), 3)
        assert (A.prefix_states(Z, 3, T, 0) == np.array(ref)).all()


def test_prefix_one_level_fewer_fails_somewhere():
    T = 5
    model = A.prefix_transformer(S3.n, T, levels=A.levels_for(T) - 1)
    wrong = 0
    for word in itertools.product(range(2), repeat=T):
        Z = forward(Integers(), model, A.prefix_prompt(S3, word, T))
        wrong += not (A.prefix_states(Z, 3, T, 0) == np.array(alg.one_hot_columns([0] + alg.run(S3.table, 0, word),
                                                                                  3))).all()
    assert wrong > 0


@pytest.mark.parametrize("T,L", [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4), (1024, 10)])
def test_levels(T, L):
    assert A.levels_for(T) == L


def test_widths():
    w = A.prefix_widths(3, 8)
    assert w == {"d_model": 9 + 18, "mlp_hidden": 27 + 18, "head_qk": 9, "head_v": 9}
    assert A.prefix_transformer(3, 8).d_model == w["d_model"]
    assert A.prefix_level(3, 8, 1)[1].W_in.shape[0] == w["mlp_hidden"]
    assert A.cyclic_transformer(2, 8).layers[1].W_in.shape[0] == A.cyclic_hidden_width(2, 8)


def test_map_matrix_columns_are_one_hot():
    G = S3.map_matrix(1)
    assert (G.sum(axis=0) == 1).all() and G[1, 0] == 1 and G[2, 1] == 1 and G[0, 2] == 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=0, table=((0,),)), "at least one state"),
    (dict(n=2, table=()), "at least one input symbol"),
    (dict(n=2, table=((0, 2),)), "transition row of symbol 0"),
    (dict(n=2, table=((0, 1),), start=5), "start state"),
])
def test_bad_automaton(kwargs, match):
    with pytest.raises(A.AutomatonError, match=match):
        A.Semiautomaton(**kwargs)


def test_bad_words():
    with pytest.raises(A.AutomatonError, match="built for words of length 3"):
        A.prefix_prompt(S3, (0, 1), 3)
    with pytest.raises(A.AutomatonError, match="symbol 7 is not in the alphabet"):
        A.prefix_prompt(S3, (0, 7, 1), 3)
    with pytest.raises(A.AutomatonError, match="at least one symbol"):
        A.cyclic_prompt((), [0, 1], 2, 0)
    with pytest.raises(A.AutomatonError, match="p >= 2"):
        A.cyclic_transformer(1, 3)


def test_reference_run():
    assert alg.run(S3.table, 0, [0, 1, 1]) == [1, 2, 0]
    assert alg.cyclic_run([0, 1], 2, [1, 1, 0, 1]) == [1, 0, 0, 1]
    assert len(list(alg.words(3, 4))) == 81


def test_cyclic_softmax_form_encloses_the_states():
    """The paper's softmax form (equal scores) in ball arithmetic: the same states, certified."""
    from transformer_proofs.constructions.arithmetic import Ball

    p, T = 3, 3
    model = A.cyclic_transformer(p, T, attention="softmax")
    for word in itertools.product(range(p), repeat=T):
        Z = forward(Ball(128), model, A.cyclic_prompt(word, list(range(p)), p, T))
        ref = alg.one_hot_columns(alg.cyclic_run(list(range(p)), p, word), p)
        S = A.cyclic_states(Z, p, T)
        assert all((S[r, c] - ref[r][c]).contains(0) and S[r, c].rad() < 2.0**-100
                   for r in range(p) for c in range(T))


def test_cyclic_attention_kind_checked():
    with pytest.raises(A.AutomatonError, match="'linear' or 'softmax'"):
        A.cyclic_transformer(2, 3, attention="relu")


@pytest.mark.parametrize("images,element", [((0, 1, 2), (0, 0)), ((1, 2, 0), (1, 0)), ((1, 0, 2), (1, 1)),
                                            ((0, 2, 1), (0, 1)), ((2, 1, 0), (2, 1))])
def test_dihedral_element(images, element):
    a, b = A.dihedral_element(images)
    assert (a, b) == element
    assert all((a + (x if b == 0 else -x)) % 3 == images[x] for x in range(3))


def test_dihedral_element_refuses_non_permutations():
    with pytest.raises(A.AutomatonError, match="not a permutation"):
        A.dihedral_element((0, 0, 1))


@pytest.mark.parametrize("start", [0, 1, 2])
def test_dihedral_every_word(start):
    """S_3 (transposition, 3-cycle) at T = 4 from each start state: the cascade equals the run."""
    T, elements = 4, [A.dihedral_element(row) for row in S3.table]
    model = A.dihedral_transformer(T, start)
    assert sum(isinstance(x, A.MLP) for x in model.layers) == 4 and len(model.layers) == 6
    for word in itertools.product(range(2), repeat=T):
        Z = forward(Rational(), model, A.dihedral_prompt(word, elements, T))
        ref = alg.one_hot_columns(alg.run(S3.table, start, word), 3)
        assert (A.dihedral_states(Z, T) == np.array(ref)).all()


def test_product_mlp_is_a_lookup():
    names = ("x:0", "x:1", "y:0", "y:1", "out")
    mlp = A.product_mlp(names, ["x:0", "x:1"], ["y:0", "y:1"], {(i, j): {"out": 2 * i + j} for i in (0, 1)
                                                                   for j in (0, 1)})
    from transformer_proofs.constructions.engine import Transformer

    model = Transformer(layers=(mlp,), coordinates=names)
    for i in (0, 1):
        for j in (0, 1):
            z = np.zeros((5, 1), dtype=int)
            z[i, 0] = z[2 + j, 0] = 1
            assert forward(Rational(), model, z)[4, 0] == 2 * i + j
