"""The Bayes predictor of the next token for in-context Markov chains
(Edelman, Edelman, Goel, Malach, Tsilivis 2024, arXiv:2402.11004, ICL-MC),
exactly, at S = 2.

The law their code samples (``datasets.py``, ``ngrams``): the transition
matrix's rows ~ Dirichlet(1, 1), so with π = [[1−a, a], [b, 1−b]] the pair
(a, b) is uniform on [0, 1]², and the first token is drawn from the stationary
law μ_π = (b, a)/(a + b) (their code approximates it by the rows of π¹⁶).  Given
x = (x_1, …, x_t) the likelihood is μ_π(x_1) (1−a)^{n₀₀} a^{n₀₁} b^{n₁₀} (1−b)^{n₁₁},
so the Bayes predictor is

    P(x_{t+1} = 1 | x) = E[π(x_t, 1) · lik] / E[lik],

a ratio of integrals of polynomials times b/(a+b) or a/(a+b).  Those lie in
Q + Q·ln 2 (:func:`integral_over_sum`), so the predictor is decided exactly:
it equals a rational q iff both coordinates of E[π(x_t,1)·lik] − q·E[lik] vanish
(ln 2 is irrational).  With a uniform first token the μ factor is 1/2 and the
integrals are Beta moments: the predictor is the Laplace bigram
(n_{x_t,1} + 1)/(n_{x_t} + 2) (Dirichlet–multinomial conjugacy).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Sequence

import flint
from transformer_proofs.constructions.arithmetic import arb_precision

Poly = dict[tuple[int, int], Any]  # {(i, j): c} for Σ c a^i b^j, c rational (flint fmpq)


def Q(x: Any, d: int = 1) -> flint.fmpq:
    """An exact rational as flint's fmpq (from an int, a Fraction or an fmpq)."""
    if isinstance(x, flint.fmpq):
        return x if d == 1 else x / d
    f = Fraction(x) / d
    return flint.fmpq(f.numerator, f.denominator)


@dataclass(frozen=True)
class QLog2:
    """r + s·ln 2 with r, s rational: the field Q(ln 2) restricted to what
    the integrals need (sums, rational multiples; one division at the end, in
    balls).  Coordinates are kept as fmpq (given as ints, Fractions or fmpq)."""

    r: Any
    s: Any = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "r", Q(self.r))
        object.__setattr__(self, "s", Q(self.s))

    def __add__(self, o: QLog2) -> QLog2:
        return QLog2(self.r + o.r, self.s + o.s)

    def __sub__(self, o: QLog2) -> QLog2:
        return QLog2(self.r - o.r, self.s - o.s)

    def scale(self, c: Any) -> QLog2:
        c = Q(c)
        return QLog2(c * self.r, c * self.s)

    def is_zero(self) -> bool:
        """Exact: r + s ln 2 = 0 iff r = s = 0, since ln 2 is irrational."""
        return self.r == 0 and self.s == 0

    def ball(self, prec: int = 128) -> flint.arb:
        with arb_precision(prec):
            return (flint.arb(int(self.r.p)) / int(self.r.q)
                    + flint.arb(int(self.s.p)) / int(self.s.q) * flint.arb.const_log2())

    def __str__(self) -> str:
        if self.s == 0:
            return str(self.r)
        return f"{self.r} {'+' if self.s > 0 else '−'} {abs(self.s)}·ln2"


ZERO = QLog2(0)


@lru_cache(maxsize=None)
def _K(n: int) -> QLog2:
    """∫₀¹ bⁿ/(1+b) db: K₀ = ln 2, Kₙ = 1/n − Kₙ₋₁."""
    if n == 0:
        return QLog2(0, 1)
    return QLog2(Q(1, n)) - _K(n - 1)


@lru_cache(maxsize=None)
def integral_over_sum(m: int, n: int) -> QLog2:
    """I(m, n) = ∫₀¹∫₀¹ aᵐ bⁿ/(a+b) da db, exactly in Q + Q ln 2.
    I(0, k) = ∫₀¹ bᵏ (ln(1+b) − ln b) db = ln2/(k+1) − K_{k+1}/(k+1) + 1/(k+1)²;
    for m ≥ 1, aᵐbⁿ/(a+b) = aᵐ⁻¹bⁿ − aᵐ⁻¹bⁿ⁺¹/(a+b), so I(m, n) = 1/(m(n+1)) − I(m−1, n+1)."""
    if m < 0 or n < 0:
        raise ValueError(f"exponents must be nonnegative, got ({m}, {n})")
    if m == 0:
        k = n
        return QLog2(Q(1, (k + 1) ** 2), Q(1, k + 1)) - _K(k + 1).scale(Q(1, k + 1))
    return QLog2(Q(1, m * (n + 1))) - integral_over_sum(m - 1, n + 1)


def beta_moment(i: int, j: int) -> flint.fmpq:
    """∫₀¹∫₀¹ aⁱ bʲ da db."""
    return Q(1, (i + 1) * (j + 1))


def _mul(p: Poly, q: Poly) -> Poly:
    out: Poly = {}
    for (i, j), c in p.items():
        for (k, l), d in q.items():
            out[(i + k, j + l)] = out.get((i + k, j + l), Q(0)) + c * d
    return {e: c for e, c in out.items() if c != 0}


def _pow(p: Poly, n: int) -> Poly:
    out: Poly = {(0, 0): Q(1)}
    for _ in range(n):
        out = _mul(out, p)
    return out


A, B = {(1, 0): Q(1)}, {(0, 1): Q(1)}
ONE_MINUS_A, ONE_MINUS_B = {(0, 0): Q(1), (1, 0): Q(-1)}, {(0, 0): Q(1), (0, 1): Q(-1)}
ENTRY = {(0, 0): ONE_MINUS_A, (0, 1): A, (1, 0): B, (1, 1): ONE_MINUS_B}  # π(c, d) as a polynomial


