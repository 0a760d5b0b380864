"""``conform(model, against)``: fit an algorithm family's parameters to a
model, measure the deviation, and name where the model departs.

1. Structure, checked by name (one-line :class:`ConformError` otherwise):
   every layer linear attention (the families' layers are), additive
   residual, key mask = the n context tokens (the query is not a key), not
   causal, a stream [x:0 … x:d−1, y], the layer count the target fixes.
2. Parameters read from the weights: each layer's exact polynomial
   (:mod:`.polynomial`), decomposed by exact least squares into the family's
   terms plus a residual; a one-layer model's *prediction* polynomial too.
   Weights are read as rationals (:mod:`.rationals`).  The model implements
   the algorithm exactly iff every residual is 0 and the read-out is
   −(query label): then the deviation is reported as exactly 0.
3. Deviation on drawn prompts (:mod:`.measure`), with bootstrap intervals.
4. Where it departs: the first layer whose residual is nonzero (or the
   read-out), and in it the named block (W_Q, W_K, W_V, W_O) furthest from
   the family's reference construction with the fitted parameters; the
   gauge-free products Q = W_Kᵀ W_Q and P = s W_O W_V (the papers' blocks)
   are reported beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as _replace
from fractions import Fraction
from typing import Any

import numpy as np
from transformer_proofs.constructions.engine import MLP, Attention, Readout, Transformer, head_score
from transformer_proofs.constructions.importing import Imported
from transformer_proofs.verify.conform import measure
from transformer_proofs.verify.conform.families import FGD_TARGETS, NEWTON_TARGETS, ConformError, Family, resolve
from transformer_proofs.verify.conform.polynomial import (
    Decomposition,
    decompose,
    layer_tensor,
    prediction_poly,
    tensor_poly,
    top_terms,
)
from transformer_proofs.verify.conform.rationals import exact_array

DEFAULT_PROMPTS = 256


@dataclass
class LayerFit:
    layer: int
    params: list[Fraction]
    names: list[str]
    decomposition: Decomposition
    residual_terms: list[tuple[str, str, float]]

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "parameters": {n: _exact_text(v) for n, v in zip(self.names, self.params)},
                "parameters_float": {n: measure._r(float(v)) for n, v in zip(self.names, self.params)},
                "residual_exactly_zero": self.decomposition.exact_zero,
                "residual_relative": measure._r(self.decomposition.relative),
                "residual_terms": [{"term": t, "coefficient": c} for t, c, _ in self.residual_terms]}


@dataclass
class ConformReport:
    target: str
    family: Family
    source: str
    d: int
    n: int
    layers: list[LayerFit]
    prediction: LayerFit | None  # one-layer models: the prediction polynomial's decomposition
    readout_ok: bool
    exact: bool  # every residual 0 and the read-out right
    relative_error: measure.Interval
    cosine: measure.Interval
    layer_match: list[dict[str, Any]]
    departs: dict[str, Any] | None
    blocks: list[dict[str, Any]]
    prompts: int
    seed: int
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> list[list[Fraction]]:
        if self.prediction is not None:
            return [self.prediction.params]
        return [lf.params for lf in self.layers]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "family": self.family.name, "algorithm": self.family.description,
            "source": self.family.source, "weights": self.source, "d": self.d, "n": self.n,
            "fitted": [{n: _exact_text(v) for n, v in zip(self.family_names(), ps)} for ps in self.parameters],
            "exact": self.exact, "readout_is_minus_query_label": self.readout_ok,
            "layers": [lf.to_json() for lf in self.layers],
            "prediction": self.prediction.to_json() if self.prediction else None,
            "relative_prediction_error": self.relative_error.to_json(),
            "sensitivity_cosine": self.cosine.to_json(),
            "layer_match": [{**m, "distance": m["distance"].to_json()} for m in self.layer_match],
            "departs": self.departs, "blocks": self.blocks, "prompts": self.prompts, "seed": self.seed,
            "notes": self.notes,
        }

    def family_names(self) -> list[str]:
        return (self.prediction or self.layers[0]).names

    def text(self) -> str:
        fam = self.family
        lines = [f"conform {self.source} against {self.target}: {fam.description} ({fam.source})",
                 f"  d = {self.d}, n = {self.n}, {len(self.layers)} layer(s); {self.prompts} prompts, seed {self.seed}"]
        for l, ps in enumerate(self.parameters):
            where = "prediction" if self.prediction is not None else f"layer {l}"
            vals = ", ".join(f"{n} = {_exact_text(v)}" + ("" if Fraction(v).denominator < 10**6 else f" (≈ {float(v):.6g})")
                             for n, v in zip(self.family_names(), ps))
            lines.append(f"  fitted ({where}, exact least squares on the weights): {vals}")
        if self.exact:
            lines.append("  deviation: exactly 0 (every residual polynomial is 0 and the read-out is −(query label))")
        else:
            for lf in ([self.prediction] if self.prediction else []) + self.layers:
                what = "prediction" if lf is self.prediction else f"layer {lf.layer}"
                lines.append(f"  residual ({what}): relative {lf.decomposition.relative:.3g}"
                             + ("" if lf.decomposition.exact_zero else
                                f"; largest: {', '.join(f'{t} ({c})' for t, c, _ in lf.residual_terms[:3])}"))
        lines.append(f"  relative prediction error: {self.relative_error.text()} ({self.relative_error.method})")
        lines.append(f"  sensitivity cosine: {self.cosine.text('.9g')} ({self.cosine.method})")
        for m in self.layer_match:
            lines.append(f"  layer {m['layer']}: closest to iterate {m['matched_iterate']} "
                         f"(relative distance {m['distance'].text()}, same match in {m['match_frequency']:.0%} of resamples)")
        if self.departs:
            lines.append(f"  departs at layer {self.departs['layer']}, block {self.departs['block']} "
                         f"(relative departure {self.departs['relative']:.3g})")
        else:
            lines.append("  departs: nowhere")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _exact_text(v: Any) -> str:
    v = Fraction(v)
    return str(v) if v.denominator < 10**12 else f"{float(v):.17g}"


# ---------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------


def _structure(model: Transformer, fam: Family) -> tuple[int, int]:
    """(d, n) of a model the family can be fitted to; ConformError otherwise."""
    if not model.layers:
        raise ConformError("the model has no layers")
    if fam.layers is not None and len(model.layers) != fam.layers:
        raise ConformError(f"the target is {fam.layers} layer(s), the model has {len(model.layers)}")
    D = model.d_model
    if D < 2:
        raise ConformError(f"a stream of {D} coordinate(s) cannot hold a regression token [x; y]")
    d = D - 1
    coords = tuple(model.coordinates)
    expected = tuple(f"x:{k}" for k in range(d)) + ("y",)
    if not all(c.startswith("r:") for c in coords) and coords != expected:
        raise ConformError(f"the stream's coordinates {coords} are not the regression token {expected}")
    n = None
    for l, layer in enumerate(model.layers):
        if isinstance(layer, MLP):
            raise ConformError(f"layer {l} is an MLP: {fam.name} is attention-only")
        if not isinstance(layer, Attention):
            raise ConformError(f"layer {l}: unknown layer type {type(layer).__name__}")
        for h, head in enumerate(layer.heads):
            s = head_score(layer, head)
            if s != fam.score:
                what = s if isinstance(s, str) else "kernel"
                raise ConformError(f"layer {l}, head {h} is {what} attention; {fam.name} claims {fam.score} attention")
        if layer.residual != "add":
            raise ConformError(f"layer {l} appends coordinates (concat residual); {fam.name} has an additive stream")
        km = np.asarray(layer.key_mask).astype(int)
        if layer.causal:
            raise ConformError(f"layer {l} is causal; {fam.name}'s layers attend to every context token")
        if km[-1] != 0 or not km[:-1].all():
            raise ConformError(f"layer {l}: key mask {km.tolist()} is not the context mask (the n context tokens are "
                               "keys, the query is not)")
        if n is not None and len(km) - 1 != n:
            raise ConformError(f"layer {l} has {len(km) - 1} context tokens, layer 0 has {n}")
        n = len(km) - 1
    if not n:
        raise ConformError("the prompt needs at least one context token")
    return d, n


def _exact_heads(layer: Attention, dyadic: bool) -> list[dict[str, np.ndarray]]:
    out = []
    for h in layer.heads:
        dv = np.asarray(h.W_V).shape[0]
        W_O = np.eye(dv) if h.W_O is None else h.W_O
        out.append({k: exact_array(v, dyadic) for k, v in (("W_Q", h.W_Q), ("W_K", h.W_K), ("W_V", h.W_V),
                                                            ("W_O", W_O))})
    return out


# ---------------------------------------------------------------------------
# the fit
# ---------------------------------------------------------------------------


def _terms(fam: Family, d: int, n: int) -> list[tuple[str, dict]]:
    return [(name, tensor_poly(B)) for name, B in fam.basis(d, n)]


def _prediction_terms(fam: Family, d: int, n: int) -> list[tuple[str, dict]]:
    ref = [0] * d + [-1]
    return [(name, prediction_poly(B, ref, d)) for name, B in fam.basis(d, n)]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    fa = np.asarray(a, dtype=float)
    fb = np.asarray(b, dtype=float)
    if fa.shape != fb.shape:
        rows = max(fa.shape[0], fb.shape[0])
        pa, pb = np.zeros((rows,) + fa.shape[1:]), np.zeros((rows,) + fb.shape[1:])
        pa[: fa.shape[0]], pb[: fb.shape[0]] = fa, fb
        fa, fb = pa, pb
    den = np.linalg.norm(fb)
    diff = np.linalg.norm(fa - fb)
    return float(diff / den) if den > 0 else (0.0 if diff == 0 else float("inf"))


def _pad_cols(a: np.ndarray, cols: int) -> np.ndarray:
    out = np.zeros((a.shape[0], cols), dtype=object) + Fraction(0)
    out[:, : a.shape[1]] = a
    return out


def _blocks(fam: Family, model: Transformer, exact: list[list[dict[str, np.ndarray]]], fits: list[LayerFit],
            d: int, n: int) -> list[dict[str, Any]]:
    """Per layer: relative departure of each named block and of the products
    from the family's reference construction with the fitted parameters."""
    rows = []
    for l, (layer, heads, fit) in enumerate(zip(model.layers, exact, fits)):
        ref = fam.reference_blocks(fit.params, d, n, layer.scale)
        s = Fraction(1) if layer.scale is None else Fraction(layer.scale)
        row: dict[str, Any] = {"layer": l}
        live = [h for h in heads if np.any(np.dot(h["W_O"], h["W_V"]) != 0)]
        if len(live) == 1:
            h = live[0]
            for name in ("W_Q", "W_K", "W_V"):  # (dh, D) vs (D, D): compare with the reference zero-padded
                row[name] = measure._r(_rel(h[name], ref[name]))
            row["W_O"] = measure._r(_rel(h["W_O"].T, ref["W_O"].T))
        else:
            row["heads"] = len(live)
        Q = sum(np.dot(h["W_K"].T, h["W_Q"]) for h in live) if live else None
        P = sum(np.dot(h["W_O"], h["W_V"]) * s for h in live) if live else None
        Qr, Pr = np.dot(ref["W_K"].T, ref["W_Q"]), np.dot(ref["W_O"], ref["W_V"]) * s
        if len(live) == 1:  # a gauge c: (c Q, P / c) is the same layer
            qq = float(np.sum(Qr * Qr))
            c = float(np.sum(np.asarray(Q, dtype=float) * np.asarray(Qr, dtype=float))) / qq if qq else 1.0
            c = c if c != 0 else 1.0
            row["Q = W_Kᵀ W_Q"] = measure._r(_rel(np.asarray(Q, dtype=float), c * np.asarray(Qr, dtype=float)))
            row["P = s W_O W_V"] = measure._r(_rel(np.asarray(P, dtype=float), np.asarray(Pr, dtype=float) / c))
        rows.append(row)
    return rows


