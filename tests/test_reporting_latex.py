"""verify.reporting.latex: the table's structure, the citable lines, and a
compile with the system's LaTeX when one is installed (texlive-latex-base)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from transformer_proofs.verify.reporting.latex import citations, git_commit, table, tex, write_latex
from transformer_proofs.verify.reporting.stable import stabilise

from tests.reporting_sample import sample_document


def test_tex_escapes_specials_and_spells_unicode() -> None:
    assert tex("gd.one_layer 50% & $x#") == r"gd.one\_layer 50\% \& \$x\#"
    assert tex("≤ §2 – é") == r"$\le$ \S{}2 -- \'e"
    assert tex("ρ(z), Σ, λ") == r"$\rho$(z), $\Sigma$, $\lambda$"
    assert all(ord(ch) < 128 for ch in tex("ρ(z) = −e^{−z}"))


def test_table_has_one_row_per_claim_with_seven_cells() -> None:
    doc = stabilise(sample_document())
    text = table(doc)
    assert text.startswith(r"\begin{longtable}") and text.rstrip().endswith(r"\end{longtable}")
    rows = [line for line in text.split("\n") if line.startswith(r"\texttt{")]
    assert len(rows) == len(doc["claims"])
    for row, c in zip(rows, doc["claims"]):
        cells = re.split(r"(?<!\\)&", row)
        assert len(cells) == 7 and c["status"] in cells[-1], row
    assert "(erratum)" in next(r for r in rows if "preconditioned\\_printed" in r)


def test_each_claim_has_a_citable_line_with_version_and_commit() -> None:
    doc = stabilise(sample_document())
    text = citations(doc, "0.2.0", "abc123def456")
    for c in doc["claims"]:
        line = next(x for x in text.split("\n") if f"tpclaim@{c['id']}" in x)
        assert "transformer-proofs 0.2.0, commit abc123def456" in line and f"seed {doc['seed']}" in line
    assert "commit" not in citations(doc, "0.2.0", None).split("\n", 2)[2]


def test_git_commit_is_a_hex_id_in_a_checkout_or_none() -> None:
    c = git_commit()
    assert c is None or re.fullmatch(r"[0-9a-f]{12}", c)


def test_the_standalone_document_compiles(tmp_path: Path) -> None:
    main = write_latex(stabilise(sample_document()), tmp_path, "abc123def456")
    assert {p.name for p in tmp_path.iterdir()} == {"claims.tex", "claims-table.tex", "claims-cite.tex"}
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("no pdflatex (apt-get install texlive-latex-base): structure checked only")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", main.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "claims.pdf").stat().st_size > 0
