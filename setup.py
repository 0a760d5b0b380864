"""The installed import name is transformer_proofs; its halves live in the
repository's top-level folders constructions/ and verify/, mapped into it here,
so a user's own folders of those names cannot shadow the library.  Every
folder with an __init__.py under them is a subpackage."""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
MAPPED = {"transformer_proofs": "transformer_proofs",
          "transformer_proofs.constructions": "constructions",
          "transformer_proofs.verify": "verify"}


def subpackages(name: str, folder: str) -> list[str]:
    base = ROOT / folder
    return [name] + [f"{name}.{'.'.join(p.parent.relative_to(base).parts)}"
                     for p in sorted(base.rglob("__init__.py")) if p.parent != base]


setup(package_dir=MAPPED, packages=sorted({p for n, f in MAPPED.items() for p in subpackages(n, f)}))
