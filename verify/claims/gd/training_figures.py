"""The figure and tables of the gd family's training claims.

- :func:`landscape_figure`: the exact population loss along the minimiser's
  direction on the Σ⁻¹-aligned set (one layer; and the third layer's step of
  three with the other two at their optimum), with the exact optimum, Ahn et
  al.'s printed trained values (Fig. 2) and the infinite-n values marked.
- :func:`flow_table`: Zhang–Frei–Bartlett's gradient flow, simulated (RK4,
  float64) on the exact population gradient, against the certified limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from transformer_proofs.verify.claims.gd import optima
from transformer_proofs.verify.claims.gd.landscape import aligned_loss, optimal_preconditioner
from transformer_proofs.verify.claims.gd.training import FIG2, FIG2_PRINTED, rational_covariance
from transformer_proofs.verify.spec import Context


def _steps(p: list) -> list[float]:
    return sorted(float(1 / lo) for lo, _ in optima.root_intervals(p) if lo > 0)


def landscape_figure(ctx: Context, outdir: Any) -> tuple[str, str] | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, d, L = FIG2["n"], FIG2["d"], FIG2["L"]
    M = [float(m) for m in optima.moments(n, d, 2 * L)]
    Mf = optima.moments(n, d, 2 * L)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    a = np.linspace(0.0, 1.6, 161)
    ax = axes[0]
    ax.plot(a, [aligned_loss([x], M) for x in a], color="tab:blue")
    a1 = n / (n + d + 1)
    ax.axvline(a1, color="tab:red", label=f"exact optimum n/(n+d+1) = {a1:.4f}")
    ax.axvline(1.0, color="tab:gray", ls="--", label="n → ∞ limit: a = 1")
    ax.set_title(f"one layer, A = aΣ⁻¹ (d = {d}, n = {n})")
    ax.set_xlabel("a")
    ax.set_ylabel("population loss E tr p(Ĝ₀)²")
    ax.legend(fontsize=7)
    exact = _steps(optima.optimal_polynomial(Mf, L))
    mp = _steps(optima.optimal_polynomial(optima.marchenko_pastur_moments(n, d, 2 * L), L))
    a = np.linspace(1.2, 2.2, 201)
    ax = axes[1]
    ax.plot(a, [aligned_loss([exact[0], exact[1], x], M) for x in a], color="tab:blue")
    printed = [-float(v) for v in FIG2_PRINTED["A_2"]]
    ax.axvspan(min(printed) - 0.005, max(printed) + 0.005, color="tab:orange", alpha=0.3,
               label="printed A_2 (Fig. 2): 1.69–1.72")
    ax.axvline(exact[2], color="tab:red", label=f"exact optimum {exact[2]:.4f}")
    ax.axvline(mp[2], color="tab:gray", ls="--", label=f"Marchenko–Pastur limit {mp[2]:.4f}")
    ax.set_title(f"three layers: a₀ = {exact[0]:.4f}, a₁ = {exact[1]:.4f} fixed")
    ax.set_xlabel("a₂")
    ax.legend(fontsize=7)
    fig.tight_layout()
    name = "gd_aligned_landscape.svg"
    fig.savefig(Path(outdir) / name, metadata={"Date": None})
    plt.close(fig)
    return name, ("The exact population loss on the Σ⁻¹-aligned set (Ahn et al. Thm 3; whitening makes it the same for "
                  "every Σ), d = 5, n = 20. Left: one layer, minimised at n/(n+d+1), not at the n → ∞ value 1. Right: "
                  "the largest of three steps with the other two at the exact optimum; the band is the range of the "
                  "trained values printed in Fig. 2, the dashed line the infinite-n prediction.")


# ---------------------------------------------------------------------------
# Zhang–Frei–Bartlett: the flow, simulated
# ---------------------------------------------------------------------------

FLOW_TIMES = (0, 1, 2, 5, 10, 20, 50, 100, 200)
FLOW_H = 0.01
# Printed digits stop here: 2e4 RK4 steps in float64 accumulate rounding of order 1e-12 (measured 1.5e-12 in
# the conserved quantity), which differs between machines; values below FLOOR are shown as "< FLOOR".
FLOOR = 1e-10


def flow_gradient(Sigma: np.ndarray, n: int) -> Any:
    """∇_B R for R(B) = ½[tr(Σ BᵀMB) − 2 tr(Σ BᵀΣ) + tr Σ], M = E Ĝ² = (n+1)/n Σ² + (tr Σ/n) Σ:
    ∇_B R = M B Σ − Σ² (exact moments, evaluated in float64)."""
    M = (n + 1) / n * Sigma @ Sigma + np.trace(Sigma) / n * Sigma
    return lambda B: M @ B @ Sigma - Sigma @ Sigma, M


def simulate_flow(Sigma: np.ndarray, n: int, sigma: float, TT: np.ndarray, times=FLOW_TIMES, h: float = FLOW_H):
    """RK4 on u' = −⟨∇_B R, V⟩, V' = −u ∇_B R (B = uV) from u = σ, V = σΘΘᵀ; rows at ``times``."""
    grad, M = flow_gradient(Sigma, n)

    def rhs(u: float, V: np.ndarray) -> tuple[float, np.ndarray]:
        G = grad(u * V)
        return -float(np.sum(G * V)), -u * G

    def loss(B: np.ndarray) -> float:
        return 0.5 * float(np.trace(Sigma @ B.T @ M @ B) - 2 * np.trace(Sigma @ B.T @ Sigma) + np.trace(Sigma))

    u, V, t, rows = sigma, sigma * TT, 0.0, []
    for target in times:
        while t < target - h / 2:
            k1 = rhs(u, V)
            k2 = rhs(u + h / 2 * k1[0], V + h / 2 * k1[1])
            k3 = rhs(u + h / 2 * k2[0], V + h / 2 * k2[1])
            k4 = rhs(u + h * k3[0], V + h * k3[1])
            u += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            V = V + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            t += h
        rows.append((target, u, V.copy(), loss(u * V)))
    return rows


def flow_table(ctx: Context) -> str:
    from transformer_proofs.verify.claims.gd.flow import ZFB_CASE

    c = ZFB_CASE
    Sigma_q, U = rational_covariance(c["eigs"], c["skew"])
    Sigma = np.array(Sigma_q, dtype=float)
    n = c["n"]
    G = np.array(optimal_preconditioner(c["eigs"], U, n), dtype=float)
    grad, M = flow_gradient(Sigma, n)
    best = 0.5 * float(np.trace(Sigma @ G.T @ M @ G) - 2 * np.trace(Sigma @ G.T @ Sigma) + np.trace(Sigma))
    u_star = float(np.sqrt(np.linalg.norm(G)))
    rows = ["| t | R − R* | ‖uV − Γ⁻¹‖_F | u − u* | |u² − ‖V‖²_F| |", "|---|---|---|---|---|"]
    shown = lambda x: f"{x:.2e}" if abs(x) >= FLOOR else f"< {FLOOR:.0e}"  # below FLOOR: rounding, not shown
    for t, u, V, r in simulate_flow(Sigma, n, float(c["sigma"]), np.array(c["ThetaThetaT"], dtype=float)):
        rows.append(f"| {t} | {shown(r - best)} | {shown(float(np.linalg.norm(u * V - G)))} | {shown(u - u_star)} | "
                    f"{shown(abs(u * u - float(np.sum(V * V))))} |")
    return ("\n".join(rows) + f"\n\nGradient flow simulated by RK4 (step {FLOW_H}, float64) on the population gradient "
            f"with exact moments, d = 2, n = {n}, Σ = UΛUᵀ with Λ = diag(1, 1/4), from u = σ = {c['sigma']}, "
            "V = σΘΘᵀ, ΘΘᵀ = diag(3/5, 4/5). R is ZFB's ½E(ŷ − y)². The limit u* = ‖Γ⁻¹‖_F^{1/2} = "
            f"{u_star:.6f}, V* = Γ⁻¹/u* is certified exactly by the claim's check; the simulation only illustrates "
            "the approach (the last column is the conserved quantity; entries below 1e-10 are rounding and not shown).")
