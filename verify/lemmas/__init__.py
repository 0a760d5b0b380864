"""Dimension-free layer lemmas (issue 7): block-matrix identities with
non-commuting blocks of unspecified size, proved by normalisation, lifted to
L layers by induction.

- :mod:`verify.lemmas.ncalgebra`  the non-commutative normaliser
- :mod:`verify.lemmas.layers`     layers in block form; reading engine layers
- :mod:`verify.lemmas.lemma`      Lemma, prove, the check ("symbolic-lemma",
                                  evidence "all sizes") and falsifiers
- :mod:`verify.lemmas.gd`, :mod:`.fgd`, :mod:`.newton`  the families' lemmas
- :mod:`verify.lemmas.catalogue`  every lemma by claim id; ``python -m verify.lemmas``

Adding a lemma to a claim: ``checks={**identity_checks(SPEC), "lemma": lemma_check(make)}``
with ``make(ctx) -> Lemma`` (e.g. ``verify.lemmas.newton.newton_layer_lemma()``).
"""

from transformer_proofs.verify.lemmas.lemma import (
    EVIDENCE,
    MODE,
    Lemma,
    LemmaResult,
    lemma_check,
    lemma_falsifier,
    prove,
)

__all__ = ["EVIDENCE", "MODE", "Lemma", "LemmaResult", "lemma_check", "lemma_falsifier", "prove"]
