"""fgd.functional_gd as a layer lemma for all sizes, from the printed block form.

Cheng, Chen, Sra 2024, "Transformers Implement Functional Gradient Descent to
Learn Non-Linear Functions In Context", arXiv:2312.06528, Prop. 1 (Prop. 3.1
in the ICML version), the layer as we transcribed it:

    Z_{ℓ+1} = Z_ℓ + (1/n) V_ℓ Z_ℓ M h̃(B_ℓ X_ℓ, C_ℓ X_ℓ),   V_ℓ = [[A_ℓ, 0], [0, r_ℓ]],

with A_ℓ = 0, B = C = I.  The kernel matrix h̃ (keys x queries) is a block
matrix of *non-commuting symbols*

    Φ = [[K,    k_q],      K (n x n): K[i, j] = h̃(x_i, x_j)   (not symmetric: softmax)
         [K_qc, κ  ]]      k_q (n x 1): h̃(x_i, x_q); the query-key row is masked out

so the lemma holds for every kernel (linear, ReLU, exp, softmax normalised
over the context keys), every d and n.  State:

    S(F, f_q) = [[X,          x_q ],       X (d x n): tokens as columns
                 [(y − F)ᵀ,   −f_q]]       F = f(X) (n x 1), f_q = f(x_q) (1 x 1)

Lemma: with r_ℓ = −η_ℓ (our derivation) one layer maps S(F, f_q) to
S(F + (η/n) Kᵀ(y − F), f_q + (η/n) k_qᵀ(y − F)): one step of functional GD
f ← f + (η/n) Σ_i (y_i − f(x_i)) K(x_i, ·), the x-rows unchanged.
Induction: x-rows unchanged ⇒ h̃(X_ℓ, X_ℓ) = Φ in every layer; the prompt
[[X, x_q], [yᵀ, 0]] is S(0, 0) (f_0 = 0); so −[Z_L]_{d+1,n+1} = f_L(x_q).

When the fgd construction lands in the engine, its layers can be read with
:func:`verify.lemmas.layers.read_attention` instead (a kernel-score reader
that maps the kernel callable to Φ is the one addition needed).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import sympy
from transformer_proofs.verify.lemmas.layers import (
    N_SYM,
    BlockLayer,
    KernelHead,
    Parameters,
    kernel_block,
    read_model_layers,
)
from transformer_proofs.verify.lemmas.lemma import Iterate, Lemma
from transformer_proofs.verify.lemmas.ncalgebra import ONE, Atom, Block, Poly
from transformer_proofs.verify.registry import Context

X = Atom("X", "d", "n")
XQ = Atom("x_q", "d", ONE)
Y = Atom("y", "n", ONE)
F = Atom("F", "n", ONE)  # f_ℓ(x_1..x_n), the generic iterate
FQ = Atom("f_q", ONE, ONE)  # f_ℓ(x_q)
K = Atom("K", "n", "n")  # the atoms of layers.kernel_block(("n", "1"))
KQ = Atom("k_q", "n", ONE)
ROWS = ("x", "y")
ROW_DIMS = ("d", ONE)
FIXED_ROWS = (0,)  # the x rows: the lemma keeps them, so the kernel block is the same in every layer


def _p(a: Atom) -> Poly:
    return Poly.atom(a)


def state(it: Iterate) -> Block:
    return Block([[_p(X), _p(XQ)], [(_p(Y) - it["F"]).T, -it["f_q"]]])


def functional_gd_step(eta: Any) -> Callable[[Iterate], Iterate]:
    """f ← f + (η/n) Σ_i (y_i − f(x_i)) K(x_i, ·) at the context points and the query."""
    def step(it: Iterate) -> Iterate:
        u = _p(Y) - it["F"]
        return {"F": it["F"] + (_p(K).T @ u).scale(eta / N_SYM),
                "f_q": it["f_q"] + (_p(KQ).T @ u).scale(eta / N_SYM)}
    return step


def printed_layer(eta: Any, r: Any = None, query_is_key: Any = 0, scale: Any = None) -> BlockLayer:
    """Z + scale · V Z M Φ with V = [[0, 0], [0, r]] (A = 0); r = −η unless given."""
    r = -eta if r is None else r
    V = Block([[Poly.zero("d", "d"), Poly.zero("d", ONE)], [Poly.zero(ONE, "d"), Poly.identity(ONE, r)]])
    return BlockLayer((KernelHead(V, kernel_block(("n", ONE))),), query_is_key, 1 / N_SYM if scale is None else scale)


def functional_gd_lemma(L: int = 2, mutate: Callable[[BlockLayer], BlockLayer] | None = None,
                        build: Callable[[dict[str, int]], tuple[Sequence[Any], Parameters]] | None = None,
                        read_sizes: Sequence[dict[str, int]] = ({"d": 2, "n": 3}, {"d": 3, "n": 4}, {"d": 2, "n": 6}),
                        ) -> Callable[[Context], Lemma]:
    """The lemma for L layers with step sizes η_1..η_L (``mutate`` alters each layer).

    ``build(sizes) -> (engine layers, Parameters)``: read the layers from a
    construction instead of the printed block form (its step-size Syms
    registered as the scalars η1..ηL); this is all an fgd claim needs:
    ``"lemma": lemma_check(functional_gd_lemma(L, build=...))``."""
    def make(ctx: Context) -> Lemma:
        etas = [sympy.Symbol(f"η{l + 1}") for l in range(L)]
        if build is not None:
            layers = read_model_layers(build, read_sizes, ROW_DIMS, FIXED_ROWS)
        else:
            layers = [printed_layer(e) for e in etas]
        layers = [mutate(layer) for layer in layers] if mutate else layers
        zero = {"F": Poly.zero("n", ONE), "f_q": Poly.zero(ONE, ONE)}
        return Lemma(
            name="functional GD layer",
            statement=("Z + (1/n) V Z M Φ with V = [[0,0],[0,−η]], M = diag(I_n, 0) and any kernel block "
                       "Φ = [[K, k_q],[K_qc, κ]] (non-commuting symbols) maps S(F, f_q) = [[X, x_q],[(y − F)ᵀ, −f_q]] "
                       "to S(F + (η/n)Kᵀ(y − F), f_q + (η/n)k_qᵀ(y − F)): one functional-GD step, x-rows unchanged."),
            induction=("x-rows unchanged, so h̃(X_ℓ, X_ℓ) = Φ in every layer; the prompt [[X, x_q],[yᵀ, 0]] is "
                       "S(0, 0) (f_0 = 0); if Z_ℓ = S(f_ℓ) then Z_{ℓ+1} = S(f_{ℓ+1}); hence −[Z_L]_{d+1,n+1} = f_L(x_q) "
                       "for every L, every kernel."),
            state=state, generic={"F": _p(F), "f_q": _p(FQ)}, layers=layers,
            steps=[functional_gd_step(e) for e in etas],
            prompt=Block([[_p(X), _p(XQ)], [_p(Y).T, Poly.zero(ONE, ONE)]]), start=zero,
            row_names=ROWS,
            source=("read from the construction at " + ", ".join(f"(d, n) = ({s['d']}, {s['n']})" for s in read_sizes)
                    if build is not None else
                    "block form of Cheng et al. Prop. 1 as we transcribed it, with r_ℓ = −η_ℓ (ours)"))
    return make
