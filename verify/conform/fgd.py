"""Conformance to functional gradient descent with a kernel (Cheng, Chen, Sra 2024, arXiv:2312.06528).

Family ``fgd``: f_0 = 0, f_{ℓ+1}(x) = f_ℓ(x) + (1/n) Σ_h η_{ℓ,h} Σ_{i≤n} (y_i − f_ℓ(x_i)) K_{ℓ,h}(x_i, x)
with K_{ℓ,h}(x, x') = a_h(xᵀ Γ_{ℓ,h} x') for the head's score a_h (linear, ReLU, exp, or softmax:
exp normalised over the n context keys of each query); prediction f_L(x_q).

Read from the weights, exactly: head h of layer ℓ, with Q = W_Kᵀ W_Q and P = s W_O W_V, is that
step iff Q = [[Γ, 0], [0, 0]] (the kernel reads x only), P's label row is (0, …, 0, −η/n) (the
value is the label), and — with more than one layer — P's x-rows are 0 (x never moves, so every
layer sees the same points).  Then Γ and η are read off (for linear and ReLU scores (cΓ, η/c),
c > 0, is the same layer: the pair is reported as read).  A head that is not of this form is
where the model departs: its layer, and the block (Q = W_Kᵀ W_Q reads y; P's label row reads x;
P moves x).  Deviation on drawn prompts as for gd (relative prediction error, sensitivity cosine
with both derivatives by central differences, layer match against f_0 … f_L), exactly 0 when
every head is of the form."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.engine import SCORES, Attention, Readout, Transformer, head_score
from transformer_proofs.verify.conform import measure
from transformer_proofs.verify.conform.families import FGD_TARGETS, ConformError  # noqa: F401  (FGD_TARGETS: the aliases)
from transformer_proofs.verify.conform.rationals import exact_array


@dataclass
class HeadFit:
    layer: int
    head: int
    score: str
    eta: Fraction
    gamma: np.ndarray  # (d, d) Fractions
    departures: dict[str, float]  # block -> relative size of what is not of the form (0: none)


@dataclass
class FGDReport:
    source: str
    d: int
    n: int
    heads: list[HeadFit]
    exact: bool
    relative_error: measure.Interval
    cosine: measure.Interval
    layer_match: list[dict[str, Any]]
    departs: dict[str, Any] | None
    prompts: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        txt = lambda v: str(v) if Fraction(v).denominator < 10**12 else f"{float(v):.17g}"
        return {"target": "fgd", "family": "fgd", "source": "Cheng, Chen, Sra (2024), arXiv:2312.06528",
                "weights": self.source, "d": self.d, "n": self.n, "exact": self.exact,
                "fitted": [{"layer": h.layer, "head": h.head, "kernel": f"{h.score}(xᵀ Γ x')", "η": txt(h.eta),
                            "Γ": [[txt(v) for v in row] for row in h.gamma], "departures": h.departures}
                           for h in self.heads],
                "relative_prediction_error": self.relative_error.to_json(),
                "sensitivity_cosine": self.cosine.to_json(),
                "layer_match": [{**m, "distance": m["distance"].to_json()} for m in self.layer_match],
                "departs": self.departs, "prompts": self.prompts, "seed": self.seed, "notes": self.notes}

    def text(self) -> str:
        lines = [f"conform {self.source} against fgd: functional GD with the kernel of each head "
                 "(Cheng, Chen, Sra 2024, arXiv:2312.06528)",
                 f"  d = {self.d}, n = {self.n}; {self.prompts} prompts, seed {self.seed}"]
        for h in self.heads:
            g = np.asarray(h.gamma, dtype=object)
            gtxt = "I" if (g == np.eye(self.d, dtype=int)).all() else "[" + "; ".join(
                " ".join(str(v) for v in row) for row in g) + "]"
            lines.append(f"  layer {h.layer}, head {h.head}: η = {h.eta}, kernel {h.score}(xᵀ Γ x') with Γ = {gtxt} "
                         "(read exactly from the weights)")
        lines.append("  deviation: exactly 0 (every head is a functional-GD step)" if self.exact else
                     f"  relative prediction error: {self.relative_error.text()} ({self.relative_error.method})")
        lines.append(f"  sensitivity cosine: {self.cosine.text('.9g')}")
        for m in self.layer_match:
            lines.append(f"  layer {m['layer']}: closest to f_{m['matched_iterate']} "
                         f"(relative distance {m['distance'].text()})")
        lines.append(f"  departs at layer {self.departs['layer']}, head {self.departs['head']}, block "
                     f"{self.departs['block']}" if self.departs else "  departs: nowhere")
        return "\n".join(lines)


def _rel(a: np.ndarray, ref_norm: float) -> float:
    v = float(np.linalg.norm(np.asarray(a, dtype=float)))
    return v / ref_norm if ref_norm > 0 else (0.0 if v == 0 else float("inf"))


def read_heads(model: Transformer, d: int, n: int, dyadic: bool = False) -> list[HeadFit]:
    fits = []
    L = len(model.layers)
    for l, layer in enumerate(model.layers):
        s = Fraction(1) if layer.scale is None else Fraction(layer.scale)
        for h, head in enumerate(layer.heads):
            score = head_score(layer, head)
            W = {k: exact_array(v, dyadic) for k, v in (("W_Q", head.W_Q), ("W_K", head.W_K), ("W_V", head.W_V),
                                                           ("W_O", np.eye(np.asarray(head.W_V).shape[0])
                                                            if head.W_O is None else head.W_O))}
            Q = np.dot(W["W_K"].T, W["W_Q"])
            P = np.dot(W["W_O"], W["W_V"]) * s
            eta = -P[d, d] * n
            gamma = Q[:d, :d]
            scale = float(np.linalg.norm(np.asarray(Q, dtype=float))) or 1.0
            pscale = abs(float(P[d, d])) or 1.0
            dep = {"Q = W_Kᵀ W_Q reads y": _rel(np.concatenate([Q[d, :], Q[:d, d]]), scale),
                   "P's label row reads x": _rel(P[d, :d], pscale)}
            if L > 1:
                dep["P moves x"] = _rel(P[:d, :], pscale)
            fits.append(HeadFit(l, h, score, Fraction(eta), gamma, {k: measure._r(v) for k, v in dep.items()}))
    return fits


def _kernel(score: str, Xall: np.ndarray, gamma: np.ndarray, n: int) -> np.ndarray:
    """(m, n, n+1): K(x_i, x_j) for context keys i and every point j."""
    G = np.einsum("mid,de,mje->mij", Xall[:, :n], np.asarray(gamma, dtype=float), Xall)
    if score == "linear":
        return G
    if score == "relu":
        return np.maximum(G, 0)
    E = np.exp(G)
    return E if score == "exp" else E / E.sum(axis=1, keepdims=True)


def fgd_iterates(fits: list[HeadFit], X: np.ndarray, y: np.ndarray, xq: np.ndarray, L: int) -> np.ndarray:
    """(L+1, m): f_0(x_q) … f_L(x_q)."""
    m, n, d = X.shape
    Xall = np.concatenate([X, xq[:, None, :]], axis=1)  # (m, n+1, d)
    f = np.zeros((m, n + 1))
    out = [f[:, n].copy()]
    for l in range(L):
        step = np.zeros_like(f)
        for h in (h for h in fits if h.layer == l):
            K = _kernel(h.score, Xall, h.gamma, n)
            step += float(h.eta) / n * np.einsum("mi,mij->mj", y - f[:, :n], K)
        f = f + step
        out.append(f[:, n].copy())
    return np.stack(out)


def conform_fgd(model: Transformer, source: str = "", seed: int = 0, prompts: int = 256,
                dyadic: bool = False) -> FGDReport:
    """Read functional GD's kernels and steps from ``model`` and measure the deviation."""
    if not model.layers:
        raise ConformError("the model has no layers")
    D = model.d_model
    d = D - 1
    expected = tuple(f"x:{k}" for k in range(d)) + ("y",)
    if d < 1 or (not all(c.startswith("r:") for c in model.coordinates) and tuple(model.coordinates) != expected):
        raise ConformError(f"the stream's coordinates {tuple(model.coordinates)} are not the regression token {expected}")
    n = None
    for l, layer in enumerate(model.layers):
        if not isinstance(layer, Attention):
            raise ConformError(f"layer {l} is an MLP: fgd is attention-only")
        for h, head in enumerate(layer.heads):
            sc = head_score(layer, head)
            if not isinstance(sc, str) or sc not in SCORES:
                raise ConformError(f"layer {l}, head {h}: a kernel callable cannot be read from weights "
                                   f"(scores {', '.join(SCORES)})")
        km = np.asarray(layer.key_mask).astype(int)
        if layer.causal or layer.residual != "add" or km[-1] != 0 or not km[:-1].all():
            raise ConformError(f"layer {l}: fgd's layers read the n context tokens (context mask, not causal, "
                               "additive stream)")
        n = len(km) - 1
    fits = read_heads(model, d, n, dyadic)
    ro = model.readout
    readout_ok = ro is None or (ro.column % (n + 1) == n and list(exact_array(np.asarray(ro.vector), dyadic))
                                == [0] * d + [-1])
    first = next((h for h in fits if any(v != 0 for v in h.departures.values())), None)
    exact = first is None and readout_ok
    run_model = model if ro is not None else replace(model, readout=Readout(np.array([0] * d + [-1]), n))
    rng = np.random.default_rng([seed, 19, d, n])
    X, y, xq = measure.draw_prompts(rng, d, n, prompts)
    Z = measure.regression_batch(X, y, xq)
    preds = measure.layer_predictions(run_model, Z)
    alg = fgd_iterates(fits, X, y, xq, len(model.layers))
    brng = np.random.default_rng([seed, 23])
    if exact:
        why = "exact: every head is a functional-GD step, read from the weights"
        rel, cos = measure.exact_interval(0.0, why), measure.exact_interval(1.0, why)
    else:
        rel = measure.relative_error(preds[-1], alg[-1], brng)
        g_alg = np.zeros((prompts, d))
        for c in range(d):
            e = np.zeros(d)
            e[c] = measure.FD_STEP
            g_alg[:, c] = (fgd_iterates(fits, X, y, xq + e, len(model.layers))[-1]
                           - fgd_iterates(fits, X, y, xq - e, len(model.layers))[-1]) / (2 * measure.FD_STEP)
        cos = measure.sensitivity_cosine(measure.model_gradient(run_model, Z, d), g_alg, brng)
    match = measure.layer_match(preds, alg, brng)
    departs = None
    if first is not None:
        block = max(first.departures.items(), key=lambda kv: kv[1])
        departs = {"layer": first.layer, "head": first.head, "block": block[0], "relative": block[1]}
    elif not readout_ok:
        departs = {"layer": len(model.layers) - 1, "head": None, "block": "read-out", "relative": 1.0}
    return FGDReport(source or model.name, d, n, fits, exact, rel, cos, match, departs, prompts, seed)
