"""Family ``trained``: models trained here, checked against the constructions
through ``verify.conform``.

Parts: :mod:`.optimal` (the exact population-optimal step), :mod:`.training`
(autograd training, reproducible from the seed), :mod:`.experiment` (seeds,
fits, intervals), :mod:`.claims`, :mod:`.figures`.  Importing the package
registers its claims; without autograd they report ``skipped``."""

from transformer_proofs.verify.claims.trained import claims, graph_claims  # noqa: F401  (registers the claims)
