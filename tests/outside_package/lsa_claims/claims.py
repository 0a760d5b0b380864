"""One linear self-attention layer predicts ŷ = (1/n) Σ_i y_i x_iᵀ Γ x_q.

The one-layer linear self-attention model in the parametrisation of Zhang,
Frei, Bartlett (2023), "Trained Transformers Learn Linear Models In-Context",
arXiv:2306.09927: f(E) = E + W^{PV} E M (Eᵀ W^{KQ} E) / n with
W^{PV} = [[0, 0], [0, 1]] and W^{KQ} = [[Γ, 0], [0, 0]]; its prediction, the
query's label slot, is (1/n) Σ_i y_i x_iᵀ Γ x_q.  This module is an example of
a claim kept in a researcher's own package: everything it uses is public API.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from transformer_proofs import (
    Attention,
    Claim,
    ClaimSpec,
    Head,
    Mutant,
    Paper,
    Provenance,
    Readout,
    RegressionPrompt,
    Transformer,
    columns,
    context_mask,
    draw_regression,
    mutants,
    prediction_only,
    prompt,
    register,
    spec_checks,
    spec_falsifiers,
)

ZFB = Paper("R. Zhang, S. Frei, P. L. Bartlett", 2023, "Trained Transformers Learn Linear Models In-Context",
            "2306.09927", "§2 (the linear self-attention model)")


@dataclass
class LSAInstance(RegressionPrompt):
    Gamma: np.ndarray  # (d, d), any matrix


def draw_instance(draw: Any, sizes: dict[str, int]) -> LSAInstance:
    d, n = sizes["d"], sizes["n"]
    return LSAInstance(**draw_regression(draw, d, n), Gamma=draw.real((d, d), scale=0.5))


def lsa_layer(d: int, n: int, Gamma: np.ndarray) -> Attention:
    """The layer, block by block (tokens e = [x; y]):
        W^{KQ} = [[Γ, 0], [0, 0]]   # score e_iᵀ W^{KQ} e_q = x_iᵀ Γ x_q
        W^{PV} = [[0, 0], [0, 1]]   # value (0, y_i): only the label slot moves
        M = diag(I_n, 0), 1/n       # the query is not a key"""
    zero = Fraction(0)
    KQ = np.zeros((d + 1, d + 1), dtype=object) + zero
    KQ[:d, :d] = np.asarray(Gamma, dtype=object)
    PV = np.zeros((d + 1, d + 1), dtype=object) + zero
    PV[d, d] = Fraction(1)
    eye = np.eye(d + 1, dtype=int).astype(object)
    return Attention(heads=(Head(W_Q=KQ, W_K=eye, W_V=PV),), score="linear", key_mask=context_mask(n),
                     scale=Fraction(1, n))


def build(inst: LSAInstance) -> Transformer:
    readout = Readout(vector=np.array([0] * inst.d + [1], dtype=object), column=inst.n)
    return Transformer((lsa_layer(inst.d, inst.n, inst.Gamma),),
                       tuple(f"x:{k}" for k in range(inst.d)) + ("y",), readout, name="one-layer LSA")


def lsa_prompt(ar: Any, inst: LSAInstance) -> Any:
    _, y, _ = columns(ar, inst)
    return prompt(ar, inst, ar.concat([ar.T(y), ar.zeros((1, 1))], axis=1))


def reference(ar: Any, inst: LSAInstance) -> Any:
    """(1/n) Σ_i y_i x_iᵀ Γ x_q, as a 1 × 1 column."""
    X, y, x_q = columns(ar, inst)
    G = ar.array(inst.Gamma)
    return ar.matmul(ar.matmul(ar.T(y), ar.matmul(X, G)), x_q) * ar.const(Fraction(1, inst.n))


def _transpose_gamma(model: Transformer, inst: LSAInstance) -> Transformer:
    return replace(model, layers=(lsa_layer(inst.d, inst.n, np.asarray(inst.Gamma).T),))


SPEC = ClaimSpec(
    draw=draw_instance, build=build, prompt=lsa_prompt, readout=prediction_only, reference=reference,
    sizes={"float64": [{"d": 1, "n": 1}, {"d": 3, "n": 5}], "symbolic": [{"d": 2, "n": 2}]},
    degree=lambda s: 4,  # y · x · Γ · x_q
    mutants=(
        Mutant("Γ transposed", "W^{KQ} = [[Γᵀ, 0], [0, 0]]: x_iᵀ Γᵀ x_q", _transpose_gamma),
        Mutant("dropped 1/n", "no 1/n", lambda m, i: mutants.drop_scale(m)),
        Mutant("read-out sign flipped", "the prediction read as minus the label slot",
               lambda m, i: replace(m, readout=Readout(vector=-np.asarray(m.readout.vector), column=i.n))),
    ))

register(Claim(
    id="lsa.one_layer_prediction", paper=ZFB, kind="identity",
    statement="One linear self-attention layer with W^{KQ} = [[Γ,0],[0,0]], W^{PV} = [[0,0],[0,1]] predicts "
              "ŷ = (1/n) Σ_i y_i x_iᵀ Γ x_q.",
    checks=spec_checks(SPEC), falsifiers=spec_falsifiers(SPEC),
    provenance=Provenance("recalled", "§2, the prediction of the linear self-attention model",
                          note="an example for docs/adding-a-claim.md; the formula is recalled, not re-read"),
    trust=("exact: rationals and GF(2^61−1) with its Schwartz–Zippel bound; symbolic for the sizes shown",),
))
