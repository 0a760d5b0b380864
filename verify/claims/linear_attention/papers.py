"""The papers of the linear_attention family."""

from transformer_proofs.verify.spec import Paper

KATHAROPOULOS = Paper("A. Katharopoulos, A. Vyas, N. Pappas, F. Fleuret", 2020,
                      "Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention", "2006.16236",
                      "§3.4 (causal masking), §3.4.1 (transformers are RNNs)")
SCHLAG = Paper("I. Schlag, K. Irie, J. Schmidhuber", 2021, "Linear Transformers Are Secretly Fast Weight Programmers",
               "2102.11174", "§3 (linear attention as fast weights), §4 (the delta rule)")
IRIE = Paper("K. Irie, R. Csordás, J. Schmidhuber", 2022,
             "The Dual Form of Neural Networks Revisited: Connecting Test Time Predictions to Training Patterns via "
             "Spotlights of Attention", "2202.05798", "§2 (the dual form of a linear layer trained by GD)")
DAI = Paper("D. Dai, Y. Sun, L. Dong, Y. Hao, S. Ma, Z. Sui, F. Wei", 2023,
            "Why Can GPT Learn In-Context? Language Models Implicitly Perform Gradient Descent as Meta-Optimizers",
            "2212.10559", "§3 (relaxed linear attention and its dual form)")
