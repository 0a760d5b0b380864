"""Exact Gaussian moments of the polynomial functions of a regression prompt.

Everything here is exact: rationals (``fractions.Fraction``), integers, or
sympy expressions where n and d are left symbolic.

- :func:`isserlis`: E[g_{i_1} ⋯ g_{i_m}] for g ~ N(0, C), the sum over perfect
  matchings of ∏ C_{ab} (Isserlis / Wick), by a memoised recursion on the
  set of unmatched factors (2^m states, not (m−1)!! matchings).
- :func:`wishart_trace_moment`: E ∏_r tr(W^{k_r}) for W = XᵀX, X an n×d matrix
  of independent N(0, 1) entries, by Gaussian integration by parts (Stein):
  with p_k = tr W^k, p_0 = d and Π a product of further traces,

      E[p_k Π] = (n + k − 1) E[p_{k−1} Π] + Σ_{s=0}^{k−2} E[p_{s+1} p_{k−2−s} Π]
                 + Σ_{r} 2 m_r E[p_{k+m_r−1} Π / p_{m_r}],

  each term one degree lower (our derivation: E[X_ij f] = E[∂f/∂X_ij] on the
  first X of tr(XᵀX W^{k−1})).  It gives E tr W² = nd(n + d + 1).
- :func:`gram_trace_moments`: E tr(Ĝ^k), Ĝ = XᵀX/n, k = 0..K, as Fractions.
- :func:`prompt_gram_moments`: for the prompt tokens z_i = (x_i, y_i),
  x_i ~ N(0, Σ), y_i = ⟨x_i, w⟩ + ε_i, ε_i ~ N(0, σ²), w ~ N(0, Σ_w): the exact
  tensors E[S ⊗ S] and E[w ⊗ S] of S = Σ_{i≤n} z_i z_iᵀ, by Isserlis over one
  token given w, then Isserlis over w.
- :func:`ldl_certificate`: exact LDLᵀ of a symmetric rational matrix: positive
  definite (the pivots), or a rational direction v with vᵀHv ≤ 0.
- :func:`cayley_orthogonal`: a rational orthogonal matrix (I − K)(I + K)⁻¹ from
  a rational skew-symmetric K.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from itertools import product
from typing import Any, Sequence

WPoly = dict  # {exponent tuple: coefficient}: a polynomial in the entries of w


# ---------------------------------------------------------------------------
# Isserlis / Wick
# ---------------------------------------------------------------------------


def isserlis(cov: Any, indices: Sequence[int]) -> Any:
    """E[∏_k g_{indices[k]}] for a centred Gaussian g with covariance ``cov``
    (indexable cov[a][b]): the hafnian of the covariance of the factors."""
    m = len(indices)
    if m % 2:
        return 0
    idx = tuple(indices)

    @lru_cache(maxsize=None)
    def haf(mask: int) -> Any:
        if mask == 0:
            return 1
        first = (mask & -mask).bit_length() - 1
        rest = mask & ~(1 << first)
        total: Any = 0
        bits = rest
        while bits:
            j = (bits & -bits).bit_length() - 1
            bits &= bits - 1
            c = cov[idx[first]][idx[j]]
            if c != 0:
                total = total + c * haf(rest & ~(1 << j))
        return total

    return haf((1 << m) - 1)


# ---------------------------------------------------------------------------
# Wishart trace moments by integration by parts
# ---------------------------------------------------------------------------


def wishart_trace_moment(ks: Sequence[int], n: Any, d: Any) -> Any:
    """E ∏_r tr(W^{k_r}), W = XᵀX with X n×d standard Gaussian.  n, d may be
    integers, Fractions or sympy expressions (the result is then a polynomial
    in them, computed in sympy's Poly arithmetic and returned as an expression)."""
    if any(hasattr(v, "free_symbols") for v in (n, d)):
        import sympy as sp

        gens = sorted(set().union(*(getattr(v, "free_symbols", set()) for v in (n, d))), key=str)
        return trace_moment_recursion(ks, sp.Poly(n, *gens), sp.Poly(d, *gens)).as_expr()
    return trace_moment_recursion(ks, n, d)


def trace_moment_recursion(ks: Sequence[int], n: Any, d: Any) -> Any:
    """The recursion of :func:`wishart_trace_moment` in whatever ring n and d live in
    (integers, Fractions, sympy Poly or ring elements: anything with + and *)."""
    memo: dict[tuple[int, ...], Any] = {}

    def E(key: tuple[int, ...]) -> Any:
        if key in memo:
            return memo[key]
        ks_ = [k for k in key if k > 0]
        zeros = len(key) - len(ks_)
        if not ks_:
            val = d**zeros
        else:
            k, rest = ks_[0], ks_[1:]
            val = (n + k - 1) * E(_key([k - 1, *rest]))
            for s in range(k - 1):
                val = val + E(_key([s + 1, k - 2 - s, *rest]))
            for r, m in enumerate(rest):
                others = rest[:r] + rest[r + 1:]
                val = val + 2 * m * E(_key([k + m - 1, *others]))
            val = val * d**zeros
        memo[key] = val
        return val

    return E(_key(list(ks)))


def _key(ks: list[int]) -> tuple[int, ...]:
    return tuple(sorted(ks, reverse=True))


def gram_trace_moments(n: int, d: int, K: int) -> list[Fraction]:
    """[E tr(Ĝ^k) for k = 0..K], Ĝ = XᵀX/n, X n×d standard Gaussian, exact."""
    if n < 1 or d < 1 or K < 0:
        raise ValueError(f"gram_trace_moments: need n >= 1, d >= 1, K >= 0, got n = {n}, d = {d}, K = {K}")
    return [Fraction(wishart_trace_moment((k,), n, d), n**k) for k in range(K + 1)]


# ---------------------------------------------------------------------------
# The prompt's Gram moments: S = Σ_i z_i z_iᵀ, z_i = (x_i, y_i)
# ---------------------------------------------------------------------------


def _padd(p: WPoly, q: WPoly, c: Any = 1) -> WPoly:
    out = dict(p)
    for e, v in q.items():
        out[e] = out.get(e, 0) + c * v
    return {e: v for e, v in out.items() if v != 0}


def _pmul(p: WPoly, q: WPoly) -> WPoly:
    out: WPoly = {}
    for (e1, v1), (e2, v2) in product(p.items(), q.items()):
        e = tuple(a + b for a, b in zip(e1, e2))
        out[e] = out.get(e, 0) + v1 * v2
    return {e: v for e, v in out.items() if v != 0}


def _pexpect(p: WPoly, cov_w: Any) -> Any:
    """E over w ~ N(0, cov_w) of a polynomial in w (Isserlis per monomial)."""
    total: Any = 0
    for e, v in p.items():
        idx = [j for j, k in enumerate(e) for _ in range(k)]
        total = total + v * isserlis(cov_w, idx)
    return total


def token_covariance(Sigma: Any, sigma2: Any = 0) -> list[list[WPoly]]:
    """The covariance of z = (x, ⟨x, w⟩ + ε) given w, as polynomials in w:
    [[Σ, Σw], [wᵀΣ, wᵀΣw + σ²]]."""
    d = len(Sigma)
    unit = [tuple(1 if j == k else 0 for j in range(d)) for k in range(d)]
    zero = tuple([0] * d)
    C: list[list[WPoly]] = [[{} for _ in range(d + 1)] for _ in range(d + 1)]
    for a in range(d):
        for b in range(d):
            C[a][b] = {zero: Sigma[a][b]} if Sigma[a][b] != 0 else {}
        lin = {unit[k]: Sigma[a][k] for k in range(d) if Sigma[a][k] != 0}
        C[a][d] = lin
        C[d][a] = lin
    quad: WPoly = {zero: sigma2} if sigma2 != 0 else {}
    for j in range(d):
        for k in range(d):
            if Sigma[j][k] != 0:
                e = tuple(unit[j][t] + unit[k][t] for t in range(d))
                quad[e] = quad.get(e, 0) + Sigma[j][k]
    C[d][d] = quad
    return C


def prompt_gram_moments(Sigma: Any, n: int, sigma2: Any = 0, cov_w: Any = None) -> tuple[dict, dict]:
    """(E[S_ab S_ce], E[w_j S_ab]) for S = Σ_{i≤n} z_i z_iᵀ, exact, as dicts keyed
    by index tuples over 0..d (d the label slot).  Given w the tokens are
    i.i.d. N(0, C(w)), so E[S_ab S_ce | w] = n² C_ab C_ce + n (C_ac C_be + C_ae C_bc)
    (Isserlis on one token, independence across tokens); then E over w."""
    d = len(Sigma)
    cov_w = cov_w if cov_w is not None else [[1 if i == j else 0 for j in range(d)] for i in range(d)]
    C = token_covariance(Sigma, sigma2)
    D = d + 1
    T4: dict = {}
    for a, b, c, e in product(range(D), repeat=4):
        key = tuple(sorted([tuple(sorted((a, b))), tuple(sorted((c, e)))]))
        if key in T4:
            T4[(a, b, c, e)] = T4[key]
            continue
        p = _padd(_pmul(C[a][b], C[c][e]), {}, 1)
        p = {k: n * n * v for k, v in p.items()}
        p = _padd(p, _pmul(C[a][c], C[b][e]), n)
        p = _padd(p, _pmul(C[a][e], C[b][c]), n)
        T4[(a, b, c, e)] = T4[key] = _pexpect(p, cov_w)
    T3: dict = {}
    for j, a, b in product(range(d), range(D), range(D)):
        wj = {tuple(1 if t == j else 0 for t in range(d)): 1}
        T3[(j, a, b)] = n * _pexpect(_pmul(wj, C[a][b]), cov_w)
    return T4, T3


# ---------------------------------------------------------------------------
# Exact linear algebra: positive definiteness, rational orthogonal matrices
# ---------------------------------------------------------------------------


def ldl_certificate(H: Sequence[Sequence[Any]]) -> tuple[bool, list[Fraction]]:
    """Exact LDLᵀ of a symmetric rational matrix.  Returns (True, pivots) when
    every pivot is > 0 (H ≻ 0: Sylvester), else (False, v) with v a rational
    vector and vᵀHv ≤ 0 (checked here before it is returned)."""
    m = len(H)
    A = [[Fraction(H[i][j]) for j in range(m)] for i in range(m)]
    for i in range(m):
        for j in range(m):
            if A[i][j] != A[j][i]:
                raise ValueError(f"ldl_certificate: the matrix is not symmetric at ({i}, {j})")
    L = [[Fraction(int(i == j)) for j in range(m)] for i in range(m)]
    S = [row[:] for row in A]  # the Schur complement, updated in place
    pivots: list[Fraction] = []
    for k in range(m):
        piv = S[k][k]
        if piv <= 0:
            # v = L^{-T} e_k: then vᵀ A v = piv <= 0
            v = [Fraction(0)] * m
            v[k] = Fraction(1)
            for i in range(k - 1, -1, -1):
                v[i] = -sum(L[j][i] * v[j] for j in range(i + 1, k + 1))
            q = sum(v[i] * A[i][j] * v[j] for i in range(m) for j in range(m))
            assert q <= 0, "internal: the LDLᵀ direction is not a witness"
            return False, v
        pivots.append(piv)
        for i in range(k + 1, m):
            L[i][k] = S[i][k] / piv
        for i in range(k + 1, m):
            for j in range(k + 1, m):
                S[i][j] -= L[i][k] * S[k][j]
    return True, pivots


def mat_mul(A: Sequence[Sequence[Any]], B: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [[sum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))] for i in range(len(A))]


