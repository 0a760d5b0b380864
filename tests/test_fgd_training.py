"""fgd.linear_kernel_optimum: the engine's functional-GD transformer (linear kernel)
has the exact aligned loss at the exact steps (Monte Carlo, 99.9% interval from the
sample standard deviation), and the claim decides its check and falsifiers."""

import numpy as np
from transformer_proofs.constructions.arithmetic import Float64
from transformer_proofs.constructions.engine import predict
from transformer_proofs.constructions.functional_gd import fgd_prompt, functional_gd_transformer
from transformer_proofs.verify.claims.gd import optima
from transformer_proofs.verify.claims.gd.landscape import aligned_loss
from transformer_proofs.verify.registry import select
from transformer_proofs.verify.spec import Context


def test_engine_transformer_has_the_exact_loss_at_the_exact_steps():
    n, d, L, B = 8, 3, 2, 100_000
    M = optima.moments(n, d, 2 * L)
    steps = [float(lo) for lo, _ in optima.aligned_optimum(M, L).steps_intervals]
    rng = np.random.default_rng(21)
    X = rng.standard_normal((B, n, d))
    w = rng.standard_normal((B, d))
    xq = rng.standard_normal((B, d))
    y = np.einsum("bnd,bd->bn", X, w)
    model = functional_gd_transformer(d, n, steps, "linear")
    pred = np.asarray(predict(Float64(), model, fgd_prompt(X, y, xq)), dtype=float)
    err = (pred - np.einsum("bd,bd->b", xq, w)) ** 2
    exact = float(aligned_loss([lo for lo, _ in optima.aligned_optimum(M, L).steps_intervals], [float(m) for m in M]))
    # the steps are enclosed to 1e-9; their loss moves by far less than the Monte Carlo half-width
    assert abs(err.mean() - exact) <= 3.29 * err.std(ddof=1) / np.sqrt(B), (err.mean(), exact)


def test_claim_holds_and_catches_its_falsifiers():
    (claim,) = select("fgd.linear_kernel_optimum")
    assert claim.checks["exact"](Context()).status == "holds"
    assert all(f.run(Context())[0] for f in claim.falsifiers)
