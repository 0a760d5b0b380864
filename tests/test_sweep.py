"""verify.sweep: seeds × claims on Dask distributed, merged byte-identically to serial runs."""

import json

import pytest
from transformer_proofs.verify.registry import Context, select
from transformer_proofs.verify.report import results_document
from transformer_proofs.verify.runner import run_all
from transformer_proofs.verify.sweep import _seeds, documents, run_one

PATTERN = "gd.preconditioned_printed,newton.step_size_printed,newton.expansion_printed"


def _serial(seed: int, effort: float) -> dict:
    ctx = Context(seed=seed, effort=effort)
    return results_document(run_all(select(PATTERN), ctx, progress=False), ctx)


def test_merge_is_by_seed_then_catalogue_order() -> None:
    order = [c.id for c in select(PATTERN)]
    entries = {(s, cid): run_one(cid, s, 0.2) for s in (1, 0) for cid in reversed(order)}
    docs = documents([1, 0], entries, order, 0.2)
    assert [d["seed"] for d in docs] == [0, 1]
    for d in docs:
        assert json.dumps(d, sort_keys=True, default=str) == json.dumps(_serial(d["seed"], 0.2), sort_keys=True,
                                                                        default=str)


def test_sweep_on_a_local_dask_cluster_matches_serial_runs() -> None:
    distributed = pytest.importorskip("distributed")
    from transformer_proofs.verify.sweep import sweep

    del distributed
    docs = sweep([0, 1], PATTERN, effort=0.2, workers=1)
    for d in docs:
        assert json.dumps(d, sort_keys=True, default=str) == json.dumps(_serial(d["seed"], 0.2), sort_keys=True,
                                                                        default=str)


def test_seed_ranges() -> None:
    assert _seeds("0:3") == [0, 1, 2] and _seeds("4,7") == [4, 7]
    with pytest.raises(SystemExit, match="seeds"):
        _seeds("a:b")
