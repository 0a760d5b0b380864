"""verify.conform.newton: Newton's iterations fitted from behaviour."""

from __future__ import annotations

from fractions import Fraction

import pytest
from transformer_proofs.constructions.gradient_descent import von_oswald_transformer
from transformer_proofs.constructions.newton import newton_transformer
from transformer_proofs.verify.cli import main
from transformer_proofs.verify.conform import ConformError, conform, load_weights, save_export
from transformer_proofs.verify.torch_backend import export_transformer

ALPHA = Fraction(1, 16)


def test_the_construction_is_newton_with_its_alpha_and_k():
    rep = conform(newton_transformer(2, 6, 2, ALPHA), "newton", prompts=96)
    assert rep.k == 2 and abs(rep.alpha / float(ALPHA) - 1) < 1e-8
    assert rep.relative_error.hi < 1e-9 and rep.cosine.lo > 1 - 1e-9
    matched = [m["matched_iterate"] for m in rep.layer_match if m["distance"].estimate < 1e-9]
    assert matched == [0, 1, 2, 2]  # init, Newton layer 1 (after its MLP), Newton layer 2, read-out


def test_the_printed_sign_departs():
    from dataclasses import replace

    from transformer_proofs.constructions import newton as nt

    good = newton_transformer(2, 6, 1, ALPHA)
    printed_attn, printed_mlp = nt._newton_blocks(2, 6, 6, [0, 1], [2, 3], v2_sign=+1)  # V_2 = +J as printed
    bad = replace(good, layers=(good.layers[0], printed_attn, printed_mlp, good.layers[-1]))
    rep = conform(bad, "newton", prompts=96)
    assert rep.relative_error.lo > 1e-3


def test_npz_round_trip_and_cli(tmp_path, capsys):
    model = newton_transformer(2, 5, 1, ALPHA)
    path = tmp_path / "newton.npz"
    save_export(export_transformer(model), path, readout=(list(model.readout.vector), model.readout.column))
    rep = conform(load_weights(path), "newton", prompts=64)
    assert rep.k == 1 and abs(rep.alpha / float(ALPHA) - 1) < 1e-8
    assert main(["conform", str(path), "--against", "newton", "--prompts", "64"]) == 1  # fitted, not exact
    assert "k = 1, α = 0.0625" in capsys.readouterr().out


def test_a_stream_of_neither_kind_is_refused():
    from transformer_proofs.constructions.newton import linear_newton_step

    with pytest.raises(ConformError, match="neither"):
        conform(linear_newton_step(2), "newton")


def test_a_gd_model_on_the_regression_stream_is_fitted_layer_by_layer():
    rep = conform(von_oswald_transformer(2, 6, [Fraction(1, 4)] * 2), "newton", prompts=64)
    assert rep.slot == "prediction" and len(rep.layer_match) == 2
    assert rep.fit_error > 1e-3  # two GD steps are not a Newton iterate
    assert any("read-out" in n for n in rep.notes)
