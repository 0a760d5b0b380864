"""verify.checkers: the float64 check over batches of prompts (ClaimSpec.batch)."""

from dataclasses import replace

import numpy as np
import pytest
from transformer_proofs.constructions.arithmetic import ErrArray, Float64Bounded
from transformer_proofs.verify.checkers import (
    FALSIFIER_BUDGET,
    batch_verdict,
    check_float64,
    check_float64_batched,
    run_mode,
)
from transformer_proofs.verify.claims.gd import claims as gd
from transformer_proofs.verify.claims.gd.batched import draw_von_oswald_batch, von_oswald_prompt_batch
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.relations import BOUND, EQUAL
from transformer_proofs.verify.spec import Context

BATCHED = [gd.ONE_LAYER_SPEC, gd.MULTI_LAYER_SPEC, gd.GD_PLUS_PLUS_SPEC, gd.PRECONDITIONED_SPEC]


@pytest.mark.parametrize("spec", BATCHED, ids=["one_layer", "multi_layer", "gd_plus_plus", "preconditioned"])
def test_batched_check_holds_and_counts_prompts(spec) -> None:
    ctx = Context(seed=3, effort=0.25)
    res = check_float64(spec, ctx)
    assert res.status == "holds", res.detail
    size = ctx.count(spec.batch.size)
    assert res.instances == spec.batch.batches * size * len(spec.sizes_for("float64"))
    assert "prompt by prompt" in res.detail


@pytest.mark.parametrize("spec", BATCHED, ids=["one_layer", "multi_layer", "gd_plus_plus", "preconditioned"])
def test_every_mutant_is_caught_by_the_batched_check(spec) -> None:
    for mutant in spec.mutants:
        res = run_mode(spec, "float64", Context(seed=0), mutant, per_size=FALSIFIER_BUDGET["float64"])
        assert res.status == "fails", (mutant.name, res.detail)


def test_effort_scales_the_batch() -> None:
    small = check_float64(gd.ONE_LAYER_SPEC, Context(effort=0.25))
    large = check_float64(gd.ONE_LAYER_SPEC, Context(effort=0.5))
    assert large.instances == 2 * small.instances


def test_batch_rows_are_the_one_instance_prompts() -> None:
    """Prompt b of a batch is the prompt the one-instance path builds from the same numbers."""
    rng = np.random.default_rng(5)
    batch = draw_von_oswald_batch(DyadicDraw(rng), {"d": 3, "n": 4}, 6)
    ar = Float64Bounded()
    Z = von_oswald_prompt_batch(ar, batch)
    for b in range(6):
        one = replace(batch, X=batch.X[b].astype(object), y=batch.y[b].astype(object), x_q=batch.x_q[b].astype(object))
        np.testing.assert_array_equal(Z.val[b], gd.von_oswald_prompt(ar, one).val)


def _pair(errors: list[float], bounds: list[float]) -> tuple[ErrArray, ErrArray]:
    e, b = np.array(errors)[:, None], np.array(bounds)[:, None]
    return ErrArray(np.ones_like(e) + e, b), ErrArray(np.ones_like(e), np.zeros_like(b))


def test_a_bad_prompt_does_not_hide_behind_a_loose_one() -> None:
    """Each prompt against its own bound: prompt 0 errs by twice its bound, prompt 1's bound is huge."""
    lhs, rhs = _pair([2e-16, 0.0], [1e-16, 1e-6])
    v, b = batch_verdict(EQUAL, lhs, rhs)
    assert v.status == "fails" and b == 0 and "prompt 0 of 2" in v.where
    assert batch_verdict(EQUAL, *_pair([1e-16, 0.0], [1e-16, 1e-6]))[0].status == "holds"


def test_parts_and_other_relations() -> None:
    lhs, rhs = _pair([0.0, 3e-16], [1e-16, 1e-16])
    v, b = batch_verdict(EQUAL, (lhs, lhs), (rhs, lhs))
    assert v.status == "fails" and b == 1 and v.where.startswith("part 0")
    lo = ErrArray(np.array([[0.0], [1.0]]), np.zeros((2, 1)))
    hi = ErrArray(np.array([[1.0], [0.5]]), np.zeros((2, 1)))
    v, b = batch_verdict(BOUND, lo, hi)
    assert v.status == "fails" and b == 1


def test_a_slightly_inflated_reference_is_caught_in_one_prompt() -> None:
    """A reference off by 4 running bounds in a single prompt of a batch fails the check."""
    batch = gd.ONE_LAYER_SPEC.batch

    def off(ar, inst):
        *state, pred = batch.reference(ar, inst)
        val = pred.val.copy()
        val[7] += 4 * (pred.err[7] + 1e-300) + abs(val[7]) * 2.0**-50
        return (*state, ErrArray(val, pred.err))

    spec = replace(gd.ONE_LAYER_SPEC, batch=replace(batch, reference=off))
    res = check_float64_batched(spec, Context(effort=0.05))
    assert res.status == "fails" and "prompt 7 of" in res.detail


def test_a_spec_without_batch_draws_one_instance_at_a_time() -> None:
    spec = replace(gd.ONE_LAYER_SPEC, batch=None)
    res = check_float64(spec, Context(seed=1, effort=0.25))
    assert res.status == "holds" and res.instances == Context(effort=0.25).count(20) * 3
    assert "prompt by prompt" not in res.detail
