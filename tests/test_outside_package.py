"""A researcher's own package (tests/outside_package, the example of
docs/adding-a-claim.md) registers a claim through the entry point
``transformer_proofs.claims``: the CLI lists and runs it, the report shows it,
pytest collects its checks and falsifiers as items.  The package is installed
into a temporary directory put on PYTHONPATH (its dist-info carries the entry
point), so the environment itself is left untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tests" / "outside_package"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(PACKAGE)], check=True, capture_output=True)
    return {**os.environ, "PYTHONPATH": str(target)}


def _run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True)


def test_listed_and_run_by_the_cli(env: dict[str, str]) -> None:
    assert "lsa.one_layer_prediction" in _run(["-m", "verify", "list"], env).stdout
    res = _run(["-m", "verify", "run", "--claim", "lsa.*", "--json"], env)
    assert res.returncode == 0, res.stderr
    (claim,) = json.loads(res.stdout)["claims"]
    assert claim["status"] == "holds" and claim["source"] == "lsa-claims"
    assert {c["mode"] for c in claim["checks"]} >= {"rational", "prime-field", "symbolic"}
    assert all(f["caught"] for f in claim["falsifiers"]) and len(claim["falsifiers"]) == 3


def test_in_the_report(env: dict[str, str], tmp_path: Path) -> None:
    res = _run(["-m", "verify", "report", "--claim", "lsa.*,gd.one_layer", "--out", str(tmp_path / "r"),
                "--effort", "0.3"], env)
    assert res.returncode == 0, res.stderr
    assert "lsa.one_layer_prediction" in (tmp_path / "r" / "REPORT.md").read_text()


def test_collected_by_pytest(env: dict[str, str], tmp_path: Path) -> None:
    res = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--claims", "lsa.*", "-rA", str(tmp_path)], env,
               cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "claims::lsa.one_layer_prediction::rational" in res.stdout
    assert "claims::lsa.one_layer_prediction::falsifier::Γ transposed" in res.stdout


def test_an_uncaught_falsifier_fails_its_item(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from dataclasses import replace\n"
        "from lsa_claims.claims import SPEC\n"
        "from transformer_proofs import Claim, Mutant, Provenance, register, spec_checks, spec_falsifiers\n"
        "from lsa_claims.claims import ZFB\n"
        "weak = replace(SPEC, mutants=(Mutant('no change', 'the construction itself', lambda m, i: m),))\n"
        "register(Claim(id='tmp.uncaught', paper=ZFB, kind='identity', statement='s', checks=spec_checks(weak),\n"
        "               falsifiers=spec_falsifiers(weak), provenance=Provenance('ours', 'a test')))\n")
    res = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--claims", "tmp.*", str(tmp_path)], env,
               cwd=tmp_path)
    assert res.returncode == 1, res.stdout
    assert "falsifier 'no change' was NOT caught" in res.stdout
    assert "5 passed" in res.stdout and "1 failed" in res.stdout
