"""The automata family's paper."""

from __future__ import annotations

from transformer_proofs.verify.spec import Paper

LIU = Paper("B. Liu, J. T. Ash, S. Goel, A. Krishnamurthy, C. Zhang", 2023, "Transformers Learn Shortcuts to Automata",
            "2210.10749", "the O(log T)-depth simulation of every semiautomaton; Z_p / parity in one layer")
