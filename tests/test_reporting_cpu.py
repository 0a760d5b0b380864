"""The committed report is the same bytes on any CPU: regenerated under two
CPU-feature settings (OpenBLAS's Haswell kernel and numpy without AVX-512,
vs whatever this CPU offers), in subprocesses.  On an AVX-512 machine the
two runs take different float64 paths (the raw files record which)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# energy.attention_mm: its float64 worst entry moves between AVX2 and AVX-512; newton.convergence: a figure
# and a table drawn from float64 iterates; induction.bigram_limit: a figure on log axes (numpy's SIMD log10).
CLAIMS = "energy.attention_mm,newton.convergence,induction.bigram_limit"
HASWELL = {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X86_V4,AVX512_ICL"}


def _report(out: Path, extra_env: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in HASWELL}
    env.update(extra_env)
    args = [sys.executable, "-m", "verify", "report", "--claim", CLAIMS, "--effort", "0.2", "--out", str(out)]
    subprocess.run(args, check=True, capture_output=True, cwd=ROOT, env=env)


def test_report_bytes_do_not_depend_on_the_cpu_features(tmp_path: Path) -> None:
    _report(tmp_path / "native", {})
    _report(tmp_path / "haswell", HASWELL)
    names = sorted(str(p.relative_to(tmp_path / "native")) for p in (tmp_path / "native").rglob("*") if p.is_file())
    assert "REPORT.md" in names and "results.json" in names
    for name in names:
        if name == "results.raw.json":
            continue
        assert (tmp_path / "native" / name).read_bytes() == (tmp_path / "haswell" / name).read_bytes(), name
    raw = json.loads((tmp_path / "haswell" / "results.raw.json").read_text())
    assert raw["machine"]["cpu_variables"] == HASWELL  # the raw file says what was asked for
