"""The HTML catalogue: a static site (no server, no network when viewed).

``index.html``: the overview figure and every claim in one table, filtered
by text, family, paper, kind of evidence and status (plain JavaScript).
``claims/<id>.html``: the statement, its formulas (KaTeX, copied into the
site from a registry package: :mod:`.katex`), provenance, the checks and
their figures, each erratum's counterexample, the falsifiers, and the
weights of a small example as heat maps labelled by residual coordinates,
beside the builder's source (its proof comments).

Built from the stable results document, so the same inputs give the same
bytes; the site is generated, not committed (``reports/site/`` is ignored).
"""

from __future__ import annotations

import shutil
from html import escape
from pathlib import Path
from typing import Any

from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.reporting import site_assets
from transformer_proofs.verify.reporting.formulas import formulas
from transformer_proofs.verify.reporting.katex import copy_katex, find_katex
from transformer_proofs.verify.reporting.markdown import PROVENANCE_WORDS, paper_short
from transformer_proofs.verify.reporting.stable import check_figure
from transformer_proofs.verify.reporting.weights import source_of, write_heatmaps

STATUSES = ("holds", "refuted", "fails", "error", "skipped")


def slug(label: str) -> str:
    return label.replace(" ", "-")


def page(title: str, body: str, depth: int, katex: bool) -> str:
    up = "../" * depth
    head = [f'<link rel="stylesheet" href="{up}assets/site.css">']
    tail = []
    if katex:
        head.append(f'<link rel="stylesheet" href="{up}katex/katex.min.css">')
        tail = [f'<script src="{up}katex/katex.min.js"></script>', f'<script src="{up}assets/math.js"></script>']
    return "\n".join(['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>{escape(title)}</title>", *head, "</head>", "<body>", body, *tail,
                      "</body>", "</html>", ""])


def passed_kinds(c: dict[str, Any]) -> list[str]:
    return sorted({ch["evidence"] for ch in c["checks"] if ch["status"] in ("holds", "refuted")})


def _options(name: str, values: list[str], label: str) -> str:
    opts = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return f'<label>{label} <select id="{name}"><option value="">all</option>{opts}</select></label>'


