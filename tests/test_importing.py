"""constructions.importing: the inverse of the TransformerLens export.

Round trips (export -> import) give back the engine's forward pass; every
convention is read by name; what the engine cannot represent is refused in
one line."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions.arithmetic import Float64
from transformer_proofs.constructions.engine import forward
from transformer_proofs.constructions.gradient_descent import relu_ridge_transformer, von_oswald_transformer
from transformer_proofs.constructions.importing import (
    Conventions,
    LayerConvention,
    WeightsError,
    import_state_dict,
    load_npz,
    save_npz,
)
from transformer_proofs.verify.conform import load_weights, save_export
from transformer_proofs.verify.torch_backend import embed_prompt, export_transformer, stream_to_columns

ETA = Fraction(3, 16)


def _prompt(D, N, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(D, N))


def _same_forward(a, b, Z):
    fa = forward(Float64(), a, Z)
    fb = forward(Float64(), b, Z)
    np.testing.assert_allclose(fa, fb, rtol=0, atol=1e-14)


def test_npz_round_trip_gives_the_same_forward_pass(tmp_path):
    model = von_oswald_transformer(3, 5, [ETA, Fraction(1, 8)])
    path = tmp_path / "w.npz"
    save_export(export_transformer(model), path)
    imp = load_npz(path)
    assert imp.model.coordinates == model.coordinates and len(imp.model.layers) == 2
    _same_forward(model, imp.model, _prompt(4, 6))


def test_relu_heads_and_the_sqrt_d_head_convention(tmp_path):
    model = relu_ridge_transformer(2, 4, [Fraction(1, 4)], Fraction(1, 8), Fraction(4))
    export = export_transformer(model, fold_sqrt_d_head=True)  # TransformerLens' convention: W_Q carries √d_head
    path = tmp_path / "relu.npz"
    save_export(export, path)
    imp = load_npz(path)
    assert imp.conventions.attn_scale == "sqrt_d_head"
    Z = _prompt(model.d_model, 5, 1)
    _same_forward(model, imp.model, Z)
    # the wrong convention (no divisor) is not the same model
    sd = export.state_dict
    wrong = import_state_dict(sd, Conventions(n_ctx=5, attn_scale=1, layers=imp.conventions.layers))
    assert not np.allclose(forward(Float64(), wrong.model, Z), forward(Float64(), model, Z))


def test_columns_orientation_is_the_transpose():
    sd = export_transformer(von_oswald_transformer(2, 3, [ETA])).state_dict
    cols = {k: (np.swapaxes(v, 1, 2) if k.endswith(("W_Q", "W_K", "W_V", "W_O")) else v) for k, v in sd.items()}
    conv = Conventions(n_ctx=4, layers=(LayerConvention(key_mask="context"),))
    a = import_state_dict(sd, conv).model
    b = import_state_dict(cols, Conventions(n_ctx=4, orientation="columns", layers=conv.layers)).model
    _same_forward(a, b, _prompt(3, 4))
    with pytest.raises(WeightsError, match="orientation 'sideways'"):
        import_state_dict(sd, Conventions(n_ctx=4, orientation="sideways"))


def test_scale_not_folded_is_applied():
    model = von_oswald_transformer(2, 3, [ETA])
    sd = dict(export_transformer(model).state_dict)
    sd["blocks.0.attn.W_O"] = sd["blocks.0.attn.W_O"] * 3  # the file carries η, not η/n
    imp = import_state_dict(sd, Conventions(n_ctx=4, layers=(LayerConvention(key_mask="context", scale="1/3"),)))
    _same_forward(model, imp.model, _prompt(3, 4))


def test_conventions_json_round_trip(tmp_path):
    conv = Conventions(n_ctx=4, attn_scale="sqrt_d_head", coordinates=("x:0", "y"), readout=((0, -1), -1),
                       layers=(LayerConvention("relu", [1, 1, 1, 0], True, Fraction(1, 3), "relu"),), n_heads=1)
    assert Conventions.from_json(conv.to_json()) == Conventions.from_json(Conventions.from_json(conv.to_json()).to_json())
    with pytest.raises(WeightsError, match="format"):
        Conventions.from_json({"format": "other"})


def test_bad_npz_entries(tmp_path):
    sd = export_transformer(von_oswald_transformer(2, 3, [ETA])).state_dict
    with pytest.raises(WeightsError, match="reserved"):
        save_npz(tmp_path / "a.npz", {**sd, "conventions": np.zeros(1)}, Conventions(n_ctx=4))
    with pytest.raises(WeightsError, match="not a weight of this layout"):
        import_state_dict({**sd, "decoder.weight": np.zeros(2)}, Conventions(n_ctx=4))
    with pytest.raises(WeightsError, match="positional embeddings"):
        import_state_dict({**sd, "pos_embed.W_pos": np.ones((4, 3))}, Conventions(n_ctx=4))
    with pytest.raises(WeightsError, match="block 1 is missing"):
        import_state_dict({**sd, **{k.replace("blocks.0", "blocks.2"): v for k, v in sd.items() if "blocks.0" in k}},
                          Conventions(n_ctx=4))
    with pytest.raises(WeightsError, match="score 'cubic'"):
        import_state_dict(sd, Conventions(n_ctx=4, layers=(LayerConvention("cubic"),)))


# --- torch ---------------------------------------------------------------------


def test_torch_state_dict_of_the_twin_and_of_the_classic_layout(tmp_path):
    torch = pytest.importorskip("torch")
    from transformer_proofs.verify.conform import conform
    from transformer_proofs.verify.torch_backend import torch_model

    model = von_oswald_transformer(3, 5, [ETA])
    export = export_transformer(model)
    twin = torch_model(export)
    p1 = tmp_path / "twin.pt"
    torch.save(twin.state_dict(), p1)  # keys attn.0.W_Q, attn.0.mask: the mask gives n_ctx and the key mask
    p2 = tmp_path / "classic.pt"
    torch.save({k: torch.tensor(v) for k, v in export.state_dict.items()}, p2)  # n_ctx from pos_embed.W_pos
    for p in (p1, p2):
        rep = conform(load_weights(p), "gd.one_layer")
        assert rep.exact and rep.parameters == [[ETA]]
    rng = np.random.default_rng(0)  # every weight perturbed by 1e-3 (relative)
    p3 = tmp_path / "perturbed.pt"
    torch.save({k: torch.tensor(v * (1 + 1e-3 * rng.standard_normal(v.shape))) for k, v in export.state_dict.items()}, p3)
    rep = conform(load_weights(p3), "gd.one_layer")
    assert not rep.exact and abs(float(rep.parameters[0][0]) / float(ETA) - 1) < 1e-2
    assert 0 < rep.relative_error.lo and rep.departs["layer"] == 0 and rep.departs["block"].startswith("W_")
    # the module itself
    from transformer_proofs.constructions.importing import import_module

    imp = import_module(twin, Conventions(n_ctx=6, layers=(LayerConvention(key_mask="context"),)))
    Z = _prompt(4, 6, 2)
    x = torch.tensor(embed_prompt(export, Z))
    with torch.no_grad():
        lib = stream_to_columns(twin(x).numpy())[0]
    np.testing.assert_allclose(forward(Float64(), imp.model, Z), lib, atol=1e-14, rtol=0)


def test_torch_file_that_is_not_a_model(tmp_path):
    pytest.importorskip("torch")
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(WeightsError, match="is not a torch weight file"):
        load_weights(bad)


def test_transformer_lens_model():
    pytest.importorskip("transformer_lens")
    from transformer_proofs.constructions.importing import import_lens, lens_major_version
    from transformer_proofs.verify.conform import conform
    from transformer_proofs.verify.torch_backend import load_lens

    if lens_major_version() < 4:
        pytest.skip("TransformerLens 3.x is refused by design")
    model = von_oswald_transformer(3, 5, [ETA])
    export = export_transformer(model, fold_sqrt_d_head=True)
    lens = load_lens(export)
    with pytest.raises(Exception, match="softmax attention; gd claims linear"):
        conform(import_lens(lens), "gd.one_layer")  # TransformerLens attention is softmax unless told otherwise
    imp = import_lens(lens, layers=(LayerConvention("linear", key_mask="context"),), coordinates=model.coordinates)
    rep = conform(imp, "gd.one_layer")
    assert rep.exact and rep.parameters == [[ETA]]


def test_transformer_lens_3_is_refused_in_one_line(monkeypatch):
    from transformer_proofs.constructions import importing

    monkeypatch.setattr(importing, "lens_major_version", lambda: 3)
    with pytest.raises(WeightsError, match=r"TransformerLens 3\.x is not supported \(tested with 4\.x\)"):
        importing.import_lens(object())
