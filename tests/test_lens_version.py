"""TransformerLens 3.x (or any major version but 4) is refused with one line:
the ``lens`` checks are skipped with that reason, never ``fails`` (an adapter
must not make a theorem look false).  Runs without torch: the version string
and the imports are faked."""

from __future__ import annotations

import sys
import types

import pytest
from transformer_proofs.verify import torch_backend as tb
from transformer_proofs.verify.spec import Context


@pytest.mark.parametrize("version,ok", [("4.3.0", True), ("4.10.1", True), ("3.2.1", False), ("2.16.0", False),
                                        ("5.0.0", False), ("dev", False)])
def test_lens_unsupported(version: str, ok: bool) -> None:
    why = tb.lens_unsupported(version)
    assert (why is None) is ok
    if not ok:
        assert f"TransformerLens {version} is not supported" in why and "\n" not in why


@pytest.fixture
def fake_lens_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tb, "torch_missing", lambda: None)
    monkeypatch.setitem(sys.modules, "transformer_lens", types.ModuleType("transformer_lens"))
    monkeypatch.setattr(tb, "lens_version", lambda: "3.1.0")
    tb.lens_missing.cache_clear()
    yield
    tb.lens_missing.cache_clear()


def test_lens_3_is_missing_with_a_reason(fake_lens_3: None) -> None:
    assert tb.lens_missing() == tb.lens_unsupported("3.1.0")


def test_lens_check_under_3x_is_skipped_not_failed(fake_lens_3: None) -> None:
    from transformer_proofs.verify.runner import fold_status, run_check

    claim, check = _a_lens_check()
    res = run_check(check, Context(0, 0.2))
    assert res.status == "skipped" and "TransformerLens 3.1.0 is not supported" in res.detail
    assert fold_status(claim, [res], []) == "skipped"


def test_load_lens_refuses_3x(fake_lens_3: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    with pytest.raises(tb.PromptError, match="TransformerLens 3.1.0 is not supported"):
        tb.load_lens(object())


def _a_lens_check() -> tuple:
    from transformer_proofs.verify.registry import all_claims

    for claim in all_claims():
        if "lens" in claim.checks:
            return claim, claim.checks["lens"]
    pytest.fail("no claim has a lens check")
