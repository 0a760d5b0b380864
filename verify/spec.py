"""The claim spec: one typed, declarative description for every kind of claim.

A claim (:class:`Claim`) is

- an id ``family.name`` (stable: reports and the baseline key on it), the
  :class:`Paper`, one sentence of statement;
- its :class:`Provenance`: where the paper prints the statement and how we
  know it (``printed``, ``secondary``, ``ours``, ``recalled``);
- a :class:`~transformer_proofs.verify.relations.Relation` (equal, a bound, an
  inequality, a rate, a ranking, empirical);
- its checks, one :class:`Check` per kind of evidence, most of them made by
  :func:`transformer_proofs.verify.checkers.spec_checks` from a
  :class:`ClaimSpec` (how to draw an instance, build the transformer, form the
  prompt, read out, and compute the reference);
- its falsifiers (mutants every check must reject);
- for a printed statement shown false, an :class:`Erratum` whose
  counterexample is *computed* by its check (never typed by hand); for a
  statement of ours that we had to correct, a :class:`Correction`.

Everything here is public API: ``from transformer_proofs import Claim, ClaimSpec, ...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Sequence, TypeVar

import numpy as np
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.relations import EQUAL, Relation

PROVENANCE_KINDS = ("printed", "secondary", "ours", "recalled")
STATUSES = ("holds", "refuted", "fails", "error", "skipped")
CLAIM_KINDS = ("identity", "bound", "inequality", "rate", "ranking", "empirical", "stationary")

Sizes = dict[str, int]
I = TypeVar("I")  # an instance: a typed dataclass per family


@dataclass(frozen=True)
class Paper:
    authors: str
    year: int
    title: str
    arxiv: str
    where: str = ""  # theorem / proposition / lemma / equation (the claim's provenance says it precisely)

    def cite(self) -> str:
        tail = f", {self.where}" if self.where else ""
        return f"{self.authors} ({self.year}), \"{self.title}\", arXiv:{self.arxiv}{tail}"

    def short(self) -> str:
        first = self.authors.split(",")[0].split(" and ")[0].strip()
        surname = " ".join(w for w in first.split() if not w.endswith("."))  # drop initials
        etal = " et al." if ("," in self.authors or " and " in self.authors) else ""
        return f"{surname}{etal} {self.year} (arXiv:{self.arxiv})"


@dataclass(frozen=True)
class Provenance:
    """Where the paper prints a statement, and how we know it.

    - ``printed``: read in the paper's own text (``where`` cites the theorem,
      lemma or equation; ``quote`` gives its words or formula);
    - ``secondary``: read through a third-party transcription (``read_in`` says which);
    - ``ours``: our derivation, paraphrase or strengthening: not the paper's;
    - ``recalled``: from memory of the paper, not re-read.
    """

    kind: str
    where: str
    quote: str | None = None
    read_in: str = ""  # the text we read it in (the paper's full text, its HTML, the authors' code)
    note: str = ""  # how our claim relates to the printed statement

    def __post_init__(self) -> None:
        if self.kind not in PROVENANCE_KINDS:
            raise ValueError(f"provenance kind {self.kind!r} is not one of {', '.join(PROVENANCE_KINDS)}")
        if not self.where:
            raise ValueError("a provenance names where the statement is (theorem, equation, section), "
                             "or for one of ours what it is about")

    @property
    def is_papers(self) -> bool:
        """Can a failure of this statement be the paper's erratum?"""
        return self.kind in ("printed", "secondary")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "where": self.where}
        if self.quote:
            out["quote"] = self.quote
        if self.read_in:
            out["read_in"] = self.read_in
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Context:
    """What a check is given: the seed and how hard to try."""

    seed: int = 0
    effort: float = 1.0  # scales instance counts (0.2 for quick runs, 5 for long ones)
    mode: str | None = None  # the run's --mode: falsifiers go through the selected kinds only

    def count(self, base: int) -> int:
        return max(1, int(round(base * self.effort)))


@dataclass
class CheckResult:
    """The outcome of one check of one claim."""

    mode: str  # the check's key: float64, mpmath, rational, prime-field, symbolic, ball, lemma, torch, ...
    evidence: str  # an Evidence label
    instances: int
    max_error: float | None
    tolerance: float | None
    status: str  # holds, fails, refuted, error, skipped
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "evidence": self.evidence,
            "instances": self.instances,
            "max_error": self.max_error,
            "tolerance": self.tolerance,
            "status": self.status,
            "detail": self.detail,
        }
        if self.data:
            out["data"] = self.data
        return out


