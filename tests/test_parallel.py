"""verify.parallel: claims over a process pool give the serial run's document, byte for byte."""

import json

import pytest
from transformer_proofs.verify.claim_costs import SECONDS
from transformer_proofs.verify.parallel import default_jobs, run_claims, submission_order
from transformer_proofs.verify.registry import Context, select
from transformer_proofs.verify.report import results_document
from transformer_proofs.verify.runner import run_all


def test_parallel_run_is_byte_identical_to_serial() -> None:
    claims = select("gd.one_layer,gd.preconditioned_printed,newton.step_size_printed")
    ctx = Context(seed=3, effort=0.2)
    serial = results_document(run_all(claims, ctx, progress=False, jobs=1), ctx)
    parallel = results_document(run_all(claims, ctx, progress=False, jobs=2), ctx)
    assert json.dumps(serial, sort_keys=True, default=str) == json.dumps(parallel, sort_keys=True, default=str)
    assert [c["id"] for c in parallel["claims"]] == [c.id for c in claims]


def test_jobs_must_be_positive() -> None:
    assert default_jobs() >= 1
    with pytest.raises(ValueError, match="jobs"):
        list(run_claims(select("gd.one_layer"), Context(), jobs=0))


def test_claims_are_submitted_longest_first_and_unknown_ones_at_the_median() -> None:
    costs = {"a": 1.0, "b": 5.0, "c": 3.0}
    assert submission_order(["a", "b", "c"], costs) == [1, 2, 0]
    assert submission_order(["a", "new", "b", "c"], costs) == [2, 1, 3, 0]  # new: the median 3.0, ties in order
    assert submission_order([], costs) == []
    assert submission_order(["x", "y"], {}) == [0, 1]


def test_the_cost_table_names_catalogue_claims_only() -> None:
    known = {c.id for c in select(None)}
    assert set(SECONDS) <= known, sorted(set(SECONDS) - known)
