"""A small normaliser for non-commutative matrix polynomials with blocks of
unspecified size: the algebra the layer lemmas are stated in.

Why our own: sympy's ``MatrixSymbol`` expands products, but it does not know
that a 1 x 1 product equals its transpose (``x_qᵀ A Xᵀ y == yᵀ X Aᵀ x_q``),
which every regression lemma needs (a score ⟨x_i, x_q⟩ meets an iterate
⟨x_q, w⟩); sympy's non-commutative ``Symbol`` has no transpose at all
(tests/test_lemmas.py shows both).

The objects:

- :class:`Atom`: a named matrix of shape (rows, cols), each a *dimension
  name* ("d", "n", ...) or the literal "1"; optionally symmetric (Aᵀ = A).
- :class:`Poly`: a finite sum  Σ c_w · w  of words w (products of atoms and
  their transposes) with commuting coefficients c_w (sympy expressions in
  scalar symbols such as η, n); a word of length 0 is the identity.
- :class:`Block`: a block matrix of Polys, with the dimension name of each
  block row and block column.

Normal form of a word (every rule is valid for matrices of every size, so
a residual that normalises to 0 is 0 for all sizes; the converse direction
is confirmed separately by evaluating a residual at concrete matrices,
:func:`evaluate`):

1. cut the word wherever the inner dimension is "1": the pieces of shape
   1 x 1 are scalars and commute with everything; the others keep their order;
2. a 1 x 1 piece equals its transpose: keep the smaller of the two spellings;
3. a symmetric atom's transpose is the atom itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Mapping

import numpy as np
import sympy

ONE = "1"


class ShapeError(ValueError):
    """Two block expressions whose dimensions do not fit."""


@dataclass(frozen=True, order=True)
class Atom:
    name: str
    rows: str
    cols: str
    symmetric: bool = False

    def __post_init__(self) -> None:
        if self.symmetric and self.rows != self.cols:
            raise ShapeError(f"a symmetric atom must be square: {self.name} is {self.rows} x {self.cols}")


# A letter is (atom, transposed); a word is a tuple of letters.
Letter = tuple[Atom, bool]
Word = tuple[Letter, ...]


def _letter_shape(letter: Letter) -> tuple[str, str]:
    a, t = letter
    return (a.cols, a.rows) if t else (a.rows, a.cols)


def _letter_t(letter: Letter) -> Letter:
    a, t = letter
    return (a, False) if a.symmetric else (a, not t)


def _word_t(word: Word) -> Word:
    return tuple(_letter_t(x) for x in reversed(word))


def _key(word: Word) -> tuple:
    return tuple((a.name, t) for a, t in word)


def _pieces(word: Word) -> list[Word]:
    """Cut at every inner dimension equal to "1".  (A normal word keeps its
    1 x 1 pieces in front, or at the back after a transpose, so a cut is
    made where either neighbour has a "1" there.)"""
    out, cur = [], []
    for k, letter in enumerate(word):
        cur.append(letter)
        if k < len(word) - 1 and (_letter_shape(letter)[1] == ONE or _letter_shape(word[k + 1])[0] == ONE):
            out.append(tuple(cur))
            cur = []
    if cur:
        out.append(tuple(cur))
    return out


def normal_word(word: Word) -> Word:
    """The canonical spelling: scalar pieces (each in its smaller spelling,
    sorted) first, then the non-scalar pieces in their order."""
    word = tuple((a, False) if a.symmetric else (a, t) for a, t in word)
    scalars, rest = [], []
    for piece in _pieces(word):
        r, c = _letter_shape(piece[0])[0], _letter_shape(piece[-1])[1]
        if r == ONE and c == ONE:
            scalars.append(min(piece, _word_t(piece), key=_key))
        else:
            rest.append(piece)
    scalars.sort(key=_key)
    return tuple(x for p in scalars for x in p) + tuple(x for p in rest for x in p)


def _simplify(c: Any) -> Any:
    return sympy.cancel(sympy.together(c))


class Poly:
    """Σ c_w · w, of shape (rows, cols); coefficients commute."""

    __slots__ = ("rows", "cols", "terms")

    def __init__(self, rows: str, cols: str, terms: Mapping[Word, Any] | None = None) -> None:
        self.rows, self.cols = rows, cols
        clean: dict[Word, Any] = {}
        for w, c in (terms or {}).items():
            w = normal_word(w)
            clean[w] = clean.get(w, 0) + c
        self.terms = {w: c for w, c in ((w, _simplify(c)) for w, c in clean.items()) if c != 0}

    # constructors -----------------------------------------------------
    @staticmethod
    def atom(a: Atom) -> "Poly":
        return Poly(a.rows, a.cols, {((a, False),): 1})

    @staticmethod
    def identity(dim: str, c: Any = 1) -> "Poly":
        return Poly(dim, dim, {(): c})

    @staticmethod
    def zero(rows: str, cols: str) -> "Poly":
        return Poly(rows, cols)

    # algebra ----------------------------------------------------------
    @property
    def shape(self) -> tuple[str, str]:
        return self.rows, self.cols

    def is_zero(self) -> bool:
        return not self.terms

    def _same_shape(self, o: "Poly", op: str) -> None:
        if self.shape != o.shape:
            raise ShapeError(f"{op} of shapes {self.shape} and {o.shape}")

    def __add__(self, o: "Poly") -> "Poly":
        self._same_shape(o, "sum")
        terms = dict(self.terms)
        for w, c in o.terms.items():
            terms[w] = terms.get(w, 0) + c
        return Poly(self.rows, self.cols, terms)

    def __neg__(self) -> "Poly":
        return Poly(self.rows, self.cols, {w: -c for w, c in self.terms.items()})

    def __sub__(self, o: "Poly") -> "Poly":
        return self + (-o)

    def scale(self, c: Any) -> "Poly":
        return Poly(self.rows, self.cols, {w: c * v for w, v in self.terms.items()})

    def __matmul__(self, o: "Poly") -> "Poly":
        if self.cols != o.rows:
            raise ShapeError(f"product of shapes {self.shape} and {o.shape}")
        terms: dict[Word, Any] = {}
        for w1, c1 in self.terms.items():
            for w2, c2 in o.terms.items():
                w = normal_word(w1 + w2)
                terms[w] = terms.get(w, 0) + c1 * c2
        return Poly(self.rows, o.cols, terms)

    @property
    def T(self) -> "Poly":
        return Poly(self.cols, self.rows, {_word_t(w): c for w, c in self.terms.items()})

    def substitute(self, atom: Atom, value: "Poly") -> "Poly":
        """Replace every occurrence of ``atom`` (and its transpose) by ``value``."""
        if value.shape != (atom.rows, atom.cols):
            raise ShapeError(f"{atom.name} is {atom.rows} x {atom.cols}, its value {value.shape}")
        out = Poly.zero(self.rows, self.cols)
        for w, c in self.terms.items():
            scalars, chain = [], None
            for piece in _pieces(w):
                acc = None
                for letter in piece:
                    a, t = letter
                    q = (value.T if t else value) if a == atom else Poly(*_letter_shape(letter), {(letter,): 1})
                    acc = q if acc is None else acc @ q
                if acc.shape == (ONE, ONE):  # a scalar piece
                    scalars.append(acc)
                else:
                    chain = acc if chain is None else chain @ acc
            res = Poly.identity(self.rows) if chain is None else chain
            for sc in scalars:
                res = scalar_times(sc, res)
            out = out + res.scale(c)
        return out

    def atoms(self) -> set[Atom]:
        return {a for w in self.terms for a, _ in w}

    def __repr__(self) -> str:
        return show(self)


def scalar_times(s: Poly, p: Poly) -> Poly:
    """s · p for a 1 x 1 Poly s (a scalar: it commutes with everything)."""
    if s.shape != (ONE, ONE):
        raise ShapeError(f"scalar factor must be 1 x 1, got {s.shape}")
    terms: dict[Word, Any] = {}
    for w1, c1 in s.terms.items():
        for w2, c2 in p.terms.items():
            w = normal_word(w1 + w2)
            terms[w] = terms.get(w, 0) + c1 * c2
    return Poly(p.rows, p.cols, terms)


def show_word(word: Word) -> str:
    if not word:
        return "I"
    return " ".join(a.name + ("ᵀ" if t else "") for a, t in word)


def show(p: Poly) -> str:
    if p.is_zero():
        return "0"
    parts = []
    for w, c in sorted(p.terms.items(), key=lambda wc: (len(wc[0]), _key(wc[0]))):
        c = sympy.factor(c)
        sign = ""
        if c.could_extract_minus_sign():
            sign, c = "-", -c
        if c == 1:
            parts.append(sign + (show_word(w) if w else "1"))
        else:
            cs = str(c)
            cs = f"({cs})" if any(op in cs for op in "+-/ ") else cs
            parts.append(sign + (f"{cs}·{show_word(w)}" if w else cs))
    return " + ".join(parts).replace("+ -", "- ")


# ---------------------------------------------------------------------------
# block matrices
# ---------------------------------------------------------------------------


class Block:
    """A block matrix: ``grid[i][j]`` is a Poly of shape (row_dims[i], col_dims[j])."""

    def __init__(self, grid: list[list[Poly]]) -> None:
        self.grid = grid
        self.row_dims = [row[0].rows for row in grid]
        self.col_dims = [p.cols for p in grid[0]]
        for i, row in enumerate(grid):
            if len(row) != len(self.col_dims):
                raise ShapeError("ragged block matrix")
            for j, p in enumerate(row):
                if p.shape != (self.row_dims[i], self.col_dims[j]):
                    raise ShapeError(f"block ({i},{j}) has shape {p.shape}, expected "
                                     f"({self.row_dims[i]}, {self.col_dims[j]})")

    @staticmethod
    def diag(dims: Iterable[str], coeffs: Iterable[Any]) -> "Block":
        dims = list(dims)
        return Block([[Poly.identity(r, c) if i == j else Poly.zero(r, dims[j]) for j in range(len(dims))]
                      for i, (r, c) in enumerate(zip(dims, coeffs))])

    @staticmethod
    def zeros(row_dims: list[str], col_dims: list[str]) -> "Block":
        return Block([[Poly.zero(r, c) for c in col_dims] for r in row_dims])

    def __add__(self, o: "Block") -> "Block":
        return Block([[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(self.grid, o.grid)])

    def __sub__(self, o: "Block") -> "Block":
        return Block([[a - b for a, b in zip(r1, r2)] for r1, r2 in zip(self.grid, o.grid)])

    def __neg__(self) -> "Block":
        return Block([[-a for a in r] for r in self.grid])

    def scale(self, c: Any) -> "Block":
        return Block([[a.scale(c) for a in r] for r in self.grid])

    def __matmul__(self, o: "Block") -> "Block":
        if self.col_dims != o.row_dims:
            raise ShapeError(f"block product: column blocks {self.col_dims} vs row blocks {o.row_dims}")
        out = []
        for i, r in enumerate(self.row_dims):
            row = []
            for j, c in enumerate(o.col_dims):
                acc = Poly.zero(r, c)
                for k in range(len(self.col_dims)):
                    acc = acc + self.grid[i][k] @ o.grid[k][j]
                row.append(acc)
            out.append(row)
        return Block(out)

    @property
    def T(self) -> "Block":
        return Block([[self.grid[i][j].T for i in range(len(self.row_dims))] for j in range(len(self.col_dims))])

    def is_zero(self) -> bool:
        return all(p.is_zero() for r in self.grid for p in r)

    def substitute(self, atom: Atom, value: Poly) -> "Block":
        return Block([[p.substitute(atom, value) for p in r] for r in self.grid])

    def nonzero_blocks(self) -> list[tuple[int, int, Poly]]:
        return [(i, j, p) for i, r in enumerate(self.grid) for j, p in enumerate(r) if not p.is_zero()]

    def __repr__(self) -> str:
        return "[" + "; ".join(", ".join(show(p) for p in r) for r in self.grid) + "]"


# ---------------------------------------------------------------------------
# evaluation at concrete sizes (to confirm that a residual really is nonzero)
# ---------------------------------------------------------------------------


def random_values(atoms: Iterable[Atom], dims: Mapping[str, int], rng: np.random.Generator,
                  scalars: Iterable[sympy.Symbol] = ()) -> tuple[dict[Atom, np.ndarray], dict[sympy.Symbol, Fraction]]:
    """Random small-integer matrices for the atoms (symmetric ones symmetric)
    and random nonzero rationals for the scalar symbols."""
    vals: dict[Atom, np.ndarray] = {}
    for a in sorted(set(atoms)):
        r, c = (1 if x == ONE else dims[x] for x in (a.rows, a.cols))
        m = rng.integers(-3, 4, size=(r, c)).astype(object)
        if a.symmetric:
            m = np.triu(m) + np.triu(m, 1).T
        vals[a] = m
    subs = {s: Fraction(int(rng.integers(1, 9)), int(rng.integers(1, 5))) for s in scalars}
    for name, v in dims.items():
        subs[sympy.Symbol(name, positive=True)] = Fraction(v)
    return vals, subs


def evaluate(p: Poly, values: Mapping[Atom, np.ndarray], subs: Mapping[sympy.Symbol, Fraction],
             dims: Mapping[str, int]) -> np.ndarray:
    """The exact value of a Poly at concrete matrices (object arrays of ints/Fractions)."""
    r = 1 if p.rows == ONE else dims[p.rows]
    c = 1 if p.cols == ONE else dims[p.cols]
    out = np.zeros((r, c), dtype=object) + Fraction(0)
    sym_subs = {k: sympy.Rational(v.numerator, v.denominator) for k, v in subs.items()}
    for w, coeff in p.terms.items():
        cv = sympy.nsimplify(coeff.subs(sym_subs)) if hasattr(coeff, "subs") else coeff
        cv = Fraction(int(sympy.numer(cv)), int(sympy.denom(cv)))
        m, factor = None, Fraction(1)
        for piece in _pieces(w):  # 1 x 1 pieces are scalars (the normal form moves them to the front)
            pm = None
            for a, t in piece:
                v = values[a].T if t else values[a]
                pm = v if pm is None else pm.dot(v)
            if pm.shape == (1, 1) and (r, c) != (1, 1):
                factor *= pm[0, 0]
            else:
                m = pm if m is None else m.dot(pm)
        m = np.eye(r, dtype=int).astype(object) if m is None else m
        out = out + m * (cv * factor)
    return out
