"""verify.parallel: claims over a process pool give the serial run's document, byte for byte."""

import json

import pytest
from transformer_proofs.verify.claim_costs import SECONDS
from transformer_proofs.verify.parallel import default_jobs, run_claims, submission_order
from transformer_proofs.verify.registry import Check, CheckResult, Claim, Context, Paper, select
from transformer_proofs.verify.report import results_document
from transformer_proofs.verify.runner import run_all
from transformer_proofs.verify.spec import Provenance

from transformer_proofs import Evidence


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


def _blas_threads(ctx: Context) -> CheckResult:
    import threadpoolctl

    threads = max((i["num_threads"] for i in threadpoolctl.threadpool_info()), default=1)
    return CheckResult("rational", "exact", 1, 0.0, 0.0, "holds", f"BLAS threads {threads}")


def test_workers_run_their_blas_on_one_thread() -> None:
    """Two workers on two cores: their BLAS threads would only wait for each other."""
    pytest.importorskip("threadpoolctl")
    claims = [Claim(f"t.blas{k}", Paper("A. Author", 2024, "T", "0000.00000"), "s", "identity",
                    {"rational": Check("rational", Evidence.EXACT, _blas_threads)}, provenance=Provenance("ours", "a test"))
              for k in range(2)]
    results = list(run_claims(claims, Context(0), jobs=2, falsify=False))
    assert [r.checks[0].detail for r in results] == ["BLAS threads 1"] * 2
