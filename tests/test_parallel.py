"""verify.parallel: claims over a process pool give the serial run's document, byte for byte."""

import json

import pytest
from transformer_proofs.verify.parallel import default_jobs, run_claims
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
