"""Family ``gd``: linear (and ReLU) attention is gradient descent.

Parts: :mod:`.papers`, :mod:`.instances` (typed prompts and draws),
:mod:`.claims` (the specs and the claims), :mod:`.errata` (the printed
statements shown false), :mod:`.library` (PyTorch / TransformerLens twins).
What training finds: :mod:`.landscape` (exact population losses), :mod:`.optima`
(the aligned-set optimum), :mod:`.training` (Ahn et al. Thm 1, Thm 3, Fig. 2),
:mod:`.closed_form` (the aligned optimum for every n, d), :mod:`.flow` (Zhang–Frei–Bartlett),
:mod:`.noisy` (Mahankali et al.),
:mod:`.training_figures`.
Importing the package registers its claims."""

from transformer_proofs.verify.claims.gd import claims, closed_form, errata, flow, noisy, training  # noqa: F401  (registers the claims)
