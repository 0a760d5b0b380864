"""verify.gate: the baseline keeps no machine figures, and the comparison
refuses what it cannot compare and flags every way a run can get worse."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from transformer_proofs.verify.gate import BASELINE_FORMAT, GateError, baseline_from, check_ratio, compare


def _check(mode: str, status: str = "holds", err: float | None = 1e-16, tol: float | None = 1e-15,
           evidence: str = "numerical", instances: int = 20) -> dict[str, Any]:
    return {"mode": mode, "evidence": evidence, "instances": instances, "max_error": err, "tolerance": tol,
            "status": status, "detail": ""}


def _claim(cid: str, status: str = "holds", checks: list | None = None, falsifiers: tuple = ("flip",)) -> dict:
    return {"id": cid, "status": status,
            "checks": checks if checks is not None else
            [_check("float64"), _check("rational", err=0.0, tol=0.0, evidence="exact", instances=4),
             _check("torch", "skipped", None, None, "library", 0)],
            "falsifiers": [{"name": f, "caught": True, "by": "float64: caught"} for f in falsifiers]}


def _doc(*claims: dict, seed: int = 0, effort: float = 1.0, selection: dict | None = None) -> dict:
    doc = {"seed": seed, "effort": effort, "environment": {}, "claims": list(claims)}
    if selection:
        doc["selection"] = selection
    return doc


FULL = _doc(_claim("a.one"), _claim("a.two"), _claim("b.printed", "refuted",
                                                     [_check("rational", "refuted", 0.5, 0.0, "exact", 1)]))


def base() -> dict:
    return baseline_from(copy.deepcopy(FULL))


def test_baseline_keeps_no_float_figures() -> None:
    b = base()
    assert b["format"] == BASELINE_FORMAT and b["seed"] == 0 and b["effort"] == 1.0
    text = json.dumps(b)
    assert "max_error" not in text and "tolerance" not in text and "e-1" not in text
    assert b["claims"]["a.one"]["checks"]["float64"] == {"status": "holds", "evidence": "numerical", "instances": 20}
    assert b["claims"]["a.one"]["falsifiers"] == ["flip"]


def test_identical_run_passes_and_last_bits_do_not_matter() -> None:
    assert compare(copy.deepcopy(FULL), base()) == []
    other_cpu = copy.deepcopy(FULL)
    other_cpu["claims"][0]["checks"][0]["max_error"] = 9e-16  # another BLAS kernel: still within its bound
    assert compare(other_cpu, base()) == []


def test_float_check_judged_by_its_derived_bound() -> None:
    doc = copy.deepcopy(FULL)
    doc["claims"][0]["checks"][0]["max_error"] = 1.01e-15  # ratio 1.01 yet "holds": a contradiction
    assert any("1.01 x its derived tolerance" in p for p in compare(doc, base()))
    assert check_ratio(_check("x", err=0.0, tol=0.0)) == 0.0
    assert check_ratio(_check("x", err=1.0, tol=0.0)) == float("inf")
    assert check_ratio(_check("x", err=None)) is None


@pytest.mark.parametrize("field,value,words", [
    ("seed", 3, "at seed 3 but the baseline at seed 0"),
    ("effort", 0.5, "at effort 0.5 but the baseline at effort 1.0"),
])
def test_refuses_another_seed_or_effort(field: str, value: Any, words: str) -> None:
    doc = copy.deepcopy(FULL)
    doc[field] = value
    with pytest.raises(GateError, match=words):
        compare(doc, base())


@pytest.mark.parametrize("mutate,words", [
    (lambda b: b["claims"].clear(), "the baseline is empty"),
    (lambda b: b.pop("format"), "format None"),
    (lambda b: b.__setitem__("seed", "0"), "seed is not an integer"),
    (lambda b: b.pop("effort"), "effort is not a finite number"),
    (lambda b: b["claims"]["a.one"].__setitem__("status", "bogus"), "unknown status 'bogus'"),
    (lambda b: b["claims"]["a.one"]["checks"]["float64"].__setitem__("status", "bogus"), "unknown status 'bogus'"),
    (lambda b: b["claims"]["a.one"].__setitem__("status", "fails"), "recorded as fails"),
    (lambda b: b["claims"]["a.one"]["checks"].clear(), "records no checks"),
    (lambda b: b["claims"]["a.one"].__setitem__("falsifiers", "flip"), "falsifiers is not a list"),
    (lambda b: b["claims"]["a.one"]["checks"]["float64"].pop("instances"), "instances is not a count"),
])
def test_refuses_a_malformed_or_empty_baseline(mutate: Any, words: str) -> None:
    b = base()
    mutate(b)
    with pytest.raises(GateError, match=words):
        compare(copy.deepcopy(FULL), b)


@pytest.mark.parametrize("doc,words", [
    ([], "not a JSON object"),
    ({"seed": 0, "effort": 1.0}, "has no 'claims'"),
    (_doc(), "has no claims"),
    (_doc(_claim("a.one", "bogus")), "unknown status 'bogus'"),
    (_doc(_claim("a.one"), _claim("a.one")), "appears twice"),
    (_doc(_claim("a.one", checks=[_check("float64", err="small")])), "max_error is not a number"),
])
def test_refuses_malformed_results(doc: Any, words: str) -> None:
    with pytest.raises(GateError, match=words):
        compare(doc, base())


def test_regressions_are_flagged() -> None:
    def flagged(mutate: Any) -> list[str]:
        doc = copy.deepcopy(FULL)
        mutate(doc)
        return compare(doc, base())

    assert "a.two: in the baseline but not in this run" in flagged(lambda d: d["claims"].pop(1))
    assert "a.one: was holds, now fails" in flagged(lambda d: d["claims"][0].__setitem__("status", "fails"))
    assert "b.printed: was refuted, now holds" in flagged(lambda d: d["claims"][2].__setitem__("status", "holds"))
    assert "a.one [float64]: check disappeared" in flagged(lambda d: d["claims"][0]["checks"].pop(0))
    assert "a.one [float64]: was holds, now error" in flagged(
        lambda d: d["claims"][0]["checks"][0].__setitem__("status", "error"))
    assert "a.one [float64]: ran 5 instance(s), the baseline 20" in flagged(
        lambda d: d["claims"][0]["checks"][0].__setitem__("instances", 5))
    assert "a.one: falsifier 'flip' is gone" in flagged(lambda d: d["claims"][0]["falsifiers"].clear())
    assert "a.one: falsifier 'flip' is no longer caught" in flagged(
        lambda d: d["claims"][0]["falsifiers"][0].__setitem__("caught", False))
    assert "c.new: a new claim that is fails" in flagged(lambda d: d["claims"].append(_claim("c.new", "fails")))
    assert "a.one [mpmath]: a new check that is error" in flagged(
        lambda d: d["claims"][0]["checks"].append(_check("mpmath", "error", evidence="multiprecision")))
    # new claims and checks that pass are welcome
    assert flagged(lambda d: d["claims"].append(_claim("c.new"))) == []
    assert flagged(lambda d: d["claims"][0]["checks"].append(_check("mpmath", evidence="multiprecision"))) == []


def test_subset_runs_are_gated_against_the_matching_subset() -> None:
    subset = _doc(copy.deepcopy(FULL["claims"][0]), selection={"claim": "a.one", "mode": None})
    assert compare(subset, base()) == []
    wider = _doc(copy.deepcopy(FULL["claims"][0]), selection={"claim": "a.*", "mode": None})
    assert compare(wider, base()) == ["a.two: in the baseline but not in this run"]
    exact = _doc(*[dict(copy.deepcopy(c), checks=[ch for ch in c["checks"] if ch["evidence"] == "exact"])
                   for c in FULL["claims"]], selection={"claim": None, "mode": "exact"})
    assert compare(exact, base()) == []
    exact["claims"].pop(2)
    assert compare(exact, base()) == ["b.printed: in the baseline but not in this run"]
    # a run whose claims lie outside the selection it records is not what it says
    liar = _doc(copy.deepcopy(FULL["claims"][1]), selection={"claim": "a.one", "mode": None})
    assert "a.two: in the run but outside its recorded selection 'a.one'" in compare(liar, base())


def test_a_mode_run_keeps_checks_that_need_the_baseline_to_hold() -> None:
    """--mode torch without torch skips every check: the CLI refuses that run;
    the gate still flags a check that held in the baseline and now skips."""
    b = base()
    b["claims"]["a.one"]["checks"]["torch"]["status"] = "holds"
    run = _doc(_claim("a.one", "skipped", [_check("torch", "skipped", None, None, "library", 0)]),
               selection={"claim": "a.one", "mode": "torch"})
    assert compare(run, b) == ["a.one [torch]: was holds, now skipped"]


@pytest.mark.parametrize("doc,words", [
    (_doc(_claim("a.one", "fails")), "do not pass"),
    (_doc(_claim("a.one"), selection={"claim": "a.*", "mode": None}), "a baseline is made from a full run"),
])
def test_baseline_refuses_a_failing_or_partial_run(doc: dict, words: str) -> None:
    with pytest.raises(GateError, match=words):
        baseline_from(doc)
    uncaught = _claim("a.one")
    uncaught["falsifiers"][0]["caught"] = False
    with pytest.raises(GateError, match="do not pass"):
        baseline_from(_doc(uncaught))
