r"""LaTeX for papers: a table of the claims with their evidence, and one
citable line per claim (claim id, status, evidence, package version, git
commit when there is one).

``claims-table.tex`` is a fragment to ``\input`` (it needs ``longtable``
and ``array``, which every LaTeX has); ``claims-cite.tex`` defines ``\tpclaim{<id>}``, the line an
appendix cites; ``claims.tex`` is a standalone document using both (the
test compiles it when a LaTeX is installed).
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from transformer_proofs.verify.reporting.markdown import paper_short

SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
# Non-ASCII letters the claims' words use, spelled for a plain (pdf)LaTeX.
UNICODE = {"é": r"\'e", "ü": r"\"u", "ö": r"\"o", "ä": r"\"a", "–": "--", "—": "---", "’": "'", "§": r"\S{}",
           "×": r"$\times$", "≤": r"$\le$", "≥": r"$\ge$", "−": "-", "·": r"$\cdot$", "…": r"\ldots{}"}


def _greek(ch: str) -> str | None:
    """A Greek letter as math: ρ -> $\\rho$, Σ -> $\\Sigma$ (None for anything else)."""
    name = unicodedata.name(ch, "")
    m = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z]+)", name)
    if m is None:
        return None
    word = m.group(2).lower() if m.group(1) == "SMALL" else m.group(2).capitalize()
    latin = {"omicron": "o", "Alpha": "A", "Beta": "B", "Epsilon": "E", "Zeta": "Z", "Eta": "H", "Iota": "I",
             "Kappa": "K", "Mu": "M", "Nu": "N", "Omicron": "O", "Rho": "P", "Tau": "T", "Chi": "X"}
    if word in latin:  # no macro: the Latin look-alike
        return latin[word]
    return f"$\\{'lambda' if word == 'lamda' else 'Lambda' if word == 'Lamda' else word}$"


def tex(text: str) -> str:
    """Plain text as LaTeX (specials escaped; other non-ASCII characters dropped to '?')."""
    out = []
    for ch in str(text):
        if ch in SPECIALS:
            out.append(SPECIALS[ch])
        elif ch in UNICODE:
            out.append(UNICODE[ch])
        elif ord(ch) < 128:
            out.append(ch)
        elif (greek := _greek(ch)) is not None:
            out.append(greek)
        else:
            out.append("?")
    return "".join(out)


def package_version() -> str:
    try:
        return version("transformer-proofs")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
        return "unknown"


def git_commit(cwd: Path | None = None) -> str | None:
    """The checkout's commit (short), or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             cwd=cwd or Path(__file__).resolve().parent, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def table(doc: dict[str, Any]) -> str:
    rows = []
    for c in doc["claims"]:
        kinds = ", ".join(sorted({ch["evidence"] for ch in c["checks"] if ch["status"] in ("holds", "refuted")}))
        prov = (c.get("provenance") or {}).get("kind", "--")
        rows.append(f"\\texttt{{{tex(c['id'])}}} & {tex(paper_short(c))} & {tex(prov)} & "
                    f"{tex(c.get('relation', {}).get('name', ''))} & {tex(c.get('evidence', ''))} & "
                    f"{tex(kinds) or '--'} & {tex(c['status'])}{' (erratum)' if c.get('erratum') else ''} \\\\")
    ragged = r">{\raggedright\arraybackslash}p"
    head = (rf"\begin{{longtable}}{{@{{}}{ragged}{{0.27\linewidth}}{ragged}{{0.12\linewidth}}lll"
            rf"{ragged}{{0.17\linewidth}}l@{{}}}}", r"\hline",
            r"claim & paper & provenance & relation & strongest & evidence & status \\", r"\hline",
            r"\endhead", r"\hline", r"\endfoot")
    return "\n".join([*head, *rows, r"\end{longtable}", ""])


def citations(doc: dict[str, Any], ver: str, commit: str | None) -> str:
    at = f", commit {commit}" if commit else ""
    lines = [f"% \\tpclaim{{<claim id>}}: the line an appendix cites (transformer-proofs {tex(ver)}{tex(at)})",
             r"\providecommand{\tpclaim}[1]{\csname tpclaim@#1\endcsname}"]
    for c in doc["claims"]:
        line = (f"\\texttt{{{tex(c['id'])}}}: {tex(c['status'])}, strongest evidence {tex(c.get('evidence', ''))} "
                f"(transformer-proofs {tex(ver)}{tex(at)}, seed {doc['seed']}, effort {doc['effort']})")
        lines.append(f"\\expandafter\\def\\csname tpclaim@{c['id']}\\endcsname{{{line}}}")
    return "\n".join(lines) + "\n"


def standalone(doc: dict[str, Any]) -> str:
    first = doc["claims"][0]["id"] if doc["claims"] else ""
    return "\n".join([r"\documentclass[a4paper]{article}", r"\usepackage{array,longtable}",
                      r"\setlength{\tabcolsep}{3pt}",
                      r"\setlength{\textwidth}{17cm}", r"\setlength{\oddsidemargin}{-0.5cm}",
                      r"\begin{document}", r"\footnotesize",
                      r"\input{claims-table.tex}", r"\input{claims-cite.tex}",
                      (f"\\noindent Cited: \\tpclaim{{{first}}}" if first else ""), r"\end{document}", ""])


def write_latex(doc: dict[str, Any], out: Path, commit: str | None = None) -> Path:
    """The three files into ``out``; returns the standalone document."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "claims-table.tex").write_text(table(doc))
    (out / "claims-cite.tex").write_text(citations(doc, package_version(), commit))
    (out / "claims.tex").write_text(standalone(doc))
    return out / "claims.tex"
