"""The gd family's prompts in batches, for the float64 check
(:class:`~transformer_proofs.verify.spec.Batch`).

A batch instance is the family's own instance whose X, y, x_q hold B prompts
(float64 arrays with a leading batch axis, the same dyadic values the
one-instance draw yields) and whose step sizes, W_0 and preconditioners are
drawn once for the batch: so ``build`` and every mutant take it unchanged.
Prompt, reference and read-out are the one-instance ones with a batch axis
(row b of each is what the one-instance check computes for prompt b), the
compared state given in parts (token rows, label row, prediction) so that
neither side copies its states into one array."""

from __future__ import annotations

from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.verify.algorithms import gradient_descent as algorithms
from transformer_proofs.verify.claims.gd.instances import (
    STEP_HI,
    GDPlusPlusInstance,
    PreconditionedInstance,
    VonOswaldInstance,
)
from transformer_proofs.verify.draws import DyadicDraw
from transformer_proofs.verify.spec import Batch, Sizes


def draw_regression_batch(draw: DyadicDraw, d: int, n: int, B: int) -> dict[str, Any]:
    """B regression prompts: X (B, n, d), y (B, n), x_q (B, d), dyadic doubles.
    X is drawn as (B, d, n) and given as its transposed view: the prompt's
    token rows Xᵀ are then a contiguous copy."""
    return {"d": d, "n": n, "X": draw.reals((B, d, n)).swapaxes(-1, -2), "y": draw.reals((B, n)),
            "x_q": draw.reals((B, d))}


def draw_von_oswald_batch(draw: DyadicDraw, sizes: Sizes, B: int) -> VonOswaldInstance:
    d, n, L = sizes["d"], sizes["n"], sizes.get("L", 1)
    base = draw_regression_batch(draw, d, n, B)
    return VonOswaldInstance(**base, etas=[draw.step(STEP_HI) for _ in range(L)], W_0=draw.real((d,)))


def draw_gd_plus_plus_batch(draw: DyadicDraw, sizes: Sizes, B: int) -> GDPlusPlusInstance:
    from fractions import Fraction

    inst = draw_von_oswald_batch(draw, {**sizes, "L": 1}, B)
    return GDPlusPlusInstance(**vars(inst), gamma=draw.step(Fraction(1, 8)))


def draw_preconditioned_batch(draw: DyadicDraw, sizes: Sizes, B: int) -> PreconditionedInstance:
    d, n, L = sizes["d"], sizes["n"], sizes["L"]
    base = draw_regression_batch(draw, d, n, B)
    return PreconditionedInstance(**base, As=[draw.real((d, d), scale=0.25) for _ in range(L)])


def batch_columns(ar: Arithmetic, inst: Any) -> tuple[Any, Any, Any]:
    """X (B, n, d), y (B, n, 1), x_q (B, d, 1) in ``ar``, converted once per
    batch and number system (the prompt and the reference share them, and
    with them |X| for the running bounds)."""
    cache = inst.__dict__.setdefault("_columns", {})
    cols = cache.get(type(ar))
    if cols is None:
        cols = cache[type(ar)] = (ar.array(inst.X), ar.array(np.asarray(inst.y)[..., None]),
                                  ar.array(np.asarray(inst.x_q)[..., None]))
    return cols


def batch_tokens(ar: Arithmetic, inst: Any) -> Any:
    """The token rows [x_1 … x_n x_q] of each prompt, (B, d, n+1), made once
    per batch and number system (the prompt and the reference share them)."""
    cache = inst.__dict__.setdefault("_tokens", {})
    top = cache.get(type(ar))
    if top is None:
        X, _, x_q = batch_columns(ar, inst)
        top = cache[type(ar)] = ar.concat([ar.T(X), x_q], axis=-1)
    return top


def batch_prompt(ar: Arithmetic, inst: Any, labels: Any) -> Any:
    """Z = [[x_1 … x_n x_q], [labels]] for each prompt: (B, d+1, n+1); labels (B, 1, n+1)."""
    return ar.concat([batch_tokens(ar, inst), labels], axis=-2)


def state_parts(ar: Arithmetic, model: Any, state: Any, inst: Any) -> tuple[Any, Any, Any]:
    """The read-out of a batch, in parts: the token rows x of each final state
    (B, d, n+1), its label row (B, 1, n+1) and the model's own prediction (B,):
    every entry :func:`~transformer_proofs.verify.spec.state_and_prediction`
    compares, without copying the states."""
    from transformer_proofs.constructions.engine import read_out

    return state[..., : inst.d, :], state[..., inst.d:, :], read_out(ar, model, state)


