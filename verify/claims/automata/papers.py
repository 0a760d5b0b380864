"""The automata family's paper."""

from __future__ import annotations

from transformer_proofs.verify.spec import Paper

LIU = Paper("B. Liu, J. T. Ash, S. Goel, A. Krishnamurthy, C. Zhang", 2023, "Transformers Learn Shortcuts to Automata",
            "2210.10749", "shortcut simulators of semiautomata (abstract)")
