"""Closed-form ridge regression by Sherman–Morrison updates, one example per layer group.

Akyürek, Schuurmans, Andreas, Ma, Zhou (2023), "What learning algorithm is
in-context learning? Investigations with linear models", arXiv:2211.15661,
Theorem 2 and its chain of primitives (App. B): starting from A_0⁻¹ = I/λ,
each example x_i updates

    A_i⁻¹ = A_{i-1}⁻¹ - (A_{i-1}⁻¹ x_i)(x_iᵀ A_{i-1}⁻¹) / (1 + x_iᵀ A_{i-1}⁻¹ x_i)      (Sherman–Morrison)

so that A_n⁻¹ = (λI + XᵀX)⁻¹, and w = A_n⁻¹ Σ_i y_i x_i is the ridge solution.

The paper builds this from its primitives mov, mul, div, aff (Lemma 1, whose
weight displays were lost in our copy).  Ours, exact in any field: every
layer is a sum of linear-attention heads (:class:`LinearAttention`, explicit
masks) added to the residual stream:

- **read** (mov): the query token reads example i's [x_i; y_i] (mask: key i -> the query only);
- **product** (mul): a head with the diagonal mask (each token its own key), score h[a]·1 and
  value the block b gives a·b inside every token: exact products of a token's own entries;
- **divide** (div): a normalised head with keys {BOS, itself}, scores 1 and s, value v gives
  v s / (1 + s), so v - v s/(1 + s) = v / (1 + s) (the Sherman–Morrison pivot, >= 1 over the reals);
- **affine** (aff): a head with score 1 on the diagonal and a constant or linear value.

Tokens (columns): BOS (all zero but its position and the constant), the n examples
[x_i; y_i], the query [x_q; 0].  Layers: 1 (A_0⁻¹ = I/λ) + 5 per example + 2 (w, then
<w, x_q>); hidden size O(d²) (the paper's O(d²)); heads per layer <= d + 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Arithmetic
from transformer_proofs.constructions.engine import PromptError
from transformer_proofs.constructions.linear_attention import LinearAttention, linear_attention


@dataclass(frozen=True)
class Layout:
    """Named rows of a token: [x; y; position one-hot (N); 1; scratch]."""

    d: int
    n: int
    rows: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d, N = self.d, self.n + 2
        sizes = [("x", d), ("y", 1), ("pos", N), ("one", 1), ("xs", d), ("ys", 1), ("Ainv", d * d), ("u", d),
                 ("s", 1), ("uuT", d * d), ("b", d), ("w", d), ("pred", 1)]
        at = 0
        for name, size in sizes:
            self.rows[name] = list(range(at, at + size))
            at += size

    @property
    def D(self) -> int:
        return self.rows["pred"][0] + 1

    @property
    def N(self) -> int:
        return self.n + 2

    def row(self, name: str, k: int = 0) -> int:
        return self.rows[name][k]

    def names(self) -> tuple[str, ...]:
        return tuple(f"{name}:{k}" for name, idx in self.rows.items() for k in range(len(idx)))


@dataclass(frozen=True)
class ResidualLayer:
    """h <- h + Σ_heads head(h): every head writes into the stream (d_v = D)."""

    heads: tuple[LinearAttention, ...]
    name: str = ""


@dataclass(frozen=True)
class ShermanMorrisonTransformer:
    layout: Layout
    layers: tuple[ResidualLayer, ...]


def _unit(D: int, idx: int, value: Any = 1) -> np.ndarray:
    r = np.zeros((1, D), dtype=object)  # exact int zeros
    r[0, idx] = value
    return r


def _value(D: int, pairs: list[tuple[int, int, Any]]) -> np.ndarray:
    """W_V with W_V[dst, src] = coefficient for each (dst, src, coefficient)."""
    W = np.zeros((D, D), dtype=object)  # exact int zeros
    for dst, src, c in pairs:
        W[dst, src] += c
    return W


def _head(L: Layout, score_row: str | int, value: list[tuple[int, int, Any]], mask: np.ndarray,
          **kw: Any) -> LinearAttention:
    """Score h[score_row]·1 (key side reads ``score_row``, query side the constant 1)."""
    k = L.row(score_row) if isinstance(score_row, str) else score_row
    return LinearAttention(W_Q=_unit(L.D, L.row("one")), W_K=_unit(L.D, k), W_V=_value(L.D, value), mask=mask, **kw)


def _diagonal(L: Layout) -> np.ndarray:
    return np.eye(L.N, dtype=int)


def init_layer(L: Layout, lam: Any) -> ResidualLayer:
    """A_0⁻¹ = I/λ in every token (aff: a constant written through the 1 coordinate)."""
    d = L.d
    diag = [(L.row("Ainv", r * d + r), L.row("one"), 1 / lam) for r in range(d)]
    return ResidualLayer((_head(L, "one", diag, _diagonal(L)),), "A⁻¹ = I/λ")


def example_group(L: Layout, i: int, sign: int = -1) -> tuple[ResidualLayer, ...]:
    """The five layers that fold example i (token column i) into A⁻¹ and b at the query."""
    d, D, N, q = L.d, L.D, L.N, L.N - 1
    eye = _diagonal(L)
    scratch = ["xs", "ys", "u", "s", "uuT"]
    read_mask = np.zeros((N, N), dtype=int)
    read_mask[i, q] = 1  # key i -> the query only
    read = _head(L, "one", [(L.row("xs", k), L.row("x", k), 1) for k in range(d)] + [(L.row("ys"), L.row("y"), 1)],
                 read_mask)
    clear = _head(L, "one", [(r, r, -1) for name in scratch for r in L.rows[name]], eye)  # per-example scratch <- 0
    # u = A⁻¹ x: head k scores x_k, carries column k of A⁻¹
    mat_vec = tuple(_head(L, L.row("xs", k), [(L.row("u", r), L.row("Ainv", r * d + k), 1) for r in range(d)], eye)
                    for k in range(d))
    # s = xᵀ u, and b += y x
    dot = tuple(_head(L, L.row("xs", k), [(L.row("s"), L.row("u", k), 1)], eye) for k in range(d))
    accumulate = _head(L, "ys", [(L.row("b", r), L.row("xs", r), 1) for r in range(d)], eye)
    # uuᵀ: head k scores u_k, carries u into column k
    outer = tuple(_head(L, L.row("u", k), [(L.row("uuT", r * d + k), L.row("u", r), 1) for r in range(d)], eye)
                  for k in range(d))
    # A⁻¹ <- A⁻¹ - uuᵀ/(1 + s): a normalised head over keys {BOS, itself} gives uuᵀ s/(1 + s)
    div_mask = eye.copy()
    div_mask[0, :] = 1  # BOS serves every token
    W_K = np.vstack([_unit(D, L.row("pos", 0)), _unit(D, L.row("one")) - _unit(D, L.row("pos", 0))])  # [BOS; not BOS]
    W_Q = np.vstack([_unit(D, L.row("one")), _unit(D, L.row("s"))])  # scores 1 (BOS) and s (itself)
    # sign -1: A⁻¹ + uuᵀ s/(1+s) - uuᵀ = A⁻¹ - uuᵀ/(1+s); sign +1 (a mutant): A⁻¹ + uuᵀ/(1+s)
    to_Ainv = [(L.row("Ainv", e), L.row("uuT", e), -sign) for e in range(d * d)]
    divide = LinearAttention(W_Q=W_Q, W_K=W_K, W_V=_value(D, to_Ainv), mask=div_mask, normalise=True)
    subtract = _head(L, "one", [(L.row("Ainv", e), L.row("uuT", e), sign) for e in range(d * d)], eye)
    return (ResidualLayer((read, clear), f"read example {i}"), ResidualLayer(mat_vec, "u = A⁻¹x"),
            ResidualLayer(dot + (accumulate,), "s = xᵀu, b += yx"), ResidualLayer(outer, "uuᵀ"),
            ResidualLayer((divide, subtract), "A⁻¹ -= uuᵀ/(1+s)"))


def readout_layers(L: Layout) -> tuple[ResidualLayer, ...]:
    d, eye = L.d, _diagonal(L)
    w = tuple(_head(L, L.row("b", k), [(L.row("w", r), L.row("Ainv", r * d + k), 1) for r in range(d)], eye)
              for k in range(d))
    pred = tuple(_head(L, L.row("x", k), [(L.row("pred"), L.row("w", k), 1)], eye) for k in range(d))
    return ResidualLayer(w, "w = A⁻¹b"), ResidualLayer(pred, "<w, x>")


def sherman_morrison_transformer(d: int, n: int, lam: Any, examples: list[int] | None = None) -> ShermanMorrisonTransformer:
    """1 + 5n + 2 layers; ``examples`` (token columns, default 1..n) is the order they are folded in."""
    if n < 1 or d < 1:
        raise PromptError(f"need d >= 1 and n >= 1, got d = {d}, n = {n}")
    L = Layout(d, n)
    layers = [init_layer(L, lam)]
    for i in (range(1, n + 1) if examples is None else examples):
        layers += example_group(L, i)
    layers += readout_layers(L)
    return ShermanMorrisonTransformer(L, tuple(layers))


def ridge_tokens(d: int, n: int, X: np.ndarray, y: np.ndarray, x_q: np.ndarray) -> np.ndarray:
    """Columns BOS, (x_i, y_i), (x_q, 0), each with its position one-hot, the constant 1 and zero scratch."""
    L = Layout(d, n)
    X, y, x_q = (np.asarray(a, dtype=object) for a in (X, y, x_q))
    if X.shape != (n, d) or y.shape != (n,) or x_q.shape != (d,):
        raise PromptError(f"shapes: X {X.shape}, y {y.shape}, x_q {x_q.shape} do not fit d = {d}, n = {n}")
    Z = np.full((L.D, L.N), Fraction(0), dtype=object)
    for j in range(L.N):
        Z[L.row("pos", j), j] = 1
        Z[L.row("one"), j] = 1
    for i in range(n):
        Z[L.rows["x"], i + 1] = X[i]
        Z[L.row("y"), i + 1] = y[i]
    Z[L.rows["x"], L.N - 1] = x_q
    return Z


def run(ar: Arithmetic, model: ShermanMorrisonTransformer, Z: Any) -> Any:
    """The final state (D, N)."""
    return run_layers(ar, model.layers, Z)


# ---------------------------------------------------------------------------
# Theorem 1 / App. A: one SGD step on the ridge loss, then a prediction
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SGDLayout:
    """The paper's rows (App. A): 0 = y, 1..d = x, 1+d = wᵀx, 2+d = wᵀx - y,
    3+d.. = x(wᵀx - y), 3+2d.. = w (then w'), 3+3d.. = the regularised gradient
    (row 3+3d of the last column: the prediction); then ours: a position one-hot
    over the three tokens [x̃_1, ỹ_1, x̃_2] and the constant 1."""

    d: int

    def block(self, name: str) -> list[int]:
        d = self.d
        start, size = {"y": (0, 1), "x": (1, d), "wx": (1 + d, 1), "r": (2 + d, 1), "xr": (3 + d, d),
                       "w": (3 + 2 * d, d), "g": (3 + 3 * d, d), "pos": (3 + 4 * d, 3), "one": (6 + 4 * d, 1)}[name]
        return list(range(start, start + size))

    @property
    def D(self) -> int:
        return 7 + 4 * self.d


def _store(D: int, dst: list[int], terms: list[tuple[int, int, Any]], mask: np.ndarray, one: int,
           extra: tuple[LinearAttention, ...] = ()) -> ResidualLayer:
    """A layer that *stores* into rows ``dst`` (the paper's primitives overwrite): the
    heads ``extra`` and a score-1 head with value Σ terms - h[dst]."""
    value = _value(D, terms + [(r, r, -1) for r in dst])
    head = LinearAttention(W_Q=_unit(D, one), W_K=_unit(D, one), W_V=value, mask=mask)
    return ResidualLayer(extra + (head,))


def sgd_chain(d: int, w: Any, alpha: Any, lam: Any, lam_coefficient: Any = 1, step_coefficient: Any = 2,
              move_from: int = 1) -> tuple[SGDLayout, tuple[ResidualLayer, ...]]:
    """The nine primitives of App. A, as exact layers; w is baked into the weights (W1 = w, b = w).

    Step 6 is aff(W1 = I, W2 = lam_coefficient · λ): the paper prints W2 = -λ (and -2λ in its
    step-by-step), which makes w' = w - 2α(x(wᵀx - y) - λw); the ridge SGD step it states,
    w' = w - 2α(x(wᵀx - y) + λw), needs +λ (``lam_coefficient = 1``, the default here)."""
    L = SGDLayout(d)
    D, one, eye = L.D, L.block("one")[0], np.eye(3, dtype=int)
    only = lambda s, t: np.eye(1, 9, 3 * s + t, dtype=int).reshape(3, 3)  # noqa: E731  mask: key s -> query t
    x, y, wx, r, xr, wb, g = (L.block(k) for k in ("x", "y", "wx", "r", "xr", "w", "g"))

    def mov(s: int, t: int, rows: list[int]) -> ResidualLayer:
        copy = LinearAttention(W_Q=_unit(D, one), W_K=_unit(D, one), W_V=_value(D, [(q, q, 1) for q in rows]),
                               mask=only(s, t))
        clear = LinearAttention(W_Q=_unit(D, one), W_K=_unit(D, one), W_V=_value(D, [(q, q, -1) for q in rows]),
                                mask=only(t, t))
        return ResidualLayer((copy, clear))

    def mul(score: int, values: list[tuple[int, int, Any]]) -> LinearAttention:
        return LinearAttention(W_Q=_unit(D, one), W_K=_unit(D, score), W_V=_value(D, values), mask=eye)

    layers = (
        mov(0, 1, x),  # 1. move x_1 next to y_1
        _store(D, wx, [(wx[0], x[k], w[k]) for k in range(d)], eye, one),  # 2. wᵀx (W1 = w)
        _store(D, r, [(r[0], wx[0], 1), (r[0], y[0], -1)], eye, one),  # 3. wᵀx - y
        _store(D, xr, [], eye, one, (mul(r[0], [(xr[k], x[k], 1) for k in range(d)]),)),  # 4. x(wᵀx - y)
        _store(D, wb, [(wb[k], one, w[k]) for k in range(d)], eye, one),  # 5. write w (b = w)
        _store(D, g, [(g[k], xr[k], 1) for k in range(d)] + [(g[k], wb[k], lam_coefficient * lam) for k in range(d)],
               eye, one),  # 6. x(wᵀx - y) + λw
        _store(D, wb, [(wb[k], wb[k], 1) for k in range(d)] + [(wb[k], g[k], -step_coefficient * alpha)
                                                               for k in range(d)], eye, one),  # 7. w' = w - 2α(...)
        mov(move_from, 2, wb),  # 8. move w' to the test token
        _store(D, g[:1], [], eye, one, tuple(mul(x[k], [(g[0], wb[k], 1)]) for k in range(d))),  # 9. w'ᵀx_2
    )
    return L, layers


def sgd_tokens(d: int, x1: np.ndarray, y1: Any, x2: np.ndarray) -> np.ndarray:
    """[x̃_1, ỹ_1, x̃_2] with x̃ = [0; x], ỹ = [y; 0_d] (§2.3), each with its position and the constant 1."""
    L = SGDLayout(d)
    x1, x2 = np.asarray(x1, dtype=object), np.asarray(x2, dtype=object)
    if x1.shape != (d,) or x2.shape != (d,):
        raise PromptError(f"x_1 {x1.shape} and x_2 {x2.shape} must have d = {d} entries")
    Z = np.zeros((L.D, 3), dtype=object)
    Z[L.block("x"), 0], Z[L.block("y")[0], 1], Z[L.block("x"), 2] = x1, y1, x2
    for t in range(3):
        Z[L.block("pos")[t], t] = 1
        Z[L.block("one")[0], t] = 1
    return Z


def run_layers(ar: Arithmetic, layers: tuple[ResidualLayer, ...], Z: Any) -> Any:
    for layer in layers:
        Z = Z + sum((linear_attention(ar, h, Z) for h in layer.heads[1:]), linear_attention(ar, layer.heads[0], Z))
    return Z
