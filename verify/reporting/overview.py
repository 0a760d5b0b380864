"""The overview figure: claims × kinds of evidence, each cell coloured by what
that kind of evidence showed for that claim, errata marked.

Colours (the legend names each one): a kind that held is green, darker for
a stronger kind; a counterexample confirmed (an erratum of the paper, or our
earlier form refuted) is red; a failure or an error is black; a kind the
claim has but did not run (an optional extra not installed, a number system
that cannot express the claim) is light grey; a kind the claim does not have
is white.  Deterministic bytes: PNG through Agg without metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformer_proofs.verify.evidence import Evidence

KINDS = sorted(Evidence, key=lambda e: -e.strength)
NAME = "overview.png"
CAPTION = ("The catalogue at a glance: one row per claim (errata of the papers marked ✗ and in red), one column per kind "
           "of evidence, strongest on the left; a cell is green when that kind held (darker: stronger evidence), red "
           "where it confirmed a counterexample to the printed statement, black where it failed or erred, grey where it was not run (an "
           "optional extra not installed, or a number system that cannot express the claim), white where the claim "
           "has no check of that kind.")
COLUMN = {"block lemma": "block\nlemma", "multiprecision": "multi-\nprecision", "numerical": "numer-\nical",
          "empirical": "empir-\nical", "certified": "certi-\nfied", "symbolic": "sym-\nbolic"}
WHITE, GREY, RED, BLACK = "#ffffff", "#d9d9d9", "#d62728", "#000000"


def green(strength: int) -> str:
    """Green, darker with the strength of the evidence (1..6)."""
    light, dark = (0.78, 0.93, 0.75), (0.0, 0.39, 0.11)
    t = (strength - 1) / 5
    r, g, b = (light[i] + (dark[i] - light[i]) * t for i in range(3))
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def cell_colour(claim: dict[str, Any], kind: Evidence) -> str:
    checks = [ch for ch in claim["checks"] if ch["evidence"] == kind.label]
    if not checks:
        return WHITE
    statuses = {ch["status"] for ch in checks}
    if statuses & {"fails", "error"}:
        return BLACK
    if "refuted" in statuses:
        return RED
    if "holds" in statuses:
        return green(kind.strength)
    return GREY


def overview_figure(doc: dict[str, Any], outdir: Path) -> tuple[str, str] | None:
    """Write ``overview.png`` into ``outdir``; None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    claims = doc["claims"]
    grid = [[to_rgb(cell_colour(c, k)) for k in KINDS] for c in claims]
    fig, ax = plt.subplots(figsize=(8.6, 1.4 + 0.2 * len(claims)))
    ax.imshow(grid, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(KINDS)), [COLUMN.get(k.label, k.label) for k in KINDS], fontsize=8)
    labels = [("✗ " if c.get("erratum") else "") + c["id"] for c in claims]
    ax.set_yticks(range(len(claims)), labels, fontsize=7)
    for tick, c in zip(ax.get_yticklabels(), claims):
        if c.get("erratum"):
            tick.set_color(RED)
    ax.set_xticks([x - 0.5 for x in range(1, len(KINDS))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(claims))], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.2)
    ax.tick_params(which="minor", length=0)
    ax.xaxis.tick_top()
    by_strength: dict[int, list[str]] = {}
    for k in KINDS:
        by_strength.setdefault(k.strength, []).append(k.label)
    legend = [Patch(facecolor=green(s), edgecolor="grey", label="held: " + " / ".join(names))
              for s, names in by_strength.items()]
    legend += [Patch(facecolor=RED, label="counterexample confirmed (✗ erratum)"),
               Patch(facecolor=BLACK, label="failed or erred"),
               Patch(facecolor=GREY, label="not run (extra missing, or n/a)"),
               Patch(facecolor=WHITE, edgecolor="grey", label="no check of this kind")]
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(Path(outdir) / NAME, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return NAME, CAPTION
