"""python -m verify: list, run (JSON document, exit codes), report
determinism (the gate: tests/test_gate.py; bad input: tests/test_cli_errors.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from transformer_proofs.verify.cli import main
from transformer_proofs.verify.registry import CheckResult, Claim, Context, Falsifier, Paper
from transformer_proofs.verify.runner import exit_code, run_claim

PAPER = Paper("A. Author", 2024, "T", "0000.00000", "Thm 1")


def test_list_names_every_gd_claim(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for cid in ("gd.one_layer", "gd.multi_layer", "gd.preconditioned", "gd.relu_attention_ridge"):
        assert cid in out


def test_run_json_document(capsys: pytest.CaptureFixture) -> None:
    code = main(["run", "--claim", "gd.one_layer,gd.preconditioned_printed", "--json", "--effort", "0.2"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    by_id = {c["id"]: c for c in doc["claims"]}
    one = by_id["gd.one_layer"]
    assert one["status"] == "holds"
    assert {c["mode"] for c in one["checks"]} >= {"float64", "mpmath", "rational", "prime-field", "symbolic", "symbolic-lemma"}  # + torch, lens
    assert all(f["caught"] for f in one["falsifiers"]) and one["falsifiers"]
    for key in ("mode", "instances", "max_error", "tolerance", "status"):
        assert key in one["checks"][0]
    printed = by_id["gd.preconditioned_printed"]
    assert printed["status"] == "refuted"
    assert {"counterexample", "correction", "corrected_claim", "scope"} <= set(printed["erratum"])


def test_mode_selects_by_evidence_kind(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--claim", "gd.one_layer", "--mode", "exact", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {c["mode"] for c in doc["claims"][0]["checks"]} == {"rational", "prime-field"}


def test_unknown_claim_glob_is_an_error(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--claim", "nope.*"]) == 2
    assert "no claim matches" in capsys.readouterr().err


def _claim(status: str, caught: bool = True, erratum=None) -> Claim:
    return Claim("t.x", PAPER, "s", "identity",
                 {"c": lambda ctx: CheckResult("c", "exact", 1, 0.0, 0.0, status)},
                 [Falsifier("m", "d", lambda ctx: (caught, "how"))], erratum=erratum)


def test_status_folding_and_exit_code() -> None:
    ctx = Context(0)
    assert run_claim(_claim("holds"), ctx).status == "holds"
    assert run_claim(_claim("fails"), ctx).status == "fails"
    uncaught = run_claim(_claim("holds", caught=False), ctx)
    assert uncaught.status == "fails", "a falsifier that passes is a failed claim check"
    assert exit_code([uncaught]) == 1
    assert run_claim(_claim("refuted"), ctx).status == "fails", "a counterexample to an expected claim is a regression"
    assert exit_code([]) == 1


def test_report_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "verify", "report", "--claim", "gd.one_layer,gd.preconditioned*,newton.convergence",
            "--effort", "0.2"]
    subprocess.run(args + ["--out", str(tmp_path / "a")], check=True, capture_output=True)
    subprocess.run(args + ["--out", str(tmp_path / "b")], check=True, capture_output=True)
    names = ["REPORT.md", "results.json"]
    names += [f"figures/{p.name}" for p in (tmp_path / "a" / "figures").glob("*")]  # with the plots extra
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    text = (tmp_path / "a" / "REPORT.md").read_text()
    assert "## Errata" in text and "arXiv:2306.00297" in text
