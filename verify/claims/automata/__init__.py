"""Family ``automata``: shortcuts to automata (Liu, Ash, Goel, Krishnamurthy,
Zhang 2023, arXiv:2210.10749).  Parts: :mod:`.papers`, :mod:`.instances`
(the semiautomata and length bounds), :mod:`.exhaustive` (the exact check on
every word), :mod:`.claims`, :mod:`.figures`.  Importing the package
registers its claims."""

from transformer_proofs.verify.claims.automata import claims, figures  # noqa: F401  (registers the claims)
