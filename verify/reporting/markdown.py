"""REPORT.md from a (stable) results document.

Order: the headline and the overview (a figure and one table: any claim's
status, provenance, relation, strongest evidence and erratum on the first
screen), the errata of the papers, our own corrections, then the families
behind a table of contents.  Table cells are short; long texts (lemma
statements, residuals, counterexample searches) go in lists and
``<details>`` blocks under the tables, wrapped so that no line is longer
than :data:`MAX_LINE` characters.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from tabulate import tabulate
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.reporting.environment import environment_line
from transformer_proofs.verify.reporting.stable import MACHINE_DEPENDENT, check_figure

MAX_LINE = 300  # the longest line REPORT.md may have (a test holds it)
WRAP = 110  # prose is wrapped at this width
CELL = 48  # a table cell's longest text

WORDS = ("Words are used strictly: *exact* means exact arithmetic (rationals; a prime field with the stated "
         "Schwartz–Zippel probability); *symbolic* means sympy proved the identity for the sizes shown; "
         "*block lemma* means our block-matrix normaliser plus induction over layers, on a block form that is "
         "read from the construction at a few sizes (said in each check); *certified* means ball arithmetic; "
         "*numerical* means float64 agreement within a derived running-error bound (its last-bit figures differ "
         "between CPUs and are kept out of the committed files); *empirical* means sampled, with confidence intervals.")

PROVENANCE_WORDS = {"printed": "read in the paper's own text", "secondary": "read through a transcription of the paper",
                    "ours": "our own statement (derivation, paraphrase or strengthening), not the paper's",
                    "recalled": "recalled, not re-read in the paper"}


def anchor(claim_id: str) -> str:
    """GitHub's anchor of a ``### family.name`` heading."""
    return re.sub(r"[^a-z0-9_\- ]", "", claim_id.lower()).replace(" ", "-")


def erratum_anchor(claim_id: str) -> str:
    return "erratum-" + anchor(claim_id)


