"""verify/claims/automata: the claims hold, every falsifier is caught, and the
exhaustive check reports the first mismatching word."""

import pytest
from transformer_proofs.verify.claims.automata import claims as C
from transformer_proofs.verify.claims.automata.exhaustive import check_every_word
from transformer_proofs.verify.claims.automata.instances import cyclic_cases, extra_length, prefix_cases
from transformer_proofs.verify.registry import select
from transformer_proofs.verify.runner import run_claim
from transformer_proofs.verify.spec import Context


@pytest.mark.parametrize("cid", ["automata.cyclic_one_layer", "automata.prefix_log_depth",
                                 "automata.solvable_constant_depth"])
def test_claim_holds_and_falsifiers_caught(cid):
    (claim,) = select(cid)
    res = run_claim(claim, Context(seed=0, effort=0.5))
    assert res.status == "holds", [c.detail for c in res.checks]
    assert res.falsifiers and all(f["caught"] for f in res.falsifiers)


def test_mismatch_names_the_word():
    res = check_every_word(cyclic_cases, C.build_cyclic, Context(), C.CYCLIC_MUTANTS[0][2])
    assert res.status == "fails" and "word [" in res.detail and "column" in res.detail


def test_effort_raises_the_bound():
    assert extra_length(Context(effort=1)) == 0 and extra_length(Context(effort=4)) == 2
    assert extra_length(Context(effort=0.2)) == 0
    assert [c.T for c in prefix_cases(Context(effort=4))] == [c.T + 2 for c in prefix_cases(Context())]


def test_layer_counts_figure_data():
    from transformer_proofs.verify.claims.automata.figures import layer_counts

    data = layer_counts((2, 8, 9))
    assert data["prefix"] == [2, 6, 8] and data["cyclic"] == [2, 2, 2] and data["solvable"] == [6, 6, 6]


def test_ball_mismatch_is_certain():
    """In ball arithmetic a mismatch is an enclosure that certainly excludes the run's value."""
    import flint
    import numpy as np
    from transformer_proofs.verify.claims.automata.exhaustive import _mismatch

    near_one = flint.arb(1, 2.0**-60)
    assert _mismatch(np.array([[near_one, flint.arb(0)]], dtype=object), [[1, 0]]) is None
    assert _mismatch(np.array([[flint.arb(0.5), flint.arb(0)]], dtype=object), [[1, 0]]) == (0, 0)
