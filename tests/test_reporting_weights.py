"""verify.reporting.weights: every example's matrices carry one label per row
and column, named by the construction's residual coordinates."""

from pathlib import Path

import pytest
from transformer_proofs.verify.registry import all_claims
from transformer_proofs.verify.reporting.weights import EXAMPLES, matrices, source_of, write_heatmaps


@pytest.mark.parametrize("claim_id", sorted(EXAMPLES))
def test_labels_fit_every_matrix(claim_id: str) -> None:
    model = EXAMPLES[claim_id].build()
    coordinates = {name for names in model.stream_names() for name in names}
    for _, rows in matrices(model):
        for row in rows:
            for name, m, row_labels, col_labels in row:
                assert (len(row_labels), len(col_labels)) == m.shape, (claim_id, name)
                if name.endswith(("W_Q", "W_K", "W_V", "W_in")):
                    assert set(col_labels) <= coordinates  # read from named residual coordinates


def test_examples_name_registered_claims_and_their_sources_carry_comments() -> None:
    ids = {c.id for c in all_claims()}
    assert set(EXAMPLES) <= ids
    assert "#" in source_of(EXAMPLES["newton.layer"].sources[0])  # the proof beside the blocks


def test_heatmaps_are_written_per_layer(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    ex, files = write_heatmaps("newton.layer", tmp_path)
    assert files == ["newton.layer.layer0.png", "newton.layer.layer1.png"]
    assert all((tmp_path / f).stat().st_size > 0 for f in files)
    assert write_heatmaps("induction.mixture", tmp_path) is None  # no example: the page says so
