"""Hypothesis profiles: CI loads hypothesis' built-in ``ci`` profile when CI
is set; we extend it (no deadline: exact arithmetic has uneven timing).
Locally the ``dev`` profile runs; ``long`` is for randomised long runs
(HYPOTHESIS_PROFILE=long)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", parent=settings.get_profile("ci"), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
