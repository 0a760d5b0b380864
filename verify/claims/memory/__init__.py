"""Family ``memory``: associative memories and the induction head built from
them (Bietti, Cabannes, Bouchacourt, Jégou, Bottou 2023, arXiv:2306.00802).
Parts: :mod:`.papers`, :mod:`.instances`, :mod:`.claims` (exact identities),
:mod:`.empirical` (the cross-talk of random memories, sampled), :mod:`.figures`.
Importing the package registers its claims."""

from transformer_proofs.verify.claims.memory import claims, empirical  # noqa: F401  (registers the claims)
