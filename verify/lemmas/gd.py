"""The gd family's layer lemmas, read from the constructions themselves.

State (tokens as columns, blocks [x (d); y (1)] x [context (n) | query (1)]):

    S_{w0}(v) = [[Xᵀ,             x_q          ],
                 [(y − X v)ᵀ,     −x_qᵀ(w0 + v)]]

X (n x d), y (n x 1), x_q (d x 1), w0, v (d x 1) atoms of unspecified size.

- von Oswald et al. 2023 (arXiv:2212.07677, Prop. 1): a layer with step η maps
  S_{w0}(v) to S_{w0}(v − η ∇R(w0 + v)), ∇R(w) = (1/n) Xᵀ(Xw − y).
  ``gd.one_layer``: w0 = W_0 drawn, v_0 = 0.  ``gd.multi_layer``: w0 = 0.
- Ahn et al. 2023 (arXiv:2306.00297, Lemma 1): a layer with preconditioner
  A maps S_0(w) to S_0(w − Aᵀ ∇R(w)); the printed w − A ∇R(w) needs A = Aᵀ.

The layers' block form is *read* from the construction code (built at two
sizes with symbolic parameters drawn by the claim's own sampler, and required
to read the same), so a mutated construction gives a different block form and
the lemma fails with its residual.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import sympy
from transformer_proofs.verify.checkers import rng_for
from transformer_proofs.verify.draws import SymbolDraw
from transformer_proofs.verify.lemmas.layers import N_SYM, BlockLayer, Parameters, read_layers, unify_readings
from transformer_proofs.verify.lemmas.lemma import Iterate, Lemma, lemma_falsifier
from transformer_proofs.verify.lemmas.ncalgebra import ONE, Atom, Block, Poly
from transformer_proofs.verify.spec import Context, Falsifier, Mutant

X = Atom("X", "n", "d")
Y = Atom("y", "n", ONE)
XQ = Atom("x_q", "d", ONE)
W0 = Atom("w0", "d", ONE)
V = Atom("w", "d", ONE)  # the generic iterate
ROWS = ("x", "y")  # block names
ROW_DIMS = ("d", ONE)  # block sizes
READ_SIZES = ({"d": 2, "n": 3}, {"d": 3, "n": 4}, {"d": 2, "n": 6})


def _p(a: Atom) -> Poly:
    return Poly.atom(a)


def regression_state(w0: Poly | None) -> Callable[[Iterate], Block]:
    """S_{w0}(v): labels y − Xv in the context, −x_qᵀ(w0 + v) in the query."""

    def S(it: Iterate) -> Block:
        v = it["w"]
        w = v if w0 is None else w0 + v
        return Block([[_p(X).T, _p(XQ)],
                      [(_p(Y) - _p(X) @ v).T, -(_p(XQ).T @ w)]])

    return S


def gradient(w: Poly) -> Poly:
    """∇R(w) = (1/n) Xᵀ(Xw − y) (verify.algorithms.gradient_descent.least_squares_gradient)."""
    return (_p(X).T @ (_p(X) @ w - _p(Y))).scale(1 / N_SYM)


def gd_step(eta: Any, w0: Poly | None) -> Callable[[Iterate], Iterate]:
    def step(it: Iterate) -> Iterate:
        w = it["w"] if w0 is None else w0 + it["w"]
        return {"w": it["w"] - gradient(w).scale(eta)}
    return step


def preconditioned_step(A: Poly, transpose: bool) -> Callable[[Iterate], Iterate]:
    def step(it: Iterate) -> Iterate:
        return {"w": it["w"] - (A.T if transpose else A) @ gradient(it["w"])}
    return step


def read_model(spec: Any, ctx: Context, L: int, params_of: Callable[[Any], Parameters],
               mutant: Mutant | None = None) -> tuple[list[BlockLayer], Any]:
    """The block form of every layer: read at each of READ_SIZES (instances
    drawn as symbols by the claim's own sampler, the mutant applied), then
    unified into one form with coefficients a·f(n)."""
    readings, ns, inst0 = [], [], None
    for sizes in READ_SIZES:
        sizes = {**sizes, "L": L}
        inst = spec.sample(SymbolDraw(rng_for(ctx, "lemma")), sizes)
        model = spec.build(inst)
        if mutant is not None:
            model = mutant.apply(model, inst)
        readings.append(read_layers(model.layers, ROW_DIMS, sizes, params_of(inst)))
        ns.append(sizes["n"])
        inst0 = inst0 or inst
    return unify_readings(readings, ns), inst0


def _sizes_text(L: int) -> str:
    return ", ".join(f"(d, n) = ({s['d']}, {s['n']})" for s in READ_SIZES) + f", L = {L}"


def _eta(l: int) -> sympy.Symbol:
    return sympy.Symbol(f"η{l + 1}")


def von_oswald_params(inst: Any) -> Parameters:
    p = Parameters()
    p.add_matrix(W0, np.asarray(inst.W_0, dtype=object).reshape(-1, 1))  # the row W_0 of W_V is w0ᵀ
    for l, e in enumerate(inst.etas):
        p.add_scalar(e, _eta(l))
    return p


def von_oswald_lemma(spec: Any, L: int, with_w0: bool,
                     mutant: Mutant | None = None) -> Callable[[Context], Lemma]:
    def make(ctx: Context) -> Lemma:
        layers, inst = read_model(spec, ctx, L, von_oswald_params, mutant)
        w0 = _p(W0) if with_w0 else None
        state = regression_state(w0)
        steps = [gd_step(_eta(l), w0) for l in range(len(inst.etas))]
        prompt = Block([[_p(X).T, _p(XQ)], [_p(Y).T, -(_p(XQ).T @ w0) if w0 is not None else Poly.zero(ONE, ONE)]])
        return Lemma(
            name="von Oswald layer",
            statement=("a layer with W_K = W_Q = [[I,0],[0,0]], W_V = [[0,0],[w0ᵀ,−1]], P = (η/n) I, "
                       "M = diag(I_n, 0) maps S(v) = [[Xᵀ, x_q], [(y − Xv)ᵀ, −x_qᵀ(w0+v)]] to S(v − η∇R(w0+v)), "
                       "∇R(w) = (1/n)Xᵀ(Xw − y), X, y, x_q, w0, v blocks of any size."
                       if with_w0 else
                       "a layer with W_K = W_Q = [[I,0],[0,0]], W_V = [[0,0],[0,−1]], P = (η/n) I, M = diag(I_n, 0) "
                       "maps S(w) = [[Xᵀ, x_q], [(y − Xw)ᵀ, −x_qᵀw]] to S(w − η∇R(w)) for X, y, x_q, w of any size."),
            induction=("the prompt is S(v_0) with v_0 = 0; if Z_ℓ = S(v_ℓ) then Z_{ℓ+1} = S(v_{ℓ+1}), v_{ℓ+1} the "
                       "GD step with η_{ℓ+1}; hence Z_L = S(v_L) for every L, and the prediction "
                       "−[Z_L]_{query label} = x_qᵀ w_L."),
            state=state, generic={"w": _p(V)}, layers=layers, steps=steps, prompt=prompt, start={"w": Poly.zero("d", ONE)},
            row_names=ROWS, source=(f"read from constructions.gradient_descent.von_oswald_layer at {_sizes_text(L)}, one pattern "
                                    "(that the code emits it at every size is read at these sizes, not proved)"))
    return make


def ahn_params(symmetric: bool) -> Callable[[Any], Parameters]:
    def params(inst: Any) -> Parameters:
        p = Parameters()
        for l, A in enumerate(inst.As):
            p.add_matrix(Atom(f"A{l + 1}", "d", "d", symmetric=symmetric), A)
        return p
    return params


def ahn_lemma(spec: Any, L: int, transpose: bool, symmetric: bool = False,
              mutant: Mutant | None = None) -> Callable[[Context], Lemma]:
    def make(ctx: Context) -> Lemma:
        layers, inst = read_model(spec, ctx, L, ahn_params(symmetric), mutant)
        As = [_p(Atom(f"A{l + 1}", "d", "d", symmetric=symmetric)) for l in range(len(inst.As))]
        state = regression_state(None)
        upd = "Aᵀ" if transpose else "A"
        return Lemma(
            name="Ahn layer",
            statement=(f"a layer Z + (1/n) P Z M (Zᵀ Q Z) with P = [[0,0],[0,1]], Q = −[[A,0],[0,0]] maps "
                       f"S(w) = [[Xᵀ, x_q], [(y − Xw)ᵀ, −x_qᵀw]] to S(w − {upd}∇R(w)) for X, y, x_q, w and "
                       f"{'symmetric ' if symmetric else 'any '}A of any size."),
            induction=("the prompt [[Xᵀ, x_q], [yᵀ, 0]] is S(0); if Z_ℓ = S(w_ℓ) then Z_{ℓ+1} = S(w_{ℓ+1}); "
                       "hence [Z_L]_{d+1,n+1} = −⟨x_q, w_L⟩ for every L."),
            state=state, generic={"w": _p(V)}, layers=layers,
            steps=[preconditioned_step(A, transpose) for A in As],
            prompt=Block([[_p(X).T, _p(XQ)], [_p(Y).T, Poly.zero(ONE, ONE)]]), start={"w": Poly.zero("d", ONE)},
            row_names=ROWS, dims={"d": 2, "n": 1},
            source=(f"read from constructions.gradient_descent.preconditioned_layer at {_sizes_text(L)}, one pattern "
                    "(that the code emits it at every size is read at these sizes, not proved)"))
    return make


def lemma_falsifiers(spec: Any, make_for: Callable[[Mutant], Callable[[Context], Lemma]],
                     only_layers: bool = False) -> list[Falsifier]:
    """Every mutant of the claim must make its lemma fail.  With
    ``only_layers``, mutants that leave the layers untouched (a wrong read-out:
    the lemma is about the layers) are left to the claim's other checks."""
    chosen = [m for m in spec.mutants if not (only_layers and m.name.startswith("read-out"))]
    return [lemma_falsifier(m.name, m.description, make_for(m)) for m in chosen]
