"""The regression gate: a baseline of what must keep holding, and the comparison.

A **baseline** records, for one full run (every claim, every check) at one
seed and effort, only what does not depend on the machine: each claim's
status, its falsifiers' names, and for each check its status, its kind of
evidence and how many instances it ran.  No error or tolerance figure is
stored: they are last-bit quantities that differ between CPUs and BLAS
kernels.

:func:`compare` gates a results document against a baseline.  It **refuses**
(raises :class:`GateError`, one line) a malformed or empty baseline or
results document, and a run whose seed or effort differs from the baseline's
(other instances: nothing to compare).  Otherwise it lists **regressions**:

- a claim of the baseline, inside the run's ``--claim`` selection, missing
  from the run (a ``--mode`` run expects the claims with a check of that mode);
- a claim whose status changed, or a check whose status changed from
  ``holds``/``refuted``, or a check that disappeared or ran fewer instances;
- a falsifier of the baseline that is gone or no longer caught;
- a new claim (or check) that is not ``holds``/``refuted`` (checks may also be
  ``skipped``, with their reason);
- a float check judged by its own derived bound: a check that says ``holds``
  while its reported error exceeds its reported tolerance (ratio > 1) is a
  contradiction, whatever the baseline says.

A run of a subset (``--claim``, ``--mode``) is gated against the matching
subset of the baseline; the results document records its selection.
"""

from __future__ import annotations

import fnmatch
import math
from typing import Any

from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.spec import STATUSES

BASELINE_FORMAT = 2
PASSING = ("holds", "refuted")


class GateError(ValueError):
    """A baseline or results document that cannot be compared (one line)."""


# ---------------------------------------------------------------------------
# validating the two documents
# ---------------------------------------------------------------------------


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise GateError(what)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _status(x: Any, where: str) -> str:
    _need(isinstance(x, str) and x in STATUSES, f"{where}: unknown status {x!r} (known: {', '.join(STATUSES)})")
    return x


def validate_results(doc: Any) -> dict[str, Any]:
    """The results document, checked for the fields the gate reads."""
    _need(isinstance(doc, dict), "the results document is not a JSON object")
    for key in ("seed", "effort", "claims"):
        _need(key in doc, f"the results document has no {key!r}")
    _need(isinstance(doc["seed"], int) and not isinstance(doc["seed"], bool), "the results' seed is not an integer")
    _need(_is_number(doc["effort"]) and math.isfinite(doc["effort"]), "the results' effort is not a finite number")
    _need(isinstance(doc["claims"], list), "the results' claims are not a list")
    _need(bool(doc["claims"]), "the results document has no claims")
    seen = set()
    for i, c in enumerate(doc["claims"]):
        _need(isinstance(c, dict) and isinstance(c.get("id"), str), f"results claim #{i} has no id")
        cid = c["id"]
        _need(cid not in seen, f"results claim {cid!r} appears twice")
        seen.add(cid)
        _status(c.get("status"), f"results claim {cid}")
        _need(isinstance(c.get("checks"), list), f"results claim {cid} has no list of checks")
        for ch in c["checks"]:
            _need(isinstance(ch, dict) and isinstance(ch.get("mode"), str), f"results claim {cid}: a check without a mode")
            _status(ch.get("status"), f"results claim {cid} [{ch['mode']}]")
            _need(isinstance(ch.get("instances"), int), f"results claim {cid} [{ch['mode']}]: instances is not an integer")
            for key in ("max_error", "tolerance"):
                _need(ch.get(key) is None or _is_number(ch[key]), f"results claim {cid} [{ch['mode']}]: {key} is not a number")
        fals = c.get("falsifiers", [])
        _need(isinstance(fals, list) and all(isinstance(f, dict) and isinstance(f.get("name"), str)
                                              and isinstance(f.get("caught"), bool) for f in fals),
              f"results claim {cid}: malformed falsifiers")
    sel = doc.get("selection") or {}
    _need(isinstance(sel, dict) and all(sel.get(k) is None or isinstance(sel.get(k), str) for k in ("claim", "mode")),
          "the results' selection is malformed")
    return doc


