"""The trained-LSA-vs-Newton experiment: per layer, the best-matching Newton
iterate and the best-matching number of GD steps (Fu et al. Def. 3.4).

Per training seed (:mod:`.newton_training`) and ``PROMPTS`` drawn designs X
(x_i ~ N(0, I_d), fresh per seed):

* **the layer's prediction**, read as Fu et al. §4.1 do with a re-fitted
  read-out: a linear probe on the query token after layer ℓ.  By the
  w ↦ −w symmetry only the query's y coordinate has a nonzero population
  coefficient, so the probe is one scale c_ℓ, fitted by least squares
  (exactly in w, x_q: c_ℓ = E Σ_i e_ℓ(μ_i) / E Σ_i e_ℓ(μ_i)² with e_ℓ = 1 − ρ_ℓ
  the layer's prediction filter);
* **the algorithms** on the same prompts, with S = XᵀX, λ its eigenvalues:
  iterative Newton (Fu et al. eq. 5, M_0 = αS, M_(k+1) = 2M_k − M_k S M_k)
  predicts with the filter 1 − (1 − αλ²)^(2^k) (since I − M_k S = (I − αS²)^(2^k));
  GD from 0 with step η on (1/2)‖y − Xw‖² (their eq. 11) with 1 − (1 − ηλ)^t.
  Steps (ours): α = 1/λ_max², η = 1/λ_max per prompt — the largest steps whose
  factors 1 − αλ², 1 − ηλ stay in [0, 1).  Fu et al. print α = 2/‖SSᵀ‖₂,
  the boundary of convergence, where the top eigendirection's factor is −1 and
  never decays.  A step fitted per iterate would make the match meaningless:
  both families are nested in the limit (k + 1 iterations with a smaller step
  approximate k), so the best k or t would run to the grid's end;
* **the distance** between the layer and an algorithm: the relative
  prediction distance sqrt(E (ŷ_ℓ − ŷ_alg)² / E y_q²), exact in w and x_q
  (Σ_i (c_ℓ e_ℓ − f_alg)² over S's eigenvalues, / d), averaged over the drawn X.
  Fu et al. use the cosine of errors; their footnote 3 says the ℓ2 distance
  gives the same observation;
* k(ℓ) = argmin_k over k = 0..K_MAX, t(ℓ) = argmin_t over t = 1..T_MAX, and
  the gap D_Newton(ℓ, k(ℓ)) − D_GD(ℓ, t(ℓ)) (positive: GD matches better);
* the final layer's test loss E(ŷ_L − y_q)² / E y_q² (its own read-out −y)
  against a lower bound for GD with the same number of steps and *any* step
  sizes (ours): t GD steps from 0 with steps η_1 … η_t leave the residual
  factor Π_j (1 − η_j μ), a polynomial p of degree t with p(0) = 1, so their
  loss E Σ_i p(μ_i)² / d is at least the minimum over all such p — a linear
  least-squares problem on the drawn spectra (Chebyshev basis on
  [0, max μ]); the same bound holds for any model whose prediction filter is
  a polynomial of degree t in S (every layer a GD step, preconditioned by a
  scalar: von Oswald's GD transformer of t layers).  The smallest t whose
  bound falls to the model's loss is the fewest GD steps (any steps) that
  could match it.

Over seeds: Student-t intervals (:func:`.experiment.t_interval`); each seed
draws its own prompts, so the interval covers the prompts' sampling too."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
from transformer_proofs.verify.claims.trained.newton_training import (
    DEPTH,
    NEWTON_STEPS,
    D,
    N,
    NewtonCheckpoint,
    draw_spectra,
    newton_checkpoint,
    residual_factors,
)

SEEDS = 8  # training seeds at effort 1 (the last layer's gap is small beside its spread over seeds: 4 give too wide an interval)
PROMPTS = 1024  # drawn designs per seed (spectra: cheap)
K_MAX = 12  # Newton iterates 0..K_MAX
T_MAX = 128  # GD steps 1..T_MAX (the trained layers match t ≤ 50)
DEGREE_MAX = 16  # GD steps (any sizes) searched for the fewest that could match the model's loss


@dataclass(frozen=True)
class LayerFilters:
    """What is compared: the model's per-layer residual factors ρ_ℓ(μ) (L, m, d) and a name."""

    name: str
    rho: np.ndarray


def newton_filter(lam: np.ndarray, k: int) -> np.ndarray:
    """Iterative Newton's prediction filter after k iterations, α = 1/λ_max² (per prompt)."""
    return 1 - (1 - (lam / lam[:, -1:]) ** 2) ** (2**k)


def gd_filter(lam: np.ndarray, t: int) -> np.ndarray:
    """GD's prediction filter after t steps from 0, η = 1/λ_max (per prompt)."""
    return 1 - (1 - lam / lam[:, -1:]) ** t


