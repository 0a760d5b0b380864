"""The papers of the gd family."""

from transformer_proofs.verify.spec import Paper

VON_OSWALD = Paper("J. von Oswald, E. Niklasson, E. Randazzo, J. Sacramento, A. Mordvintsev, A. Zhmoginov, M. Vladymyrov",
                   2023, "Transformers learn in-context by gradient descent", "2212.07677", "Proposition 1")
AHN = Paper("K. Ahn, X. Cheng, H. Daneshmand, S. Sra", 2023,
            "Transformers learn to implement preconditioned gradient descent for in-context learning",
            "2306.00297", "Lemma 1")
BAI = Paper("Y. Bai, F. Chen, H. Wang, C. Xiong, S. Mei", 2023,
            "Transformers as Statisticians: Provable In-Context Learning with In-Context Algorithm Selection",
            "2306.04637", "Proposition C.2 / Corollary C.1")
ZFB = Paper("R. Zhang, S. Frei, P. L. Bartlett", 2024, "Trained Transformers Learn Linear Models In-Context",
            "2306.09927", "Theorem 4.1")
MAHANKALI = Paper("A. Mahankali, T. B. Hashimoto, T. Ma", 2023,
                  "One Step of Gradient Descent is Provably the Optimal In-Context Learner with One Layer of Linear "
                  "Self-Attention", "2307.03576", "abstract; main theorem for isotropic data")
