"""Tests of verify/torch_backend.py: the export (numpy, always run), the
PyTorch modules and the TransformerLens loader (skipped without the extras),
and the torch/lens checks of the gd claims."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformer_proofs.constructions.arithmetic import Float64
from transformer_proofs.constructions.engine import (
    MLP,
    Attention,
    Head,
    PromptError,
    Transformer,
    context_mask,
    forward,
)
from transformer_proofs.constructions.gradient_descent import relu_ridge_transformer, von_oswald_transformer
from transformer_proofs.verify import torch_backend as tb
from transformer_proofs.verify.registry import Context, select

SETTINGS = settings(max_examples=8, deadline=None)


def torch_or_skip():
    return pytest.importorskip("torch", reason="the torch extra is not installed")


def lens_or_skip():
    torch_or_skip()
    return pytest.importorskip("transformer_lens", reason="the lens extra (transformer-lens) is not installed")


# ---------------------------------------------------------------------------
# a strategy: small random transformers the export must support
# ---------------------------------------------------------------------------

SCORES = ("linear", "relu", "exp", "softmax")


@st.composite
def small_transformers(draw: st.DrawFn) -> tuple[Transformer, np.ndarray]:
    """A random transformer (1-3 layers, at most two attention layers: attention with 1-3 heads of varied
    sizes, additive or concatenated residual, any score, causal or not, a key
    mask that leaves every softmax query a key; optional ReLU MLPs) and a
    prompt for it.  Weights are small dyadic rationals."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    D = draw(st.integers(1, 4))
    N = draw(st.integers(2, 5))
    dyadic = lambda shape, s=0.375: np.round(rng.standard_normal(shape) * s * 16) / 16
    layers, width = [], D
    for _ in range(draw(st.integers(1, 3))):
        n_attn = sum(isinstance(a, Attention) for a in layers)
        if layers and (n_attn == 2 or draw(st.booleans())):
            hidden = draw(st.integers(1, 3))
            layers.append(MLP(dyadic((hidden, width)), dyadic((width, hidden)), dyadic(hidden), dyadic(width)))
            continue
        score = draw(st.sampled_from(SCORES))
        concat = draw(st.booleans())
        d_out = draw(st.integers(1, 3)) if concat else width
        heads = []
        for _ in range(draw(st.integers(1, 3))):
            dh, dv = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            heads.append(Head(dyadic((dh, width)), dyadic((dh, width)), dyadic((dv, width)), dyadic((d_out, dv))))
        causal = draw(st.booleans())
        keys = np.ones(N, dtype=int)
        keys[draw(st.integers(1, N - 1))] = draw(st.sampled_from([0, 1]))  # token 0 stays a key
        scale = draw(st.sampled_from([None, Fraction(1, N), Fraction(1, 3)]))
        layers.append(Attention(tuple(heads), score, keys, causal, scale, "concat" if concat else "add"))
        width += d_out if concat else 0
    model = Transformer(tuple(layers), tuple(f"c:{k}" for k in range(D)), name="random")
    return model, dyadic((D, N), 1.0)


@SETTINGS
@given(small_transformers())
def test_strategy_keeps_its_promise(case):
    model, Z = case
    assert 1 <= len(model.layers) <= 3 and sum(isinstance(a, Attention) for a in model.layers) <= 2 and Z.shape == (model.d_model, Z.shape[1])
    for layer in model.layers:
        if isinstance(layer, Attention):
            assert layer.key_mask[0] == 1 and 1 <= len(layer.heads) <= 3
    assert np.isfinite(forward(Float64(), model, Z)).all()  # the engine runs it


# ---------------------------------------------------------------------------
# the export, without torch: an independent numpy forward of the TL layout
# ---------------------------------------------------------------------------