@dataclass(frozen=True)
class Check:
    """One check of a claim: its key, its kind of evidence, and what runs it.

    Made by the generic checkers; a claim of an unusual shape may still give
    its own ``run``, which must return a :class:`CheckResult` of ``evidence``."""

    mode: str
    evidence: Evidence
    run: Callable[[Context], CheckResult]
    optional: bool = False  # needs an extra (torch, TransformerLens): skipped, with the reason, without it

    def __call__(self, ctx: Context) -> CheckResult:
        return self.run(ctx)


@dataclass(frozen=True)
class Mutant:
    """A mutated construction that every check of the claim must reject.

    ``apply(model, instance)`` returns the mutated transformer.  ``modes``
    restricts the checks it is run through (with ``why`` saying why the other
    kinds cannot see it); by default it is run through every kind of evidence
    the claim reports."""

    name: str
    description: str
    apply: Callable[[Any, Any], Any]
    modes: tuple[str, ...] | None = None
    why: str = ""


@dataclass(frozen=True)
class Falsifier:
    """A mutant, or any other way the claim's checks must be shown to fail;
    ``run`` returns (caught, by what)."""

    name: str
    description: str
    run: Callable[[Context], tuple[bool, str]]


@dataclass(frozen=True)
class Erratum:
    """A printed statement shown false.  Its counterexample is computed by the
    claim's check (``CheckResult.data["counterexample"]``) and rendered into the
    report; ``scope`` says why the counterexample lies inside the paper's own
    scope; ``correction`` the smallest correction that makes it hold."""

    correction: str
    corrected_claim: str  # id of the corrected claim
    scope: str = ""
    authors_code: str = ""  # what the authors' code does, where it bears on the erratum
    counterexample: str | None = None  # legacy: a hand-typed copy (to be removed as families move to the spec)

    def to_json(self, counterexample: str | None = None) -> dict[str, Any]:
        out = {"counterexample": counterexample or self.counterexample, "correction": self.correction,
               "corrected_claim": self.corrected_claim, "scope": self.scope}
        if self.authors_code:
            out["authors_code"] = self.authors_code
        return out


@dataclass(frozen=True)
class Correction:
    """A statement of ours (not the paper's) that we had to correct: the
    earlier form, the check that computes its counterexample, and why."""

    earlier: str
    check: str  # the key of the check whose data["counterexample"] refutes the earlier form
    why: str

    def to_json(self, counterexample: str | None) -> dict[str, Any]:
        return {"earlier": self.earlier, "counterexample": counterexample, "why": self.why}


@dataclass(frozen=True)
class Batch(Generic[I]):
    """How the float64 check may draw and check many prompts at once (optional).

    - ``draw(draw, sizes, B)`` one *batch instance*: the claim's own instance
      type whose prompt fields hold B prompts as float64 arrays with a leading
      batch axis (``draw`` is a :class:`~transformer_proofs.verify.draws.DyadicDraw`:
      ``draw.reals`` gives the same dyadic values as ``draw.real``), and whose
      other fields (step sizes, W_0, ...) are drawn once for the batch, so
      ``build`` and the mutants take it as they take one instance;
    - ``prompt(ar, batch)`` the (B, D, N) input; ``readout(ar, model, state,
      batch)`` and ``reference(ar, batch)`` arrays of shape (B, ...), or
      tuples of such parts compared part by part, entry by entry the
      one-instance read-out and reference of each prompt (so the relation,
      read entry by entry against each entry's own running error bound,
      decides every prompt on its own);
    - ``size`` prompts per batch at effort 1 (``--effort`` scales it) and
      ``batches`` batches per size (each with its own shared draws); a
      falsifier's search draws up to its budget of batches per size.
    """

    draw: Callable[[Any, Sizes, int], I]
    prompt: Callable[[Any, I], Any]
    reference: Callable[[Any, I], Any]
    readout: Callable[[Any, Any, Any, I], Any] | None = None
    size: int = 512
    batches: int = 8

    def evaluate(self, built: Callable[[I, "Mutant | None"], Any], ar: Any, batch: I,
                 mutant: "Mutant | None" = None) -> tuple[Any, Any]:
        """(model side, reference side) of a batch in ``ar``, each (B, ...);
        ``built`` is the spec's :meth:`ClaimSpec.built`."""
        from transformer_proofs.constructions.engine import forward

        model = built(batch, mutant)
        state = forward(ar, model, self.prompt(ar, batch))
        return (state if self.readout is None else self.readout(ar, model, state, batch)), self.reference(ar, batch)