def short(text: str, limit: int = CELL) -> str:
    """A table cell: one line, at most ``limit`` characters (the full text is in the section)."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrap(text: str, prefix: str = "", indent: str = "") -> list[str]:
    """Prose as lines of at most WRAP characters (markdown joins them again)."""
    return textwrap.wrap(" ".join(str(text).split()), WRAP, initial_indent=prefix, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [prefix.rstrip()]


def bullet(text: str) -> list[str]:
    return wrap(text, "- ", "  ")


def paper_short(c: dict[str, Any]) -> str:
    """``von Oswald et al. 2023`` from the cited paper."""
    cite = c.get("paper", "")
    authors, _, rest = cite.partition(" (")
    year = rest[:4]
    first = authors.split(",")[0].split(" and ")[0].strip()
    surname = " ".join(w for w in first.split() if not w.endswith("."))
    etal = " et al." if ("," in authors or " and " in authors) else ""
    return f"{surname}{etal} {year}".strip()


def provenance_short(c: dict[str, Any]) -> str:
    p = c.get("provenance")
    if not p:
        return "not recorded"
    return short(f"{p['kind']}: {p['where'].split(';')[0]}", 40)


def overview_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for c in sorted(doc["claims"], key=lambda c: (c["id"].split(".")[0], paper_short(c), c["id"])):
        note = ""
        if c.get("erratum"):
            note = f"[erratum](#{erratum_anchor(c['id'])})"
        elif c.get("correction"):
            note = "[our correction](#corrections-of-our-own-statements)"
        else:
            for e in doc["claims"]:
                if (e.get("erratum") or {}).get("corrected_claim") == c["id"]:
                    note = f"fixes [✗ {e['id'].split('.', 1)[1]}](#{erratum_anchor(e['id'])})"
        rows.append([f"[`{c['id']}`](#{anchor(c['id'])})", paper_short(c), provenance_short(c),
                     c.get("relation", {}).get("name", c.get("kind", "")), c.get("evidence", "none"),
                     f"**{c['status']}**", note or "—"])
    return rows


def counts_line(doc: dict[str, Any]) -> str:
    claims = doc["claims"]
    n = {s: sum(c["status"] == s for c in claims) for s in ("holds", "refuted", "fails", "error", "skipped")}
    skipped = f", {n['skipped']} skipped" if n["skipped"] else ""
    return (f"**{len(claims)} claims: {n['holds']} hold, {n['refuted']} printed statements refuted (errata of the "
            f"papers), {n['fails']} fail, {n['error']} err{skipped}.**")


def header(doc: dict[str, Any], command: str, overview: tuple[str, str] | None) -> list[str]:
    lines = ["# transformer-proofs: report", ""]
    lines += wrap(f"Generated by `{command}` (seed {doc['seed']}, effort {doc['effort']}). Same seed, same code, "
                  "same library versions: same bytes, on any CPU (float64 last-bit figures are kept out: "
                  "see `results.raw.json`, not committed).")
    lines += ["", counts_line(doc), ""]
    lines += wrap(environment_line(doc["environment"])) + [""]
    lines += wrap("Also: `python -m verify report --site` writes an HTML catalogue (site/: a page per claim with its "
                  "formulas, weights as heat maps and each erratum's counterexample; generated, not committed) and "
                  "`--latex` a LaTeX table of the claims with a citable line per claim (latex/).") + [""]
    lines += ["## Overview", ""]
    if overview is not None:
        name, caption = overview
        lines += [f"![{short(caption, 120)}]({name})", ""] + wrap(f"*{caption}*") + [""]
    lines += [tabulate(overview_rows(doc), headers=["claim", "paper", "provenance", "relation", "strongest evidence",
                                                    "status", "erratum / correction"], tablefmt="github"), ""]
    lines += ["<details><summary>Words, and the kinds of evidence by strength</summary>", ""]
    lines += wrap(WORDS) + [""]
    lines += [f"{i}. {e.words}" for i, e in enumerate(sorted(Evidence, key=lambda e: -e.strength), 1)]
    return lines + ["", "</details>", ""]


def errata_section(doc: dict[str, Any]) -> list[str]:
    errata = [c for c in doc["claims"] if c.get("erratum")]
    if not errata:
        return []
    lines = ["## Errata of the papers", ""]
    lines += wrap("Statements the papers print (read in their text, or through a transcription where said), shown "
                  "false by a computed counterexample inside the paper's own scope, each beside its corrected claim.")
    lines.append("")
    for c in errata:
        e, p = c["erratum"], c.get("provenance") or {}
        lines += [f"### Erratum: `{c['id']}`", ""]  # GitHub's anchor: erratum_anchor(id)
        lines += bullet(f"Paper: {paper_short(c)}, {p.get('where', '')} ({p.get('kind', 'not recorded')}); "
                        f"status **{c['status']}**; [the claim's section](#{anchor(c['id'])}).")
        lines += bullet(f"Counterexample (computed by the check): {e.get('counterexample')}")
        if e.get("scope"):
            lines += bullet(f"Within the paper's scope: {e['scope']}")
        lines += bullet(f"Correction: {e.get('correction')}")
        cc = e.get("corrected_claim", "")
        lines += bullet(f"Corrected claim: [`{cc}`](#{anchor(cc)})")
        if e.get("authors_code"):
            lines += bullet(f"The authors' code: {e['authors_code']}")
        lines.append("")
    return lines


def corrections_section(doc: dict[str, Any]) -> list[str]:
    ours = [c for c in doc["claims"] if c.get("correction")]
    if not ours:
        return []
    lines = ["## Corrections of our own statements", ""]
    lines += wrap("Statements we wrote (derivations or readings of ours, not the papers'), that we found false and "
                  "corrected. They are our slips, not the papers'.") + [""]
    for c in ours:
        k = c["correction"]
        lines += bullet(f"[`{c['id']}`](#{anchor(c['id'])}): our earlier form \"{k.get('earlier')}\" fails: "
                        f"{k.get('counterexample')}. {k.get('why')}")
    return lines + [""]


def contents(families: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["## Families", ""]
    for fam, cs in families.items():
        links = ", ".join(f"[{c['id'].split('.', 1)[1]}](#{anchor(c['id'])})" for c in cs)
        lines += wrap(f"[`{fam}`](#family-{fam}) ({len(cs)}): {links}", "- ", "  ")
    return lines + [""]


def checks_table(c: dict[str, Any]) -> str:
    rel = c.get("relation", {}).get("name", "")
    rows = [[f"`{ch['mode']}`", ch["evidence"], ch["instances"], check_figure(ch, rel), ch["status"]]
            for ch in c["checks"]]
    return tabulate(rows, headers=["check", "evidence", "instances", "figure", "status"], tablefmt="github")


def check_details(c: dict[str, Any]) -> list[str]:
    lines = ["<details><summary>What each check did</summary>", ""]
    for ch in c["checks"]:
        lines += bullet(f"`{ch['mode']}` ({ch['status']}): {ch.get('detail', '')}")
        data = ch.get("data") or {}
        for r in data.get("residuals", []):
            lines += wrap(f"residual: {r}", "  - ", "    ")
        if ch.get("evidence") in MACHINE_DEPENDENT and ch.get("figures"):
            lines += wrap(ch["figures"], "  - ", "    ")
    return lines + ["", "</details>", ""]


def falsifier_lines(c: dict[str, Any]) -> list[str]:
    fs = c.get("falsifiers") or []
    if not fs:
        return []
    caught = sum(bool(f["caught"]) for f in fs)
    lines = [f"<details><summary>Falsifiers: {caught} of {len(fs)} caught (mutants the checks must reject)"
             "</summary>", ""]
    for f in fs:
        mark = "caught" if f["caught"] else "**NOT CAUGHT**"
        lines += bullet(f"**{f['name']}** ({f.get('description', '')}): {mark}; {f.get('by', '')}")
    return lines + ["", "</details>", ""]


def provenance_lines(c: dict[str, Any]) -> list[str]:
    p = c.get("provenance")
    if not p:
        return ["Provenance: not recorded.", ""]
    lines = wrap(f"Provenance: **{p['kind']}** ({PROVENANCE_WORDS.get(p['kind'], p['kind'])}); where: {p['where']}.")
    if p.get("quote"):
        lines += [""] + wrap(f"As printed: {p['quote']}", "> ", "> ")
    if p.get("read_in"):
        lines += [""] + wrap(f"Read in: {p['read_in']}.")
    if p.get("note"):
        lines += [""] + wrap(f"Relation to the paper: {p['note']}.")
    return lines + [""]


def claim_section(c: dict[str, Any], figures: dict[str, tuple[str, str]], tables: dict[str, str]) -> list[str]:
    rel = c.get("relation", {})
    lines = [f"### {c['id']}", ""]
    lines += wrap(f"**Status: {c['status']}** · {c.get('kind', '')} · relation: {rel.get('name', '')} · strongest "
                  f"evidence: {c.get('evidence')} · [back to the overview](#overview)")
    lines += [""] + wrap(c["statement"], "> ", "> ") + [""]
    if c.get("id") in figures:  # where it is read: after the statement
        name, caption = figures[c["id"]]
        lines += [f"![{short(caption, 120)}]({name})", ""] + wrap(f"*{caption}*") + [""]
    lines += wrap(f"Source: {c.get('paper', '')}.") + [""]
    lines += provenance_lines(c)
    if c.get("notes"):
        lines += wrap(c["notes"]) + [""]
    if c.get("erratum"):
        lines += wrap(f"**Erratum of the paper**: see [its entry](#{erratum_anchor(c['id'])}) (counterexample, scope, "
                      "correction).") + [""]
    if c.get("correction"):
        lines += wrap("**A correction of our own earlier statement**: see "
                      "[the corrections](#corrections-of-our-own-statements).") + [""]
    lines += [checks_table(c), ""]
    lines += check_details(c)
    lines += falsifier_lines(c)
    if c.get("trust"):
        lines += ["<details><summary>Trust inventory (what is proved by what; what is assumed or only read)</summary>",
                  ""]
        for t in c["trust"]:
            lines += bullet(t)
        lines += ["", "</details>", ""]
    if c.get("id") in tables:
        lines += [tables[c["id"]], ""]
    return lines


def wrap_long_lines(text: str) -> str:
    """Wrap any prose line (from a family's own table text) longer than MAX_LINE;
    table rows and images are left as they are (a test holds them short)."""
    out = []
    for line in text.split("\n"):
        if len(line) <= MAX_LINE or line.lstrip().startswith(("|", "![")):
            out.append(line)
            continue
        lead = re.match(r"\s*(?:[-*] |\d+\. |> )?", line).group(0)
        out += wrap(line[len(lead):], lead, " " * len(lead) if not lead.strip().startswith(">") else lead)
    return "\n".join(out)


def render(doc: dict[str, Any], command: str, figures: dict[str, tuple[str, str]] | None = None,
           tables: dict[str, str] | None = None, overview: tuple[str, str] | None = None) -> str:
    """REPORT.md's text.  ``figures`` maps a claim id to (relative path, caption)."""
    figures, tables = figures or {}, tables or {}
    families: dict[str, list[dict[str, Any]]] = {}
    for c in doc["claims"]:
        families.setdefault(c["id"].split(".")[0], []).append(c)
    parts = header(doc, command, overview) + errata_section(doc) + corrections_section(doc) + contents(families)
    for fam, cs in families.items():
        parts += [f"## Family `{fam}`", ""]
        for c in cs:
            parts += claim_section(c, figures, tables)
    return wrap_long_lines("\n".join(parts).rstrip() + "\n")
