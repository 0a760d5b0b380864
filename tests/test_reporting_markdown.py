"""verify.reporting.markdown: the overview first, short lines, anchors that resolve."""

import re

from transformer_proofs.verify.reporting.markdown import MAX_LINE, anchor, render
from transformer_proofs.verify.reporting.stable import stabilise

from tests.reporting_sample import sample_document


def _report() -> str:
    figures = {"newton.convergence": ("figures/newton_convergence.svg", "A caption. " * 40)}
    tables = {"newton.convergence": "| a | b |\n|---|---|\n| 1 | 2 |\n\n" + "A long paragraph of a family. " * 30}
    return render(stabilise(sample_document()), "python -m verify report", figures, tables,
                  ("figures/overview.png", "The overview."))


def test_no_line_is_longer_than_300_characters_outside_figures() -> None:
    for line in _report().split("\n"):
        assert line.startswith("![") or len(line) <= MAX_LINE, line[:120]


def test_the_first_screen_has_every_claims_status_provenance_evidence_and_erratum() -> None:
    text = _report()
    overview = text.split("## Overview", 1)[1].split("</details>", 1)[0]
    assert overview.index("![") < overview.index("| claim")  # the figure, then the table
    doc = stabilise(sample_document())
    for c in doc["claims"]:
        row = next(line for line in overview.split("\n") if f"[`{c['id']}`]" in line)
        assert f"**{c['status']}**" in row and c["evidence"] in row and c["provenance"]["kind"] in row
        if c.get("erratum"):
            assert "[erratum](#erratum-" in row
    assert text.index("## Overview") < text.index("## Errata of the papers") < text.index("## Families")


def test_every_internal_link_has_its_heading() -> None:
    text = _report()
    headings = {anchor(h.replace("`", "").replace(":", "")) for h in re.findall(r"^#+ (.*)$", text, re.M)}
    headings = {h.replace(" ", "-") for h in headings}
    for target in re.findall(r"\]\(#([^)]+)\)", text):
        assert target in headings, target


def test_long_texts_go_under_the_tables_not_in_cells() -> None:
    text = _report()
    for line in text.split("\n"):
        if line.startswith("|"):
            assert all(len(cell.strip()) <= 80 for cell in line.strip("|").split("|")), line[:100]
    assert "<details><summary>What each check did</summary>" in text
    assert "residual: layer 1" in text  # the erratum's block-lemma residuals, as a list


def test_numbers_carry_their_relations_units() -> None:
    text = _report()
    assert "(intervals: detail)" in text and "slack ≥" in text and "= 0 exactly" in text
    assert "8.75e+27" not in text and "largest error / running error bound" not in text