def conform(weights: Imported | Transformer, against: str, seed: int = 0, prompts: int = DEFAULT_PROMPTS,
            dyadic: bool = False) -> Any:
    """Fit ``against`` (a family name or claim id: gd, gd.one_layer, gd.multi_layer,
    preconditioned_gd, gd.preconditioned; newton, newton.k_steps) to the model
    and measure the deviation: a :class:`ConformReport` (exact fit), or for
    newton a :class:`~.newton.NewtonReport` (fitted from behaviour)."""
    model = weights.model if isinstance(weights, Imported) else weights
    source = weights.source if isinstance(weights, Imported) else (model.name or "model")
    if against in FGD_TARGETS:
        from transformer_proofs.verify.conform.fgd import conform_fgd

        return conform_fgd(model, source, seed=seed, prompts=prompts, dyadic=dyadic)
    if against in NEWTON_TARGETS:
        from transformer_proofs.verify.conform.newton import conform_newton

        return conform_newton(model, source, seed=seed, prompts=prompts)
    fam = resolve(against)
    notes = list(weights.notes) if isinstance(weights, Imported) else []
    d, n = _structure(model, fam)
    coords = tuple(f"x:{k}" for k in range(d)) + ("y",)
    ref_vec = [0] * d + [-1]
    if model.readout is None:
        notes.append("the weights carry no read-out: the family's read-out −(query label) is used")
        readout_vec, readout_ok = [Fraction(v) for v in ref_vec], True
    else:
        readout_vec = list(exact_array(np.asarray(model.readout.vector, dtype=object)
                                       if np.asarray(model.readout.vector).dtype == object
                                       else model.readout.vector, dyadic))
        readout_ok = model.readout.column % (n + 1) == n and readout_vec == [Fraction(v) for v in ref_vec]
    run_model = model if model.readout is not None else _replace(
        model, readout=Readout(np.array(ref_vec, dtype=object), n))

    exact = [_exact_heads(layer, dyadic) for layer in model.layers]
    tensors = [layer_tensor(h, layer.scale) for h, layer in zip(exact, model.layers)]
    terms = _terms(fam, d, n)
    fits = []
    for l, C in enumerate(tensors):
        dec = decompose(tensor_poly(C), terms)
        fits.append(LayerFit(l, dec.theta, dec.names, dec, top_terms(dec.residual, coords, query=False)))
    prediction = None
    if len(model.layers) == 1:
        dec = decompose(prediction_poly(tensors[0], readout_vec, d), _prediction_terms(fam, d, n))
        prediction = LayerFit(0, dec.theta, dec.names, dec, top_terms(dec.residual, coords))
        # one layer: the prediction polynomial (read-out included) decides, read at the query
        is_exact = dec.exact_zero and (model.readout is None or model.readout.column % (n + 1) == n)
    else:
        is_exact = readout_ok and all(f.decomposition.exact_zero for f in fits)
    steps = [fam.params_to_step(f.params, d) for f in ([prediction] if prediction else fits)]

    rng = np.random.default_rng([seed, 7, d, n])
    X, y, xq = measure.draw_prompts(rng, d, n, prompts)
    Z = measure.regression_batch(X, y, xq)
    preds = measure.layer_predictions(run_model, Z)
    ws = measure.gd_iterates(X, y, steps)
    alg = np.einsum("kmd,md->km", ws, xq)
    brng = np.random.default_rng([seed, 11])
    if is_exact:
        why = "exact: the residual polynomial is 0, so the model's prediction is the algorithm's on every prompt"
        rel = measure.exact_interval(0.0, why)
        cos = measure.exact_interval(1.0, why)
    else:
        rel = measure.relative_error(preds[-1], alg[-1], brng)
        cos = measure.sensitivity_cosine(measure.model_gradient(run_model, Z, d), ws[-1], brng)
    match = measure.layer_match(preds, alg, brng)
    if is_exact:  # each layer's state is the algorithm's iterate, exactly
        for m in match:
            m.update(matched_iterate=m["layer"], match_frequency=1.0,
                     distance=measure.exact_interval(0.0, "exact: every residual is 0"))

    blocks = _blocks(fam, model, exact, fits, d, n)
    departs = None
    if not is_exact:
        first = next((f.layer for f in fits if not f.decomposition.exact_zero), None)
        if prediction is not None and not prediction.decomposition.exact_zero:
            first = 0
        if first is None:
            departs = {"layer": len(model.layers) - 1, "block": "read-out", "relative": 1.0}
        else:
            row = blocks[first]
            named = {k: v for k, v in row.items() if k in ("W_Q", "W_K", "W_V", "W_O")}
            block, rel_dep = (max(named.items(), key=lambda kv: kv[1]) if named
                              else ("heads", float("nan")))
            departs = {"layer": first, "block": block, "relative": rel_dep,
                       "products": {k: row[k] for k in row if k.startswith(("Q =", "P ="))}}
    return ConformReport(against, fam, source, d, n, fits, prediction, readout_ok, is_exact, rel, cos, match,
                         departs, blocks, prompts, seed, notes)
