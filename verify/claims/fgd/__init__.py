"""Family ``fgd``: non-linear attention is functional gradient descent.

Cheng, Chen, Sra (2024), "Transformers Implement Functional Gradient Descent to
Learn Non-Linear Functions In Context", ICML 2024, arXiv:2312.06528.

- ``fgd.functional_gd``: L layers = L functional-GD steps, every kernel.
- ``fgd.closed_form`` (ours): f_L(x_q) = k_qᵀ(Kᵀ)⁻¹(I − ∏(I − η_ℓKᵀ/n))y, with
  the correction of our earlier form (K for Kᵀ).
- ``fgd.multi_head``: a sum of heads is functional GD on the step-weighted sum of their kernels.
- ``fgd.kernel_regression_limit`` (ours): |f_L(x_q) − k_qᵀK⁻¹y| below a bound from K's spectrum.
- ``fgd.matched_activation``: empirical, GP tasks, paired confidence intervals.
- ``fgd.linear_kernel_optimum`` (ours, :mod:`.training`): the linear kernel's exact
  optimal step sizes (Theorem 1's stationarity, linear kernel only).
- ``fgd.nonlinear_stationary`` (ours, :mod:`.stationary`): one exp / ReLU layer at its
  optimal key-query scale and step is stationary in (r, B) (empirical).

Parts: ``instances`` (typed instances and draws), ``relations`` (two
relations the core lacks), ``claims`` (specs and registrations), ``errata``
(our correction), ``figures``, ``library`` (PyTorch / TransformerLens).
Importing the package registers the claims.
"""

from transformer_proofs.verify.claims.fgd import (  # noqa: F401
    claims,
    errata,
    figures,
    instances,
    library,
    stationary,
    training,
)
from transformer_proofs.verify.claims.fgd.instances import free_kernel  # noqa: F401  (re-exported)
