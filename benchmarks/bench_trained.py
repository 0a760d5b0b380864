"""CPU and wall time of the trained reproductions and of a conformance run.

    python benchmarks/bench_trained.py [--seeds N]

Per training seed: training (autograd), the exact fit and the measures; then
the claim's check and its falsifiers at default effort (the checkpoints are
cached within a process, as in a catalogue run); then ``conform`` of an
exported GD model and of a perturbed one; then the same for
``trained.nichani_graph``, ``trained.cheng_functional_gd`` and
``trained.fu_newton_layers`` (training per seed, check, falsifiers; the last
needs no autograd).  CPU time (process time) is the
figure to compare with the catalogue's budget on a shared machine."""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from typing import Any, Callable

import numpy as np


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    from transformer_proofs.verify.claims.trained import experiment as ex
    from transformer_proofs.verify.claims.trained.training import autograd_missing

    if autograd_missing():
        print(autograd_missing())
        return 1
    from transformer_proofs.verify.claims.trained.claims import CHECK, FALSIFIERS
    from transformer_proofs.verify.spec import Context

    for s in range(args.seeds):
        _, cpu, wall = timed(lambda s=s: ex.checkpoint(s))
        print(f"train seed {s}: cpu {cpu:.2f} s, wall {wall:.2f} s")
    ex.checkpoint.cache_clear()
    res, cpu, wall = timed(lambda: CHECK(Context(seed=0)))
    print(f"trained.von_oswald_lsa check ({res.status}): cpu {cpu:.2f} s, wall {wall:.2f} s")
    _, cpu, wall = timed(lambda: [f.run(Context(seed=0)) for f in FALSIFIERS])
    print(f"trained.von_oswald_lsa {len(FALSIFIERS)} falsifiers: cpu {cpu:.2f} s, wall {wall:.2f} s")

    from transformer_proofs.constructions.gradient_descent import von_oswald_transformer
    from transformer_proofs.verify.conform import conform
    from transformer_proofs.verify.torch_backend import export_transformer

    model = von_oswald_transformer(3, 5, [Fraction(3, 16)])
    rep, cpu, wall = timed(lambda: conform(model, "gd.one_layer"))
    print(f"conform exact GD (d=3, n=5): cpu {cpu:.2f} s, wall {wall:.2f} s, exact={rep.exact}")
    from transformer_proofs.constructions.importing import Conventions, LayerConvention, import_state_dict

    sd = export_transformer(model).state_dict
    rng = np.random.default_rng(0)
    sd = {k: v * (1 + 1e-3 * rng.standard_normal(v.shape)) for k, v in sd.items()}
    imp = import_state_dict(sd, Conventions(n_ctx=6, layers=(LayerConvention(key_mask="context"),)))
    rep, cpu, wall = timed(lambda: conform(imp, "gd.one_layer"))
    print(f"conform perturbed GD: cpu {cpu:.2f} s, wall {wall:.2f} s, departs {rep.departs['layer']}/{rep.departs['block']}")
    bench_graph(args.seeds)
    bench_kernel(args.seeds)
    bench_newton_layers(args.seeds)
    return 0


def bench_graph(seeds: int) -> None:
    """trained.nichani_graph: one training per seed, then the check and its falsifiers at default effort."""
    from transformer_proofs.verify.claims.trained import graph_experiment as ge
    from transformer_proofs.verify.claims.trained.graph_claims import CHECK, FALSIFIERS
    from transformer_proofs.verify.claims.trained.graph_training import graph_checkpoint, train_graph
    from transformer_proofs.verify.spec import Context

    for s in range(seeds):
        _, cpu, wall = timed(lambda s=s: train_graph(s, ge.drawn_graph(s), ge.S))
        print(f"train graph seed {s}: cpu {cpu:.2f} s, wall {wall:.2f} s")
    graph_checkpoint.cache_clear()
    res, cpu, wall = timed(lambda: CHECK(Context(seed=0)))
    print(f"trained.nichani_graph check ({res.status}): cpu {cpu:.2f} s, wall {wall:.2f} s")
    _, cpu, wall = timed(lambda: [f.run(Context(seed=0)) for f in FALSIFIERS])
    print(f"trained.nichani_graph {len(FALSIFIERS)} falsifiers: cpu {cpu:.2f} s, wall {wall:.2f} s")


def bench_kernel(seeds: int) -> None:
    """trained.cheng_functional_gd: one training per seed and attention, then the check and its falsifiers."""
    from transformer_proofs.verify.claims.trained import kernel_experiment as ke
    from transformer_proofs.verify.claims.trained.kernel_claims import CHECK, FALSIFIERS
    from transformer_proofs.verify.claims.trained.kernel_training import kernel_checkpoint, train_kernel
    from transformer_proofs.verify.spec import Context

    for s in range(seeds):
        for score in ("exp", "linear"):
            _, cpu, wall = timed(lambda s=s, score=score: train_kernel(s, ke.D, ke.N, score))
            print(f"train {score} attention seed {s}: cpu {cpu:.2f} s, wall {wall:.2f} s")
    kernel_checkpoint.cache_clear()
    res, cpu, wall = timed(lambda: CHECK(Context(seed=0)))
    print(f"trained.cheng_functional_gd check ({res.status}): cpu {cpu:.2f} s, wall {wall:.2f} s")
    _, cpu, wall = timed(lambda: [f.run(Context(seed=0)) for f in FALSIFIERS])
    print(f"trained.cheng_functional_gd {len(FALSIFIERS)} falsifiers: cpu {cpu:.2f} s, wall {wall:.2f} s")


def bench_newton_layers(seeds: int) -> None:
    """trained.fu_newton_layers: one training per seed, then the check and its falsifiers at default effort."""
    from transformer_proofs.verify.claims.trained import newton_experiment as ne
    from transformer_proofs.verify.claims.trained import newton_training as nt
    from transformer_proofs.verify.claims.trained.newton_claims import CHECK, FALSIFIERS
    from transformer_proofs.verify.spec import Context

    for s in range(seeds):
        _, cpu, wall = timed(lambda s=s: nt.train_newton_lsa(s))
        print(f"train 4-layer LSA seed {s}: cpu {cpu:.2f} s, wall {wall:.2f} s")
    nt.clear_checkpoints()
    ne.references.cache_clear()
    ne.constant_step.cache_clear()
    res, cpu, wall = timed(lambda: CHECK(Context(seed=0)))
    print(f"trained.fu_newton_layers check ({res.status}): cpu {cpu:.2f} s, wall {wall:.2f} s")
    _, cpu, wall = timed(lambda: [f.run(Context(seed=0)) for f in FALSIFIERS])
    print(f"trained.fu_newton_layers {len(FALSIFIERS)} falsifiers: cpu {cpu:.2f} s, wall {wall:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