def index_page(doc: dict[str, Any], overview: str | None, katex: bool) -> str:
    claims = doc["claims"]
    families = sorted({c["id"].split(".")[0] for c in claims})
    papers = sorted({paper_short(c) for c in claims})
    rows = []
    for c in claims:
        kinds = " ".join(slug(k) for k in passed_kinds(c))
        prov = c.get("provenance") or {}
        err = f'<a href="claims/{c["id"]}.html#erratum">erratum</a>' if c.get("erratum") else ""
        rows.append(
            f'<tr data-family="{c["id"].split(".")[0]}" data-paper="{escape(paper_short(c))}" '
            f'data-evidence="{kinds}" data-status="{c["status"]}">'
            f'<td><a href="claims/{c["id"]}.html"><code>{c["id"]}</code></a></td><td>{escape(paper_short(c))}</td>'
            f'<td>{escape(prov.get("kind", "—"))}: {escape(prov.get("where", "").split(";")[0])}</td>'
            f'<td>{escape(c.get("relation", {}).get("name", ""))}</td><td>{escape(c.get("evidence", ""))}</td>'
            f'<td class="{c["status"]}">{c["status"]}</td><td>{err}</td></tr>')
    n = {s: sum(c["status"] == s for c in claims) for s in STATUSES}
    fig = f'<img class="overview" src="{overview}" alt="claims by kind of evidence">' if overview else ""
    body = "\n".join([
        "<h1>transformer-proofs: the catalogue</h1>",
        f"<p>{len(claims)} claims: {n['holds']} hold, {n['refuted']} printed statements refuted (errata of the "
        f"papers), {n['fails']} fail, {n['error']} err. Seed {doc['seed']}, effort {doc['effort']}. "
        '<a href="../REPORT.md">REPORT.md</a> says the same in markdown.</p>',
        '<div class="filters">',
        '<label>search <input id="q" type="search" placeholder="id, paper, words…"></label>',
        _options("family", families, "family"), _options("paper", papers, "paper"),
        _options("evidence", [slug(e.label) for e in sorted(Evidence, key=lambda e: -e.strength)], "evidence"),
        _options("status", list(STATUSES), "status"), '<span id="count"></span>', "</div>",
        '<table id="claims"><thead><tr><th>claim</th><th>paper</th><th>provenance</th><th>relation</th>'
        "<th>strongest evidence</th><th>status</th><th>erratum</th></tr></thead><tbody>",
        *rows, "</tbody></table>", fig,
        '<script src="assets/filter.js"></script>'])
    return page("transformer-proofs: the catalogue", body, 0, katex)


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def claim_page(c: dict[str, Any], by_id: dict[str, dict[str, Any]], weights: tuple[Any, list[str]] | None,
               katex: bool) -> str:
    rel = c.get("relation", {})
    p = c.get("provenance") or {}
    parts = ['<p><a href="../index.html">← the catalogue</a></p>', f"<h1><code>{c['id']}</code></h1>",
             f'<p><span class="{c["status"]}">{c["status"]}</span> · {escape(c.get("kind", ""))} · relation: '
             f'{escape(rel.get("name", ""))} · strongest evidence: {escape(c.get("evidence", ""))}</p>',
             f"<blockquote>{escape(c['statement'])}</blockquote>"]
    parts += [f'<div class="formula"><span class="math display">{escape(f)}</span></div>' for f in formulas(c["id"])]
    if formulas(c["id"]) and not katex:
        parts.append("<p><em>KaTeX was not found when this site was built: the formulas are shown as TeX.</em></p>")
    parts.append(f"<p>Source: {escape(c.get('paper', ''))}.</p>")
    if p:
        prov = [f"<b>{escape(p['kind'])}</b> ({escape(PROVENANCE_WORDS.get(p['kind'], ''))}); where: "
                f"{escape(p['where'])}"]
        if p.get("quote"):
            prov.append(f"as printed: {escape(p['quote'])}")
        if p.get("read_in"):
            prov.append(f"read in: {escape(p['read_in'])}")
        if p.get("note"):
            prov.append(f"relation to the paper: {escape(p['note'])}")
        parts += ["<h2>Provenance</h2>", _list(prov)]
    if c.get("erratum"):
        e = c["erratum"]
        cc = e.get("corrected_claim", "")
        items = [f"counterexample (computed): {escape(str(e.get('counterexample')))}",
                 f"within the paper's scope: {escape(e.get('scope', ''))}", f"correction: {escape(e['correction'])}",
                 f'corrected claim: <a href="{cc}.html"><code>{cc}</code></a>' if cc in by_id else f"corrected: {cc}"]
        if e.get("authors_code"):
            items.append(f"the authors' code: {escape(e['authors_code'])}")
        parts += ['<h2 id="erratum">Erratum of the paper</h2>', f'<div class="erratum">{_list(items)}</div>']
    if c.get("correction"):
        k = c["correction"]
        parts += ["<h2>A correction of our own earlier statement</h2>",
                  _list([f"our earlier form: {escape(str(k.get('earlier')))}",
                         f"counterexample (computed): {escape(str(k.get('counterexample')))}",
                         f"why: {escape(str(k.get('why')))}"])]
    rows = "".join(f"<tr><td><code>{escape(ch['mode'])}</code></td><td>{escape(ch['evidence'])}</td>"
                   f"<td>{ch['instances']}</td><td>{escape(check_figure(ch, rel.get('name', '')))}</td>"
                   f'<td class="{ch["status"]}">{ch["status"]}</td></tr>' for ch in c["checks"])
    parts += ["<h2>Checks</h2>", "<table><thead><tr><th>check</th><th>evidence</th><th>instances</th><th>figure</th>"
              f"<th>status</th></tr></thead><tbody>{rows}</tbody></table>",
              "<details><summary>What each check did</summary>",
              _list([f"<code>{escape(ch['mode'])}</code>: {escape(ch.get('detail', ''))}" for ch in c["checks"]]),
              "</details>"]
    if c.get("falsifiers"):
        fs = [f"<b>{escape(f['name'])}</b> ({escape(f.get('description', ''))}): "
              f"{'caught' if f['caught'] else '<b>NOT CAUGHT</b>'}; {escape(str(f.get('by', '')))}"
              for f in c["falsifiers"]]
        parts += ["<h2>Falsifiers</h2>", _list(fs)]
    if c.get("trust"):
        parts += ["<h2>Trust inventory</h2>", _list([escape(t) for t in c["trust"]])]
    parts.append("<h2>Weights</h2>")
    if weights is None:
        parts.append("<p>No example model is drawn for this claim.</p>")
    else:
        ex, files = weights
        imgs = "".join(f'<figure><img src="../weights/{f}" alt="{escape(ex.title)}, {f}"></figure>' for f in files)
        src = "".join(f"<pre>{escape(source_of(fn))}</pre>" for fn in ex.sources)
        parts += [f"<p>{escape(ex.title)}: every matrix of every layer, labelled by the residual coordinates the "
                  "construction names; below, the source that builds the blocks, with the proof as a comment "
                  "beside each block.</p>", f'<div class="weights">{imgs}</div>', "<h3>The builder, with the proof beside each block</h3>", src]
    return page(f"{c['id']}: transformer-proofs", "\n".join(parts), 1, katex)


def write_site(doc: dict[str, Any], out: Path, overview_png: Path | None = None, katex_dir: Path | None = None) -> Path:
    """The site into ``out`` (a fresh folder: the caller stages it); returns its index."""
    out.mkdir(parents=True, exist_ok=True)
    source = find_katex(katex_dir)
    if source is not None:
        copy_katex(source, out / "katex")
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    (assets / "site.css").write_text(site_assets.CSS)
    (assets / "filter.js").write_text(site_assets.FILTER_JS)
    (assets / "math.js").write_text(site_assets.MATH_JS)
    overview = None
    if overview_png is not None and overview_png.is_file():
        shutil.copyfile(overview_png, out / "overview.png")
        overview = "overview.png"
    (out / "claims").mkdir(exist_ok=True)
    (out / "weights").mkdir(exist_ok=True)
    by_id = {c["id"]: c for c in doc["claims"]}
    for c in doc["claims"]:
        weights = write_heatmaps(c["id"], out / "weights")
        (out / "claims" / f"{c['id']}.html").write_text(claim_page(c, by_id, weights, source is not None))
    (out / "index.html").write_text(index_page(doc, overview, source is not None))
    return out / "index.html"
