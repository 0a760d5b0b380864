"""Algorithm families with free parameters, as targets of conformance.

Each family states, for a regression prompt Z = [[x_1 … x_n x_q], [y_1 … y_n 0]]
(tokens [x; y], the query's label 0, the query not a key):

- the **layer terms**: a linear-attention layer changes token j by
  Δz_j[o] = Σ_i Σ_{a,b,c} C[o, a, b, c] z_i,a z_i,b z_j,c (sum over the n
  context tokens i), and the family's layer ℓ has C = Σ_p θ_p B_p, linear in
  its free parameters θ (so they are read from the weights by exact least
  squares);
- its **iterates** w_0 = 0, w_1, …, predictions ⟨w_k, x_q⟩, and ∂ŷ/∂x_q = w_k;
- its **reference blocks** W_Q, W_K, W_V, W_O (engine orientation, the
  papers' 1/n folded into W_O) for naming the block where a model departs;
- its read-out: ŷ = −(the query's label) (von Oswald et al. Prop. 1; Ahn et
  al. Lemma 1).

Families: ``gd`` (von Oswald et al. 2023, arXiv:2212.07677, Prop. 1, W_0 = 0:
one step η_ℓ per layer) and ``preconditioned_gd`` (Ahn et al. 2023,
arXiv:2306.00297, Lemma 1, corrected: w ← w − Γ_ℓᵀ ∇R(w), one d×d Γ_ℓ per
layer).  Claim ids alias them: ``gd.one_layer`` (gd, one layer),
``gd.multi_layer`` (gd), ``gd.preconditioned`` (preconditioned_gd)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np
from transformer_proofs.constructions.engine import PromptError


class ConformError(PromptError):
    """A model the target family cannot be fitted to (one line, names the problem)."""


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    source: str
    parameter: str  # what θ is called, per layer
    basis: Callable[[int, int], list[tuple[str, np.ndarray]]]  # (d, n) -> [(name, B_p (D, D, D, D) Fractions)]
    params_to_step: Callable[[list[Any], int], np.ndarray]  # θ of one layer, d -> the d×d step Γ (w <- w - Γᵀ∇R)
    reference_blocks: Callable[[list[Any], int, int, Any], dict[str, np.ndarray]]  # θ, d, n, layer scale -> blocks
    layers: int | None = None  # a fixed layer count (gd.one_layer: 1), or None: any
    score: str = "linear"


def _zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=object) + Fraction(0)


def _sym(C: np.ndarray) -> np.ndarray:
    """Symmetrise over (a, b): z_i,a z_i,b is one monomial."""
    return (C + np.swapaxes(C, 1, 2)) / 2


def _label_term(d: int, n: int, b: int, c: int) -> np.ndarray:
    """B[y, y, x_b, x_c] = -1/n (symmetrised): Δy_j = -(1/n) Σ_i y_i x_i,b x_j,c."""
    D = d + 1
    B = _zeros(D, D, D, D)
    B[d, d, b, c] = Fraction(-1, n)
    return _sym(B)


def _gd_basis(d: int, n: int) -> list[tuple[str, np.ndarray]]:
    """Δy_j = -(η/n) Σ_i y_i ⟨x_i, x_j⟩ (von Oswald et al., Prop. 1, W_0 = 0)."""
    return [("η", sum((_label_term(d, n, k, k) for k in range(d)), _zeros(d + 1, d + 1, d + 1, d + 1)))]


def _pgd_basis(d: int, n: int) -> list[tuple[str, np.ndarray]]:
    """Δy_j = -(1/n) Σ_i y_i x_iᵀ Γ x_j (Ahn et al., Lemma 1, Q = -[[Γ, 0], [0, 0]])."""
    return [(f"Γ[{b},{c}]", _label_term(d, n, b, c)) for b in range(d) for c in range(d)]


def _eye(k: int) -> np.ndarray:
    return np.eye(k, dtype=int).astype(object) + Fraction(0)


def _gd_blocks(theta: list[Any], d: int, n: int, scale: Any) -> dict[str, np.ndarray]:
    """von Oswald et al. App. A.1 with W_0 = 0: W_K = W_Q = [[I, 0], [0, 0]],
    W_V = [[0, 0], [0, -1]], P = (η/n) I, i.e. W_O = (η/n)/scale · I."""
    D = d + 1
    kq = _zeros(D, D)
    kq[:d, :d] = _eye(d)
    v = _zeros(D, D)
    v[d, d] = Fraction(-1)
    s = Fraction(1) if scale is None else Fraction(scale)
    return {"W_Q": kq, "W_K": kq.copy(), "W_V": v, "W_O": _eye(D) * (Fraction(theta[0]) / n / s)}


def _pgd_blocks(theta: list[Any], d: int, n: int, scale: Any) -> dict[str, np.ndarray]:
    """Ahn et al. Lemma 1: W_Q = Q = -[[Γ, 0], [0, 0]], W_K = I, W_V = P = e_y e_yᵀ, W_O = (1/n)/scale · I."""
    D = d + 1
    G = np.asarray(theta, dtype=object).reshape(d, d)
    q = _zeros(D, D)
    q[:d, :d] = -G
    p = _zeros(D, D)
    p[d, d] = Fraction(1)
    s = Fraction(1) if scale is None else Fraction(scale)
    return {"W_Q": q, "W_K": _eye(D), "W_V": p, "W_O": _eye(D) * (Fraction(1, n) / s)}


GD = Family(
    "gd", "one gradient-descent step w ← w − η_ℓ ∇R(w) per layer, from w_0 = 0, R(w) = (1/2n) Σ (⟨w, x_i⟩ − y_i)²",
    "von Oswald et al. (2023), arXiv:2212.07677, Prop. 1 (W_0 = 0)", "η",
    _gd_basis, lambda th, d: np.eye(d) * float(th[0]), _gd_blocks)
PRECONDITIONED = Family(
    "preconditioned_gd", "one preconditioned step w ← w − Γ_ℓᵀ ∇R(w) per layer, from w_0 = 0",
    "Ahn et al. (2023), arXiv:2306.00297, Lemma 1 (corrected: Γᵀ)", "Γ",
    _pgd_basis, lambda th, d: np.asarray([float(t) for t in th]).reshape(d, d), _pgd_blocks)

FAMILIES = {f.name: f for f in (GD, PRECONDITIONED)}
ALIASES = {"gd.one_layer": ("gd", 1), "gd.multi_layer": ("gd", None), "gd.preconditioned": ("preconditioned_gd", None),
           "gd": ("gd", None), "preconditioned_gd": ("preconditioned_gd", None)}


NEWTON_TARGETS = ("newton", "newton.k_steps")  # fitted from behaviour (verify/conform/newton.py)
FGD_TARGETS = ("fgd", "fgd.functional_gd", "fgd.multi_head")  # kernels and steps read from the weights (fgd.py)


class UnknownTarget(ValueError):
    pass


def resolve(against: str) -> Family:
    """The family a claim id or family name names."""
    if against not in ALIASES:
        known = ", ".join(sorted((*ALIASES, *NEWTON_TARGETS, *FGD_TARGETS)))
        raise UnknownTarget(f"cannot conform against {against!r}: known targets are {known}")
    name, layers = ALIASES[against]
    f = FAMILIES[name]
    return Family(**{**f.__dict__, "layers": layers}) if layers else f
