"""Bad input to ``python -m verify``: one line on stderr naming the problem,
exit code 2, no traceback, no check run, and ``reports/`` untouched.

Each command runs in a temporary copy of the repository's ``reports/`` (the
working directory is changed to it), and ``run_all`` is replaced by a trap:
bad input must be refused before any check runs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from transformer_proofs.verify import cli
from transformer_proofs.verify.gate import baseline_from

REPO = Path(__file__).resolve().parents[1]


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of reports/ (with a current-format baseline) as the working directory."""
    shutil.copytree(REPO / "reports", tmp_path / "reports")
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    results["claims"] = [c for c in results["claims"] if c["status"] in ("holds", "refuted")]
    (tmp_path / "reports" / "baseline.json").write_text(json.dumps(baseline_from(results)))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    def trap(*a: object, **k: object) -> None:
        raise AssertionError("a check ran although the input was bad")

    monkeypatch.setattr(cli, "run_all", trap)


def _refused(argv: list[str], workdir: Path, capsys: pytest.CaptureFixture, *words: str) -> str:
    before = _snapshot(workdir / "reports")
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and out == ""
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert _snapshot(workdir / "reports") == before, "reports/ changed"
    return lines[0]


def _unwritable_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        d = tmp_path / "locked"
        d.mkdir()
        d.chmod(0o500)
        return d
    if not os.access("/sys", os.W_OK) or not _can_create("/sys"):
        return Path("/sys")
    pytest.skip("no directory here refuses writes to this user")


def _can_create(d: str) -> bool:
    try:
        with open(os.path.join(d, ".verify-probe"), "w"):
            pass
    except OSError:
        return False
    os.unlink(os.path.join(d, ".verify-probe"))
    return True


# --- flags -------------------------------------------------------------------


@pytest.mark.parametrize("argv,words", [
    (["run", "--seed", "-1"], ["argument --seed", "must be >= 0"]),
    (["run", "--jobs", "0"], ["argument --jobs", "must be >= 1"]),
    (["run", "--jobs", "two"], ["argument --jobs", "not an integer"]),
    (["run", "--seed", "one"], ["argument --seed", "not an integer"]),
    (["run", "--effort", "inf"], ["argument --effort", "finite"]),
    (["run", "--effort", "nan"], ["argument --effort", "finite"]),
    (["run", "--effort", "1e9"], ["argument --effort", "(0, 100]"]),
    (["run", "--effort", "0"], ["argument --effort"]),
    (["run", "--effort", "-2"], ["argument --effort"]),
    (["report", "--effort", "inf", "--out", "elsewhere"], ["argument --effort"]),
    (["run", "--claim", "nope.*"], ["--claim", "no claim matches 'nope.*'"]),
    (["run", "--claim", "gd.one_layer,nope"], ["no claim matches 'nope'"]),
    (["run", "--claim", "gd.one_layer,"], ["no claim matches ''"]),
    (["run", "--mode", "bogus"], ["--mode bogus", "unknown name 'bogus'"]),
    (["run", "--mode", "exact,bogus"], ["unknown name 'bogus'"]),
    (["run", "--claim", "energy.hopfield", "--mode", "symbolic-all-sizes"], ["no check of the selected claims"]),
    (["frobnicate"], ["invalid choice"]),
    ([], ["required"]),
])
def test_bad_flags_are_refused_before_any_check(argv: list[str], words: list[str], workdir: Path,
                                                 capsys: pytest.CaptureFixture, no_checks: None) -> None:
    _refused(argv, workdir, capsys, *words)


def test_mode_torch_without_torch_is_an_error(workdir: Path, capsys: pytest.CaptureFixture, no_checks: None) -> None:
    from transformer_proofs.verify.torch_backend import torch_missing

    if torch_missing() is None:
        pytest.skip("torch is installed")
    _refused(["run", "--mode", "torch"], workdir, capsys, "--mode torch", "torch is not importable")
    _refused(["run", "--claim", "gd.one_layer", "--mode", "lens"], workdir, capsys, "--mode lens")


