"""Where the HTML catalogue takes KaTeX from: a copy of a registry package,
copied into the site (never fetched when a page is viewed, never vendored in
this repository).

Looked for, in order: ``$TRANSFORMER_PROOFS_KATEX`` (a KaTeX ``dist``
folder), ``.katex/package/dist`` in the working directory (where CI unpacks
``npm pack katex``), ``node_modules/katex/dist``, and Debian's
``libjs-katex`` (``/usr/share/javascript/katex``).  Without one the pages
show the formulas' TeX source and say so.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

KATEX_VERSION = "0.19.1"  # the version CI packs (npm pack katex@0.19.1)
CANDIDATES = (Path(".katex/package/dist"), Path("node_modules/katex/dist"), Path("/usr/share/javascript/katex"))


def is_katex(folder: Path) -> bool:
    return (folder / "katex.min.js").is_file() and (folder / "katex.min.css").is_file()


def find_katex(explicit: Path | None = None) -> Path | None:
    """The first KaTeX dist folder found (``explicit`` first), or None."""
    env = os.environ.get("TRANSFORMER_PROOFS_KATEX")
    for folder in ([explicit] if explicit else []) + ([Path(env)] if env else []) + list(CANDIDATES):
        if folder is not None and is_katex(folder):
            return folder
    return None


def copy_katex(source: Path, target: Path) -> None:
    """katex.min.js, katex.min.css and the fonts the CSS names."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("katex.min.js", "katex.min.css"):
        shutil.copyfile(source / name, target / name)
    if (source / "fonts").is_dir():
        shutil.copytree(source / "fonts", target / "fonts", dirs_exist_ok=True)
