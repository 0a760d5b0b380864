"""Every layer lemma by claim id (what ``python -m verify.lemmas`` and the
benchmark run).  The gd lemmas read the registered constructions; the fgd and
newton lemmas are stated from the printed block forms (the papers' block forms) until
those families' constructions can be read."""

from __future__ import annotations

from typing import Callable

from transformer_proofs.verify.lemmas.lemma import Lemma
from transformer_proofs.verify.registry import Context

Maker = Callable[[Context], Lemma]


def lemmas() -> dict[str, Maker]:
    from transformer_proofs.verify.claims.gd import claims as gd
    from transformer_proofs.verify.lemmas import fgd, newton
    from transformer_proofs.verify.lemmas.gd import ahn_lemma, von_oswald_lemma

    return {
        "gd.one_layer": von_oswald_lemma(gd.ONE_LAYER_SPEC, 1, with_w0=True),
        "gd.multi_layer": von_oswald_lemma(gd.MULTI_LAYER_SPEC, 3, with_w0=True),
        "gd.preconditioned": ahn_lemma(gd.PRECONDITIONED_SPEC, 2, transpose=True),
        "gd.preconditioned_printed": ahn_lemma(gd.PRECONDITIONED_SPEC, 2, transpose=False),
        "gd.preconditioned_printed (A symmetric)": ahn_lemma(gd.PRECONDITIONED_SPEC, 2, transpose=False, symmetric=True),
        "fgd.functional_gd": fgd.functional_gd_lemma(L=2),
        "newton.layer": newton.newton_layer_lemma(v2_sign=-1),
        "newton.layer (printed V_2 = J)": newton.newton_layer_lemma(v2_sign=+1),
    }