def transition_counts(x: Sequence[int]) -> dict[tuple[int, int], int]:
    n = {(c, d): 0 for c in range(2) for d in range(2)}
    for c, d in zip(x[:-1], x[1:]):
        n[(c, d)] += 1
    return n


def chain_polynomial(x: Sequence[int]) -> Poly:
    """Π_k π(x_k, x_{k+1}) as a polynomial in (a, b) (a fresh dict; cached by the tuple x)."""
    return dict(_chain_polynomial(tuple(x)))


@lru_cache(maxsize=4096)
def _chain_polynomial(x: tuple[int, ...]) -> Poly:
    out: Poly = {(0, 0): Q(1)}
    for (c, d), k in transition_counts(x).items():
        out = _mul(out, _pow(ENTRY[(c, d)], k))
    return out


def expect(p: Poly, first: int | None, first_law: str = "stationary") -> QLog2:
    """E[p(a, b) · μ(first)] over (a, b) uniform on [0,1]²: μ the stationary
    law (b/(a+b) for token 0, a/(a+b) for token 1), "swapped" (the two
    transposed: a mutant), or "uniform" (1/2); ``first=None``: no μ factor."""
    total = ZERO
    for (i, j), c in p.items():
        if first is None:
            term = QLog2(beta_moment(i, j))
        elif first_law == "uniform":
            term = QLog2(beta_moment(i, j) / 2)
        else:
            token = first if first_law == "stationary" else 1 - first
            term = integral_over_sum(i, j + 1) if token == 0 else integral_over_sum(i + 1, j)
        total = total + term.scale(c)
    return total


def bayes_row(x: Sequence[int], c: int, first_law: str = "stationary") -> tuple[QLog2, QLog2]:
    """(numerator, denominator) of E[π(c, 1) | x]: E[π(c, 1)·lik], E[lik]."""
    lik = chain_polynomial(x)
    return expect(_mul(lik, ENTRY[(c, 1)]), x[0], first_law), expect(lik, x[0], first_law)


def bayes_next(x: Sequence[int], first_law: str = "stationary") -> tuple[QLog2, QLog2]:
    """(numerator, denominator) of P(x_{t+1} = 1 | x) = E[π(x_t, 1) | x]."""
    return bayes_row(x, x[-1], first_law)


def laplace_row(x: Sequence[int], c: int, pseudo: Fraction = Fraction(1), S: int = 2) -> Fraction:
    """(n_{c,1} + pseudo)/(n_c + S·pseudo): the Laplace estimate of π(c, 1)."""
    n = transition_counts(x)
    return (n[(c, 1)] + pseudo) / (n[(c, 0)] + n[(c, 1)] + S * pseudo)


def laplace_next(x: Sequence[int], pseudo: Fraction = Fraction(1), S: int = 2) -> Fraction:
    """The Laplace bigram (n_{x_t,1} + 1)/(n_{x_t} + S) (``pseudo`` the added count)."""
    return laplace_row(x, x[-1], pseudo, S)


def sequences(t: int) -> list[tuple[int, ...]]:
    return list(itertools.product(range(2), repeat=t))


def sequence_probability(x: Sequence[int], first_law: str = "stationary") -> QLog2:
    """P(x_1..x_t) under the law (π integrated out)."""
    return expect(chain_polynomial(x), x[0], first_law)


def ratio_ball(num: QLog2, den: QLog2, prec: int = 128) -> flint.arb:
    with arb_precision(prec):
        return num.ball(prec) / den.ball(prec)


def excess_log_loss(t: int, first_law: str = "stationary", prec: int = 128) -> flint.arb:
    """E_x Σ_y P(y|x) log(P(y|x)/Laplace(y|x)) at context length t: how much
    more cross-entropy the Laplace bigram pays than the Bayes predictor (a ball)."""
    with arb_precision(prec):
        total = flint.arb(0)
        for x in sequences(t):
            num, den = bayes_next(x, first_law)
            p1 = num.ball(prec) / den.ball(prec)
            q1 = laplace_next(x)
            q = [1 - flint.arb(q1.numerator) / q1.denominator, flint.arb(q1.numerator) / q1.denominator]
            p = [1 - p1, p1]
            px = sequence_probability(x, first_law).ball(prec)
            total += px * sum((p[k] * (p[k] / q[k]).log() for k in range(2)), flint.arb(0))
        return total


def coded_first_token_law(pi: Sequence[Sequence[Fraction]], power: int = 16, axis: int = -1) -> list[Fraction]:
    """The first token's law as the authors' sampler computes it for S < 5,
    as we read their ``utils.stationary_distribution``: the matrix power π¹⁶
    averaged over its last axis (``axis=-1``).  Each row of a stochastic
    matrix sums to 1, so that average is the uniform vector, exactly; the
    average over the first axis (``axis=0``) would approximate μ_π."""
    S = len(pi)

    def mul(X: list[list[Fraction]], Y: list[list[Fraction]]) -> list[list[Fraction]]:
        return [[sum((X[i][k] * Y[k][j] for k in range(S)), Fraction(0)) for j in range(S)] for i in range(S)]

    P = [[Fraction(v) for v in row] for row in pi]
    R = [[Fraction(int(i == j)) for j in range(S)] for i in range(S)]
    while power:  # by squaring
        if power & 1:
            R = mul(R, P)
        P = mul(P, P)
        power >>= 1
    if axis in (-1, 1):
        return [sum(R[i], Fraction(0)) / S for i in range(S)]
    return [sum((R[i][j] for i in range(S)), Fraction(0)) / S for j in range(S)]
