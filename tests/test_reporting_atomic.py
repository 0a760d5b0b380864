"""verify.reporting.atomic and write_report: an interrupted report leaves the old one whole."""

from pathlib import Path

import pytest
from transformer_proofs.verify import report
from transformer_proofs.verify.reporting.atomic import staged

from tests.reporting_sample import sample_document


def _old_reports(out: Path) -> dict[str, bytes]:
    (out / "figures").mkdir(parents=True)
    files = {"REPORT.md": b"old report\n", "results.json": b"{}\n", "figures/x.png": b"old figure",
             "baseline.json": b"not the report's\n"}
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_failure_while_rendering_leaves_the_old_reports_whole(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "reports"
    old = _old_reports(out)
    monkeypatch.setattr(report, "claim_extras", lambda ids, ctx, figdir: ({}, {}))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # e.g. Ctrl-C after results.json and the figures were written to the stage

    monkeypatch.setattr(report.markdown, "render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.write_report_from_document(sample_document(), out, "python -m verify report")
    assert _tree(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]  # no staging directory left


def test_a_complete_report_replaces_its_files_and_keeps_the_others(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "reports"
    _old_reports(out)
    monkeypatch.setattr(report, "claim_extras", lambda ids, ctx, figdir: ({}, {}))
    report.write_report_from_document(sample_document(), out, "python -m verify report")
    tree = _tree(out)
    assert tree["baseline.json"] == b"not the report's\n"
    assert "figures/x.png" not in tree  # figures/ is replaced as a whole
    assert tree["REPORT.md"].startswith(b"# transformer-proofs: report")
    assert b'"machine"' not in tree["results.json"] and b'"machine"' in tree["results.raw.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_staged_commit_moves_last_names_last(tmp_path: Path) -> None:
    target = tmp_path / "t"
    with staged(target) as stage:
        for name in ("REPORT.md", "a.json", "b.json"):
            (stage.path / name).write_text(name)
        order = []
        real = __import__("os").replace

        def spy(src, dst):
            order.append(Path(dst).name)
            real(src, dst)

        import transformer_proofs.verify.reporting.atomic as atomic

        atomic.os.replace = spy
        try:
            stage.commit(last=("REPORT.md",))
        finally:
            atomic.os.replace = real
    assert order == ["a.json", "b.json", "REPORT.md"]
