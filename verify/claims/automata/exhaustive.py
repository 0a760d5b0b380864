"""The exact check on every word: a simulator (transformer, embedding,
read-out) against the recurrent run of the semiautomaton, in rational
arithmetic, for every word of length T over the alphabet.

A mismatch is reported with the first word (in lexicographic order) and
position where the transformer's state differs from the run; mutants are
caught by the same check (it stops at the first mismatching word)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import Transformer, forward
from transformer_proofs.constructions.exact_batch import BatchedRational
from transformer_proofs.verify.algorithms import automata as alg
from transformer_proofs.verify.checkers import guard
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.spec import Check, CheckResult, Context

FIRST_CHUNK, CHUNK = 8, 128  # words per batched forward pass: a small first chunk stops most mutants early


def mode_of(ar: Arithmetic) -> str:
    return f"{ar.name} (every word)"


@dataclass(frozen=True)
class Simulator:
    """What is compared: ``read(forward(model, embed(word)))`` — an (n, columns)
    0/1 block per word — against ``reference(word)``."""

    model: Transformer
    embed: Callable[[Sequence[int]], np.ndarray]
    read: Callable[[Any], Any]
    reference: Callable[[Sequence[int]], list[list[int]]]
    symbols: int
    T: int


def _mismatch(got: Any, ref: list[list[int]]) -> tuple[int, int] | None:
    """The first (state entry, column) where ``got`` differs from ``ref``, or None."""
    want = np.asarray(ref, dtype=np.int64)
    if tuple(np.shape(got)) != want.shape:
        raise ValueError(f"read-out has shape {np.shape(got)}, the run's one-hot block {want.shape}")
    if np.asarray(got).dtype == object and np.size(got) and hasattr(np.asarray(got).flat[0], "contains"):
        # balls: a mismatch is an entry whose enclosure certainly excludes the run's value
        equal = np.array([(g - int(w)).contains(0) for g, w in zip(np.asarray(got).ravel(), want.ravel())],
                         dtype=bool).reshape(want.shape)
    else:
        equal = np.asarray(got == want, dtype=bool)
    if equal.all():
        return None
    r, c = np.argwhere(~equal)[0]
    return int(r), int(c)


def check_every_word(cases: Callable[[Context], list[Any]], build: Callable[[Any], Simulator], ctx: Context,
                     mutate: Callable[[Simulator, Any], Simulator] | None = None,
                     describe_model: Callable[[Any], str] | None = None,
                     arithmetic: Callable[[], Arithmetic] = BatchedRational) -> CheckResult:
    """Every word of every case; ``arithmetic`` is exact (rationals, or integers for all-integer constructions)."""
    ar, words_seen, parts = arithmetic(), 0, []
    MODE = mode_of(ar)
    evidence = Evidence.of(ar.evidence)
    for case in cases(ctx):
        sim = build(case)
        if mutate is not None:
            sim = mutate(sim, case)
        words = list(alg.words(sim.symbols, sim.T))
        bounds = [0, FIRST_CHUNK] + list(range(FIRST_CHUNK + CHUNK, len(words), CHUNK)) + [len(words)]
        for lo, hi in zip(bounds, bounds[1:]):
            chunk = words[lo:hi]
            if not chunk:
                continue
            Z = forward(ar, sim.model, np.stack([sim.embed(w) for w in chunk]))  # (B, D, N)
            got = sim.read(Z)  # (B, n, columns)
            for b, word in enumerate(chunk):
                ref = sim.reference(word)
                bad = _mismatch(got[b], ref)
                words_seen += 1
                if bad is not None:
                    r, c = bad
                    return CheckResult(MODE, evidence.label, words_seen, None, 0.0, "fails",
                                       f"{case.describe()}: word {list(word)} — at column {c} the transformer's "
                                       f"state entry {r} is {got[b][r, c]}, the run's is {ref[r][c]}")
        parts.append(f"{case.describe()}: all {len(words)} words" + (f" ({describe_model(case)})"
                                                                       if describe_model else ""))
    how = (f"within certified {ar.name} enclosures of" if evidence is Evidence.CERTIFIED
           else f"in exact {ar.name} arithmetic, equal to")
    return CheckResult(MODE, evidence.label, words_seen, 0.0, 0.0, "holds",
                       f"every word, every position, {how} the recurrent run: "
                       + "; ".join(parts), data={"words": words_seen})


def every_word_check(cases: Callable[[Context], list[Any]], build: Callable[[Any], Simulator],
                     mutate: Callable[[Simulator, Any], Simulator] | None = None,
                     describe_model: Callable[[Any], str] | None = None,
                     arithmetic: Callable[[], Arithmetic] = BatchedRational) -> Check:
    ar = arithmetic()
    mode, evidence = mode_of(ar), Evidence.of(ar.evidence)
    return Check(mode, evidence, lambda ctx: guard(mode, evidence, lambda: check_every_word(
        cases, build, ctx, mutate, describe_model, arithmetic)))
