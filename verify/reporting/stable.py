"""What the committed report may say: the same bytes on any CPU.

float64 results differ in their last bits between CPUs, BLAS kernels and
SIMD sets (numpy picks AVX-512 or AVX2 loops at run time; OpenBLAS picks its
kernel per CPU).  A numerical check's largest error and the tolerance at its
binding entry are such last-bit figures: the verdict (every entry within its
derived running-error bound) is what the check shows, the figures are noise
below that bound.  So:

- :func:`stabilise` turns a results document into the committed one: a
  numerical or library check keeps its verdict, counts and words but not its
  error, tolerance or ratio (those go to ``results.raw.json``, not
  committed); every other float is kept to :data:`SIGNIFICANT` significant
  digits (a smooth function of the data: its last bits cannot move that digit
  except with a probability of order 1e-13 per figure);
- :func:`check_figure` prints one check's figure in the units of its relation
  (exactly 0; 0 in an enclosure of a stated radius; a bound's certified slack;
  an error at a working precision; a confidence interval), never a bare
  error/tolerance pair.

Nothing here branches on a float64 figure: text is chosen by status and kind.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

SIGNIFICANT = 2
MACHINE_DEPENDENT = ("numerical", "library")  # evidence whose figures are float64 rounding
RAW_NOTE = "machine-dependent float64 figures: in results.raw.json (not committed)"
_RATIO_CLAUSE = re.compile(r";? ?largest error / running error bound = [-+0-9.einfa]+")


def round_sig(x: Any, digits: int = SIGNIFICANT) -> Any:
    """A float to ``digits`` significant digits (other values unchanged)."""
    if not isinstance(x, float) or x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def _round_all(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _round_all(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_round_all(v) for v in x]
    return round_sig(x)


def without_ratio(text: str) -> str:
    """A checker's words without the float64 ratio clause (a last-bit figure)."""
    return _RATIO_CLAUSE.sub("", text)


def stable_check(ch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(ch)
    if ch.get("evidence") in MACHINE_DEPENDENT:
        out["max_error"] = out["tolerance"] = None
        data = {k: v for k, v in (out.get("data") or {}).items() if k != "worst_ratio"}
        if "min_margin" in data:
            data["min_margin"] = round_sig(data["min_margin"])
        out["data"] = data
        out["detail"] = without_ratio(out.get("detail", ""))
        if ch.get("max_error") is not None:
            out["figures"] = RAW_NOTE
        if not out["data"]:
            del out["data"]
        return out
    out["max_error"], out["tolerance"] = round_sig(ch.get("max_error")), round_sig(ch.get("tolerance"))
    if "data" in out:
        out["data"] = _round_all(out["data"])
    return out


def stabilise(doc: dict[str, Any]) -> dict[str, Any]:
    """The committed results document: machine facts and last-bit figures out."""
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k not in ("claims", "machine")}
    claims = []
    for c in doc["claims"]:
        c2 = copy.deepcopy(c)
        c2["checks"] = [stable_check(ch) for ch in c["checks"]]
        c2["falsifiers"] = [{**f, "by": without_ratio(str(f.get("by", "")))} for f in c.get("falsifiers", [])]
        claims.append(c2)
    out["claims"] = claims
    return out


def _g(x: float | None) -> str:
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "∞"
    return f"{x:.{SIGNIFICANT}g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.{SIGNIFICANT - 1}e}"


def check_figure(ch: dict[str, Any], relation: str) -> str:
    """One check's figure, in the units of its relation (short: a table cell)."""
    status, ev, data = ch.get("status"), ch.get("evidence"), ch.get("data") or {}
    if status == "skipped":
        return "not run"
    if status == "error":
        return "raised"
    if status == "refuted" or data.get("counterexample"):
        return "counterexample found"
    margin = data.get("min_margin")
    err, tol = ch.get("max_error"), ch.get("tolerance")
    bad = status == "fails"
    if ev in MACHINE_DEPENDENT:
        if margin is not None:
            return f"slack ≥ {_g(margin)} beyond rounding" if not bad else "bound exceeded"
        return "every entry within its running bound" if not bad else "beyond its running bound"
    if relation == "empirical" or ev == "empirical":
        return f"{_g(err)} against {_g(tol)} (intervals: detail)"  # each claim states its level
    if relation == "ranking":
        return "unique argmax, exactly" if not bad else "wrong argmax"
    if margin is not None:
        return f"slack ≥ {_g(margin)}" + (" (certified)" if ev == "certified" else " (exact)" if ev == "exact" else "")
    if ev == "multiprecision":
        digits = data.get("digits") or []
        at = f" at {digits[-1]} digits" if digits else ""
        return f"error {_g(err)}{at} (bound {_g(tol)})"
    if ev == "certified":
        return f"0 in enclosure, radius ≤ {_g(tol)}" if not bad else "0 outside the enclosure"
    if ev in ("exact", "symbolic", "block lemma"):
        if relation in ("bound", "inequality", "rate") and not bad:
            return "holds exactly"
        if ev == "exact" and "schwartz_zippel" in data:
            return f"= 0 in GF(p), P(false pass) ≤ {_g(data['schwartz_zippel'])}"
        return "= 0 exactly" if not bad else "≠ 0"
    return status or "—"
