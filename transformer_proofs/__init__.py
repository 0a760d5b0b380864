"""transformer-proofs: check theorems about transformers by computation.

The installed import name.  Its two halves keep the repository's layout:

- :mod:`transformer_proofs.constructions` (the folder ``constructions/``): the
  engine, the number systems, the hand-built weights;
- :mod:`transformer_proofs.verify` (the folder ``verify/``): reference
  algorithms, the claim spec and registry, the checkers, the report, the CLI.

A user's own folders named ``constructions/`` or ``verify/`` cannot shadow
them: nothing here imports those bare names.

The public API, importable from here (docs/adding-a-claim.md walks through it):

- the spec: :class:`Claim`, :class:`ClaimSpec`, :class:`Paper`,
  :class:`Provenance`, :class:`Mutant`, :class:`Erratum`, :class:`Correction`,
  :class:`Check`, :class:`CheckResult`, :class:`Context`, :class:`Evidence`,
  :class:`Batch` (a float64 check over batches of prompts);
- relations: ``EQUAL``, ``BOUND``, ``INEQUALITY``, ``RATE``, ``RANKING``
  (and their classes, for your own);
- read-outs: :func:`state_and_prediction`, :func:`prediction_only`,
  :func:`stack_state_prediction` (and the ``_batch`` forms of the first and last);
- draws: :class:`DyadicDraw`, :class:`FieldDraw`, :class:`SymbolDraw`;
- checkers: :func:`spec_checks`, :func:`spec_falsifiers`,
  :func:`counterexample_search`, :func:`falsifier_from_check`, :func:`run_mode`;
- the registry and runner: :func:`register`, :func:`all_claims`,
  :func:`select`, :func:`run_claim`;
- the engine and the number systems: :func:`forward`, :func:`read_out`,
  :class:`Transformer`, :class:`Attention`, :class:`Head`, :class:`MLP`,
  :class:`Readout`, :func:`context_mask`; :class:`Float64`,
  :class:`Float64Bounded`, :class:`Multiprecision`, :class:`Rational`,
  :class:`PrimeField`, :class:`Symbolic`, :class:`Ball`;
- regression prompts: :class:`RegressionPrompt`, :func:`draw_regression`,
  :func:`columns`, :func:`prompt`; mutation helpers: :mod:`mutants`.
"""

from transformer_proofs.constructions.arithmetic import (
    Ball,
    Float64,
    Float64Bounded,
    Multiprecision,
    PrimeField,
    Rational,
    Symbolic,
)
from transformer_proofs.constructions.engine import (
    MLP,
    Attention,
    Head,
    PromptError,
    Readout,
    Transformer,
    context_mask,
    forward,
    read_out,
)
from transformer_proofs.verify import mutants
from transformer_proofs.verify.checkers import (
    counterexample_search,
    falsifier_from_check,
    run_mode,
    spec_checks,
    spec_falsifiers,
)
from transformer_proofs.verify.draws import DyadicDraw, FieldDraw, SymbolDraw
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.prompts import RegressionPrompt, columns, draw_regression, prompt
from transformer_proofs.verify.registry import all_claims, register, select
from transformer_proofs.verify.relations import BOUND, EQUAL, INEQUALITY, RANKING, RATE, AtMost, Equal, Ranking, Verdict
from transformer_proofs.verify.runner import run_claim
from transformer_proofs.verify.spec import (
    Batch,
    Check,
    CheckResult,
    Claim,
    ClaimSpec,
    Context,
    Correction,
    Erratum,
    Mutant,
    Paper,
    Provenance,
    prediction_only,
    stack_state_prediction,
    stack_state_prediction_batch,
    state_and_prediction,
    state_and_prediction_batch,
)

__version__ = "0.2.0"

__all__ = [
    "BOUND", "EQUAL", "INEQUALITY", "MLP", "RANKING", "RATE", "AtMost", "Attention", "Ball", "Batch", "Check",
    "CheckResult",
    "Claim", "ClaimSpec", "Context", "Correction", "DyadicDraw", "Equal", "Erratum", "Evidence", "FieldDraw", "Float64",
    "Float64Bounded", "Head", "Multiprecision", "Mutant", "Paper", "PrimeField", "PromptError", "Provenance", "Ranking",
    "Rational", "Readout", "RegressionPrompt", "SymbolDraw", "Symbolic", "Transformer", "Verdict", "all_claims",
    "columns", "context_mask", "counterexample_search", "draw_regression", "falsifier_from_check", "forward",
    "mutants", "prediction_only", "prompt", "read_out", "register", "run_claim", "run_mode", "select",
    "spec_checks", "spec_falsifiers", "stack_state_prediction", "stack_state_prediction_batch",
    "state_and_prediction", "state_and_prediction_batch",
]