@functools.lru_cache(maxsize=32)
def constant_step(seed: int, steps: int) -> tuple[float, float]:
    """:func:`best_gd_constant_step_loss` on this seed's prompts."""
    return best_gd_constant_step_loss(prompt_spectra(seed), steps)


def best_gd_constant_step_loss(mu: np.ndarray, steps: int) -> tuple[float, float]:
    """(η*, loss): the constant GD step on S = XᵀX/n minimising E (1 − ημ)^(2·steps) over the drawn μ
    (golden section on [0, 2/median λ_max], after a grid), and that loss (relative to E y_q²)."""
    f = lambda eta: float(np.mean((1 - eta * mu) ** (2 * steps)))
    hi = 2.0 / float(np.median(mu[:, -1]))
    grid = np.linspace(0, hi, 201)
    i = int(np.argmin(np.mean((1 - grid[:, None] * mu.ravel()[None]) ** (2 * steps), axis=1)))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, 200)]
    phi = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        c, e = b - phi * (b - a), a + phi * (b - a)
        if f(c) < f(e):
            b = e
        else:
            a = c
    eta = (a + b) / 2
    return eta, f(eta)


def polynomial_bounds(mu: np.ndarray, most: int = DEGREE_MAX) -> np.ndarray:
    """(most,): for t = 1..most, min over polynomials p of degree ≤ t with p(0) = 1 of mean p(μ)² over the
    drawn μ — a lower bound for the loss of GD with t steps of any sizes.  p = 1 + Σ_j a_j (T_j(x) − T_j(−1)),
    x = 2μ/μ_top − 1 (Chebyshev polynomials keep the least-squares problem well conditioned).  One Cholesky
    factor R of the Gram matrix AᵀA gives every degree: the columns are nested, and the residual of −1 on the
    first t of them is ‖1‖² − Σ_(j≤t) z_j² with Rᵀz = Aᵀ1.  (Normal equations rather than a QR of the tall A:
    a multithreaded BLAS QR costs a hundred times more on a loaded machine; the Gram matrix is formed by
    einsum, and its condition at degree ≤ 16 stays far from 1/ε: a test compares it with least squares.)"""
    x = 2 * mu.ravel() / float(mu.max()) - 1
    A = np.polynomial.chebyshev.chebvander(x, most)[:, 1:] - np.polynomial.chebyshev.chebvander(np.array([-1.0]), most)[:, 1:]
    R = np.linalg.cholesky(np.einsum("mi,mj->ij", A, A))  # lower: G = R Rᵀ
    z = np.linalg.solve(R, np.einsum("mi->i", A))
    return np.maximum(len(x) - np.cumsum(z**2), 0.0) / len(x)


def polynomial_bound(mu: np.ndarray, degree: int) -> float:
    """The bound for GD with ``degree`` steps of any sizes (:func:`polynomial_bounds`)."""
    return float(polynomial_bounds(mu, degree)[-1])


def steps_to_reach(bounds: np.ndarray, loss: float) -> int | None:
    """The fewest steps t whose bound is at most ``loss`` (None: more than len(bounds))."""
    hit = np.nonzero(bounds <= loss)[0]
    return int(hit[0]) + 1 if len(hit) else None


@dataclass
class NewtonSeedResult:
    seed: int
    name: str
    probe: list[float]  # c_ℓ
    newton_k: list[int]  # k(ℓ)
    gd_t: list[int]  # t(ℓ)
    newton_distance: list[float]  # D at k(ℓ)
    gd_distance: list[float]  # D at t(ℓ)
    distances_newton: np.ndarray  # (L, K_MAX + 1)
    layer_loss: list[float]  # own read-out, relative
    final_loss: float
    gd_bound: float  # lower bound for GD with L steps of any sizes (polynomial_bounds)
    gd_steps_equivalent: int | None  # fewest GD steps (any sizes) whose bound reaches the model's loss

    @property
    def gap(self) -> list[float]:
        return [a - b for a, b in zip(self.newton_distance, self.gd_distance)]

    @property
    def improvement(self) -> float:
        """(the L-step GD bound − the model's loss) / the bound, to 9 decimals (a model at the bound reads
        0, not a last-bit difference)."""
        return round((self.gd_bound - self.final_loss) / self.gd_bound, 9)


def prompt_spectra(seed: int) -> np.ndarray:
    return draw_spectra(np.random.default_rng([seed, 2310, 99]), D, N, PROMPTS)


