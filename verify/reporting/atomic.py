"""Writing a report's files together: all into a temporary directory beside
the target, then moved into place.

An interrupted or failing run leaves the old files whole: nothing in the
target is touched until every new file has been written, and each file (or
folder, such as ``figures/``) then replaces its old version by one
``os.replace``.  The temporary directory is removed on any exit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class ReportDirectory:
    """The staging directory: write into ``.path``; :meth:`commit` moves the
    top-level entries written there into the target, files first and
    ``last`` (e.g. REPORT.md) at the end."""

    def __init__(self, target: Path, path: Path) -> None:
        self.target, self.path = target, path

    def commit(self, last: tuple[str, ...] = ()) -> None:
        entries = sorted(self.path.iterdir(), key=lambda p: (p.name in last, last.index(p.name) if p.name in last
                                                             else 0, p.name))
        for src in entries:
            dst = self.target / src.name
            if src.is_dir():
                old = None
                if dst.exists():
                    old = Path(tempfile.mkdtemp(dir=self.target, prefix=f".{src.name}.old-"))
                    os.replace(dst, old / src.name)
                os.replace(src, dst)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(src, dst)


@contextmanager
def staged(target: Path) -> Iterator[ReportDirectory]:
    """``with staged(out) as d: write into d.path ...; d.commit()``."""
    target.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent if target.parent.exists() else target,
                                prefix=f".{target.name}.new-"))
    try:
        yield ReportDirectory(target, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
