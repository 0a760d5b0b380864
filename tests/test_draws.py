"""verify.draws: a dyadic draw is the generator's Gaussian rounded to a multiple of 2^-bits (half to even)."""

from fractions import Fraction

import numpy as np
import pytest
from transformer_proofs.verify.draws import DyadicDraw


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bits", [0, 6, 16])
def test_dyadic_draw_is_round_of_the_scaled_gaussian(seed: int, bits: int) -> None:
    got = DyadicDraw(np.random.default_rng(seed), bits).real((4, 3), scale=2.5)
    vals = np.random.default_rng(seed).standard_normal((4, 3)) * 2.5
    want = [Fraction(int(round(v * 2**bits)), 2**bits) for v in vals.ravel()]
    assert got.shape == (4, 3) and list(got.ravel()) == want
    assert all(type(x) is Fraction for x in got.ravel())


def test_dyadic_draw_rounds_ties_to_even_like_round() -> None:
    draw = DyadicDraw(np.random.default_rng(0), 1)
    assert [draw._dyadic(v) for v in (0.25, 0.75, -0.25)] == [Fraction(0), Fraction(1), Fraction(0)]
    scalar = DyadicDraw(np.random.default_rng(1)).real()
    assert type(scalar) is Fraction and scalar == Fraction(round(np.random.default_rng(1).standard_normal() * 64), 64)
