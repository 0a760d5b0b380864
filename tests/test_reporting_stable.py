"""verify.reporting.stable: no last-bit figure in what is committed; each
check's figure in the units of its relation."""

import json

from transformer_proofs.verify.reporting.stable import (
    RAW_NOTE,
    check_figure,
    round_sig,
    stabilise,
    without_ratio,
)

from tests.reporting_sample import sample_document


def test_round_sig_keeps_two_significant_digits_and_order() -> None:
    assert round_sig(1.317587537135367e-15) == 1.3e-15
    assert round_sig(0.0) == 0.0 and round_sig(None) is None and round_sig(3) == 3
    xs = [1.24e-16, 1.25e-16, 1.26e-16, 9.99e-16]
    assert [round_sig(x) for x in xs] == sorted(round_sig(x) for x in xs)  # monotone: err <= tol survives


def test_numerical_checks_lose_their_last_bit_figures() -> None:
    raw = sample_document()
    doc = stabilise(raw)
    assert "machine" not in doc and "machine" in raw
    for c in doc["claims"]:
        for ch in c["checks"]:
            if ch["evidence"] in ("numerical", "library"):
                assert ch["max_error"] is None and ch["tolerance"] is None
                assert "worst_ratio" not in ch.get("data", {})
                assert "running error bound =" not in ch["detail"]
        for f in c["falsifiers"]:
            assert "running error bound =" not in f["by"]
    one = next(c for c in doc["claims"] if c["id"] == "gd.one_layer")
    assert one["checks"][0]["figures"] == RAW_NOTE


def test_two_machines_give_the_same_stable_document() -> None:
    """The float64 figures an AVX2 and an AVX-512 run disagree on (measured:
    energy.attention_mm's worst entry moved) vanish from the committed document."""
    a, b = sample_document(), sample_document()
    ch = next(c for c in b["claims"] if c["id"] == "energy.attention_mm")["checks"][0]
    ch["max_error"], ch["tolerance"], ch["data"]["worst_ratio"] = 2.220446049250313e-16, 1.5750566675863564e-15, 0.141
    ch["detail"] = ch["detail"].replace("0.084", "0.14")
    b["machine"] = {"blas_kernels": ["openblas Haswell"]}
    assert json.dumps(stabilise(a), sort_keys=True) == json.dumps(stabilise(b), sort_keys=True)


def test_ratio_clause_is_removed_whole() -> None:
    text = "equal, within the running error bounds of both sides; largest error / running error bound = 0.084"
    assert without_ratio(text) == "equal, within the running error bounds of both sides"
    assert without_ratio(text + "; smallest certified slack 3") .endswith("sides; smallest certified slack 3")


def test_figures_speak_in_the_units_of_their_relation() -> None:
    doc = stabilise(sample_document())
    figs = {(c["id"], ch["mode"]): check_figure(ch, c["relation"]["name"]) for c in doc["claims"] for ch in c["checks"]}
    assert figs[("gd.one_layer", "float64")] == "every entry within its running bound"
    assert figs[("gd.one_layer", "rational")] == "= 0 exactly"
    assert figs[("gd.one_layer", "prime-field")].startswith("= 0 in GF(p), P(false pass) ≤ ")
    assert figs[("gd.one_layer", "mpmath")].startswith("error ") and "at 120 digits" in figs[("gd.one_layer", "mpmath")]
    assert figs[("gd.preconditioned_printed", "rational")] == "counterexample found"
    assert figs[("fgd.kernel_regression_limit", "ball")].startswith("slack ≥ ")
    assert figs[("fgd.matched_activation", "empirical")].endswith("(intervals: detail)")
    assert figs[("induction.chi2_gradient", "rational")] == "unique argmax, exactly"
    assert figs[("gd.one_layer", "torch")] == "not run"
    assert all(len(f) <= 48 for f in figs.values())