def validate_baseline(base: Any) -> dict[str, Any]:
    """The baseline, checked: format, seed, effort, a non-empty claim table of
    known statuses."""
    _need(isinstance(base, dict), "the baseline is not a JSON object")
    _need(base.get("format") == BASELINE_FORMAT,
          f"the baseline has format {base.get('format')!r}, not {BASELINE_FORMAT} "
          "(regenerate it: python -m verify baseline)")
    _need(isinstance(base.get("seed"), int) and not isinstance(base["seed"], bool), "the baseline's seed is not an integer")
    _need(_is_number(base.get("effort")) and math.isfinite(base["effort"]), "the baseline's effort is not a finite number")
    claims = base.get("claims")
    _need(isinstance(claims, dict), "the baseline has no table of claims")
    _need(bool(claims), "the baseline is empty: it records no claims")
    for cid, c in claims.items():
        _need(isinstance(c, dict), f"baseline claim {cid}: not an object")
        status = _status(c.get("status"), f"baseline claim {cid}")
        _need(status in PASSING, f"baseline claim {cid} is recorded as {status}: a baseline records only claims "
                                 "that hold or are refuted")
        _need(isinstance(c.get("falsifiers"), list) and all(isinstance(f, str) for f in c["falsifiers"]),
              f"baseline claim {cid}: falsifiers is not a list of names")
        checks = c.get("checks")
        _need(isinstance(checks, dict) and bool(checks), f"baseline claim {cid} records no checks")
        for mode, ch in checks.items():
            _need(isinstance(ch, dict), f"baseline claim {cid} [{mode}]: not an object")
            _status(ch.get("status"), f"baseline claim {cid} [{mode}]")
            _need(isinstance(ch.get("instances"), int) and ch["instances"] >= 0,
                  f"baseline claim {cid} [{mode}]: instances is not a count")
            _need(isinstance(ch.get("evidence"), str), f"baseline claim {cid} [{mode}]: no kind of evidence")
    return base


# ---------------------------------------------------------------------------
# the baseline
# ---------------------------------------------------------------------------


def baseline_from(doc: dict[str, Any]) -> dict[str, Any]:
    """The baseline of a full, passing run: statuses, falsifier names and
    per-check status, evidence and instance count (no float figures).

    Refuses (GateError) a run of a subset, or one with a claim that fails or
    errs or a falsifier not caught: a baseline must not record a failure as
    the norm."""
    validate_results(doc)
    sel = doc.get("selection") or {}
    _need(not sel.get("claim") and not sel.get("mode"),
          f"the results are of a subset (--claim {sel.get('claim')!r}, --mode {sel.get('mode')!r}); "
          "a baseline is made from a full run")
    bad = [c["id"] for c in doc["claims"] if c["status"] not in PASSING
           or not all(f["caught"] for f in c.get("falsifiers", []))]
    _need(not bad, f"the results have claims that do not pass ({', '.join(bad[:5])}); a baseline records a passing run")
    return {
        "format": BASELINE_FORMAT,
        "seed": doc["seed"],
        "effort": doc["effort"],
        "claims": {
            c["id"]: {
                "status": c["status"],
                "falsifiers": sorted(f["name"] for f in c.get("falsifiers", [])),
                "checks": {ch["mode"]: {"status": ch["status"], "evidence": ch.get("evidence", ""),
                                        "instances": ch["instances"]} for ch in c["checks"]},
            }
            for c in doc["claims"]
        },
    }


# ---------------------------------------------------------------------------
# the comparison
# ---------------------------------------------------------------------------


def _mode_selects(wanted: str | None, mode: str, evidence: str) -> bool:
    """The runner's ``--mode`` rule, read from a recorded check: its key, or a
    selector name of its kind of evidence."""
    if not wanted:
        return True
    keys = {w.strip() for w in wanted.split(",")}
    if mode in keys:
        return True
    try:
        kind = Evidence.of(evidence)
    except ValueError:
        return evidence in keys
    return bool(keys & ({kind.label} | set(kind.selectors)))


