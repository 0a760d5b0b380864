"""Layers in block form, and a reader that turns an engine layer into one.

A block layer acts on a block state Z (block rows: the token's coordinates,
e.g. [x (d); y (1)]; block columns: [context (n) | query (1)]) exactly as
:func:`constructions.engine.apply_attention` acts on a concrete prompt:

    Z  <-  Z + scale · Σ_heads V_h · Z · M · Φ_h(Z),       M = diag(I_n, m)

with V_h = W_O W_V and Φ_h(Z) = Zᵀ (W_Kᵀ W_Q) Z for a linear score, or a
kernel block matrix (atoms) for a kernel score.  ReLU heads are linear only
where their scores keep one sign: a pair of heads with opposite scores and
opposite values is linear everywhere (ReLU(s) − ReLU(−s) = s); otherwise the
layer is read on a *uniform sign cell* (every score of a head ≥ 0, or ≤ 0).
An MLP with identity activation and no bias is Z <- Z + W_out W_in Z.

:func:`read_attention` reads the weight matrices of an engine layer built
with symbolic parameters (:class:`constructions.arithmetic.Sym`) as blocks:
0, c·I, or ±c·(a parameter matrix or its transpose).  Anything else is not a
block pattern and the lemma cannot be stated (we say so).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy
from transformer_proofs.constructions.arithmetic import Sym
from transformer_proofs.verify.lemmas.ncalgebra import ONE, Atom, Block, Poly

N_SYM = sympy.Symbol("n", positive=True)  # the number of context tokens, as it appears in 1/n


class NotABlockPattern(ValueError):
    """An engine layer whose weights are not a fixed block pattern."""


@dataclass(frozen=True)
class LinearHead:
    value: Block  # V = W_O W_V
    form: Block  # G = W_Kᵀ W_Q: scores Zᵀ G Z
    relu: bool = False


@dataclass(frozen=True)
class KernelHead:
    value: Block
    scores: Block  # Φ: block matrix of kernel values (keys x queries)


@dataclass(frozen=True)
class BlockLayer:
    heads: tuple[Any, ...]
    query_is_key: Any  # m in M = diag(I_n, m): 0 (masked) or 1
    scale: Any  # sympy expression, e.g. 1/n
    mlp: Block | None = None  # Z <- Z + W Z after the attention (identity activation)
    name: str = ""

    def describe(self) -> str:
        parts = []
        for k, h in enumerate(self.heads):
            if isinstance(h, KernelHead):
                parts.append(f"head {k}: V = {h.value}, scores Φ = {h.scores}")
            else:
                kind = "ReLU" if h.relu else "linear"
                parts.append(f"head {k} ({kind}): V = {h.value}, W_KᵀW_Q = {h.form}")
        parts.append(f"scale {self.scale}, M = diag(I_n, {self.query_is_key})")
        if self.mlp is not None:
            parts.append(f"then Z + W Z with W = {self.mlp}")
        return "; ".join(parts)


def mask_block(col_dims: Sequence[str], query_is_key: Any) -> Block:
    """M = diag(I_n, m) on columns [context | query]."""
    return Block.diag(col_dims, [1] * (len(col_dims) - 1) + [query_is_key])


def _same(a: Block, b: Block) -> bool:
    return (a - b).is_zero()


def linear_cells(layer: BlockLayer) -> list[tuple[str, list[LinearHead | KernelHead]]]:
    """The layer's heads as linear heads, one list per cell.

    Pairs of ReLU heads with opposite forms and opposite values are one linear
    head on every cell (ReLU(s) − ReLU(−s) = s).  The remaining ReLU heads are
    grouped by their score form up to sign (class k: scores ±Zᵀ G_k Z); a
    uniform cell fixes the sign of each class's scores (all ≥ 0 or all ≤ 0),
    where a head is linear (its score ≥ 0) or vanishes (≤ 0).  On mixed-sign
    cells such a layer is not linear in the scores and has no block form."""
    plain: list[Any] = [h for h in layer.heads if not getattr(h, "relu", False)]
    relus = [h for h in layer.heads if getattr(h, "relu", False)]
    leftover: list[LinearHead] = []
    used = [False] * len(relus)
    for i, h in enumerate(relus):
        if used[i]:
            continue
        for j in range(i + 1, len(relus)):
            g = relus[j]
            if not used[j] and _same(g.form, -h.form) and _same(g.value, -h.value):
                used[i] = used[j] = True
                plain.append(LinearHead(h.value, h.form))  # ReLU(s) V - ReLU(-s) V = s V
                break
        if not used[i]:
            leftover.append(h)
            used[i] = True
    if not leftover:
        return [("every cell (ReLU pairs collapse: ReLU(s) − ReLU(−s) = s)" if relus else "", plain)]
    classes: list[tuple[Block, list[tuple[LinearHead, int]]]] = []
    for h in leftover:
        for G, members in classes:
            if _same(h.form, G):
                members.append((h, 1))
                break
            if _same(h.form, -G):
                members.append((h, -1))
                break
        else:
            classes.append((h.form, [(h, 1)]))
    cells = []
    for signs in np.ndindex(*([2] * len(classes))):
        heads = list(plain)
        label = []
        for k, ((G, members), s) in enumerate(zip(classes, signs)):
            sigma = 1 if s == 0 else -1
            label.append(f"Zᵀ G{k + 1} Z {'≥' if sigma > 0 else '≤'} 0 entrywise (G{k + 1} = {G})")
            heads += [LinearHead(h.value, h.form) for h, sign in members if sign * sigma > 0]
        cells.append(("uniform sign cell: " + ", ".join(label), heads))
    return cells


def apply_linear(layer: BlockLayer, heads: Sequence[LinearHead | KernelHead], Z: Block) -> Block:
    M = mask_block(Z.col_dims, layer.query_is_key)
    out = None
    for h in heads:
        scores = h.scores if isinstance(h, KernelHead) else Z.T @ h.form @ Z
        term = h.value @ Z @ M @ scores
        out = term if out is None else out + term
    Z1 = Z if out is None else Z + out.scale(layer.scale)
    if layer.mlp is not None:
        Z1 = Z1 + layer.mlp @ Z1
    return Z1


# ---------------------------------------------------------------------------
# reading engine layers
# ---------------------------------------------------------------------------


def sym_to_sympy(x: Any, names: Mapping[str, Any]) -> Any:
    """A weight entry (int, Fraction, Sym formula) as a sympy expression;
    free Sym names map through ``names`` (to a scalar symbol) or become
    sympy symbols of the same name."""
    if isinstance(x, Sym):
        if x.op is None:
            return names.get(x.name, sympy.Symbol(x.name))
        a, b = (sym_to_sympy(v, names) for v in x.args)
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[x.op]()
    if isinstance(x, (int, np.integer)):
        return sympy.Integer(int(x))
    f = Fraction(x)
    return sympy.Rational(f.numerator, f.denominator)


@dataclass
class Parameters:
    """Which drawn symbols form which matrix atom (entry (i, j) of the atom),
    and which are scalars (with a display symbol)."""

    matrices: dict[str, tuple[Atom, tuple[int, int]]] = field(default_factory=dict)
    scalars: dict[str, sympy.Symbol] = field(default_factory=dict)

    def add_matrix(self, atom: Atom, entries: np.ndarray) -> None:
        e = np.asarray(entries, dtype=object)
        e = e.reshape(-1, 1) if e.ndim == 1 else e
        for idx in np.ndindex(*e.shape):
            if isinstance(e[idx], Sym) and e[idx].op is None:
                self.matrices[e[idx].name] = (atom, idx)

    def add_scalar(self, entry: Any, symbol: sympy.Symbol) -> None:
        if isinstance(entry, Sym) and entry.op is None:
            self.scalars[entry.name] = symbol


def read_block(entries: np.ndarray, rows: str, cols: str, params: Parameters) -> Poly:
    """One block of a concrete weight matrix as 0, c·I or c·P / c·Pᵀ."""
    e = np.vectorize(lambda x: sympy.expand(sym_to_sympy(x, params.scalars)), otypes=[object])(entries)
    if all(v == 0 for v in e.ravel()):
        return Poly.zero(rows, cols)
    r, c = e.shape
    matrix_syms = {sympy.Symbol(k): v for k, v in params.matrices.items()}
    # c·I (scalar coefficient, no matrix parameter)
    if rows == cols and r == c and all(v.free_symbols.isdisjoint(matrix_syms) for v in e.ravel()):
        diag = e[0, 0]
        if all(sympy.simplify(e[i, j] - (diag if i == j else 0)) == 0 for i in range(r) for j in range(c)):
            return Poly.identity(rows, diag)
    # c·P or c·Pᵀ for one matrix parameter P
    found = {matrix_syms[s][0] for v in e.ravel() for s in v.free_symbols if s in matrix_syms}
    if len(found) == 1:
        atom = found.pop()
        for transposed in (False, True):
            coeff = None
            ok = True
            for i, j in np.ndindex(r, c):
                want = (j, i) if transposed else (i, j)
                sym = next((s for s, (a, idx) in matrix_syms.items() if a == atom and idx == want), None)
                if sym is None:
                    ok = False
                    break
                q = sympy.cancel(e[i, j] / sym)
                if q.free_symbols & set(matrix_syms):
                    ok = False
                    break
                coeff = q if coeff is None else coeff
                if sympy.simplify(q - coeff) != 0:
                    ok = False
                    break
            if ok:
                p = Poly.atom(atom)
                p = p.T if transposed else p
                if p.shape != (rows, cols):
                    raise NotABlockPattern(f"block of shape {rows} x {cols} reads as {atom.name} of shape {p.shape}")
                return p.scale(coeff)
    raise NotABlockPattern(f"a {rows} x {cols} block ({r} x {c} here) is neither 0, c·I nor c·(parameter): "
                           f"{e.tolist()}")


def read_matrix(W: np.ndarray, row_dims: Sequence[str], col_dims: Sequence[str],
                sizes: Mapping[str, int], params: Parameters) -> Block:
    W = np.asarray(W, dtype=object)
    r_sizes = [1 if x == ONE else sizes[x] for x in row_dims]
    c_sizes = [1 if x == ONE else sizes[x] for x in col_dims]
    if W.shape != (sum(r_sizes), sum(c_sizes)):
        raise NotABlockPattern(f"matrix of shape {W.shape} does not fit blocks {row_dims} x {col_dims} at {dict(sizes)}")
    r_off = np.concatenate([[0], np.cumsum(r_sizes)])
    c_off = np.concatenate([[0], np.cumsum(c_sizes)])
    return Block([[read_block(W[r_off[i]:r_off[i + 1], c_off[j]:c_off[j + 1]], rd, cd, params)
                   for j, cd in enumerate(col_dims)] for i, rd in enumerate(row_dims)])


def kernel_block(col_dims: Sequence[str], tag: str = "") -> Block:
    """Φ = [[K, k_q], [K_qc, κ]]: kernel values (keys x queries) as
    non-commuting symbols; ``tag`` tells different kernels apart."""
    n, q = col_dims
    return Block([[Poly.atom(Atom(f"K{tag}", n, n)), Poly.atom(Atom(f"k_q{tag}", n, q))],
                  [Poly.atom(Atom(f"K_qc{tag}", q, n)), Poly.atom(Atom(f"κ{tag}", q, q))]])


def _reads_only(W: np.ndarray, row_dims: Sequence[str], sizes: Mapping[str, int], rows: Sequence[int]) -> bool:
    """Does W Z depend only on the block rows ``rows`` of Z (W's other column blocks zero)?"""
    widths = [1 if x == ONE else sizes[x] for x in row_dims]
    off = np.concatenate([[0], np.cumsum(widths)])
    W = np.asarray(W, dtype=object)
    return all(sym_to_sympy(v, {}) == 0 for j in range(len(row_dims)) if j not in rows
               for v in W[:, off[j]:off[j + 1]].ravel())


def read_attention(layer: Any, row_dims: Sequence[str], sizes: Mapping[str, int], params: Parameters,
                   fixed_rows: Sequence[int] = (), kernel_tags: dict[str, str] | None = None) -> BlockLayer:
    """An engine :class:`~constructions.engine.Attention` layer in block form
    (token coordinates split as ``row_dims``; columns [n context | 1 query]).

    Linear scores: Φ = Zᵀ W_Kᵀ W_Q Z.  Other scores (ReLU, exp, softmax, a
    kernel callable) whose W_K and W_Q read only the block rows
    ``fixed_rows`` (rows the lemma keeps unchanged) are a kernel block of
    symbols, the same in every layer with the same (W_K, W_Q, score).  ReLU
    scores on changing rows are read as ReLU heads (linear on sign cells).
    Coefficients are numbers at the size read; :func:`unify_readings` turns
    them into functions of n."""
    from transformer_proofs.constructions.engine import Attention

    if not isinstance(layer, Attention):
        raise NotABlockPattern(f"expected an attention layer, got {type(layer).__name__}")
    if layer.causal or layer.residual != "add":
        raise NotABlockPattern("causal or concatenating attention is not a [context | query] block pattern")
    km = np.asarray(layer.key_mask).astype(int)
    n = sizes["n"]
    if km.shape != (n + 1,) or not (km[:n] == 1).all():
        raise NotABlockPattern(f"key mask {km.tolist()} is not diag(I_n, m)")
    col_dims = ("n", ONE)
    heads = []
    for h in layer.heads:
        WO = np.eye(len(h.W_V), dtype=int).astype(object) if h.W_O is None else np.asarray(h.W_O, dtype=object)
        V = read_matrix(np.asarray(WO, dtype=object).dot(np.asarray(h.W_V, dtype=object)), row_dims, row_dims, sizes, params)
        if layer.score == "linear":
            G = np.asarray(h.W_K, dtype=object).T.dot(np.asarray(h.W_Q, dtype=object))
            heads.append(LinearHead(V, read_matrix(G, row_dims, row_dims, sizes, params)))
            continue
        if fixed_rows and all(_reads_only(W, row_dims, sizes, fixed_rows) for W in (h.W_K, h.W_Q)):
            name = getattr(layer.score, "__name__", str(layer.score))
            key = f"{name}|{np.asarray(h.W_K).tolist()}|{np.asarray(h.W_Q).tolist()}"
            tags = kernel_tags if kernel_tags is not None else {}
            tags.setdefault(key, "" if not tags else str(len(tags) + 1))
            heads.append(KernelHead(V, kernel_block(col_dims, tag=tags[key])))
        elif layer.score == "relu":
            G = np.asarray(h.W_K, dtype=object).T.dot(np.asarray(h.W_Q, dtype=object))
            heads.append(LinearHead(V, read_matrix(G, row_dims, row_dims, sizes, params), relu=True))
        else:
            raise NotABlockPattern(f"score {layer.score!r} on rows that change: no block form")
    scale = sympy.Integer(1) if layer.scale is None else sym_to_sympy(layer.scale, params.scalars)
    return BlockLayer(tuple(heads), int(km[n]), scale)


def read_mlp(layer: Any, row_dims: Sequence[str], sizes: Mapping[str, int], params: Parameters) -> Block:
    """Z + W_out act(W_in Z) as Z + W Z: identity activation (W = W_out W_in),
    or ReLU with paired hidden units W_in = [U; −U], W_out = [P, −P]
    (ReLU(u) − ReLU(−u) = u, so W = P U).  Biases are not block-linear."""
    from transformer_proofs.constructions.engine import MLP

    if not isinstance(layer, MLP):
        raise NotABlockPattern(f"expected an MLP, got {type(layer).__name__}")
    if layer.b_in is not None and any(v != 0 for v in np.ravel(layer.b_in)) or \
            layer.b_out is not None and any(v != 0 for v in np.ravel(layer.b_out)):
        raise NotABlockPattern("an MLP with a bias is affine, not a block-linear map")
    W_in, W_out = np.asarray(layer.W_in, dtype=object), np.asarray(layer.W_out, dtype=object)
    if layer.activation == "identity":
        W = W_out.dot(W_in)
    else:
        h = W_in.shape[0]
        half = h // 2
        U, P = W_in[:half], W_out[:, :half]
        if h % 2 or not _equal(W_in[half:], -U) or not _equal(W_out[:, half:], -P):
            raise NotABlockPattern("a ReLU MLP is read only as pairs ReLU(u) − ReLU(−u) = u (W_in = [U; −U], W_out = [P, −P])")
        W = P.dot(U)
    return read_matrix(W, row_dims, row_dims, sizes, params)


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and all(sympy.simplify(sym_to_sympy(x, {}) - sym_to_sympy(y, {})) == 0
                                      for x, y in zip(a.ravel(), b.ravel()))


def read_layers(layers: Sequence[Any], row_dims: Sequence[str], sizes: Mapping[str, int], params: Parameters,
                fixed_rows: Sequence[int] = ()) -> list[BlockLayer]:
    """Every layer of a model; an MLP joins the attention layer before it."""
    from transformer_proofs.constructions.engine import MLP

    out: list[BlockLayer] = []
    tags: dict[str, str] = {}  # one kernel symbol block per distinct (score, W_K, W_Q), in order of appearance
    for layer in layers:
        if isinstance(layer, MLP):
            W = read_mlp(layer, row_dims, sizes, params)
            if not out or out[-1].mlp is not None:
                raise NotABlockPattern("an MLP must follow an attention layer (one MLP per attention layer)")
            out[-1] = replace(out[-1], mlp=W)
        else:
            out.append(read_attention(layer, row_dims, sizes, params, fixed_rows, tags))
    return out


def read_model_layers(build: Callable[[dict[str, int]], tuple[Sequence[Any], Parameters]],
                      sizes_list: Sequence[dict[str, int]], row_dims: Sequence[str],
                      fixed_rows: Sequence[int] = ()) -> list[BlockLayer]:
    """Build the model's engine layers at each size (``build(sizes) -> (layers,
    parameters)``, parameters drawn as Sym), read them, unify over the sizes."""
    readings = []
    for sizes in sizes_list:
        layers, params = build(dict(sizes))
        readings.append(read_layers(layers, row_dims, sizes, params, fixed_rows))
    return unify_readings(readings, [s["n"] for s in sizes_list])


# ---------------------------------------------------------------------------
# from numbers at several sizes to functions of n
# ---------------------------------------------------------------------------

N_FORMS = (sympy.Integer(1), N_SYM, 1 / N_SYM, 1 / (N_SYM + 1), N_SYM + 1)


def unify_coefficient(values: Sequence[Any], ns: Sequence[int]) -> Any:
    """c(n) = a · f(n) for f among 1, n, 1/n, 1/(n+1), n+1, agreeing at every size read."""
    for f in N_FORMS:
        a = sympy.simplify(values[0] / f.subs(N_SYM, ns[0]))
        if all(sympy.simplify(a * f.subs(N_SYM, m) - v) == 0 for v, m in zip(values[1:], ns[1:])):
            return a * f
    raise NotABlockPattern(f"coefficients {list(values)} at n = {list(ns)} are not a·f(n) for f in {list(N_FORMS)}")


def _unify_poly(ps: Sequence[Poly], ns: Sequence[int]) -> Poly:
    keys = set(ps[0].terms)
    if any(set(p.terms) != keys for p in ps[1:]):
        raise NotABlockPattern(f"a block reads differently at n = {list(ns)}: {[str(p) for p in ps]}")
    return Poly(ps[0].rows, ps[0].cols, {w: unify_coefficient([p.terms[w] for p in ps], ns) for w in keys})


def _unify_block(bs: Sequence[Block | None], ns: Sequence[int]) -> Block | None:
    if all(b is None for b in bs):
        return None
    if any(b is None for b in bs):
        raise NotABlockPattern("an MLP is present at some sizes only")
    return Block([[_unify_poly([b.grid[i][j] for b in bs], ns) for j in range(len(bs[0].col_dims))]
                  for i in range(len(bs[0].row_dims))])


def unify_readings(readings: Sequence[Sequence[BlockLayer]], ns: Sequence[int]) -> list[BlockLayer]:
    """Layers read at several sizes (coefficients numbers) -> one block form
    with coefficients a·f(n); raises when the sizes disagree."""
    if len({len(r) for r in readings}) != 1:
        raise NotABlockPattern(f"the model has {[len(r) for r in readings]} layers at the sizes read")
    out = []
    for layers in zip(*readings):
        first = layers[0]
        if any(len(l.heads) != len(first.heads) or l.query_is_key != first.query_is_key for l in layers):
            raise NotABlockPattern("heads or mask differ between the sizes read")
        heads = []
        for hs in zip(*(l.heads for l in layers)):
            if isinstance(hs[0], KernelHead):
                if any(not isinstance(h, KernelHead) or not _same(h.scores, hs[0].scores) for h in hs):
                    raise NotABlockPattern("kernel heads differ between the sizes read")
                heads.append(KernelHead(_unify_block([h.value for h in hs], ns), hs[0].scores))
            else:
                if any(isinstance(h, KernelHead) or h.relu != hs[0].relu for h in hs):
                    raise NotABlockPattern("head kinds differ between the sizes read")
                heads.append(LinearHead(_unify_block([h.value for h in hs], ns),
                                        _unify_block([h.form for h in hs], ns), hs[0].relu))
        scale = unify_coefficient([l.scale for l in layers], ns)
        out.append(BlockLayer(tuple(heads), first.query_is_key, scale, _unify_block([l.mlp for l in layers], ns)))
    return out


__all__ = ["BlockLayer", "KernelHead", "LinearHead", "NotABlockPattern", "Parameters", "apply_linear", "kernel_block",
           "linear_cells", "mask_block", "read_attention", "read_layers", "read_matrix", "read_mlp", "read_model_layers", "unify_readings",
           "N_SYM"]
