"""``trained.nichani_graph``: Nichani, Damian, Lee's disentangled two-layer
transformer, trained with autograd on sampled sequences of their task,
recovers the causal graph in A⁽¹⁾ and grows an induction head in A⁽²⁾.

Over training seeds (each with its own drawn graph, :mod:`.graph_experiment`),
decided on Student-t 95% intervals:

* the fraction of edges recovered (row argmax = parent) has its interval's
  lower end ≥ ``RECOVERY_BOUND`` = 0.9: a tree has T − 1 = 5 edges, so one
  missed edge costs a seed ≥ 0.2, and the bound allows on average
  less than half a missed edge per seed;
* the parent's attention share has its lower end > ``SHARE_BOUND`` = ½: the
  parent holds a majority of each row's attention;
* A⁽²⁾'s stage-2 increment has a positive mean diagonal margin (lower end
  > 0): the induction head.

Falsifiers (each the same check on a mutated experiment): the trained model
read against a wrong graph (every movable parent moved by one); layer 1 with
the mask reversed (row i attends to j ≥ i: no parent visible); the untrained
model (the random start, no step); a model trained on sequences of another
drawn graph, read against this one.  Not a falsifier, measured (10 seeds):
layer 1 without any mask still recovers every edge at S = 3 (a reversed
Dirichlet chain is not informative about the parent's token), whereas at
S = 2, where every stationary chain is reversible, it recovers 60–100% of
them."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from transformer_proofs.verify.checkers import falsifier_from_check
from transformer_proofs.verify.claims.induction.papers import NDL
from transformer_proofs.verify.claims.induction.training import moved_parents
from transformer_proofs.verify.claims.trained import experiment as ex
from transformer_proofs.verify.claims.trained import graph_experiment as ge
from transformer_proofs.verify.claims.trained.graph_figures import graph_figure, graph_table
from transformer_proofs.verify.claims.trained.graph_training import (
    BETA0,
    GRAPH_BATCH,
    GRAPH_BATCH2,
    GRAPH_STEPS,
    GRAPH_STEPS2,
)
from transformer_proofs.verify.claims.trained.training import autograd_missing
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.registry import register
from transformer_proofs.verify.spec import Check, CheckResult, Claim, Context, Provenance

RECOVERY_BOUND = 0.9
SHARE_BOUND = 0.5
MARGIN_BOUND = 0.0
TIMINGS: dict[str, float] = {}  # kept out of the results (reports are byte-stable); read by the benchmark


def graph_check(variant: ge.GraphVariant = ge.TRAINED, what: str = "trained") -> Callable[[Context], CheckResult]:
    def run(ctx: Context) -> CheckResult:
        missing = autograd_missing()
        if missing:
            return CheckResult("empirical", Evidence.EMPIRICAL.label, 0, None, None, "skipped", missing)
        t0 = time.perf_counter()
        res = [ge.seed_result(s, variant) for s in ex.seeds_for(ctx.seed, ctx.count(ge.SEEDS))]
        rec = ex.t_interval([r.recovered for r in res])
        share = ex.t_interval([r.share for r in res])
        marg = ex.t_interval([r.margin2 for r in res])
        TIMINGS[f"{what} seed {ctx.seed}"] = time.perf_counter() - t0
        data = {"seeds": [r.seed for r in res], "graphs": [[-1 if p is None else p for p in r.parents] for r in res],
                "recovered": rec.to_json(), "parent_share": share.to_json(), "A2_margin": marg.to_json(),
                "bounds": {"recovered": RECOVERY_BOUND, "parent_share": SHARE_BOUND, "A2_margin": MARGIN_BOUND}}
        ok = rec.lo >= RECOVERY_BOUND and share.lo > SHARE_BOUND and marg.lo > MARGIN_BOUND
        detail = (f"{len(res)} seeds, S = {ge.S}, T = {ge.T} context positions, a drawn tree per seed ({what}): "
                  f"edges recovered {rec.text('.4g')}, parent's attention share {share.text('.4g')}, "
                  f"A⁽²⁾ diagonal margin {marg.text('.4g')} ({rec.method}); bounds: recovered ≥ {RECOVERY_BOUND}, "
                  f"share > {SHARE_BOUND}, margin > {MARGIN_BOUND} (lower ends)")
        return CheckResult("empirical", Evidence.EMPIRICAL.label, len(res), float(f"{1 - rec.estimate:.6g}"),
                           1 - RECOVERY_BOUND, "holds" if ok else "fails", detail, data=data)

    return run


CHECK = Check("empirical", Evidence.EMPIRICAL, graph_check(), optional=True)

FALSIFIERS = [
    falsifier_from_check("wrong graph", "the trained A⁽¹⁾ read against the graph with every movable parent moved by "
                         "one position", graph_check(ge.GraphVariant(claimed=moved_parents), "read against a moved graph")),
    falsifier_from_check("mask reversed", "layer 1 attends to j ≥ i instead of j ≤ i (a wrong mask: no parent in view)",
                         graph_check(ge.GraphVariant(mask="anticausal"), "anti-causal layer 1")),
    falsifier_from_check("untrained", "the random start (no training step) read against the graph",
                         graph_check(ge.GraphVariant(trained=False), "untrained")),
    falsifier_from_check("trained on another graph", "trained on sequences of another drawn graph, read against "
                         "this one", graph_check(ge.GraphVariant(data_graph=ge.other_graph), "data from another graph")),
]

register(Claim(
    id="trained.nichani_graph", paper=replace(NDL, where="the disentangled two-layer transformer trained on the authors' task (problems.py)"),
    kind="empirical",
    statement=(f"The disentangled two-layer transformer (A⁽¹⁾ on positions, A⁽²⁾ on query token × copied token) "
               f"trained stage-wise with Adam on sampled sequences of the authors' task (π's rows ~ Dirichlet(1), "
               f"roots ~ μ_π, the query uniform outside the chain; S = {ge.S}, T = {ge.T} context positions on a "
               f"random tree drawn per seed) recovers the causal graph in A⁽¹⁾ and grows A⁽²⁾ along the "
               f"induction-head diagonal: over training seeds, the fraction of edges recovered (row argmax = "
               f"parent) ≥ {RECOVERY_BOUND}, the parent's attention share > {SHARE_BOUND}, and A⁽²⁾'s stage-2 "
               "increment has a positive diagonal margin (lower ends of Student-t 95% intervals)."),
    checks={"empirical": CHECK}, falsifiers=[] if autograd_missing() else FALSIFIERS,
    provenance=Provenance(
        "ours", "the abstract's closing sentence (trained transformers recover a wide variety of causal structures), "
        "formalised at a small scale",
        quote=("We confirm our theoretical findings by showing that transformers trained on our in-context learning "
               "task are able to recover a wide variety of causal structures."),
        read_in="the paper's abstract (arXiv 2402.14735; read as stored at sciencestack.ai/paper/2402.14735); the task "
                "as the authors' problems.py draws it (see the induction family)",
        note="the abstract's induction head is stated for in-context Markov chains; our A⁽²⁾ statement on drawn trees, "
             "the sampled-data Adam training, the sizes and the bounds are ours; the stage-wise order (A⁽¹⁾ first with "
             "A⁽²⁾ = β₀I) is recalled from the paper's training algorithm, not re-read"),
    trust=("empirical: training seeds are the replicates (Student-t 95% intervals); each seed's graph, data and "
           "checkpoint are reproducible from the seed",
           "the reading is exact on the trained weights (argmax and softmax of A⁽¹⁾'s rows, A⁽²⁾'s increment)",
           "needs autograd (extra 'train'); skipped with the reason without it"),
    figure=graph_figure, table=graph_table,
    notes=(f"Training: stage 1, {GRAPH_STEPS} Adam steps on A⁽¹⁾ (from 0.01·N(0, 1)) with A⁽²⁾ = {BETA0}·I; stage 2, "
           f"{GRAPH_STEPS2} steps on A⁽²⁾; fresh batches ({GRAPH_BATCH} and {GRAPH_BATCH2} sequences); loss −Σ_b π(b|s_q) log(ŷ_b + 1/10). Measured: joint training "
           "of both blocks from a small start does not recover the graph at this scale; without any layer-1 mask the "
           "graph is still recovered at S = 3 (not a falsifier; 10 seeds), but only 60–100% of the edges at S = 2, where stationary chains are "
           "reversible and a child is as informative as the parent (the certified claim "
           "induction.training_recovers_graph's mask falsifier, at S = 2).")))
