"""verify.conform.fgd: functional GD's kernels and steps read exactly from the weights."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions.functional_gd import functional_gd_transformer, multi_head_transformer
from transformer_proofs.constructions.gradient_descent import von_oswald_transformer
from transformer_proofs.verify.conform import ConformError, conform

ETAS = [Fraction(1, 4), Fraction(1, 8)]


@pytest.mark.parametrize("score", ["linear", "relu", "exp", "softmax"])
def test_the_construction_is_functional_gd(score):
    rep = conform(functional_gd_transformer(2, 5, ETAS, score), "fgd.functional_gd", prompts=32)
    assert rep.exact and rep.departs is None
    assert [h.eta for h in rep.heads] == ETAS and all((h.gamma == np.eye(2)).all() for h in rep.heads)
    assert [m["matched_iterate"] for m in rep.layer_match] == [1, 2]


def test_multi_head_steps_per_head():
    rep = conform(multi_head_transformer(2, 4, [ETAS], ["relu", "softmax"]), "fgd.multi_head", prompts=32)
    assert rep.exact and [(h.score, h.eta) for h in rep.heads] == [("relu", ETAS[0]), ("softmax", ETAS[1])]


def test_gd_is_functional_gd_with_the_linear_kernel():
    rep = conform(von_oswald_transformer(2, 4, [Fraction(3, 16)]), "fgd", prompts=32)
    assert rep.exact and rep.heads[0].eta == Fraction(3, 16)


@pytest.mark.parametrize("block,where,name", [
    ("W_V", (-1, 0), "P's label row reads x"),
    ("W_Q", (0, -1), "Q = W_Kᵀ W_Q reads y"),
    ("W_V", (0, -1), "P moves x"),
])
def test_a_mutated_head_is_named(block, where, name):
    model = functional_gd_transformer(2, 5, ETAS, "exp")
    layer = model.layers[1]
    head = layer.heads[0]
    w = np.array(getattr(head, block), dtype=object)
    w[where] = w[where] + Fraction(1, 2)
    layers = [model.layers[0], replace(layer, heads=(replace(head, **{block: w}),))]
    rep = conform(model.with_layers(layers), "fgd", prompts=64)
    assert not rep.exact and (rep.departs["layer"], rep.departs["head"], rep.departs["block"]) == (1, 0, name)
    assert rep.relative_error.lo > 0


def test_a_kernel_callable_cannot_be_read():
    from transformer_proofs.verify.algorithms.functional_gd import rbf_kernel

    with pytest.raises(ConformError, match="kernel callable"):
        conform(functional_gd_transformer(2, 3, ETAS[:1], rbf_kernel), "fgd")


def test_softmax_fgd_through_the_npz_layout(tmp_path):
    from transformer_proofs.verify.conform import load_weights, save_export
    from transformer_proofs.verify.torch_backend import export_transformer

    path = tmp_path / "fgd.npz"
    save_export(export_transformer(functional_gd_transformer(2, 5, ETAS[:1], "softmax")), path, readout=([0, 0, -1], 5))
    rep = conform(load_weights(path), "fgd", prompts=32)
    assert rep.exact and rep.heads[0].score == "softmax" and rep.heads[0].eta == ETAS[0]
