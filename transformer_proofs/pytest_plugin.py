"""pytest plugin: claims as test items.

Installed as a ``pytest11`` entry point, it does nothing until asked: give
``--claims GLOB`` (comma-separated globs over claim ids) or the ini option
``claims = GLOB`` (read when pytest is run without paths).  Then every selected claim contributes

- one item per check:     ``gd.one_layer::rational``
- one item per falsifier: ``gd.one_layer::falsifier::dropped 1/n``

selectable with ``-k`` and distributed over cores by pytest-xdist (``-n 2``).
A check item fails when its check fails or errs (or, for a claim we expect to
hold, when it finds a counterexample), with the check's detail as the
message; it is skipped when the check is (an optional extra not installed).
A falsifier item fails when its mutant is *not* caught.  Claims registered
by other installed packages (the ``transformer_proofs.claims`` entry point)
are collected like ours.  ``--claims-seed`` and ``--claims-effort`` set the
run's seed and effort.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("transformer-proofs")
    group.addoption("--claims", default=None, metavar="GLOB",
                    help="collect the claims whose ids match (comma-separated globs) as test items")
    group.addoption("--claims-seed", type=int, default=0, help="seed of the claims' draws (default 0)")
    group.addoption("--claims-effort", type=float, default=1.0, help="scale of the claims' instance counts")
    parser.addini("claims", "claims to collect as test items (comma-separated globs); empty: none", default="")


def _pattern(config: pytest.Config) -> str | None:
    """The globs to collect; ``--claims none`` collects none.  The ini option
    applies to a plain ``pytest`` run (no paths given): ``pytest tests/x.py``
    runs that file alone unless ``--claims`` is given too."""
    pattern = config.getoption("--claims")
    if pattern is None and getattr(config, "args_source", None) != pytest.Config.ArgsSource.ARGS:
        pattern = config.getini("claims") or None
    return None if pattern in (None, "none") else pattern


class ClaimCheckItem(pytest.Item):
    """One check of one claim."""

    def __init__(self, *, claim: Any, check: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.claim, self.check = claim, check
        self.add_marker("claim")

    def runtest(self) -> None:
        from transformer_proofs.verify.runner import run_check

        res = run_check(self.check, _context(self.config))
        if res.status == "skipped":
            pytest.skip(res.detail)
        expected = ("holds", "refuted") if self.claim.erratum is not None else ("holds",)
        if res.status not in expected:
            raise ClaimFailure(f"{self.claim.id} [{res.mode}] {res.status}: {res.detail}")

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ClaimFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.claim.source, None, self.name


class ClaimFalsifierItem(ClaimCheckItem):
    """One falsifier of one claim: its mutant must be caught."""

    def __init__(self, *, claim: Any, falsifier: Any, **kw: Any) -> None:
        super().__init__(claim=claim, check=None, **kw)
        self.falsifier = falsifier

    def runtest(self) -> None:
        from transformer_proofs.verify.runner import run_falsifier

        res = run_falsifier(self.falsifier, _context(self.config))
        if not res["caught"]:
            raise ClaimFailure(f"{self.claim.id}: falsifier {res['name']!r} was NOT caught: {res['by']}")


class ClaimFailure(AssertionError):
    """A claim's check that did not hold, or a falsifier not caught."""


def _context(config: pytest.Config) -> Any:
    from transformer_proofs.verify.spec import Context

    return Context(seed=config.getoption("--claims-seed"), effort=config.getoption("--claims-effort"))


class ClaimsNode(pytest.Collector):
    """The parent of the claims' items: node ids read ``claims::gd.one_layer::rational``."""

    def collect(self) -> list[pytest.Item]:  # the items are made by claim_items
        return []


def claim_items(session: pytest.Session, pattern: str) -> Iterator[pytest.Item]:
    from transformer_proofs.verify.registry import all_claims

    parent = ClaimsNode.from_parent(session, name="claims", nodeid="claims")
    globs = [p.strip() for p in pattern.split(",") if p.strip()]
    for claim in all_claims():
        if not any(fnmatch.fnmatchcase(claim.id, g) for g in globs):
            continue
        for name, check in claim.checks.items():
            yield ClaimCheckItem.from_parent(parent, name=f"{claim.id}::{name}", claim=claim, check=check)
        for f in claim.falsifiers:
            yield ClaimFalsifierItem.from_parent(parent, name=f"{claim.id}::falsifier::{f.name}",
                                                 claim=claim, falsifier=f)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the claims' items before ``-k`` and ``-m`` select among them."""
    pattern = _pattern(config)
    if pattern:
        items.extend(claim_items(session, pattern))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim: a check or falsifier of a registered claim (transformer-proofs)")
