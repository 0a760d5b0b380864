"""verify.conform: exact weights conform with deviation 0 and the exact
parameters; perturbed and mutated weights report a fitted parameter, a
nonzero deviation with an interval and where they depart; bad input gets a
one-line error."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions.gradient_descent import preconditioned_transformer, von_oswald_transformer
from transformer_proofs.constructions.importing import Conventions, LayerConvention, WeightsError, import_state_dict
from transformer_proofs.verify import mutants
from transformer_proofs.verify.cli import main
from transformer_proofs.verify.conform import ConformError, conform, load_weights, save_export
from transformer_proofs.verify.conform.rationals import simplest_rational
from transformer_proofs.verify.torch_backend import export_transformer

ETA = Fraction(3, 16)


def _gd_file(tmp_path, d=3, n=5, etas=(ETA,), perturb=0.0, name="w.npz", seed=0):
    model = von_oswald_transformer(d, n, list(etas))
    export = export_transformer(model)
    if perturb:
        rng = np.random.default_rng(seed)
        export.state_dict = {k: v * (1 + perturb * rng.standard_normal(v.shape)) for k, v in export.state_dict.items()}
    path = tmp_path / name
    save_export(export, path, readout=([0] * d + [-1], n))
    return path


def test_simplest_rational_reads_back_what_was_written():
    assert simplest_rational(float(Fraction(3, 80))) == Fraction(3, 80)
    assert simplest_rational(float(Fraction(1, 5)) * (3 / 16)) == Fraction(3, 80)  # two roundings
    assert simplest_rational(-1 / 3) == Fraction(-1, 3)
    assert simplest_rational(0.0) == 0


def test_exported_gd_conforms_exactly(tmp_path):
    rep = conform(load_weights(_gd_file(tmp_path)), "gd.one_layer")
    assert rep.exact and rep.parameters == [[ETA]]
    assert rep.relative_error.estimate == 0 and rep.cosine.estimate == 1
    assert rep.departs is None
    assert rep.to_json()["fitted"] == [{"η": "3/16"}]


def test_perturbed_gd_reports_eta_deviation_and_block(tmp_path):
    rep = conform(load_weights(_gd_file(tmp_path, perturb=1e-3)), "gd.one_layer")
    assert not rep.exact
    eta = float(rep.parameters[0][0])
    assert abs(eta - float(ETA)) < 0.01 * float(ETA) and eta != float(ETA)
    ci = rep.relative_error
    assert 0 < ci.lo <= ci.estimate <= ci.hi < 1e-2
    assert rep.departs["layer"] == 0 and rep.departs["block"] in ("W_Q", "W_K", "W_V", "W_O")


@pytest.mark.parametrize("block,layer", [("W_V", 0), ("W_Q", 1), ("W_O", 2)])
def test_a_mutated_block_is_named(tmp_path, block, layer):
    model = von_oswald_transformer(2, 4, [ETA, Fraction(1, 8), Fraction(1, 4)])

    def mutate(h):
        w = np.array(getattr(h, block), dtype=object)
        # an entry that changes the layer's function other than by rescaling η (W_V[y, y] or W_O[y, y] would
        # only change the step, and W_O's x-columns meet W_V's zero rows)
        i, j = {"W_Q": (0, 0), "W_V": (-1, 0), "W_O": (0, -1)}[block]
        w[i, j] = w[i, j] + Fraction(1, 2)
        return replace(h, **{block: w})

    layers = list(model.layers)
    layers[layer] = replace(layers[layer], heads=tuple(mutate(h) for h in layers[layer].heads))
    rep = conform(model.with_layers(layers), "gd.multi_layer")
    assert not rep.exact
    assert (rep.departs["layer"], rep.departs["block"]) == (layer, block)
    assert [f.decomposition.exact_zero for f in rep.layers[:layer]] == [True] * layer


def test_multi_layer_gd_matches_iterates_layer_by_layer():
    etas = [ETA, Fraction(1, 8), Fraction(1, 4)]
    rep = conform(von_oswald_transformer(2, 6, etas), "gd.multi_layer")
    assert rep.exact and rep.parameters == [[e] for e in etas]
    assert [m["matched_iterate"] for m in rep.layer_match] == [1, 2, 3]


def test_dropped_layer_is_seen_in_the_layer_match():
    etas = [ETA, Fraction(1, 8), Fraction(1, 4)]
    model = von_oswald_transformer(2, 6, etas)
    rep = conform(mutants.drop_last_layer(model), "gd.multi_layer")
    assert len(rep.layers) == 2 and rep.exact  # two exact GD layers: a different (shorter) algorithm run


def test_preconditioned_gd_reads_gamma():
    A = np.array([[Fraction(1, 4), Fraction(1, 8)], [Fraction(-1, 16), Fraction(3, 8)]], dtype=object)
    rep = conform(preconditioned_transformer(2, 5, [A]), "gd.preconditioned")
    assert rep.exact and rep.parameters[0] == list(A.ravel())
    rep_gd = conform(preconditioned_transformer(2, 5, [A]), "gd.one_layer")
    assert not rep_gd.exact and rep_gd.departs["layer"] == 0


def test_dyadic_reading_sees_the_rounding(tmp_path):
    rep = conform(load_weights(_gd_file(tmp_path)), "gd.one_layer", dyadic=True)
    eta = rep.parameters[0][0]
    assert rep.exact and eta != ETA and eta.denominator & (eta.denominator - 1) == 0  # GD with η = 5·fl(3/80), dyadic
    assert abs(eta - ETA) < Fraction(1, 2**52)


def test_deterministic(tmp_path):
    path = _gd_file(tmp_path, perturb=1e-3)
    a = conform(load_weights(path), "gd.one_layer", seed=3).to_json()
    b = conform(load_weights(path), "gd.one_layer", seed=3).to_json()
    assert a == b


# --- bad input ---------------------------------------------------------------


def _state(d=2, n=3):
    return export_transformer(von_oswald_transformer(d, n, [ETA])).state_dict


def test_wrong_number_of_heads():
    sd = dict(_state())
    sd["blocks.0.attn.W_K"] = np.concatenate([sd["blocks.0.attn.W_K"]] * 2)
    with pytest.raises(WeightsError, match="head counts disagree"):
        import_state_dict(sd, Conventions(n_ctx=4, layers=(LayerConvention(key_mask="context"),)))
    with pytest.raises(WeightsError, match="declares n_heads = 2"):
        import_state_dict(_state(), Conventions(n_ctx=4, n_heads=2, layers=(LayerConvention(key_mask="context"),)))


def test_softmax_where_linear_is_claimed():
    imp = import_state_dict(_state(), Conventions(n_ctx=4, layers=(LayerConvention("softmax", key_mask="context"),)))
    with pytest.raises(ConformError, match="softmax attention; gd claims linear attention"):
        conform(imp, "gd.one_layer")


def test_missing_weight():
    sd = {k: v for k, v in _state().items() if k != "blocks.0.attn.W_V"}
    with pytest.raises(WeightsError, match=r"blocks\.0\.attn\.W_V is missing"):
        import_state_dict(sd, Conventions(n_ctx=4))


def test_nan_weights():
    sd = dict(_state())
    sd["blocks.0.attn.W_Q"] = sd["blocks.0.attn.W_Q"].copy()
    sd["blocks.0.attn.W_Q"][0, 0, 0] = np.nan
    with pytest.raises(WeightsError, match=r"blocks\.0\.attn\.W_Q contains NaN"):
        import_state_dict(sd, Conventions(n_ctx=4))


def test_a_file_that_is_not_a_model(tmp_path):
    bad = tmp_path / "notes.npz"
    bad.write_text("hello")
    with pytest.raises(WeightsError, match="is not a .npz weight file"):
        load_weights(bad)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(WeightsError, match="no 'conventions' entry"):
        load_weights(plain)
    with pytest.raises(WeightsError, match="unknown weight file type"):
        load_weights(_touch(tmp_path / "w.txt"))


def _touch(p):
    p.write_text("")
    return p


def test_structure_errors():
    with pytest.raises(ConformError, match="the target is 1 layer"):
        conform(von_oswald_transformer(2, 3, [ETA, ETA]), "gd.one_layer")
    with pytest.raises(ConformError, match="not the context mask"):
        conform(mutants.unmask_all_keys(von_oswald_transformer(2, 3, [ETA])), "gd.one_layer")
    with pytest.raises(ValueError, match="cannot conform against"):
        conform(von_oswald_transformer(2, 3, [ETA]), "gd.nonsense")


def test_unrepresentable_weights():
    sd = dict(_state())
    sd["blocks.0.attn.b_Q"] = np.ones_like(sd["blocks.0.attn.b_Q"])
    with pytest.raises(WeightsError, match="b_Q is nonzero"):
        import_state_dict(sd, Conventions(n_ctx=4))
    sd = dict(_state())
    sd["blocks.0.ln1.w"] = np.ones(3)
    with pytest.raises(WeightsError, match="layer norms"):
        import_state_dict(sd, Conventions(n_ctx=4))


# --- command line -------------------------------------------------------------


def test_cli_exact_and_departing(tmp_path, capsys):
    import json

    assert main(["conform", str(_gd_file(tmp_path)), "--against", "gd.one_layer", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["fitted"] == [{"η": "3/16"}] and doc["exact"] and doc["departs"] is None
    path = _gd_file(tmp_path, perturb=1e-3, name="p.npz")
    assert main(["conform", str(path), "--against", "gd.one_layer"]) == 1
    out = capsys.readouterr().out
    assert "departs at layer 0, block W_" in out


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "x.npz"
    bad.write_text("not a model")
    assert main(["conform", str(bad), "--against", "gd.one_layer"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "not a .npz weight file" in err
    assert main(["conform", str(_gd_file(tmp_path)), "--against", "nope"]) == 2
    assert "cannot conform against 'nope'" in capsys.readouterr().err


def _bad_npz(tmp_path, what):
    from transformer_proofs.constructions.importing import save_npz

    sd = dict(_state())
    layers = (LayerConvention(key_mask="context"),)
    conv = Conventions(n_ctx=4, layers=layers)
    if what == "heads":
        conv = Conventions(n_ctx=4, layers=layers, n_heads=2)
    elif what == "softmax":
        conv = Conventions(n_ctx=4, layers=(LayerConvention("softmax", key_mask="context"),))
    elif what == "missing":
        del sd["blocks.0.attn.W_O"]
    elif what == "nan":
        sd["blocks.0.attn.W_V"] = np.full_like(sd["blocks.0.attn.W_V"], np.nan)
    path = tmp_path / f"{what}.npz"
    if what == "nan":  # save_npz refuses NaN itself: write the file by hand
        np.savez(path, conventions=np.array(__import__("json").dumps(conv.to_json())), **sd)
    else:
        save_npz(path, sd, conv)
    return path


@pytest.mark.parametrize("what,message", [
    ("heads", "blocks.0.attn.W_Q has 1 heads, the model declares n_heads = 2"),
    ("softmax", "layer 0, head 0 is softmax attention; gd claims linear attention"),
    ("missing", "blocks.0.attn.W_O is missing"),
    ("nan", "blocks.0.attn.W_V contains NaN or inf"),
])
def test_cli_names_each_bad_input_in_one_line(tmp_path, capsys, what, message):
    assert main(["conform", str(_bad_npz(tmp_path, what)), "--against", "gd.one_layer"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {message}\n"
