r"""Display formulas (TeX, rendered by KaTeX on the HTML catalogue's claim
pages), one list per claim id.  The claims' statements are prose; these
are the same statements in the papers' notation, ours to keep in step with
the claims (a claim without an entry shows its prose only)."""

from __future__ import annotations

GD_LAYER = (r"e_j \leftarrow e_j + \frac{\eta}{n}\sum_{i\le n} (W_V e_i)(W_K e_i)^\top (W_Q e_j),\quad "
            r"W_K = W_Q = \begin{pmatrix} I_d & 0\\ 0 & 0\end{pmatrix},\ "
            r"W_V = \begin{pmatrix} 0 & 0\\ W_0 & -1\end{pmatrix}")
AHN_LAYER = r"Z \leftarrow Z + \tfrac{1}{n}\, P Z M (Z^\top Q Z),\quad P = \begin{pmatrix}0&0\\0&1\end{pmatrix},\ " \
            r"Q = -\begin{pmatrix}A_\ell&0\\0&0\end{pmatrix},\ M = \begin{pmatrix}I_n&0\\0&0\end{pmatrix}"
NEWTON = r"M_{k+1} = 2M_k - M_k S M_k,\qquad S = X^\top X"

FORMULAS: dict[str, list[str]] = {
    "gd.one_layer": [GD_LAYER, r"y_j \mapsto y_j - \Delta W x_j,\qquad \Delta W = -\eta \nabla L(W_0),\qquad "
                               r"L(W) = \frac{1}{2n}\sum_{i=1}^n \lVert W x_i - y_i\rVert^2"],
    "gd.multi_layer": [GD_LAYER, r"W_{\ell+1} = W_\ell - \eta_\ell \nabla L(W_\ell),\qquad \hat y_q = W_L x_q"],
    "gd.gd_plus_plus": [r"x_j \leftarrow \Bigl(I - \gamma \sum_{i} x_i x_i^\top\Bigr) x_j"],
    "gd.preconditioned": [AHN_LAYER, r"w_{\ell+1} = w_\ell - A_\ell^{\top} \nabla R(w_\ell),\qquad "
                                     r"R(w) = \frac{1}{2n}\lVert Xw - y\rVert^2"],
    "gd.preconditioned_printed": [AHN_LAYER, r"w_{\ell+1} = w_\ell - A_\ell \nabla R(w_\ell)"
                                             r"\quad\text{(as printed: false unless } A_\ell = A_\ell^\top)"],
    "gd.relu_attention_ridge": [r"s = \mathrm{ReLU}(s) - \mathrm{ReLU}(-s),\qquad w_{t+1} = w_t - \eta_t\Bigl("
                                r"\frac{1}{n} X^\top (X w_t - y) + \lambda w_t\Bigr)"],
    "newton.layer": [NEWTON, r"(V_1, V_2) = (J, -J)\quad\text{(printed: } V_2 = J)"],
    "newton.layer_printed": [NEWTON, r"V_1 = V_2 = J\ \Rightarrow\ \mathrm{ReLU}(s) + \mathrm{ReLU}(-s) = |s| \ne s"],
    "newton.k_steps": [NEWTON, r"\hat y_q = x_q^\top M_k X^\top y,\qquad M_0 = \alpha S"],
    "newton.expansion": [r"E_k = I - M_k S = (I - \alpha S^2)^{2^k},\qquad M_1 = 2\alpha S - \alpha^2 S^3"],
    "newton.expansion_printed": [r"M_1 = 2\alpha S - 4\alpha^2 S^3\quad\text{(as printed; the recursion gives }"
                                 r"2\alpha S - \alpha^2 S^3)"],
    "newton.init_layer": [r"h_t = \begin{pmatrix} x_t \\ x_t\end{pmatrix} \mapsto "
                          r"\begin{pmatrix} x_t + \alpha S x_t \\ x_t\end{pmatrix},\qquad V_1 = n\alpha J,\ V_2 = -n\alpha J"],
    "newton.init_printed": [r"V_1 = V_2 = n\alpha J\quad\text{(as printed)}"],
    "newton.convergence": [r"\frac{\lVert \hat w_k - w_{LS}\rVert}{\lVert w_{LS}\rVert} \le "
                           r"\lVert I - \alpha S^2\rVert_2^{\,2^k},\qquad \alpha = 1/\lVert S S^\top\rVert_2"],
    "newton.step_size_printed": [r"\alpha = \frac{2}{\lVert S S^\top\rVert_2}\ \Rightarrow\ 1 - \alpha "
                                 r"\lambda_{\max}^2 = -1,\quad E_k v_{\max} = v_{\max}\ \text{for all } k"],
    "newton.linear_attention_step": [r"X_{k+1} = 2X_k - X_k A X_k"],
    "fgd.functional_gd": [r"f_{\ell+1}(x) = f_\ell(x) + \frac{\eta_\ell}{n}\sum_{i=1}^n "
                          r"\tilde h(x_i, x)\,\bigl(y_i - f_\ell(x_i)\bigr),\qquad f_0 = 0"],
    "fgd.kernel_regression_limit": [r"\bigl|f_L(x_q) - k_q^\top K^{-1} y\bigr| \le B_L"],
    "energy.hopfield": [r"\xi' = X\,\mathrm{softmax}(\beta X^\top \xi),\qquad E(\xi) = -\beta^{-1}\log\sum_i "
                        r"e^{\beta x_i^\top \xi} + \tfrac12 \xi^\top\xi + \beta^{-1}\log N + \tfrac12 M^2,\quad "
                        r"E(\xi') \le E(\xi)"],
    "energy.feedforward_pgd": [r"y' = \mathrm{ReLU}(W y + b),\qquad f(y) = \tfrac12 y^\top (I - W) y - b^\top y,"
                               r"\qquad f(y') \le f(y)"],
}


def formulas(claim_id: str) -> list[str]:
    return list(FORMULAS.get(claim_id, []))