# --- files -------------------------------------------------------------------


def _corrupt(workdir: Path) -> dict[str, Path]:
    good = (workdir / "reports" / "results.json").read_text()
    files = {"truncated": good[: len(good) // 2], "corrupt": "{\"seed\": 0, \"claims\": [}", "empty": "",
             "list": "[1, 2]", "noclaims": json.dumps({"seed": 0, "effort": 1.0, "claims": []}),
             "bogus": good.replace('"status": "holds"', '"status": "bogus"', 1)}
    out = {}
    for name, text in files.items():
        p = workdir / f"{name}.json"
        p.write_text(text)
        out[name] = p
    return out


@pytest.mark.parametrize("name,words", [
    ("truncated", ["truncated.json", "not valid JSON", "line"]),
    ("corrupt", ["corrupt.json", "not valid JSON"]),
    ("empty", ["empty.json", "is empty"]),
    ("list", ["list.json", "not a JSON object"]),
    ("noclaims", ["noclaims.json", "no claims"]),
    ("bogus", ["bogus.json", "unknown status 'bogus'"]),
    ("missing", ["missing.json", "no such file"]),
])
def test_bad_results_file(name: str, words: list[str], workdir: Path, capsys: pytest.CaptureFixture) -> None:
    path = _corrupt(workdir).get(name, workdir / "missing.json")
    _refused(["compare", "--results", str(path)], workdir, capsys, *words)
    _refused(["baseline", "--results", str(path), "--out", str(workdir / "b.json")], workdir, capsys, *words)
    assert not (workdir / "b.json").exists()


@pytest.mark.parametrize("name,words", [
    ("truncated", ["truncated.json", "not valid JSON"]),
    ("empty", ["empty.json", "is empty"]),
    ("missing", ["missing.json", "no such file"]),
])
def test_bad_baseline_file(name: str, words: list[str], workdir: Path, capsys: pytest.CaptureFixture,
                           no_checks: None) -> None:
    path = _corrupt(workdir).get(name, workdir / "missing.json")
    _refused(["compare", "--baseline", str(path)], workdir, capsys, *words)
    _refused(["run", "--claim", "gd.one_layer", "--baseline", str(path)], workdir, capsys, *words)


def test_baseline_that_cannot_be_compared(workdir: Path, capsys: pytest.CaptureFixture, no_checks: None) -> None:
    base = workdir / "reports" / "baseline.json"
    doc = json.loads(base.read_text())
    variants = {
        "old.json": ({k: v for k, v in doc.items() if k != "format"}, "format None"),
        "emptyclaims.json": (dict(doc, claims={}), "the baseline is empty"),
        "bogus.json": (dict(doc, claims={"gd.one_layer": dict(doc["claims"]["gd.one_layer"], status="bogus")}),
                       "unknown status 'bogus'"),
    }
    for name, (content, words) in variants.items():
        (workdir / name).write_text(json.dumps(content))
        _refused(["compare", "--baseline", name], workdir, capsys, name, words)
    # another seed: refused before the run, and by compare
    _refused(["run", "--seed", "3", "--claim", "gd.one_layer", "--baseline", str(base)], workdir, capsys,
             "recorded at seed 0", "at seed 3")
    res = json.loads((workdir / "reports" / "results.json").read_text())
    (workdir / "seed3.json").write_text(json.dumps(dict(res, seed=3)))
    _refused(["compare", "--results", "seed3.json"], workdir, capsys, "cannot compare", "seed 3", "seed 0")


def test_results_or_baseline_path_is_a_directory(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    _refused(["compare", "--results", "reports"], workdir, capsys, "is a directory")
    _refused(["compare", "--baseline", "reports"], workdir, capsys, "is a directory")


# --- where the output goes ---------------------------------------------------


def test_report_out_is_a_file(workdir: Path, capsys: pytest.CaptureFixture, no_checks: None) -> None:
    _refused(["report", "--out", "reports/REPORT.md"], workdir, capsys, "reports/REPORT.md", "is a file")
    _refused(["report", "--out", "reports/REPORT.md/sub"], workdir, capsys, "is a file, not a directory")


def test_report_out_unwritable(workdir: Path, capsys: pytest.CaptureFixture, no_checks: None, tmp_path: Path) -> None:
    locked = _unwritable_dir(tmp_path)
    _refused(["report", "--claim", "gd.one_layer", "--out", str(locked / "out")], workdir, capsys,
             "--out", "cannot write in")


def test_partial_report_never_replaces_the_full_one(workdir: Path, capsys: pytest.CaptureFixture,
                                                   no_checks: None) -> None:
    _refused(["report", "--claim", "gd.one_layer"], workdir, capsys, "--out reports", "holds a full report")
    _refused(["report", "--mode", "exact"], workdir, capsys, "holds a full report")


def test_baseline_out_is_wrong(workdir: Path, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    _refused(["baseline", "--out", "reports"], workdir, capsys, "--out reports", "is a directory")
    _refused(["baseline", "--out", "reports/REPORT.md/b.json"], workdir, capsys, "is a file, not a directory")
    locked = _unwritable_dir(tmp_path)
    _refused(["baseline", "--out", str(locked / "b.json")], workdir, capsys, "cannot write in")


def test_baseline_of_a_failing_run_is_refused(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    res = json.loads((workdir / "reports" / "results.json").read_text())
    res["claims"][0]["status"] = "fails"
    (workdir / "failing.json").write_text(json.dumps(res))
    before = _snapshot(workdir / "reports")
    assert cli.main(["baseline", "--results", "failing.json"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a baseline records a passing run" in err[0]
    assert _snapshot(workdir / "reports") == before


# --- the same, as a process --------------------------------------------------


def test_no_traceback_from_the_process(workdir: Path) -> None:
    (workdir / "bad.json").write_text("{\"claims\": [")
    res = subprocess.run([sys.executable, "-m", "transformer_proofs", "compare", "--results", "bad.json"],
                         capture_output=True, text=True, cwd=workdir)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "bad.json" in res.stderr and "Traceback" not in res.stderr


# --- what passes -------------------------------------------------------------


def test_partial_report_elsewhere_and_a_subset_gate(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    """A partial report goes to a directory of its own (twice: it may replace a
    partial one) and records its selection; a subset run passes the gate
    against a baseline of the same claims."""
    argv = ["report", "--claim", "gd.one_layer", "--effort", "0.2", "--out", "partial"]
    assert cli.main(argv) == 0 and cli.main(argv) == 0
    doc = json.loads((workdir / "partial" / "results.json").read_text())
    assert doc["selection"] == {"claim": "gd.one_layer", "mode": None}
    full = dict(doc)
    del full["selection"]
    (workdir / "b.json").write_text(json.dumps(baseline_from(full)))
    capsys.readouterr()
    assert cli.main(["compare", "--results", "partial/results.json", "--baseline", "b.json"]) == 0
    assert "no regressions" in capsys.readouterr().out


def test_a_broken_claims_plugin_is_one_line(workdir: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from transformer_proofs.verify import registry

    def broken() -> None:
        raise registry.ClaimPluginError("the claims entry point 'x' (x:claims) failed to load: ImportError: no x")

    monkeypatch.setattr(cli, "all_claims", broken)
    _refused(["list"], workdir, capsys, "entry point 'x'")


def test_a_write_that_fails_midway_is_one_line(workdir: Path, capsys: pytest.CaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device", "reports/b.json")

    monkeypatch.setattr(cli, "write_atomically", full)
    _refused(["baseline", "--out", "reports/b.json"], workdir, capsys, "cannot write reports/b.json",
             "No space left on device")
