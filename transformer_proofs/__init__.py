"""transformer-proofs: check theorems about transformers by computation.

The installed import name.  Its two halves keep the repository's layout:

- :mod:`transformer_proofs.constructions` (the folder ``constructions/``): the
  engine, the number systems, the hand-built weights;
- :mod:`transformer_proofs.verify` (the folder ``verify/``): reference
  algorithms, the claim spec and registry, the checkers, the report, the CLI.

A user's own folders named ``constructions/`` or ``verify/`` cannot shadow
them: nothing here imports those bare names.
"""

__version__ = "0.2.0"