def _reference_parts(ar: Arithmetic, tokens: Any, labels: Any, prediction: Any) -> tuple[Any, Any, Any]:
    """The reference's parts, as :func:`state_parts` reads the model's: tokens (B, d, n+1),
    labels (B, 1, n+1), prediction (B, 1, 1) as (B,)."""
    return tokens, labels, prediction.reshape(prediction.shape[0])


def _w0(ar: Arithmetic, inst: Any) -> Any:
    return ar.array(np.asarray(inst.W_0, dtype=object).reshape(-1, 1))


def von_oswald_prompt_batch(ar: Arithmetic, inst: VonOswaldInstance) -> Any:
    """Each prompt as :func:`~transformer_proofs.verify.claims.gd.claims.von_oswald_prompt`: query label -<W_0, x_q>."""
    _, y, x_q = batch_columns(ar, inst)
    return batch_prompt(ar, inst, ar.concat([ar.T(y), -ar.matmul(ar.T(x_q), _w0(ar, inst))], axis=-1))


def _gd_iterate(ar: Arithmetic, inst: Any, X: Any, y: Any) -> Any:
    return algorithms.gradient_descent(ar, X, y, [ar.const(e) for e in inst.etas], _w0(ar, inst))[-1]


def von_oswald_reference_batch(ar: Arithmetic, inst: VonOswaldInstance) -> Any:
    """Prop. 1 after L layers for each prompt (as the one-instance reference): context labels
    y_i - (W_L - W_0) x_i, query label -W_L x_q; then the prediction W_L x_q."""
    X, y, x_q = batch_columns(ar, inst)
    w_L = _gd_iterate(ar, inst, X, y)  # (B, d, 1)
    context = y - ar.matmul(X, w_L - _w0(ar, inst))  # (B, n, 1)
    query = -ar.matmul(ar.T(x_q), w_L)  # (B, 1, 1)
    labels = ar.concat([ar.T(context), query], axis=-1)
    return _reference_parts(ar, batch_tokens(ar, inst), labels, ar.matmul(ar.T(x_q), w_L))


def gd_plus_plus_reference_batch(ar: Arithmetic, inst: GDPlusPlusInstance) -> Any:
    """GD++ for each prompt: labels as one GD step; every x_j becomes (I - γ Σ_i x_i x_iᵀ) x_j."""
    X, y, x_q = batch_columns(ar, inst)
    w_1 = _gd_iterate(ar, inst, X, y)
    labels = ar.concat([ar.T(y - ar.matmul(X, w_1 - _w0(ar, inst))), -ar.matmul(ar.T(x_q), w_1)], axis=-1)
    tokens = batch_tokens(ar, inst)  # (B, d, n+1)
    moved = tokens - ar.matmul(ar.matmul(ar.T(X), X), tokens) * ar.const(inst.gamma)
    return _reference_parts(ar, moved, labels, ar.matmul(ar.T(x_q), w_1))


def preconditioned_prompt_batch(ar: Arithmetic, inst: PreconditionedInstance) -> Any:
    _, y, _ = batch_columns(ar, inst)
    B = np.shape(inst.y)[0]
    return batch_prompt(ar, inst, ar.concat([ar.T(y), ar.zeros((B, 1, 1))], axis=-1))


def preconditioned_reference_batch(ar: Arithmetic, inst: PreconditionedInstance) -> Any:
    """For each prompt: the state S(w_L), w_{ℓ+1} = w_ℓ - A_ℓᵀ ∇R(w_ℓ) (corrected Lemma 1), and <x_q, w_L>."""
    X, y, x_q = batch_columns(ar, inst)
    As = [ar.T(ar.array(A)) for A in inst.As]
    w_L = algorithms.preconditioned_gradient_descent(ar, X, y, As, ar.zeros((inst.d, 1)))[-1]
    context = y - ar.matmul(X, w_L)
    labels = ar.concat([ar.T(context), -ar.matmul(ar.T(x_q), w_L)], axis=-1)
    return _reference_parts(ar, batch_tokens(ar, inst), labels, ar.matmul(ar.T(x_q), w_L))


VON_OSWALD_BATCH = Batch(draw=draw_von_oswald_batch, prompt=von_oswald_prompt_batch,
                         reference=von_oswald_reference_batch, readout=state_parts)
ONE_LAYER_BATCH = Batch(draw=lambda draw, s, B: draw_von_oswald_batch(draw, {**s, "L": 1}, B),
                        prompt=von_oswald_prompt_batch, reference=von_oswald_reference_batch,
                        readout=state_parts)
GD_PLUS_PLUS_BATCH = Batch(draw=draw_gd_plus_plus_batch, prompt=von_oswald_prompt_batch,
                           reference=gd_plus_plus_reference_batch, readout=state_parts)
PRECONDITIONED_BATCH = Batch(draw=draw_preconditioned_batch, prompt=preconditioned_prompt_batch,
                             reference=preconditioned_reference_batch, readout=state_parts)
