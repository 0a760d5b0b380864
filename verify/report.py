"""The report: REPORT.md, results.json and figures, written together.

Everything committed is a function of the seed, the code and the library
versions, the same bytes on any CPU: no dates, no timings, no machine names,
and no float64 last-bit figures (:mod:`.reporting.stable`).  Those figures,
and what this CPU made numpy and the BLAS do, go to ``results.raw.json``
(ignored by git).  Timings go to stderr only.  The files are written into a
temporary directory beside the target and then moved into place
(:mod:`.reporting.atomic`): an interrupted run leaves the old reports whole.

The parts: :mod:`.reporting.markdown` (REPORT.md), :mod:`.reporting.overview`
(the overview figure), :mod:`.reporting.site` (the HTML catalogue),
:mod:`.reporting.latex` (a table for papers).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from transformer_proofs.verify.registry import Context
from transformer_proofs.verify.reporting import markdown
from transformer_proofs.verify.reporting.atomic import staged
from transformer_proofs.verify.reporting.environment import environment, machine
from transformer_proofs.verify.reporting.overview import overview_figure
from transformer_proofs.verify.reporting.stable import stabilise
from transformer_proofs.verify.runner import ClaimResult

RAW_NAME = "results.raw.json"  # machine-dependent: never committed (.gitignore)


def results_document(results: list[ClaimResult], ctx: Context,
                     selection: dict[str, str | None] | None = None) -> dict[str, Any]:
    """The raw results: every figure as computed, and this machine's facts.
    ``selection``: the run's ``--claim``/``--mode`` (the gate compares a
    subset run with the matching subset of the baseline)."""
    return document_of(ctx.seed, ctx.effort, [r.to_json() for r in results], selection)


def document_of(seed: int, effort: float, claims: list[dict[str, Any]],
                selection: dict[str, str | None] | None = None) -> dict[str, Any]:
    """A results document from claims' JSON entries (a run's, or a sweep's merged per seed)."""
    doc = {"seed": seed, "effort": effort, "environment": environment(), "machine": machine(), "claims": claims}
    if selection and any(selection.values()):
        doc["selection"] = selection
    return doc


def _deterministic_figures() -> None:
    """The same figure is the same bytes, on any CPU: matplotlib names SVG
    elements with a salted hash (fix the salt; PNG metadata is dropped by each
    figure), and its path simplification drops vertices by a threshold test
    that numpy's SIMD loops (AVX-512 or AVX2 log10) can tip either way, and
    its pixel snapping rounds a spine at x.5 pixels (tight_layout puts one
    there) either way on a last-bit difference: both off."""
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.rcParams["svg.hashsalt"] = "transformer-proofs"
    matplotlib.rcParams["path.simplify"] = False
    matplotlib.rcParams["path.snap"] = False


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"


def claim_extras(claim_ids: list[str], ctx: Context, figdir: Path) -> tuple[dict[str, tuple[str, str]],
                                                                          dict[str, str]]:
    """Each registered claim's own figure (into ``figdir``) and table."""
    from transformer_proofs.verify.registry import all_claims

    figures: dict[str, tuple[str, str]] = {}
    tables: dict[str, str] = {}
    _deterministic_figures()
    registered = {c.id: c for c in all_claims()}
    for cid in claim_ids:
        claim = registered.get(cid)
        if claim is None:
            continue
        if claim.figure is not None:
            figdir.mkdir(exist_ok=True)
            fig = claim.figure(ctx, figdir)
            if fig is not None:
                figures[cid] = (f"figures/{fig[0]}", fig[1])
        if claim.table is not None:
            tables[cid] = claim.table(ctx)
    return figures, tables


def write_report(results: list[ClaimResult], ctx: Context, outdir: Path, command: str, site: bool = False,
                 latex: bool = False, katex: Path | None = None,
                 selection: dict[str, str | None] | None = None) -> None:
    """REPORT.md, results.json (stable), results.raw.json (this machine) and
    figures/, at once; with ``site`` the HTML catalogue (site/), with ``latex``
    the LaTeX table (latex/)."""
    write_report_from_document(results_document(results, ctx, selection), outdir, command, site, latex, katex)


def write_report_from_document(raw: dict[str, Any], outdir: Path, command: str, site: bool = False,
                               latex: bool = False, katex: Path | None = None) -> None:
    """The report of a raw results document (``run --json``'s output, or a
    ``results.raw.json``): the claims' figures and tables are redrawn at its
    seed and effort."""
    doc = stabilise(raw)
    ctx = Context(seed=raw["seed"], effort=raw["effort"])
    with staged(outdir) as stage:
        figures, tables = claim_extras([c["id"] for c in doc["claims"]], ctx, stage.path / "figures")
        _deterministic_figures()
        overview = None
        if (fig := overview_figure(doc, _mkdir(stage.path / "figures"))) is not None:
            overview = (f"figures/{fig[0]}", fig[1])
        (stage.path / "results.json").write_text(dump(doc))
        (stage.path / RAW_NAME).write_text(dump(raw))
        text = markdown.render(doc, command, figures, tables, overview)
        (stage.path / "REPORT.md").write_text(text)
        if site:
            from transformer_proofs.verify.reporting.site import write_site

            write_site(doc, stage.path / "site", stage.path / "figures" / "overview.png", katex)
        if latex:
            from transformer_proofs.verify.reporting.latex import git_commit, write_latex

            write_latex(doc, stage.path / "latex", git_commit())
        stage.commit(last=("results.json", "REPORT.md"))
    m = raw.get("machine") or {}
    print(f"this machine (recorded in {RAW_NAME} only): BLAS {', '.join(m.get('blas_kernels') or ['?'])}; numpy SIMD "
          f"{'+'.join(m.get('numpy_simd_found') or []) or 'baseline only'}", file=sys.stderr)


def _mkdir(p: Path) -> Path:
    p.mkdir(exist_ok=True)
    return p
