"""Family ``linear_attention``: linear attention as an RNN, a fast-weight
memory, and the dual form of a layer trained by gradient descent.

Parts: :mod:`.papers`, :mod:`.instances`, :mod:`.claims`.  Importing the
package registers its claims."""

from transformer_proofs.verify.claims.linear_attention import claims  # noqa: F401  (registers the claims)
