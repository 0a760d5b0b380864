"""constructions.memo: values remembered per object while it lives."""

import gc

import numpy as np
from transformer_proofs.constructions.memo import remembered


def test_remembered_while_the_object_lives_and_forgotten_after() -> None:
    cache: dict = {}
    calls = []
    w = np.arange(4)
    make = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert remembered(cache, w, "k", make) == 1
    assert remembered(cache, w, "k", make) == 1  # the second use is the first value
    assert remembered(cache, w, "other", make) == 2  # another key, its own value
    del w
    gc.collect()
    assert cache == {}  # the entries go with their object


def test_a_new_object_never_gets_an_old_value() -> None:
    cache: dict = {}
    for i in range(50):  # ids are reused by new arrays; each gets its own value
        assert remembered(cache, np.full(3, i), "k", lambda i=i: i) == i


def test_an_object_without_weak_references_is_not_remembered() -> None:
    cache: dict = {}
    w = [[1, 2]]
    assert remembered(cache, w, "k", lambda: 1) == 1 and cache == {}
