"""newton.layer as a layer lemma for all sizes, from the printed block form.

Fu, Chen, Jia, Sharan 2023/24, "Transformers Learn Higher-Order Optimization
Methods for In-Context Learning", arXiv:2310.17086, App. B.2, eqs. (27)–(32)
(read in the paper's full text).  Tokens h_t = [T x_t; x_t] (blocks top d, bottom d);
columns [n context | query]; keys over the n context tokens (M = diag(I_n, 0)):

    S(T) = [[T Xᵀ, T x_q],
            [Xᵀ,   x_q  ]]          X (n x d) stacks the x_t as rows, S = XᵀX.

Printed layer: two ReLU heads, Q_m = Q̃_m C, K_m = K̃_m J with
C = [[0, −(n/2) I], [0, 0]], J = [[I, 0], [0, 0]], Q̃_1ᵀK̃_1 = I, Q̃_2ᵀK̃_2 = −I,
so the score forms are G_1 = Jᵀ C = [[0, −(n/2) I], [0, 0]] and G_2 = −G_1;
values V_1 = V_2 = J; scale 1/n; then the MLP h ← h + J h.

Lemma (for symmetric T): the layer maps S(T) to S(2T − T S T).

- With the printed V_2 = +J the pair computes (ReLU(s) + ReLU(−s)) J h = |s| J h,
  which is not linear in s: on the uniform cell s ≥ 0 the lemma holds, on
  s ≤ 0 it fails (residual 2 T S T), and on mixed cells there is no block form.
  For T ⪰ 0 (every M_k is) the diagonal scores s_tt = −(n/2) x_tᵀ T x_t are ≤ 0,
  so the cell s ≥ 0 forces T x_t = 0 for all t: on every prompt with T Xᵀ ≠ 0
  the printed pair is not the Newton step.  This is the paper's erratum
  newton.layer_printed (eq. (28) argues ReLU(u) + ReLU(−u) = u).
- With V_2 = −J (our correction) ReLU(s) − ReLU(−s) = s on every cell and the
  lemma holds for all d, n.

Induction: M_0 = α XᵀX is symmetric; if T is symmetric so is 2T − TST (a
side identity checked here), so every layer meets the lemma's hypothesis and
k layers give M_k (Newton–Schulz).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import sympy
from transformer_proofs.verify.lemmas.layers import N_SYM, BlockLayer, LinearHead, Parameters, read_model_layers
from transformer_proofs.verify.lemmas.lemma import Iterate, Lemma
from transformer_proofs.verify.lemmas.ncalgebra import ONE, Atom, Block, Poly
from transformer_proofs.verify.registry import Context

X = Atom("X", "n", "d")
XQ = Atom("x_q", "d", ONE)
T = Atom("T", "d", "d", symmetric=True)  # the generic iterate M_k
ALPHA = sympy.Symbol("α")
ROWS = ("top T x", "bottom x")
ROW_DIMS = ("d", "d")


PRINTED_NOTE = ("with V_2 = +J the pair computes (ReLU(s) + ReLU(−s)) J h = |s| J h, not s J h: linear only on the "
                "uniform sign cells; on s ≥ 0 the lemma holds, on s ≤ 0 it fails, mixed cells have no block form. "
                "For T ⪰ 0 the diagonal scores −(n/2) x_tᵀ T x_t are ≤ 0, so the cell s ≥ 0 forces T x_t = 0: "
                "on no prompt with T Xᵀ ≠ 0 is the printed pair the Newton step. V_2 = −J repairs it "
                "(the erratum newton.layer_printed of App. B.2, eq. (28)).")


def _p(a: Atom) -> Poly:
    return Poly.atom(a)


def _blocks(tl: Any, tr: Any, bl: Any, br: Any) -> Block:
    """A 2d x 2d block matrix from coefficients of I (0 for a zero block)."""
    return Block([[Poly.identity("d", tl), Poly.identity("d", tr)], [Poly.identity("d", bl), Poly.identity("d", br)]])


def state(it: Iterate) -> Block:
    Tk = it["T"]
    return Block([[Tk @ _p(X).T, Tk @ _p(XQ)], [_p(X).T, _p(XQ)]])


def newton_schulz_step(it: Iterate) -> Iterate:
    """M ← 2M − M S M, S = XᵀX."""
    Tk = it["T"]
    S = _p(X).T @ _p(X)
    return {"T": Tk.scale(2) - Tk @ S @ Tk}


def printed_layer(v2_sign: int = 1, query_is_key: Any = 0, scale: Any = None, c_sign: int = 1) -> BlockLayer:
    """The printed layer (v2_sign = +1: V_2 = J) or the corrected one (−1: V_2 = −J)."""
    J = _blocks(1, 0, 0, 0)
    G1 = _blocks(0, -c_sign * N_SYM / 2, 0, 0)  # Jᵀ C
    heads = (LinearHead(J, G1, relu=True), LinearHead(J.scale(v2_sign), -G1, relu=True))
    return BlockLayer(heads, query_is_key, 1 / N_SYM if scale is None else scale, mlp=J)


def newton_layer_lemma(v2_sign: int = -1, L: int = 2,
                       mutate: Callable[[BlockLayer], BlockLayer] | None = None,
                       build: Callable[[dict[str, int]], tuple[Sequence[Any], Parameters]] | None = None,
                       read_sizes: Sequence[dict[str, int]] = ({"d": 2, "n": 3}, {"d": 3, "n": 4}, {"d": 2, "n": 6}),
                       ) -> Callable[[Context], Lemma]:
    """The Newton layer lemma for L layers; ``build(sizes) -> (engine layers,
    Parameters)`` reads a construction's Newton layers (attention + MLP, rows
    [T x (d); x (d)]) instead of the printed block form."""
    def make(ctx: Context) -> Lemma:
        if build is not None:
            layers = read_model_layers(build, read_sizes, ROW_DIMS)
        else:
            layers = [printed_layer(v2_sign) for _ in range(L)]
        layers = [mutate(layer) for layer in layers] if mutate else layers
        nxt = newton_schulz_step({"T": _p(T)})["T"]
        M0 = (_p(X).T @ _p(X)).scale(ALPHA)
        which = ("V_1, V_2 as the construction has them" if build is not None else
                 "printed V_2 = J" if v2_sign > 0 else "V_2 = −J (our correction of the printed V_2 = J)")
        return Lemma(
            name="Newton layer",
            statement=(f"the two-head ReLU layer (score forms ±[[0, −(n/2)I],[0,0]], V_1 = J, {which}, scale 1/n, "
                       "keys over the context) followed by h ← h + J h maps S(T) = [[T Xᵀ, T x_q],[Xᵀ, x_q]] to "
                       "S(2T − T XᵀX T) for symmetric T and X, x_q of any size."),
            induction=("M_0 = α XᵀX is symmetric; T symmetric ⇒ 2T − TST symmetric; so by induction k layers map "
                       "S(M_0) to S(M_k), M_{k+1} = 2M_k − M_k S M_k, for every d, n, k."),
            state=state, generic={"T": _p(T)}, layers=layers, steps=[newton_schulz_step] * L,
            side=[("symmetry kept: (2T − TST)ᵀ − (2T − TST) = 0", nxt.T - nxt),
                  ("M_0 = αXᵀX symmetric", M0.T - M0)],
            row_names=ROWS,
            source=("read from the construction at " + ", ".join(f"(d, n) = ({s['d']}, {s['n']})" for s in read_sizes)
                    if build is not None else "printed block form (Fu et al. App. B.2, eqs. (27)–(30))"),
            notes=PRINTED_NOTE if v2_sign > 0 and build is None else "")
    return make
