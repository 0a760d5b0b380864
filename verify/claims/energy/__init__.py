"""Family ``energy``: a transformer's layers as descent steps on an energy.

Papers: Yang, Huang, Wipf (2022), arXiv:2205.13891 (``energy.attention_mm``,
``energy.feedforward_pgd``); Ramsauer et al. (2021), arXiv:2008.02217
(``energy.hopfield``, ``energy.hopfield_retrieval``).

Parts: ``papers``, ``instances`` (typed instances and draws), ``claims`` (specs and
registrations), ``errata`` (our corrections; a condition shown needed),
``figures``, ``library`` (PyTorch / TransformerLens twins), ``helpers``
(general helpers marked CORE-CANDIDATE).  Importing the package registers
the claims.
"""

from . import claims, errata, figures, instances, library, papers  # noqa: F401
