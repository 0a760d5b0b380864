"""benchmarks/sweep_seeds.py: seed ranges, what counts as a failure, and a
small sample of seeds run for real (CI's sample of the 0..99 sweep)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "sweep_seeds.py"
_spec = importlib.util.spec_from_file_location("sweep_seeds", _PATH)
sweep = importlib.util.module_from_spec(_spec)
sys.modules["sweep_seeds"] = sweep  # dataclasses look their module up
_spec.loader.exec_module(sweep)


def test_parse_seeds() -> None:
    assert sweep.parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    for bad in ("-1", "3-1", "x", "1-"):
        with pytest.raises(argparse.ArgumentTypeError):
            sweep.parse_seeds(bad)


def _doc(status: str = "holds", caught: bool = True) -> dict:
    return {"claims": [{"id": "a.b", "status": status, "checks": [
        {"mode": "float64", "status": "fails" if status == "fails" else "holds", "detail": "err > tol"}],
        "falsifiers": [{"name": "flip", "caught": caught, "by": "float64: HOLDS"}]}]}


def test_problems_of() -> None:
    assert sweep.problems_of(_doc(), 0) == []
    assert sweep.problems_of(_doc("refuted"), 0) == []
    assert sweep.problems_of(_doc("fails"), 1) == ["a.b fails [float64: fails (err > tol)]"]
    assert sweep.problems_of(_doc(caught=False), 1) == ["a.b falsifier not caught: flip (float64: HOLDS)"]
    assert sweep.problems_of({"claims": []}, 1) == ["no claims in the results"]
    assert sweep.problems_of(_doc(), 2) == ["exit code 2"]


def test_a_sample_of_seeds(capsys: pytest.CaptureFixture) -> None:
    """Two seeds of two cheap claims (one of them an erratum), run as the
    sweep runs them; the full 0..99 sweep is run by hand (see the README)."""
    code = sweep.main(["--seeds", "5,17", "--claim", "gd.one_layer,gd.preconditioned_printed",
                       "--effort", "0.2", "--jobs", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2/2 seeds pass" in out
