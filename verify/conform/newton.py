"""Conformance to Newton's iterations (Fu et al. 2023, arXiv:2310.17086), fitted from behaviour.

Family ``newton``: M_0 = αS, M_{j+1} = 2M_j − M_j S M_j (S = XᵀX), prediction
ŷ_k = x_qᵀ M_k Xᵀ y, free parameters α and k.  A model of this family works
on the stream [Tx:0 … Tx:d−1, x:0 … x:d−1, y, pred] (``newton_prompt``:
h_t = [0; x_t; y_t; 0]) and its ``Tx`` slot holds M_j x_t after the j-th
Newton layer (our construction, constructions/newton.py).

The weights of such a model are not linear in α (M_k is a polynomial of degree
2^(k+1) − 1 in α), so the parameters are fitted from behaviour: for each
k = 0..K (K = the number of layers), α minimises the relative prediction
error on the drawn prompts (a geometric grid of ``GRID`` points over
[α_lo, α_hi], then golden-section refinement on log α to ``XTOL``), and the
(k, α) of least error is reported — numerical least squares, not exact.
Deviation: relative prediction error and the sensitivity cosine
(∂ŷ_k/∂x_q = M_k Xᵀ y exactly) with bootstrap intervals; the layer-by-layer
match reads the ``Tx`` slot of the query after each layer against M_j x_q,
j = 0..k (relative distance, normalised by ‖M_k x_q‖).  A linear-attention model
on the regression token [x:0 … x:d−1, y] (a trained LSA, von Oswald's GD
transformer) is fitted the same way, and each of its layers is read through
the model's own read-out of the query (its prediction after that layer)
against the iterates' predictions ŷ_j.  Fu et al.'s contrast
with GD: the fewest GD steps (step fitted per step count) whose prediction
is as close to the least-squares prediction as the model's."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from transformer_proofs.constructions.arithmetic import Float64
from transformer_proofs.constructions.engine import Transformer, forward, read_out
from transformer_proofs.verify.conform import measure
from transformer_proofs.verify.conform.families import ConformError

GRID = 61
XTOL = 1e-10
GD_MAX_STEPS = 256


class NewtonStructureError(ConformError):
    """A model whose stream or layers are not those of the newton family."""


def newton_batch(X: np.ndarray, y: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Z (m, 2d+2, n+1): h_t = [0; x_t; y_t; 0], the query [0; x_q; 0; 0]."""
    m, n, d = X.shape
    Z = np.zeros((m, 2 * d + 2, n + 1))
    Z[:, d:2 * d, :n] = np.swapaxes(X, 1, 2)
    Z[:, d:2 * d, n] = xq
    Z[:, 2 * d, :n] = y
    return Z


def newton_iterates(X: np.ndarray, alpha: float, K: int) -> np.ndarray:
    """(K+1, m, d, d): M_0..M_K for each prompt."""
    S = np.einsum("mni,mnj->mij", X, X)
    Ms = [alpha * S]
    for _ in range(K):
        M = Ms[-1]
        Ms.append(2 * M - M @ S @ M)
    return np.stack(Ms)


def _predictions(Ms: np.ndarray, X: np.ndarray, y: np.ndarray, xq: np.ndarray) -> np.ndarray:
    b = np.einsum("mnd,mn->md", X, y)  # Xᵀ y
    return np.einsum("md,kmde,me->km", xq, Ms, b)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    den = float(np.sum(b**2))
    return float(np.sqrt(np.sum((a - b) ** 2) / den)) if den > 0 else float("inf")


def fit_alpha(pred: np.ndarray, X: np.ndarray, y: np.ndarray, xq: np.ndarray, k: int,
              lo: float, hi: float) -> tuple[float, float]:
    """(α, relative error) minimising the error of ŷ_k(α) against ``pred``."""
    err = lambda la: _rel(pred, _predictions(newton_iterates(X, math.exp(la), k)[-1:], X, y, xq)[0])
    grid = np.linspace(math.log(lo), math.log(hi), GRID)
    vals = [err(g) for g in grid]
    i = int(np.nanargmin(vals))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, GRID - 1)]
    phi = (math.sqrt(5) - 1) / 2
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = err(c), err(d)
    while b - a > XTOL:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - phi * (b - a)
            fc = err(c)
        else:
            a, c, fc = c, d, fd
            d = a + phi * (b - a)
            fd = err(d)
    best = (a + b) / 2
    return math.exp(best), err(best)


