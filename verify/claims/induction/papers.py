"""The induction family's papers."""

from __future__ import annotations

from transformer_proofs.verify.spec import Paper

NDL = Paper("E. Nichani, A. Damian, J. D. Lee", 2024, "How Transformers Learn Causal Structure with Gradient Descent",
            "2402.14735", "the disentangled two-layer construction; Task 2.4 (as drawn by the authors' problems.py)")
OLSSON = Paper("C. Olsson, N. Elhage, N. Nanda, N. Joseph, et al.", 2022, "In-context Learning and Induction Heads",
               "2209.11895", "§2 (previous-token head + K-composition)")
EDELMAN = Paper("B. L. Edelman, E. Edelman, S. Goel, E. Malach, N. Tsilivis", 2024,
                "The Evolution of Statistical Induction Heads: In-Context Learning Markov Chains", "2402.11004",
                "ICL-MC, as the authors' code samples it (datasets.py) and scores it (test_error.py)")
