"""The paper of the lasso family."""

from transformer_proofs.verify.spec import Paper

BAI = Paper("Y. Bai, F. Chen, H. Wang, C. Xiong, S. Mei", 2023,
            "Transformers as Statisticians: Provable In-Context Learning with In-Context Algorithm Selection",
            "2306.04637", "Theorem 10 / Theorem C.1 / Proposition C.1")