def numpy_forward_of_export(export: tb.Export, Z: np.ndarray) -> np.ndarray:
    """TransformerLens' computation written out in numpy (rows = tokens)."""
    x = tb.embed_prompt(export, Z)[0]  # [N, D]
    sd = export.state_dict
    root = np.sqrt(export.d_head) if export.sqrt_d_head_folded else 1.0
    for l, b in enumerate(export.blocks):
        p = f"blocks.{l}.attn."
        q = np.einsum("nd,hde->hne", x, sd[p + "W_Q"]) / root
        k = np.einsum("nd,hde->hne", x, sd[p + "W_K"])
        v = np.einsum("nd,hde->hne", x, sd[p + "W_V"])
        S = q @ k.transpose(0, 2, 1)  # [H, q, k]
        if b.score is None:
            A = np.zeros_like(S)
        else:
            m = tb.attention_mask(b.key_mask, export.n_ctx, b.causal).T
            if b.score == "softmax":
                E = np.exp(np.where(m > 0, S, -np.inf) - np.where(m > 0, S, -np.inf).max(-1, keepdims=True))
                A = E / E.sum(-1, keepdims=True)
            else:
                A = {"linear": S, "relu": np.maximum(S, 0), "exp": np.exp(S * m)}[b.score] * m
        x = x + np.einsum("hqk,hke,hed->qd", A, v, sd[p + "W_O"])
        if b.mlp_activation is not None:
            p = f"blocks.{l}.mlp."
            h = x @ sd[p + "W_in"] + sd[p + "b_in"]
            h = np.maximum(h, 0) if b.mlp_activation == "relu" else h
            x = x + h @ sd[p + "W_out"] + sd[p + "b_out"]
    return x.T  # (D, N)


@SETTINGS
@given(small_transformers(), st.booleans())
def test_export_layout_computes_the_engine_forward(case, fold):
    model, Z = case
    export = tb.export_transformer(model, Z.shape[1], fold_sqrt_d_head=fold)
    expected = forward(Float64(), model, Z)
    got = numpy_forward_of_export(export, Z)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * (1 + np.abs(expected).max()))


def test_export_shapes_names_and_folding():
    model = von_oswald_transformer(3, 5, [Fraction(1, 4), Fraction(1, 8)])
    e = tb.export_transformer(model, fold_sqrt_d_head=True)
    assert e.d_model == 4 and e.n_layers == 2 and e.n_heads == 1 and e.d_head == 4 and e.attn_only
    assert e.state_dict["blocks.0.attn.W_Q"].shape == (1, 4, 4)
    assert e.state_dict["blocks.1.attn.W_O"].shape == (1, 4, 4)
    assert e.coordinates == ("x:0", "x:1", "x:2", "y") and e.coordinate("y") == 3
    # √d_head = 2 folded into W_Q exactly; the 1/n scale folded into W_O
    assert e.state_dict["blocks.0.attn.W_Q"][0, 0, 0] == 2.0
    assert e.state_dict["blocks.0.attn.W_O"][0, 0, 0] == pytest.approx(0.25 / 5, rel=0, abs=0)
    assert all(v.dtype == np.float64 for v in e.state_dict.values())
    with pytest.raises(KeyError, match="no residual coordinate"):
        e.coordinate("z")


def test_ridge_export_pads_heads_to_a_power_of_four():
    model = relu_ridge_transformer(2, 3, [Fraction(1, 8)], Fraction(1, 4), 4)
    e = tb.export_transformer(model)
    assert e.n_heads == 3 and e.d_head == 16  # the widest head: W_V is 7 x 7
    assert np.all(e.state_dict["blocks.0.attn.W_Q"][2, :, 1:] == 0)  # head 3 has d_head 1


def test_bad_inputs_are_named():
    model = von_oswald_transformer(2, 3, [Fraction(1, 4)])
    e = tb.export_transformer(model)
    with pytest.raises(PromptError, match="expected"):
        tb.embed_prompt(e, np.zeros((5, 4)))
    with pytest.raises(PromptError, match="tokens"):
        tb.embed_prompt(e, np.zeros((3, 7)))
    with pytest.raises(PromptError, match="NaN"):
        tb.embed_prompt(e, np.full((3, 4), np.nan))
    with pytest.raises(PromptError, match="n_tokens"):
        tb.export_transformer(model.with_layers([]))
    with pytest.raises(PromptError, match="symbols|numeric"):
        from transformer_proofs.constructions.arithmetic import Sym
        tb.export_transformer(von_oswald_transformer(1, 2, [Sym("eta")]))
    with pytest.raises(ValueError, match="backend"):
        tb.torch_check(None, None, backend="jax")
    with pytest.raises(KeyError, match="induction_head"):
        tb.build_named("no such construction")