@dataclass
class ClaimSpec(Generic[I]):
    """Everything the generic checkers need to know about a claim that
    compares a transformer with a reference.

    - ``draw(draw, sizes)`` returns an instance (``draw`` yields dyadic
      rationals, uniform prime-field elements or free symbols: the same
      sampler serves every kind of evidence);
    - ``build(instance)`` the transformer; ``prompt(ar, instance)`` its input;
    - ``readout(ar, model, state, instance)`` what is compared (the prediction,
      or the whole state and the prediction: :func:`state_and_prediction`):
      part of the claim, so a wrong read-out is caught;
    - ``reference(ar, instance)`` the algorithm's value;
    - ``run(ar, model, instance)``, if given, replaces forward + read-out
      (a construction that is not a plain forward pass);
    - ``sizes`` maps a check key to the list of sizes it tests (``float64`` is
      the default for keys without their own list);
    - ``degree(sizes)`` bounds the total degree of the model-minus-reference
      polynomial in the drawn entries (Schwartz–Zippel); the symbolic check
      measures the degree and fails the claim if the declared one is smaller;
    - ``modes`` the checks to make, ``not_applicable`` the kinds that cannot
      apply and why (reported as skipped);
    - ``counts`` instances per size for a check key (the checkers' defaults
      otherwise);
    - ``batch``, if given, lets the float64 check draw and check prompts in
      batches (:class:`Batch`); every other check draws one instance at a time.
    """

    draw: Callable[[Any, Sizes], I]
    build: Callable[[I], Any]
    reference: Callable[[Any, I], Any]
    sizes: dict[str, list[Sizes]]
    prompt: Callable[[Any, I], Any] | None = None
    readout: Callable[[Any, Any, Any, I], Any] | None = None
    run: Callable[[Any, Any, I], Any] | None = None
    relation: Relation = EQUAL
    degree: Callable[[Sizes], int] | None = None
    mutants: Sequence[Mutant] = ()
    modes: tuple[str, ...] = ("float64", "mpmath", "rational", "prime-field", "symbolic")
    not_applicable: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    exact_draws: bool = True  # float64 draws are dyadic (exact doubles), so every kind sees the same instance
    batch: Batch[I] | None = None

    def __post_init__(self) -> None:
        if self.run is None and self.prompt is None:
            raise ValueError("a ClaimSpec needs a prompt (or a run that replaces forward + read-out)")

    @property
    def sample(self) -> Callable[[Any, Sizes], I]:
        """The draw, under the name the library (torch) checks use."""
        return self.draw

    def sizes_for(self, mode: str) -> list[Sizes]:
        if mode in self.sizes:
            return self.sizes[mode]
        if mode == "prime-field" and "rational" in self.sizes:
            return self.sizes["rational"]
        return self.sizes["float64"]

    def model_side(self, ar: Any, model: Any, inst: I) -> Any:
        if self.run is not None:
            return self.run(ar, model, inst)
        from transformer_proofs.constructions.engine import forward

        state = forward(ar, model, self.prompt(ar, inst))
        return state if self.readout is None else self.readout(ar, model, state, inst)

    def built(self, inst: I, mutant: Mutant | None = None) -> Any:
        """The model of ``inst`` (with ``mutant`` applied), built once for a run
        of evaluations of the same instance: the checkers evaluate one instance
        in several number systems (float64 and mpmath at three precisions,
        balls at rising precision), and a model is a pure function of its
        instance.  Only the last instance is remembered (held, so never
        confused with a new one)."""
        last = self.__dict__.get("_last_built")
        if last is not None and last[0] is inst and last[1] is mutant:
            return last[2]
        model = self.build(inst)
        if mutant is not None:
            model = mutant.apply(model, inst)
        self.__dict__["_last_built"] = (inst, mutant, model)
        return model

    def evaluate(self, ar: Any, inst: I, mutant: Mutant | None = None) -> tuple[Any, Any]:
        """(model side, reference side) of one instance in ``ar``."""
        model = self.built(inst, mutant)
        with ar.working_precision():
            return self.model_side(ar, model, inst), self.reference(ar, inst)


def stack_state_prediction(ar: Any, state: Any, prediction: Any) -> Any:
    """One column: the whole state (column-major: token by token) and, below
    it, the prediction.  The reference side of a claim that compares both."""
    return ar.concat([_column(ar.T(state)), _column(prediction)], axis=0)