def gd_steps_to_match(X: np.ndarray, y: np.ndarray, xq: np.ndarray, target: float) -> int | None:
    """Fewest GD steps k (from 0; the step η fitted for each k over a grid
    below 2/λ_max(S/n)) whose relative distance to the least-squares prediction
    is at most ``target``; None beyond GD_MAX_STEPS."""
    m, n, d = X.shape
    S = np.einsum("mni,mnj->mij", X, X) / n
    lam = float(np.max(np.linalg.eigvalsh(S)))
    ols = np.einsum("md,md->m", xq, np.linalg.solve(S, (np.einsum("mnd,mn->md", X, y) / n)[..., None])[..., 0])
    etas = np.linspace(0.05, 1.95, 39) / lam
    ws = np.zeros((len(etas), m, d))
    g_b = np.einsum("mnd,mn->md", X, y) / n
    for k in range(1, GD_MAX_STEPS + 1):
        ws = ws - etas[:, None, None] * (np.einsum("mij,emj->emi", S, ws) - g_b[None])
        preds = np.einsum("emd,md->em", ws, xq)
        if min(_rel(p, ols) for p in preds) <= target:
            return k
    return None


@dataclass
class NewtonReport:
    source: str
    d: int
    n: int
    k: int
    alpha: float
    fit_error: float
    relative_error: measure.Interval
    cosine: measure.Interval
    layer_match: list[dict[str, Any]]
    model_to_ols: float
    newton_to_ols: float
    gd_steps: int | None
    prompts: int
    seed: int
    notes: list[str] = field(default_factory=list)
    exact: bool = False  # a behavioural fit is numerical
    slot: str = "Tx"  # what each layer is read through: the Tx slot of the query, or the prediction (stream [x; y])

    @property
    def departs(self) -> None:
        return None

    def to_json(self) -> dict[str, Any]:
        r = measure._r
        return {"target": "newton", "family": "newton", "source": "Fu et al. (2023), arXiv:2310.17086, §5",
                "weights": self.source, "d": self.d, "n": self.n, "fitted": {"k": self.k, "α": r(self.alpha)},
                "fit": "numerical least squares on the drawn prompts (grid + golden section on log α)",
                "exact": False, "relative_prediction_error": self.relative_error.to_json(),
                "sensitivity_cosine": self.cosine.to_json(),
                "layer_match": [{**m, "distance": m["distance"].to_json()} for m in self.layer_match],
                "model_to_least_squares": r(self.model_to_ols), "newton_k_to_least_squares": r(self.newton_to_ols),
                "gd_steps_to_match_model": self.gd_steps, "prompts": self.prompts, "seed": self.seed,
                "layer_read": self.slot,
                "notes": self.notes}

    def text(self) -> str:
        lines = [f"conform {self.source} against newton: M_0 = αS, M_(j+1) = 2M_j − M_j S M_j, ŷ = x_qᵀ M_k Xᵀ y "
                 "(Fu et al. 2023, arXiv:2310.17086)",
                 f"  d = {self.d}, n = {self.n}; {self.prompts} prompts, seed {self.seed}",
                 f"  fitted (numerical least squares on the prompts): k = {self.k}, α = {self.alpha:.10g}",
                 f"  relative prediction error: {self.relative_error.text()} ({self.relative_error.method})",
                 f"  sensitivity cosine: {self.cosine.text('.9g')}"]
        for m in self.layer_match:
            what = (f"prediction closest to x_qᵀ M_{m['matched_iterate']} Xᵀy" if self.slot == "prediction"
                    else f"Tx slot closest to M_{m['matched_iterate']} x_q")
            lines.append(f"  layer {m['layer']}: {what} (relative distance "
                         f"{m['distance'].text()}, same match in {m['match_frequency']:.0%} of resamples)")
        gd = f"{self.gd_steps} GD steps" if self.gd_steps else f"more than {GD_MAX_STEPS} GD steps"
        lines.append(f"  distance to the least-squares prediction: model {self.model_to_ols:.3g}; GD needs {gd} "
                     "(step fitted per step count) to be as close")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _stream(model: Transformer) -> tuple[int, bool]:
    """(d, whether the stream is the regression token [x; y]) of a model the family can be fitted to:
    the Newton stream [Tx; x; y; pred] (its Tx slot is read layer by layer), or the regression token
    [x:0 … x:d−1, y] of a linear-attention model (each layer read through the model's own read-out)."""
    D = model.d_model
    coords = tuple(model.coordinates)
    if D >= 2 and coords == tuple(f"x:{i}" for i in range(D - 1)) + ("y",):
        return D - 1, True
    if D < 4 or D % 2:
        raise NewtonStructureError(f"a stream of {D} coordinates is neither [Tx; x; y; pred] (2d + 2) nor [x; y]")
    d = (D - 2) // 2
    expected = tuple(f"Tx:{i}" for i in range(d)) + tuple(f"x:{i}" for i in range(d)) + ("y", "pred")
    if not all(c.startswith("r:") for c in coords) and coords != expected:
        raise NewtonStructureError(f"the stream's coordinates {coords} are neither {expected} nor [x:0 … x:{d}, y]")
    return d, False