def test_checks_skip_with_the_reason_when_the_extras_are_missing(monkeypatch):
    monkeypatch.setattr(tb, "torch_missing", lambda: "torch is not importable (test)")
    monkeypatch.setattr(tb, "lens_missing", lambda: "transformer_lens is not importable (test)")
    claim = select("gd.one_layer")[0]
    for mode in ("torch", "lens"):
        r = claim.checks[mode](Context(0))
        assert r.status == "skipped" and "not importable" in r.detail and r.evidence == "library"


# ---------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------


@SETTINGS
@given(small_transformers())
def test_torch_agrees_with_the_engine(case):
    torch_or_skip()
    model, Z = case
    err, tol, ratio, ok = tb.library_vs_engine(model, Z, "torch")
    assert ok, (err, tol, ratio)


@pytest.mark.parametrize("claim_id", ["gd.one_layer", "gd.multi_layer", "gd.preconditioned", "gd.relu_attention_ridge"])
def test_torch_check_holds_and_rejects_every_mutant(claim_id):
    torch_or_skip()
    claim = select(claim_id)[0]
    r = claim.checks["torch"](Context(0, effort=0.5))
    assert r.status == "holds", r.detail
    assert r.evidence == "library" and not r.data["mutants_missed"]
    assert r.data["worst_ratio_without_factor"] < 1  # the factor is a margin, not needed here


def test_torch_check_catches_a_wrong_convention(monkeypatch):
    """A library run with the pattern transposed (keys and queries swapped,
    the classic row/column slip) must fail the check."""
    torch = torch_or_skip()

    def transposed(self, x):
        return torch.einsum("bhne,hed->bnd", self.pattern(x).transpose(-1, -2) @ torch.einsum("bnd,hde->bhne", x, self.W_V), self.W_O)

    real = tb._torch_modules

    def patched():
        K, *rest = real()
        K.forward = transposed
        return (K, *rest)

    monkeypatch.setattr(tb, "_torch_modules", patched)
    r = select("gd.one_layer")[0].checks["torch"](Context(0, effort=0.5))
    assert r.status == "fails", r.detail


def test_induction_head_in_torch():
    torch_or_skip()
    model, Z = tb.build_named("induction_head", seed=3)
    assert tb.library_vs_engine(model, Z, "torch")[3]


# ---------------------------------------------------------------------------
# TransformerLens
# ---------------------------------------------------------------------------


def test_lens_runs_the_induction_head_and_its_pattern_is_readable():
    """The docs/torch.md example: induction.previous_token_head's construction in TransformerLens."""
    lens_or_skip()
    model, Z = tb.build_named("induction_head", seed=1)
    export = tb.export_transformer(model, fold_sqrt_d_head=True)
    lens = tb.load_lens(export)
    final, cache = tb.run_lens(lens, export, Z)
    err, tol, _, ok = tb.library_vs_engine(model, Z, "lens")
    assert ok, (err, tol)
    V, N = 5, 10
    tokens = Z[:V].argmax(axis=0)
    pattern = cache["blocks.1.attn.hook_pattern"][0, 0].numpy()  # [query, key]
    assert not pattern[0].any()  # query 0 has no key: the empty sum
    for j in range(V, N):  # second half: attends to the token after the earlier occurrence
        assert pattern[j].argmax() == j - V + 1 and pattern[j].max() > 0.99
    out = final[0][export.coordinate("out:0"): export.coordinate("out:0") + V, -1]
    assert out.argmax() == tokens[0] and out.max() > 0.99  # last token: first seen at V-1, followed by tokens[V] = tokens[0]


@pytest.mark.parametrize("claim_id", ["induction.previous_token_head", "induction.mixture"])
@pytest.mark.parametrize("backend", ["torch", "lens"])
def test_induction_checks_hold_and_reject_every_mutant(claim_id, backend):
    lens_or_skip() if backend == "lens" else torch_or_skip()
    r = select(claim_id)[0].checks[backend](Context(0, effort=0.34))
    assert r.status == "holds", r.detail
    assert len(r.data["mutants_caught"]) == 3 and not r.data["mutants_missed"]


