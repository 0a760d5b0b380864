"""The semiautomata the automata family checks, and the length bounds.

Every word of length T is checked (the outputs at positions t < T are the
runs on the prefixes, by the causal mask, so every word of each length t <= T
is covered).  The default bounds keep the family near 1.5 s of CPU (Z_p: parity
T = 8, Z_3 T = 4, and the softmax form in balls: parity T = 5, Z_3 T = 3; prefix
composition: S_3 T = 8, gridworld T = 6, flip-flop T = 5; the S_3 cascade:
generators T = 6, all six elements T = 3); ``--effort`` raises them: T grows by ⌊log₂ effort⌋ (effort 4: +2, effort 16: +4).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from transformer_proofs.constructions.automata import Semiautomaton
from transformer_proofs.verify.spec import Context


@dataclass(frozen=True)
class CyclicCase:
    """Z_p with alphabet Σ = {0, …, |elements|−1}, symbol σ adding ``elements[σ]``."""

    p: int
    elements: tuple[int, ...]
    T: int
    name: str

    def describe(self) -> str:
        return f"{self.name} (p = {self.p}, symbol → element {dict(enumerate(self.elements))}), T = {self.T}"


@dataclass(frozen=True)
class PrefixCase:
    automaton: Semiautomaton
    T: int

    @property
    def name(self) -> str:
        return self.automaton.name

    def describe(self) -> str:
        return f"{self.automaton.name} (|Q| = {self.automaton.n}, |Σ| = {self.automaton.symbols}), T = {self.T}"


@dataclass(frozen=True)
class DihedralCase(PrefixCase):
    """S_3 with a generating alphabet (or every element); each symbol's permutation becomes its (a, b)."""

    def describe(self) -> str:
        return f"{super().describe()}, start {self.automaton.start}"


def extra_length(ctx: Context) -> int:
    """Words grow by ⌊log₂ effort⌋ symbols (never below the default bound)."""
    return max(0, int(math.floor(math.log2(ctx.effort)))) if ctx.effort >= 1 else 0


# S_3 acting on {0, 1, 2}: symbol 0 the transposition (0 1), symbol 1 the 3-cycle 0 → 1 → 2 → 0.
SYMMETRIC_3 = Semiautomaton(3, ((1, 0, 2), (1, 2, 0)), 0, "S_3 (transposition, 3-cycle)")
# A 4-cell gridworld: symbol 0 moves left, 1 moves right, clamped at the walls (an aperiodic monoid).
GRIDWORLD_4 = Semiautomaton(4, ((0, 0, 1, 2), (1, 2, 3, 3)), 0, "gridworld on 4 cells (left, right)")
# The flip-flop: symbols set-0, set-1, read (a memory: the monoid is not a group).
FLIP_FLOP = Semiautomaton(2, ((0, 0), (1, 1), (0, 1)), 0, "flip-flop (set 0, set 1, read)")


# S_3 with every one of its six elements a symbol (in lexicographic order of the image tuples), from state 2.
SYMMETRIC_3_ALL = Semiautomaton(3, tuple(itertools.permutations(range(3))), 2, "S_3 (all six elements)")


def dihedral_cases(ctx: Context) -> list[DihedralCase]:
    k = extra_length(ctx)
    return [DihedralCase(SYMMETRIC_3, 6 + k), DihedralCase(SYMMETRIC_3_ALL, 3 + k)]


def cyclic_cases(ctx: Context) -> list[CyclicCase]:
    k = extra_length(ctx)
    return [CyclicCase(2, (0, 1), 8 + k, "parity (Z_2)"),
            CyclicCase(3, (0, 1, 2), 4 + k, "Z_3, every element a symbol")]


def softmax_cases(ctx: Context) -> list[CyclicCase]:
    """Smaller bounds for the softmax form, checked in ball arithmetic (slower per word)."""
    k = extra_length(ctx)
    return [CyclicCase(2, (0, 1), 5 + k, "parity (Z_2)"), CyclicCase(3, (0, 1, 2), 3 + k, "Z_3, every element a symbol")]


def prefix_cases(ctx: Context) -> list[PrefixCase]:
    k = extra_length(ctx)
    return [PrefixCase(SYMMETRIC_3, 8 + k), PrefixCase(GRIDWORLD_4, 6 + k), PrefixCase(FLIP_FLOP, 5 + k)]
