"""Family ``gd``: linear (and ReLU) attention is gradient descent.

Parts: :mod:`.papers`, :mod:`.instances` (typed prompts and draws),
:mod:`.claims` (the specs and the claims), :mod:`.errata` (the printed
statements shown false), :mod:`.library` (PyTorch / TransformerLens twins).
Importing the package registers its claims."""

from transformer_proofs.verify.claims.gd import claims, errata, flow, noisy, training  # noqa: F401  (registers the claims)
