"""The claim spec's guards: a check that raises is its claim's error (the run
goes on), a float weight in an exact run is refused by name, a declared
Schwartz–Zippel degree below the measured one fails the claim; provenance and
errata obey the rules."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.constructions.arithmetic import ArithmeticDomainError, PrimeField, Symbolic
from transformer_proofs.verify.claims.gd import claims as gd
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.runner import known_modes, mode_selected, run_all

from transformer_proofs import (
    Check,
    CheckResult,
    Claim,
    Context,
    Erratum,
    Evidence,
    Paper,
    Provenance,
    Rational,
    run_claim,
    run_mode,
)

PAPER = Paper("A. Author", 2024, "T", "0000.00000", "Thm 1")


def _boom(ctx: Context) -> CheckResult:
    raise ZeroDivisionError("a singular drawn kernel")


def test_a_check_that_raises_is_that_claims_error_and_the_run_goes_on() -> None:
    bad = Claim("t.raises", PAPER, "s", "identity", {"rational": Check("rational", Evidence.EXACT, _boom)},
                provenance=Provenance("ours", "a test"))
    good = Claim("t.fine", PAPER, "s", "identity",
                 {"rational": Check("rational", Evidence.EXACT,
                                    lambda ctx: CheckResult("rational", "exact", 1, 0.0, 0.0, "holds"))},
                 provenance=Provenance("ours", "a test"))
    results = run_all([bad, good], Context(0), progress=False)
    assert [r.status for r in results] == ["error", "holds"]
    assert "ZeroDivisionError: a singular drawn kernel" in results[0].checks[0].detail


@pytest.mark.parametrize("ar", [Rational(), PrimeField(), Symbolic([])], ids=["rational", "prime-field", "symbolic"])
def test_a_float_weight_in_an_exact_run_is_refused_by_name(ar) -> None:
    with pytest.raises(ArithmeticDomainError, match=r"float 0\.1 in an exact run"):
        ar.array(np.array([0.1, 1.0]))
    assert ar.array(np.array([0.5, 2.0])) is not None  # dyadic floats mean what they say


def test_a_float_weight_in_a_construction_is_an_error_not_a_false_fail() -> None:
    spec = replace(gd.ONE_LAYER_SPEC, build=lambda i: gd.build_von_oswald(replace(i, etas=[0.1])))
    res = run_mode(spec, "rational", Context(0))
    assert res.status == "error" and "float 0.1 in an exact run" in res.detail


def test_a_declared_degree_below_the_measured_one_fails_the_claim() -> None:
    res = run_mode(replace(gd.ONE_LAYER_SPEC, degree=lambda s: 2), "symbolic", Context(0))
    assert res.status == "fails" and "below the measured degree" in res.detail
    assert run_mode(gd.ONE_LAYER_SPEC, "symbolic", Context(0)).status == "holds"


def test_an_erratum_needs_a_statement_of_the_paper() -> None:
    with pytest.raises(ValueError, match="printed or secondary"):
        Claim("t.x", PAPER, "s", "identity", {}, provenance=Provenance("ours", "our bound"),
              erratum=Erratum("c", "t.y", "scope"))
    with pytest.raises(ValueError, match="provenance kind"):
        Provenance("read somewhere", "Thm 1")


def test_mode_selects_by_evidence_kind_whatever_the_key() -> None:
    chk = Check("ball (α = 2)", Evidence.CERTIFIED, _boom)
    assert mode_selected(chk, "certified") and mode_selected(chk, "ball") and mode_selected(chk, "ball (α = 2)")
    assert not mode_selected(chk, "exact")
    assert {"certified", "exact", "numerical", "ball (α = 2)"} <= known_modes([Claim(
        "t.k", PAPER, "s", "identity", {"ball (α = 2)": chk}, provenance=Provenance("ours", "a test"))])


def test_an_erratum_without_a_computed_counterexample_fails() -> None:
    printed = Claim("t.printed", PAPER, "s", "identity",
                    {"rational": Check("rational", Evidence.EXACT,
                                       lambda ctx: CheckResult("rational", "exact", 1, None, None, "refuted"))},
                    provenance=Provenance("printed", "Thm 1", quote="q"), erratum=Erratum("c", "t.y", "scope"))
    assert run_claim(printed, Context(0)).status == "fails"
    computed = replace(printed, checks={"rational": Check("rational", Evidence.EXACT, lambda ctx: CheckResult(
        "rational", "exact", 1, None, None, "refuted", data={"counterexample": "x = 1"}))})
    assert run_claim(computed, Context(0)).status == "refuted"
    assert Fraction(1, 2)  # exact values stay exact


class _Recorder:
    """EQUAL, recording each verdict the checker sees (delegates everything else)."""

    def __init__(self, relation) -> None:
        self.relation, self.seen = relation, []

    def __getattr__(self, name):
        return getattr(self.relation, name)

    def float64(self, lhs, rhs):
        v = self.relation.float64(lhs, rhs)
        self.seen.append(v)
        return v

    def multiprecision(self, lhs, rhs, tolerance):
        v = self.relation.multiprecision(lhs, rhs, tolerance)
        self.seen.append(v)
        return v


@pytest.mark.parametrize("mode", ["float64", "mpmath"])
def test_reported_error_and_tolerance_are_one_entrys_pair_of_worst_ratio(mode: str) -> None:
    """The (max error, tolerance) a check reports come from the same entry of
    the same instance, the one of largest error/tolerance (they were paired
    across instances: a report showed ratio 1.34 where the worst was 0.17)."""
    from transformer_proofs.verify.checkers import MP_DIGITS

    rec = _Recorder(gd.ONE_LAYER_SPEC.relation)
    res = run_mode(replace(gd.ONE_LAYER_SPEC, relation=rec), mode, Context(0))
    assert res.status == "holds"
    seen = rec.seen if mode == "float64" else rec.seen[len(MP_DIGITS) - 1::len(MP_DIGITS)]  # the top precision
    worst = max(seen, key=lambda v: v.ratio)
    assert (res.max_error, res.tolerance) == (worst.error, worst.tolerance)
    assert res.max_error <= res.tolerance


def test_a_model_is_built_once_per_instance_and_mutant() -> None:
    """The checkers evaluate one instance in several number systems: its model is built once."""
    spec = replace(gd.ONE_LAYER_SPEC)
    calls: list[object] = []
    build = spec.build
    spec.build = lambda inst: calls.append(inst) or build(inst)
    rng = np.random.default_rng(0)
    a, b = (spec.draw(DyadicDraw(rng), spec.sizes_for("rational")[0]) for _ in range(2))
    m = spec.built(a)
    assert spec.built(a) is m and len(calls) == 1
    mutant = spec.mutants[0]
    assert spec.built(a, mutant) is not m and spec.built(a, mutant) is spec.built(a, mutant) and len(calls) == 2
    assert spec.built(b) is not m and len(calls) == 3
    assert spec.evaluate(Rational(), b)[0] is not None and len(calls) == 3  # evaluate uses the built model
