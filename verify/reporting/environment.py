"""The environment a report was made in.

:func:`environment` (committed, in REPORT.md and results.json): library
versions, the BLAS library, numpy's build-time SIMD baseline and the optional
extras installed; all of it the same on any CPU of one installation.
:func:`machine` (``results.raw.json`` only, never committed): what numpy and
the BLAS chose on *this* CPU at run time (the BLAS kernel, numpy's SIMD
dispatch, the variables that override them), i.e. the facts that explain the
raw float64 figures.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# The optional extras (setup.cfg) that change what the report contains (its figures; the torch,
# TransformerLens and trained-model evidence), and the distribution that says each is installed.  The
# extras that only test or describe the run (browser, machine, dask, dev) are left out, so installing
# them does not change the report's bytes.
EXTRAS = (("plots", "matplotlib"), ("torch", "torch"), ("lens", "transformer-lens"), ("train", "autograd"))
CPU_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES")


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def installed_extras() -> dict[str, str]:
    """``{distribution: version}`` of the optional extras that are installed."""
    return {dist: v for _, dist in EXTRAS if (v := _version(dist)) is not None}


def _numpy_config() -> dict[str, Any]:
    import numpy

    try:
        return numpy.show_config(mode="dicts") or {}
    except TypeError:  # pragma: no cover - numpy < 1.26
        return {}


def blas_library() -> str:
    """The BLAS numpy was built against (name and version: the same on any CPU)."""
    blas = (_numpy_config().get("Build Dependencies") or {}).get("blas") or {}
    name, ver = blas.get("name"), blas.get("version")
    return f"{name} {ver}" if name else "unknown"


def environment() -> dict[str, str]:
    """Versions, the BLAS library, numpy's SIMD baseline and the extras: no per-CPU fact."""
    import flint
    import mpmath
    import numpy
    import sympy

    try:
        from sympy.external.gmpy import GROUND_TYPES as ground
    except Exception:  # pragma: no cover - older sympy
        ground = "unknown"
    simd = _numpy_config().get("SIMD Extensions") or {}
    extras = installed_extras()
    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "sympy": sympy.__version__,
        "sympy_ground_types": str(ground),
        "mpmath": mpmath.__version__,
        "python-flint": flint.__version__,
        "blas": blas_library(),
        "numpy_simd_baseline": "+".join(simd.get("baseline") or []) or "unknown",
        "extras": ", ".join(f"{k} {v}" for k, v in sorted(extras.items())) or "none",
    }


def machine() -> dict[str, Any]:
    """What this CPU made numpy and the BLAS do (raw results only)."""
    import numpy  # noqa: F401  (loads the BLAS, so threadpoolctl can see it)

    out: dict[str, Any] = {"cpu_variables": {k: os.environ[k] for k in CPU_VARIABLES if k in os.environ}}
    simd = _numpy_config().get("SIMD Extensions") or {}
    out["numpy_simd_found"] = list(simd.get("found") or [])
    try:
        from threadpoolctl import threadpool_info

        out["blas_kernels"] = sorted(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
                                     for i in threadpool_info() if i.get("user_api") == "blas")
    except ImportError:
        out["blas_kernels"] = ["threadpoolctl not installed: " + blas_library()]
    return out


def environment_line(env: dict[str, str]) -> str:
    return "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + "."
