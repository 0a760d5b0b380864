"""Family ``induction``: induction heads and causal structure (Nichani,
Damian, Lee 2024, arXiv:2402.14735; Olsson et al. 2022).  Importing the
package registers its claims."""

from transformer_proofs.verify.claims.induction import bayes, claims, errata, figures, library, training  # noqa: F401
