"""The memory family's paper."""

from __future__ import annotations

from transformer_proofs.verify.spec import Paper

BIETTI = Paper("A. Bietti, V. Cabannes, D. Bouchacourt, H. Jégou, L. Bottou", 2023,
               "Birth of a Transformer: A Memory Viewpoint", "2306.00802",
               "§4 (weight matrices as associative memories); Figure 1 (the induction head)")