def test_empty_softmax_queries_are_the_empty_sum_in_both_libraries():
    """A causal softmax layer whose first token is no key: query 0 has no key;
    with empty_query="zero" both libraries give it 0, and without it the
    export refuses the layer, as the engine does."""
    torch_or_skip()
    rng = np.random.default_rng(1)
    N = 4
    head = Head(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((3, 3)))
    keys = np.array([0, 1, 1, 1])
    model = Transformer((Attention((head,), "softmax", keys, causal=True, empty_query="zero"),), ("a", "b", "c"))
    Z = rng.standard_normal((3, N))
    assert tb.library_vs_engine(model, Z, "torch")[3]
    if lens_missing_reason() is None:
        assert tb.library_vs_engine(model, Z, "lens")[3]
    with pytest.raises(PromptError, match="no unmasked key"):
        tb.export_transformer(model.with_layers([replace(model.layers[0], empty_query="error")]))


def lens_missing_reason():
    return tb.lens_missing()


def test_lens_refuses_an_unfolded_export():
    lens_or_skip()
    model = von_oswald_transformer(2, 3, [Fraction(1, 4)])
    with pytest.raises(PromptError, match="√d_head"):
        tb.load_lens(tb.export_transformer(model))


@pytest.mark.parametrize("claim_id", ["gd.one_layer", "gd.relu_attention_ridge"])
def test_lens_check_holds_and_rejects_every_mutant(claim_id):
    lens_or_skip()
    r = select(claim_id)[0].checks["lens"](Context(0, effort=0.34))
    assert r.status == "holds", r.detail
    assert not r.data["mutants_missed"] and r.data["library"].startswith("TransformerLens")


def test_lens_softmax_key_mask_goes_through_attention_mask():
    lens_or_skip()
    rng = np.random.default_rng(0)
    N = 4
    head = Head(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((3, 3)))
    model = Transformer((Attention((head,), "softmax", context_mask(N - 1), causal=False),), ("a", "b", "c"))
    assert tb.library_vs_engine(model, rng.standard_normal((3, N)), "lens")[3]


# ---------------------------------------------------------------------------
# the fgd and energy families (kernels registered in TORCH_KERNELS, per-head scores)
# ---------------------------------------------------------------------------

LIBRARY_CLAIMS = ["fgd.functional_gd", "fgd.multi_head", "energy.attention_mm", "energy.hopfield", "energy.feedforward_pgd"]


@pytest.mark.parametrize("claim_id", LIBRARY_CLAIMS)
def test_fgd_and_energy_torch_checks_hold(claim_id):
    torch_or_skip()
    r = select(claim_id)[0].checks["torch"](Context(0, effort=0.34))
    assert r.status == "holds" and r.evidence == "library", r.detail


@pytest.mark.parametrize("claim_id", ["fgd.multi_head", "energy.attention_mm"])
def test_lens_runs_per_head_scores_and_kernels(claim_id):
    lens_or_skip()
    r = select(claim_id)[0].checks["lens"](Context(0, effort=0.34))
    assert r.status == "holds", r.detail


def test_heads_of_different_scores_in_one_layer_are_exported_per_head():
    torch_or_skip()
    from transformer_proofs.constructions.functional_gd import fgd_prompt, multi_head_transformer
    rng = np.random.default_rng(2)
    model = multi_head_transformer(2, 3, [[Fraction(1, 4), Fraction(1, 8), Fraction(1, 2)]], ["linear", "relu", "softmax"])
    e = tb.export_transformer(model)
    assert e.blocks[0].scores(e.n_heads) == ("linear", "relu", "softmax")
    Z = fgd_prompt(rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal(2))
    assert tb.library_vs_engine(model, Z, "torch")[3]
    swapped = model.with_layers([replace(model.layers[0], heads=tuple(replace(h, score="linear") for h in model.layers[0].heads))])
    assert not np.allclose(tb.run_torch(tb.export_transformer(swapped), Z), tb.run_torch(e, Z))