def transpose(A: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [list(r) for r in zip(*A)]


def identity(d: int) -> list[list[Fraction]]:
    return [[Fraction(int(i == j)) for j in range(d)] for i in range(d)]


def inverse(A: Sequence[Sequence[Any]]) -> list[list[Fraction]]:
    """Exact inverse by Gauss–Jordan (a clear error if singular)."""
    d = len(A)
    M = [[Fraction(x) for x in row] + identity(d)[i] for i, row in enumerate(A)]
    for c in range(d):
        p = next((r for r in range(c, d) if M[r][c] != 0), None)
        if p is None:
            raise ValueError("inverse: the matrix is singular")
        M[c], M[p] = M[p], M[c]
        pv = M[c][c]
        M[c] = [x / pv for x in M[c]]
        for r in range(d):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [row[d:] for row in M]


def cayley_orthogonal(K: Sequence[Sequence[Any]]) -> list[list[Fraction]]:
    """U = (I − K)(I + K)⁻¹ for skew-symmetric rational K: rational and orthogonal."""
    d = len(K)
    if any(K[i][j] != -K[j][i] for i in range(d) for j in range(d)):
        raise ValueError("cayley_orthogonal: K must be skew-symmetric")
    I = identity(d)
    minus = [[I[i][j] - K[i][j] for j in range(d)] for i in range(d)]
    plus = [[I[i][j] + K[i][j] for j in range(d)] for i in range(d)]
    return mat_mul(minus, inverse(plus))
