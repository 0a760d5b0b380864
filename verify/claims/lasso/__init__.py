"""Family ``lasso``: Lasso by proximal gradient descent in a ReLU transformer.

Parts: :mod:`.papers`, :mod:`.instances` (typed prompts and draws),
:mod:`.claims` (the specs and the claims).  Importing the package registers
its claims."""

from transformer_proofs.verify.claims.lasso import claims  # noqa: F401  (registers the claims)
