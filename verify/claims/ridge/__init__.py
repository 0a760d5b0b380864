"""Family ``ridge``: closed-form ridge regression in a transformer, by
Sherman–Morrison rank-one updates (Akyürek et al. 2023).

Parts: :mod:`.papers`, :mod:`.claims`.  Importing the package registers its claims."""

from transformer_proofs.verify.claims.ridge import claims, errata  # noqa: F401  (registers the claims)