@functools.lru_cache(maxsize=16)
def references(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """This seed's prompt spectra μ (m, d), the algorithms' filters on them: Newton (K_MAX+1, m, d), GD
    (T_MAX, m, d), and the bounds for GD with 1..DEGREE_MAX steps of any sizes."""
    mu = prompt_spectra(seed)
    lam = N * mu  # eigenvalues of S = XᵀX
    newton = np.stack([newton_filter(lam, k) for k in range(K_MAX + 1)])
    gd = np.stack([gd_filter(lam, t) for t in range(1, T_MAX + 1)])
    return mu, newton, gd, polynomial_bounds(mu)


def measure(seed: int, filters: Callable[[np.ndarray], LayerFilters]) -> NewtonSeedResult:
    """Match every layer of ``filters(μ)`` (evaluated on this seed's prompts) to Newton and GD."""
    mu, newton, gd, bounds = references(seed)
    lf = filters(mu)
    probes, ks, ts, dn, dg, rows, losses = [], [], [], [], [], [], []
    for rho in lf.rho:
        e = 1 - rho
        den = float(np.mean(e * e))
        c = float(np.mean(e)) / den if den > 0 else 0.0
        pe = c * e
        d_newton = np.sqrt(np.mean((newton - pe[None]) ** 2, axis=(1, 2)))
        d_gd = np.sqrt(np.mean((gd - pe[None]) ** 2, axis=(1, 2)))
        k, t = int(np.argmin(d_newton)), int(np.argmin(d_gd))
        probes.append(c)
        ks.append(k)
        ts.append(t + 1)
        dn.append(float(d_newton[k]))
        dg.append(float(d_gd[t]))
        rows.append(d_newton)
        losses.append(float(np.mean(rho**2)))
    return NewtonSeedResult(seed, lf.name, probes, ks, ts, dn, dg, np.stack(rows), losses, losses[-1],
                            float(bounds[len(lf.rho) - 1]), steps_to_reach(bounds, losses[-1]))


def trained(depth: int = DEPTH, steps: int = NEWTON_STEPS, order: Callable[[list[int]], list[int]] | None = None
            ) -> Callable[[int], Callable[[np.ndarray], LayerFilters]]:
    """The trained model's layers (``order`` permutes them: a falsifier)."""

    def for_seed(seed: int) -> Callable[[np.ndarray], LayerFilters]:
        ck: NewtonCheckpoint = newton_checkpoint(seed, depth, steps)
        idx = list(range(ck.depth)) if order is None else order(list(range(ck.depth)))
        g, f = np.array(ck.gamma)[idx], np.array(ck.phi)[idx]
        what = f"trained LSA, {ck.depth} layers" + ("" if steps else ", untrained") + ("" if order is None else ", reordered")
        return lambda mu: LayerFilters(what, residual_factors(g, f, mu))

    return for_seed


def weights(gamma: np.ndarray, phi: np.ndarray, name: str) -> Callable[[int], Callable[[np.ndarray], LayerFilters]]:
    """Given (γ_ℓ, φ_ℓ) (read from a construction's weights): the same for every seed."""
    return lambda seed: (lambda mu: LayerFilters(name, residual_factors(gamma, phi, mu)))


def newton_layers(offset: int = 1, stride: int = 1) -> Callable[[int], Callable[[np.ndarray], LayerFilters]]:
    """Layers that are Newton's iterates k = offset + stride·(ℓ − 1) (Fu et al.'s finding, made exact; their
    middle layers do about 3 iterations each): residual factors (1 − λ²/λ_max²)^(2^k)."""
    if offset + stride * (DEPTH - 1) > K_MAX:
        raise ValueError(f"Newton iterates beyond K_MAX = {K_MAX}")

    def filters(mu: np.ndarray) -> LayerFilters:
        lam = N * mu
        return LayerFilters("Newton iterates as layers",
                            np.stack([1 - newton_filter(lam, offset + stride * l) for l in range(DEPTH)]))

    return lambda seed: filters


def last_layer_gap_over_prompts(seed: int, resamples: int = 1000) -> tuple[float, float, float]:
    """The trained model's last-layer gap D_Newton − D_GD at the matched (k, t) with a 95% percentile bootstrap
    over this seed's prompts (vectorised resampling; seeded): the prompts' share of the uncertainty."""
    r = seed_result(seed)
    mu, newton, gd, _ = references(seed)
    rho = trained()(seed)(mu).rho[-1]
    e = 1 - rho
    pe = float(np.mean(e)) / float(np.mean(e * e)) * e
    sq_n = np.mean((newton[r.newton_k[-1]] - pe) ** 2, axis=1)  # per prompt
    sq_g = np.mean((gd[r.gd_t[-1] - 1] - pe) ** 2, axis=1)
    idx = np.random.default_rng([seed, 2310, 17]).integers(0, len(sq_n), (resamples, len(sq_n)))
    gaps = np.sqrt(sq_n[idx].mean(axis=1)) - np.sqrt(sq_g[idx].mean(axis=1))
    return r.gap[-1], float(np.quantile(gaps, 0.025)), float(np.quantile(gaps, 0.975))


def seed_result(seed: int, model: Callable[[int], Callable[[np.ndarray], LayerFilters]] | None = None) -> NewtonSeedResult:
    return measure(seed, (model or trained())(seed))
