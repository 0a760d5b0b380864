"""The exact Gaussian moments: closed forms, and Monte Carlo with a stated confidence.

Monte Carlo tests compare an exact expectation with a sample mean over N draws
at a fixed seed: they pass when |mean − exact| ≤ z·s/√N with z = 3.29 (a
two-sided 99.9% normal interval from the sample standard deviation s)."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from transformer_proofs.verify.population.gaussian import (
    cayley_orthogonal,
    gram_trace_moments,
    identity,
    inverse,
    isserlis,
    ldl_certificate,
    mat_mul,
    prompt_gram_moments,
    transpose,
    wishart_trace_moment,
)

Z999 = 3.29


def within_ci(samples: np.ndarray, exact: float) -> tuple[bool, float, float]:
    mean, s = float(np.mean(samples)), float(np.std(samples, ddof=1))
    half = Z999 * s / np.sqrt(len(samples))
    return abs(mean - exact) <= half, mean, half


def test_isserlis_known_moments():
    C = [[2, 1], [1, 3]]
    assert isserlis(C, [0, 0, 0, 0]) == 3 * 2 * 2  # E g⁴ = 3σ⁴
    assert isserlis(C, [0, 0, 1, 1]) == 2 * 3 + 2 * 1 * 1  # C00 C11 + 2 C01²
    assert isserlis(C, [0, 1, 1]) == 0
    assert isserlis([[1]], [0] * 8) == 105  # 7!!


def test_wishart_closed_forms_symbolic():
    n, d = sp.symbols("n d")
    assert sp.expand(wishart_trace_moment((1,), n, d) - n * d) == 0
    assert sp.expand(wishart_trace_moment((2,), n, d) - d * n * (n + d + 1)) == 0  # E tr(XᵀX)² = dn(n+d+1)
    assert sp.expand(wishart_trace_moment((1, 1), n, d) - d * n * (d * n + 2)) == 0
    # the real Wishart third moment: nd(n² + d² + 3nd + 3n + 3d + 4)
    assert sp.expand(wishart_trace_moment((3,), n, d) - n * d * (n**2 + d**2 + 3 * n * d + 3 * n + 3 * d + 4)) == 0


def test_wishart_falsified_by_wrong_recursion():
    """A wrong closed form is told apart: (n−1) for (n+1) in E tr W²."""
    assert wishart_trace_moment((2,), 7, 3) != 3 * 7 * (7 + 3 - 1)


@pytest.mark.parametrize("ks,n,d", [((2,), 4, 3), ((3,), 5, 2), ((2, 1), 3, 3), ((4,), 6, 2)])
def test_wishart_against_monte_carlo(ks, n, d):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((100_000, n, d))
    W = np.einsum("bni,bnj->bij", X, X)
    vals = np.ones(len(W))
    for k in ks:
        vals = vals * np.trace(np.linalg.matrix_power(W, k), axis1=1, axis2=2)
    ok, mean, half = within_ci(vals, float(wishart_trace_moment(ks, n, d)))
    assert ok, (mean, half, wishart_trace_moment(ks, n, d))


def test_gram_moments_normalised():
    M = gram_trace_moments(20, 5, 2)
    assert M == [5, 5, Fraction(5 * 26, 20)]


def _sigma():
    U = cayley_orthogonal([[0, Fraction(1, 2)], [Fraction(-1, 2), 0]])
    Lam = [[Fraction(2), 0], [0, Fraction(1, 3)]]
    return mat_mul(mat_mul(U, Lam), transpose(U)), U


def test_cayley_is_orthogonal_and_rational():
    U = cayley_orthogonal([[0, Fraction(1, 2), 0], [Fraction(-1, 2), 0, Fraction(1, 3)], [0, Fraction(-1, 3), 0]])
    assert mat_mul(U, transpose(U)) == identity(3)
    assert all(isinstance(x, Fraction) for r in U for x in r)
    with pytest.raises(ValueError, match="skew"):
        cayley_orthogonal([[1, 0], [0, 0]])


def test_prompt_moments_closed_forms():
    """E[XᵀX] = nΣ and E[(XᵀX)²] = n(n+1)Σ² + n tr(Σ)Σ, read from the exact tensors."""
    Sigma, _ = _sigma()
    n, d = 5, 2
    T4, T3 = prompt_gram_moments(Sigma, n)
    S2 = mat_mul(Sigma, Sigma)
    tr = Sigma[0][0] + Sigma[1][1]
    for a in range(d):
        for c in range(d):
            EW2 = sum(T4[(a, b, b, c)] for b in range(d))
            assert EW2 == n * (n + 1) * S2[a][c] + n * tr * Sigma[a][c]
            assert EW2 != n * (n - 1) * S2[a][c] + n * tr * Sigma[a][c] or S2[a][c] == 0
    # E[w_j S_{a,y}] = n E[w_j (Σw)_a] = n Σ_{aj} (w ~ N(0, I))
    for j in range(d):
        for a in range(d):
            assert T3[(j, a, d)] == n * Sigma[a][j]
            assert T3[(j, a, a)] == 0


def test_prompt_moments_against_monte_carlo():
    Sigma, _ = _sigma()
    n, d, s2 = 4, 2, Fraction(1, 2)
    T4, T3 = prompt_gram_moments(Sigma, n, s2)
    rng = np.random.default_rng(3)
    B = 200_000
    Sf = np.array(Sigma, dtype=float)
    Lc = np.linalg.cholesky(Sf)
    X = rng.standard_normal((B, n, d)) @ Lc.T
    w = rng.standard_normal((B, d))
    y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(float(s2)) * rng.standard_normal((B, n))
    Z = np.concatenate([X, y[:, :, None]], axis=2)
    S = np.einsum("bni,bnj->bij", Z, Z)
    for (a, b, c, e) in [(0, 1, 1, 0), (2, 2, 2, 2), (0, 2, 1, 2), (2, 2, 0, 0)]:
        ok, mean, half = within_ci(S[:, a, b] * S[:, c, e], float(T4[(a, b, c, e)]))
        assert ok, ((a, b, c, e), mean, half, float(T4[(a, b, c, e)]))
    for (j, a, b) in [(0, 0, 2), (1, 2, 2), (1, 0, 2)]:
        ok, mean, half = within_ci(w[:, j] * S[:, a, b], float(T3[(j, a, b)]))
        assert ok, ((j, a, b), mean, half)


def test_ldl_certificate_and_witness():
    ok, piv = ldl_certificate([[2, 1], [1, 2]])
    assert ok and piv == [2, Fraction(3, 2)]
    H = [[1, 2, 0], [2, 1, 0], [0, 0, 1]]
    ok, v = ldl_certificate(H)
    assert not ok
    assert sum(v[i] * H[i][j] * v[j] for i in range(3) for j in range(3)) <= 0
    ok, v = ldl_certificate([[1, 1], [1, 1]])  # singular: not positive definite
    assert not ok
    with pytest.raises(ValueError, match="symmetric"):
        ldl_certificate([[1, 2], [0, 1]])


def test_inverse_exact_and_singular():
    A = [[Fraction(2), Fraction(1)], [Fraction(1), Fraction(1)]]
    assert mat_mul(A, inverse(A)) == identity(2)
    with pytest.raises(ValueError, match="singular"):
        inverse([[1, 2], [2, 4]])


def test_gram_moments_refuse_bad_sizes():
    with pytest.raises(ValueError, match="n >= 1"):
        gram_trace_moments(0, 3, 2)