def _claim_selected(pattern: str | None, cid: str) -> bool:
    if not pattern:
        return True
    return any(fnmatch.fnmatchcase(cid, p.strip()) for p in pattern.split(","))


def check_ratio(ch: dict[str, Any]) -> float | None:
    """A check's reported error over its derived tolerance (None without both)."""
    err, tol = ch.get("max_error"), ch.get("tolerance")
    if err is None or tol is None:
        return None
    if tol > 0:
        return err / tol
    return 0.0 if err == 0 else math.inf


def compare(doc: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Regressions of ``doc`` against ``baseline`` (empty: the gate passes).
    Raises GateError when the two cannot be compared."""
    validate_results(doc)
    validate_baseline(baseline)
    _need(doc["seed"] == baseline["seed"],
          f"the run is at seed {doc['seed']} but the baseline at seed {baseline['seed']}: different instances")
    _need(float(doc["effort"]) == float(baseline["effort"]),
          f"the run is at effort {doc['effort']} but the baseline at effort {baseline['effort']}")
    sel = doc.get("selection") or {}
    pattern, wanted = sel.get("claim"), sel.get("mode")
    now = {c["id"]: c for c in doc["claims"]}
    problems: list[str] = []

    for cid, base in sorted(baseline["claims"].items()):
        if not _claim_selected(pattern, cid):
            continue
        scope = {m: b for m, b in base["checks"].items() if _mode_selects(wanted, m, b["evidence"])}
        if not scope:
            continue  # the run's --mode selects no check of this claim
        cur = now.get(cid)
        if cur is None:
            problems.append(f"{cid}: in the baseline but not in this run")
            continue
        # Under --mode the claim's status folds only the selected checks (an
        # erratum's float check alone cannot refute it): there the checks decide.
        if cur["status"] != base["status"] and (not wanted or cur["status"] not in (*PASSING, "skipped")):
            problems.append(f"{cid}: was {base['status']}, now {cur['status']}")
        checks = {ch["mode"]: ch for ch in cur["checks"]}
        for mode, bch in sorted(scope.items()):
            ch = checks.get(mode)
            if ch is None:
                problems.append(f"{cid} [{mode}]: check disappeared")
                continue
            if bch["status"] in PASSING and ch["status"] != bch["status"]:
                problems.append(f"{cid} [{mode}]: was {bch['status']}, now {ch['status']}")
            elif ch["status"] in PASSING and ch["instances"] < bch["instances"]:
                problems.append(f"{cid} [{mode}]: ran {ch['instances']} instance(s), the baseline {bch['instances']}")
        for mode in sorted(set(checks) - set(base["checks"])):
            if checks[mode]["status"] not in (*PASSING, "skipped"):
                problems.append(f"{cid} [{mode}]: a new check that is {checks[mode]['status']}")
        caught = {f["name"]: f["caught"] for f in cur.get("falsifiers", [])}
        for name in base["falsifiers"]:
            if name not in caught:
                problems.append(f"{cid}: falsifier {name!r} is gone")
            elif not caught[name]:
                problems.append(f"{cid}: falsifier {name!r} is no longer caught")

    for cid, cur in sorted(now.items()):
        if cid not in baseline["claims"] and cur["status"] not in PASSING:
            problems.append(f"{cid}: a new claim that is {cur['status']}")
        if not _claim_selected(pattern, cid):
            problems.append(f"{cid}: in the run but outside its recorded selection {pattern!r}")

    for cur in doc["claims"]:
        for ch in cur["checks"]:
            r = check_ratio(ch)
            if ch["status"] == "holds" and r is not None and r > 1:
                problems.append(f"{cur['id']} [{ch['mode']}]: says {ch['status']} but its error is "
                                f"{r:.3g} x its derived tolerance")
    return problems