def conform_newton(model: Transformer, source: str = "", seed: int = 0, prompts: int = 256,
                   k: int | None = None) -> NewtonReport:
    """Fit (k, α) of Newton's iterations to ``model``'s predictions and measure the deviation."""
    d, regression = _stream(model)
    if model.readout is None:
        raise NewtonStructureError("the model has no read-out (newton reads the query's prediction)")
    masks = [np.asarray(layer.key_mask) for layer in model.layers if hasattr(layer, "key_mask")]
    if not masks:
        raise NewtonStructureError("the model has no attention layer")
    n = len(masks[0]) - 1
    rng = np.random.default_rng([seed, 13, d, n])
    X, y, xq = measure.draw_prompts(rng, d, n, prompts)
    Z = measure.regression_batch(X, y, xq) if regression else newton_batch(X, y, xq)
    ar = Float64()
    states = forward(ar, model, Z, trace=True)
    pred = np.asarray(read_out(ar, model, states[-1]), dtype=float)
    L = len(model.layers)
    lam = float(np.max(np.linalg.eigvalsh(np.einsum("mni,mnj->mij", X, X))))
    lo, hi = 1e-4 / lam**2, 2.5 / lam**2
    ks = [k] if k is not None else list(range(0, L + 1))
    fits = [(kk, *fit_alpha(pred, X, y, xq, kk, lo, hi)) for kk in ks]
    kk, alpha, ferr = min(fits, key=lambda t: (t[2], t[0]))
    Ms = newton_iterates(X, alpha, kk)
    alg = _predictions(Ms, X, y, xq)
    brng = np.random.default_rng([seed, 17])
    rel = measure.relative_error(pred, alg[-1], brng)
    b = np.einsum("mnd,mn->md", X, y)
    g_alg = np.einsum("mde,me->md", Ms[-1], b)
    x_rows = list(range(d)) if regression else list(range(d, 2 * d))
    cos = measure.sensitivity_cosine(measure.model_gradient_in(model, Z, x_rows), g_alg, brng)
    if regression:
        # each layer's own read-out of the query against the iterates' predictions ŷ_j, j = 0..k
        layer_preds = np.stack([np.asarray(read_out(ar, model, s), dtype=float) for s in states])
        match = measure.layer_match(layer_preds, alg, brng)
    else:
        # the Tx slot of the query after each layer against M_j x_q
        probes = np.stack([np.asarray(s, dtype=float)[:, :d, n] for s in states[1:]])  # (L, m, d)
        targets = np.einsum("kmde,me->kmd", Ms, xq)  # (k+1, m, d)
        match = measure.vector_layer_match(probes, targets, brng)
    ols = np.einsum("md,md->m", xq, np.linalg.solve(np.einsum("mni,mnj->mij", X, X), b[..., None])[..., 0])
    to_ols = _rel(pred, ols)
    notes = [] if ferr < 1e-3 else [f"the best Newton fit leaves a relative error of {ferr:.3g}"]
    if regression:
        notes.append("stream [x; y]: each layer is read through the model's read-out (the query's prediction), "
                     "not through a Tx slot")
    return NewtonReport(source or model.name, d, n, kk, alpha, ferr, rel, cos, match, to_ols, _rel(alg[-1], ols),
                        gd_steps_to_match(X, y, xq, max(to_ols, 1e-12)), prompts, seed, notes, slot="prediction" if regression else "Tx")
