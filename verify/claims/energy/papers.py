"""The energy family's papers, and what of them we read."""

from __future__ import annotations

from transformer_proofs.verify.spec import Paper

YANG = Paper("Y. Yang, Z. Huang, D. Wipf", 2022, "Transformers from an Optimization Perspective", "2205.13891",
             "the energy E_1 with ρ(z) = −e^{−z}, its MM step, the ReLU layer as a proximal step")
RAMSAUER = Paper("H. Ramsauer, B. Schäfl, J. Lehner, P. Seidl, M. Widrich, L. Gruber, M. Holzleitner, T. Adler, "
                 "D. Kreil, M. K. Kopp, G. Klambauer, J. Brandstetter, S. Hochreiter", 2021,
                 "Hopfield Networks is All You Need", "2008.02217",
                 "§2 eqs. (2)-(3), Theorem 1; App. A.1.2 Lemma A1, App. A.1.4 Theorem A1")
RAMSAUER_TEXT = "the paper's full text (arXiv:2008.02217v3, ar5iv rendering), main text §2 and App. A.1.2-A.1.4"
YANG_UNREAD = ("Yang et al.'s own statements of the MM step and the proximal step were not read in the paper's "
               "text (we could not reach those sections); the statement checked is our derivation of them")
