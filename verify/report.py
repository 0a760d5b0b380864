"""Markdown and JSON results (the baseline and its gate are in :mod:`verify.gate`).

Everything written here is a function of the seed, the code and the library
versions: no dates, no timings, no machine names, so the same command gives
the same bytes.  Timings go to stderr only.
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any

from tabulate import tabulate
from transformer_proofs.verify.registry import Context
from transformer_proofs.verify.runner import ClaimResult

EVIDENCE_WORDS = {
    "numerical": "numerical (float64, derived running-error tolerance)",
    "multiprecision": "multiprecision (error falls with the working precision)",
    "exact": "exact (rational arithmetic, or a prime field with its Schwartz–Zippel bound)",
    "symbolic": "symbolic (sympy: identically zero for the sizes tested)",
    "block lemma": "block lemma (block-matrix normaliser + induction over layers, on the block form stated)",
    "library": "numerical in PyTorch / TransformerLens",
    "certified": "certified (ball arithmetic: rigorous enclosures)",
    "bound": "bound (the paper's error bound computed beside the error)",
    "empirical": "empirical (sampled, with confidence intervals)",
    "torch": "numerical in PyTorch / TransformerLens",
}


def environment() -> dict[str, str]:
    import flint
    import mpmath
    import numpy
    import sympy

    try:
        from sympy.external.gmpy import GROUND_TYPES as ground
    except Exception:  # pragma: no cover - older sympy
        ground = "unknown"
    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "sympy": sympy.__version__,
        "sympy_ground_types": str(ground),
        "mpmath": mpmath.__version__,
        "python-flint": flint.__version__,
    }


def fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "inf"
    return f"{x:.2e}"


def results_document(results: list[ClaimResult], ctx: Context,
                     selection: dict[str, str | None] | None = None) -> dict[str, Any]:
    """``selection``: the run's ``--claim``/``--mode`` (the gate compares a
    subset run with the matching subset of the baseline)."""
    doc = {
        "seed": ctx.seed,
        "effort": ctx.effort,
        "environment": environment(),
        "claims": [r.to_json() for r in results],
    }
    if selection and any(selection.values()):
        doc["selection"] = selection
    return doc


def _instances(r: ClaimResult) -> int:
    return sum(c.instances for c in r.checks)


def _worst(r: ClaimResult) -> tuple[float | None, float | None]:
    """The numerical check's error and tolerance (the most informative pair),
    else the first check that reports an error."""
    for mode in ("float64", "mpmath"):
        for c in r.checks:
            if c.mode == mode and c.max_error is not None:
                return c.max_error, c.tolerance
    for c in r.checks:
        if c.max_error is not None:
            return c.max_error, c.tolerance
    return None, None


def summary_table(results: list[ClaimResult]) -> str:
    rows = []
    for r in results:
        err, tol = _worst(r)
        evidence = ", ".join(sorted({c.evidence for c in r.checks if c.status in ("holds", "refuted")}))
        rows.append([f"[`{r.claim.id}`](#{r.claim.id.replace('.', '')})", r.claim.paper.short(),
                     provenance_cell(r.claim), r.claim.kind,
                     r.evidence, evidence or "—", _instances(r), fmt(err), fmt(tol), f"**{r.status}**"])
    return tabulate(rows, headers=["claim", "paper", "provenance", "kind", "strongest evidence", "evidence",
                                   "instances", "max error", "tolerance", "status"], tablefmt="github")


def provenance_cell(c: Any) -> str:
    """``printed: Thm 1`` — how we know the statement, and where the paper prints it."""
    p = c.provenance
    return "—" if p is None else f"{p.kind}: {p.where}"


def provenance_lines(c: Any) -> list[str]:
    p = c.provenance
    if p is None:
        return ["Provenance: not recorded.", ""]
    words = {"printed": "read in the paper's own text", "secondary": "read through a transcription of the paper",
             "ours": "our own statement (derivation, paraphrase or strengthening), not the paper's",
             "recalled": "recalled, not re-read in the paper"}[p.kind]
    lines = [f"Provenance: **{p.kind}** ({words}); where: {p.where}."]
    if p.quote:
        lines += ["", f"> As printed: {p.quote}"]
    if p.read_in:
        lines += ["", f"Read in: {p.read_in}."]
    if p.note:
        lines += ["", f"Relation to the paper: {p.note}."]
    return lines + [""]


def trust_lines(c: Any) -> list[str]:
    if not c.trust:
        return []
    return ["Trust inventory (what is proved by what; what is assumed or only read):", ""] + \
        [f"- {t}" for t in c.trust] + [""]


def claim_section(r: ClaimResult, figures: dict[str, tuple[str, str]], tables: dict[str, str]) -> str:
    c = r.claim
    lines = [f"### {c.id}", "", f"**Status: {r.status}** · kind: {c.kind} · strongest evidence: {r.evidence}", "",
             f"> {c.statement}", "", f"Source: {c.paper.cite()}.", ""]
    lines += provenance_lines(c)
    if c.notes:
        lines += [c.notes, ""]
    if c.erratum is not None:
        e = c.erratum
        lines += ["**Erratum of the paper.**", "", f"- Counterexample (computed by the check): {r.counterexample()}",
                  f"- Within the paper's scope: {e.scope}", f"- Correction: {e.correction}",
                  f"- Corrected claim: `{e.corrected_claim}`"]
        if e.authors_code:
            lines += [f"- The authors' code: {e.authors_code}"]
        lines += [""]
    if c.correction is not None:
        k = c.correction
        lines += ["**A correction of our own earlier statement** (ours, not the paper's).", "",
                  f"- Our earlier form: {k.earlier}", f"- Counterexample (computed): {r.counterexample(k.check)}",
                  f"- Why: {k.why}", ""]
    lines += trust_lines(c)
    rows = [[ch.mode, EVIDENCE_WORDS.get(ch.evidence, ch.evidence), ch.instances, fmt(ch.max_error),
             fmt(ch.tolerance), ch.status, ch.detail] for ch in r.checks]
    lines += ["What was checked:", "",
              tabulate(rows, headers=["check", "evidence", "instances", "max error", "tolerance", "status", "detail"],
                       tablefmt="github"), ""]
    if r.falsifiers:
        frows = [[f["name"], f["description"], "caught" if f["caught"] else "**NOT CAUGHT**", f["by"]]
                 for f in r.falsifiers]
        lines += ["Falsifiers (mutants the checks must reject):", "",
                  tabulate(frows, headers=["mutant", "what changes", "result", "how"], tablefmt="github"), ""]
    if c.id in tables:
        lines += [tables[c.id], ""]
    if c.id in figures:
        name, caption = figures[c.id]
        lines += [f"![{caption}](figures/{name})", "", f"*{caption}*", ""]
    return "\n".join(lines)


def _deterministic_figures() -> None:
    """matplotlib names SVG elements with a salted hash: fix the salt, so the
    same figure is the same bytes (PNG metadata is dropped by each figure)."""
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.rcParams["svg.hashsalt"] = "transformer-proofs"


def write_report(results: list[ClaimResult], ctx: Context, outdir: Path, command: str,
                 selection: dict[str, str | None] | None = None) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    figdir = outdir / "figures"
    figures: dict[str, tuple[str, str]] = {}
    tables: dict[str, str] = {}
    _deterministic_figures()
    for r in results:
        if r.claim.figure is not None:
            figdir.mkdir(exist_ok=True)
            fig = r.claim.figure(ctx, figdir)
            if fig is not None:
                figures[r.claim.id] = fig
        if r.claim.table is not None:
            tables[r.claim.id] = r.claim.table(ctx)
    doc = results_document(results, ctx, selection)
    (outdir / "results.json").write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")

    counts = {s: sum(r.status == s for r in results) for s in ("holds", "refuted", "fails", "error")}
    env = doc["environment"]
    errata = [r for r in results if r.claim.erratum is not None]
    parts = [
        "# transformer-proofs: report",
        "",
        f"Generated by `{command}` (seed {ctx.seed}, effort {ctx.effort}). "
        "Same seed, same code, same library versions: same bytes.",
        "",
        f"**{len(results)} claims: {counts['holds']} hold, {counts['refuted']} printed statements refuted (errata of the papers), "
        f"{counts['fails']} fail, {counts['error']} err.**",
        "",
        "Words are used strictly: *exact* means exact arithmetic (rationals; a prime field with the stated "
        "Schwartz–Zippel probability); *symbolic* means sympy proved the identity for the sizes shown; "
        "*block lemma* means our block-matrix normaliser plus induction over layers, on a block form that is "
        "read from the construction at a few sizes (said in each check); *certified* means ball arithmetic; "
        "*numerical* means float64 agreement within a derived running-error bound.",
        "",
        "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".",
        "",
        "## Summary",
        "",
        summary_table(results),
        "",
    ]
    if errata:
        parts += ["## Errata of the papers", "",
                  "Statements the papers print (read in their text, or through a transcription where said), shown "
                  "false by a computed counterexample inside the paper's own scope, each beside its corrected claim.",
                  ""]
        for r in errata:
            e, p = r.claim.erratum, r.claim.provenance
            where = f"{p.where}; {p.kind}" if p is not None else r.claim.paper.where
            parts += [f"- **`{r.claim.id}`** ({r.claim.paper.short()}, {where}; status {r.status}): "
                      f"{r.counterexample()}. Correction: {e.correction}. Corrected claim: `{e.corrected_claim}`.", ""]
    ours = [r for r in results if r.claim.correction is not None]
    if ours:
        parts += ["## Corrections of our own statements", "",
                  "Statements we wrote (derivations or readings of ours, not the papers'), that we found false and "
                  "corrected. They are our slips, not the papers'.", ""]
        for r in ours:
            k = r.claim.correction
            parts += [f"- **`{r.claim.id}`**: our earlier form \"{k.earlier}\" fails: {r.counterexample(k.check)}. "
                      f"{k.why}", ""]
    families: dict[str, list[ClaimResult]] = {}
    for r in results:
        families.setdefault(r.claim.family, []).append(r)
    for fam, rs in families.items():
        parts += [f"## Family `{fam}`", ""]
        for r in rs:
            parts += [claim_section(r, figures, tables), ""]
    (outdir / "REPORT.md").write_text("\n".join(parts).rstrip() + "\n")
