"""Family ``newton``: transformers run iterative Newton (Newton–Schulz).

Papers:
- Fu, Chen, Jia, Sharan (2023/24), arXiv:2310.17086, §3.1, §5 and App. B:
  ``newton.layer`` (corrected; erratum ``newton.layer_printed``),
  ``newton.init_layer`` (corrected; erratum ``newton.init_printed``),
  ``newton.k_steps`` (our exact k + 2-layer model),
  ``newton.expansion`` (corrected; erratum ``newton.expansion_printed``),
  ``newton.convergence`` (corrected α; erratum ``newton.step_size_printed``).
- Giannou, Yang, Wang, Papailiopoulos, Lee (2024), arXiv:2403.03183:
  ``newton.linear_attention_step`` (our weights).

Parts: ``instances`` (typed instances, draws, papers), ``claims`` (the specs
and registrations), ``errata`` (printed statements shown false),
``figures`` (the convergence table and figure), ``library`` (torch twins).
"""

from transformer_proofs.verify.claims.newton import claims, errata, figures, instances, library  # noqa: F401
