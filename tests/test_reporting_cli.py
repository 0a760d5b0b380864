"""python -m verify report --site --latex: the catalogue and the LaTeX table
beside REPORT.md, from one small run."""

from pathlib import Path

import pytest
from transformer_proofs.verify.cli import main


def test_report_writes_site_and_latex_beside_the_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "reports"
    assert main(["report", "--claim", "gd.preconditioned_printed", "--effort", "0.2", "--out", str(out),
                 "--site", "--latex"]) == 0
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"REPORT.md", "results.json", "results.raw.json", "figures/overview.png", "site/index.html",
            "site/claims/gd.preconditioned_printed.html", "latex/claims.tex", "latex/claims-table.tex",
            "latex/claims-cite.tex"} <= names
    assert any(n.startswith("site/weights/gd.preconditioned_printed.layer0") for n in names)
    page = (out / "site" / "claims" / "gd.preconditioned_printed.html").read_text()
    assert 'id="erratum"' in page and "counterexample (computed)" in page
    assert "def preconditioned_layer" in page  # the builder's source beside its heat maps
    assert not list(tmp_path.glob(".reports.*"))  # no staging directory left