def _column(a: Any) -> Any:
    """``a`` as one column, whether an ErrArray, an array or a 0-d scalar of an exact system."""
    from transformer_proofs.constructions.arithmetic import ErrArray

    if isinstance(a, ErrArray):
        return a.reshape(-1, 1)
    arr = np.asarray(a)
    return (arr if arr.dtype != object else np.asarray(a, dtype=object)).reshape(-1, 1)


def stack_state_prediction_batch(ar: Any, state: Any, prediction: Any) -> tuple[Any, Any]:
    """The state and prediction of each prompt of a batch, as two parts
    ((B, D·N) row-major and (B, k)) that the float64 check compares part by
    part: the entries of :func:`stack_state_prediction`, without copying the
    states into one array."""
    B = state.shape[0]
    return state.reshape(B, -1), prediction.reshape(B, -1)


def state_and_prediction_batch(ar: Any, model: Any, state: Any, batch: Any) -> Any:
    """:func:`state_and_prediction` of each prompt of a batch (a :class:`Batch` read-out)."""
    from transformer_proofs.constructions.engine import read_out

    return stack_state_prediction_batch(ar, state, read_out(ar, model, state))


def state_and_prediction(ar: Any, model: Any, state: Any, inst: Any) -> Any:
    """A ClaimSpec read-out comparing the final state *and* the model's own
    read-out (so a flipped read-out sign or a wrong read-out coordinate is caught)."""
    from transformer_proofs.constructions.engine import read_out

    return stack_state_prediction(ar, state, read_out(ar, model, state))


def prediction_only(ar: Any, model: Any, state: Any, inst: Any) -> Any:
    """A ClaimSpec read-out comparing the model's prediction alone."""
    from transformer_proofs.constructions.engine import read_out

    return _column(read_out(ar, model, state))


@dataclass
class Claim:
    id: str
    paper: Paper
    statement: str
    kind: str  # identity, bound, inequality, rate, ranking, empirical, stationary
    checks: dict[str, Check]
    falsifiers: list[Falsifier] = field(default_factory=list)
    erratum: Erratum | None = None
    notes: str = ""  # what the checks do and do not show, for the report
    # figure(ctx, outdir) writes an image (matplotlib is optional: return None
    # without it) and returns (file name, caption); table(ctx) extra markdown.
    figure: Callable[[Context, Any], tuple[str, str] | None] | None = None
    table: Callable[[Context], str] | None = None
    provenance: Provenance | None = None
    relation: Relation = EQUAL
    correction: Correction | None = None
    trust: tuple[str, ...] = ()  # what is proved by what, and what is assumed or only read (the trust inventory)
    source: str = "transformer-proofs"  # the distribution that registered it

    def __post_init__(self) -> None:
        self.checks = {name: _as_check(name, chk) for name, chk in self.checks.items()}
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"claim {self.id}: kind {self.kind!r} is not one of {', '.join(CLAIM_KINDS)}")
        if "." not in self.id:
            raise ValueError(f"claim id {self.id!r} must be 'family.name'")
        if self.erratum is not None and self.provenance is not None and not self.provenance.is_papers:
            raise ValueError(f"claim {self.id}: an erratum needs a printed or secondary statement of the paper, "
                             f"not a {self.provenance.kind!r} one (register a Correction of ours instead)")
        if self.erratum is not None and self.erratum.corrected_claim == self.id:
            raise ValueError(f"erratum {self.id!r} cannot be its own correction")

    @property
    def family(self) -> str:
        return self.id.split(".")[0]


_LEGACY_EVIDENCE = {
    "float64": Evidence.NUMERICAL, "mpmath": Evidence.MULTIPRECISION, "rational": Evidence.EXACT,
    "prime-field": Evidence.EXACT, "symbolic": Evidence.SYMBOLIC, "lemma": Evidence.BLOCK_LEMMA,
    "symbolic-lemma": Evidence.SYMBOLIC, "ball": Evidence.CERTIFIED, "certified": Evidence.CERTIFIED,
    "torch": Evidence.LIBRARY, "lens": Evidence.LIBRARY, "empirical": Evidence.EMPIRICAL,
}


def _as_check(name: str, chk: Any) -> Check:
    """A plain callable (a check not yet declared through the spec) becomes a
    Check whose evidence is read from its key."""
    if isinstance(chk, Check):
        return chk
    evidence = _LEGACY_EVIDENCE.get(name.split(" ")[0], Evidence.NUMERICAL)
    optional = name in ("torch", "lens")
    return Check(name, evidence, chk, optional=optional)
