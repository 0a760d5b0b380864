"""A saved raw results document (a few claims of every shape: identities,
an erratum, our correction, a bound, a rate, a ranking, an empirical claim),
so the renderers are tested without running the catalogue."""

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).parent / "data" / "results_sample.json"


@lru_cache(maxsize=1)
def _load() -> str:
    return SAMPLE.read_text()


def sample_document() -> dict[str, Any]:
    """A fresh copy of the raw document (tests may change it)."""
    return copy.deepcopy(json.loads(_load()))
