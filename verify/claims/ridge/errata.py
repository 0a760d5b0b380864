"""Printed statements of the ridge family shown false, each beside its correction.

``ridge.sgd_chain_printed``: Akyürek et al. (2023), App. A, prints the chain
of primitives for Theorem 1 with step 6 = aff(W1 = I, W2 = −λ), annotated
"x(wᵀx − y) − λw", and step 7 = w − 2α(that).  The chain then computes
w' = w − 2α(x(wᵀx − y) − λw), which is not the ridge SGD step
w' = w − 2α(x(wᵀx − y) + λw) the paper states (§4.3, and App. A's own
"generalizing to multiple steps").  The step-by-step verification below the
chain prints W2 = −2λ ("x(wᵀx − y) − 2λw"), which is not it either."""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from typing import Any, Iterator

import numpy as np
from transformer_proofs.verify.checkers import counterexample_search, falsifier_from_check
from transformer_proofs.verify.claims.ridge.claims import SGD_SPEC, SGDInstance, build_sgd, draw_sgd
from transformer_proofs.verify.claims.ridge.papers import AKYUREK
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Claim, Erratum, Provenance

PRINTED_SPEC = replace(SGD_SPEC, build=lambda inst: build_sgd(inst, lam_coefficient=-1))
PRINTED_STEP_BY_STEP_SPEC = replace(SGD_SPEC, build=lambda inst: build_sgd(inst, lam_coefficient=-2))
PRINTED_LEAST_SQUARES_SPEC = replace(PRINTED_SPEC, draw=lambda draw, s: draw_sgd(draw, s, lam_zero=True))

ALPHA, LAMBDA = Fraction(1, 4), Fraction(1, 2)
SEARCH_BUDGET = ("d = 1, α = 1/4, λ = 1/2, entries of x_1, y_1, x_2, w in {0, 1}, by increasing number of nonzero "
                 "entries")


def candidates() -> Iterator[SGDInstance]:
    slots = ("x1", "y1", "x2", "w")
    for nnz in range(1, len(slots) + 1):
        for chosen in itertools.combinations(slots, nnz):
            v = {s: (1 if s in chosen else 0) for s in slots}
            yield SGDInstance(1, np.array([v["x1"]], dtype=object), v["y1"], np.array([v["x2"]], dtype=object),
                              np.array([v["w"]], dtype=object), ALPHA, LAMBDA)


def describe(inst: SGDInstance, model: Any, stated: Any) -> str:
    return (f"d = 1, x_1 = {inst.x1[0]}, y_1 = {inst.y1}, x_2 = {inst.x2[0]}, w = {inst.w[0]}, α = {inst.alpha}, "
            f"λ = {inst.lam}: the printed chain predicts {model[0, 0]}, the ridge SGD step "
            f"w' = w − 2α(x(wᵀx − y) + λw) predicts {stated[0, 0]}")


PROVENANCE = Provenance(
    "printed", "App. A (the chain of primitives for Theorem 1, steps 6-7, and its step-by-step check); the update "
               "in §4.3 and in App. A ('Generalizing to multiple steps of SGD')",
    quote=("aff(; (3+d, 3+2d), (3+2d, 3+3d), (3+3d, 3+4d), W1 = I, W2 = −λ) (x(wᵀx − y) − λw) • aff(; (3+2d, 3+3d), "
           "(3+3d, 3+4d), (3+2d, 3+3d), W1 = I, W2 = −2α) (w′) … [step by step:] W2 = −2λ (x(wᵀx − y) − 2λw) … "
           "w″ is the one step update w′ − 2α(x_2 w′ᵀx_2 − y_2 x_2 + λw; [§4.3:] w_i = w_{i−1} − 2α(… + λw_{i−1})"),
    read_in="the paper's full text (the chain is printed in prose; Eq. (11)'s display was lost)",
    note="the aff primitive is printed in §3.1 as W1 h_{i:j} + W2 h_{i':j'} + b, so step 6 gives x(wᵀx − y) − λw")

register(Claim(
    id="ridge.sgd_chain_printed", paper=replace(AKYUREK, where="Theorem 1, App. A (as printed)"), kind="identity",
    statement=("As printed: the chain of App. A (step 6: aff with W2 = −λ, 'x(wᵀx − y) − λw'; step 7: w − 2α(·)) "
               "predicts w'ᵀx_2 for the ridge SGD step w' = w − 2α(x(wᵀx − y) + λw)."),
    checks={"rational": counterexample_search(candidates, PRINTED_SPEC, describe, budget=SEARCH_BUDGET,
                                              holds_on=PRINTED_LEAST_SQUARES_SPEC,
                                              holds_where="with λ = 0 (least squares)"),
            "rational (−2λ)": counterexample_search(candidates, PRINTED_STEP_BY_STEP_SPEC, describe,
                                                     budget=SEARCH_BUDGET + "; the step-by-step's W2 = −2λ")},
    falsifiers=[falsifier_from_check(
        "corrected chain searched", "the same search against the chain with W2 = +λ must find no counterexample",
        counterexample_search(candidates, SGD_SPEC, describe, budget=SEARCH_BUDGET))],
    provenance=PROVENANCE,
    erratum=Erratum(
        correction=("step 6 must add the regulariser's gradient: aff(W1 = I, W2 = +λ), giving x(wᵀx − y) + λw, so that "
                    "step 7 yields w' = w − 2α(x(wᵀx − y) + λw); the printed chain (W2 = −λ, or −2λ in the "
                    "step-by-step) moves w up the regulariser, and agrees with the stated step only when λw = 0"),
        corrected_claim="ridge.sgd_step",
        scope=("Theorem 1 is stated for the ridge objective (λ >= 0) and any w, x, y; the counterexample has λ = 1/2 > 0, "
               "which is inside it; at λ = 0 (least squares, the paper's experiments' main case) the printed chain "
               "is right, as the check confirms")),
    trust=("the counterexample is computed in exact rationals by a search in a stated order",
           "the restriction (λ = 0) is confirmed exactly on drawn instances",
           "the chain's annotations are printed prose; the displays of Eq. (11) and of Lemma 1's weights were lost"),
    notes="The authors' code (the released primitives) was not read; the erratum is against the printed chain."))
