"""The paper of the ridge family."""

from transformer_proofs.verify.spec import Paper

AKYUREK = Paper("E. Akyürek, D. Schuurmans, J. Andreas, T. Ma, D. Zhou", 2023,
                "What learning algorithm is in-context learning? Investigations with linear models", "2211.15661",
                "Theorem 2 (App. B)")
