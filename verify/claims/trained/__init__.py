"""Family ``trained``: models trained here, checked against the constructions
through ``verify.conform``.

Parts: :mod:`.optimal` (the exact population-optimal step), :mod:`.training`
(autograd training, reproducible from the seed), :mod:`.experiment` (seeds,
fits, intervals), :mod:`.claims`, :mod:`.figures` — von Oswald et al.'s
LSA; the same five parts prefixed ``graph_`` for Nichani et al.'s
disentangled transformer and ``kernel_`` for Cheng et al.'s non-linear
attention; ``newton_`` for Fu et al.'s layers-vs-Newton matching (a
multi-layer LSA, trained with a hand-derived gradient: no autograd needed);
:mod:`.adam` (the optimiser they share).  Importing the package registers its
claims; without autograd the first three report ``skipped``."""

from transformer_proofs.verify.claims.trained import claims, graph_claims, kernel_claims, newton_claims  # noqa: F401  (registers the claims)
