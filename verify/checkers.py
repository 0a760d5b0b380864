"""The generic checkers: one per kind of evidence, generic over the relation.

:func:`spec_checks` turns a :class:`~transformer_proofs.verify.spec.ClaimSpec`
into one :class:`~transformer_proofs.verify.spec.Check` per mode, and
:func:`spec_falsifiers` its mutants into falsifiers that run through *every*
mode the claim reports (a check that silently returned ``holds`` would then
be caught by the mutant it let through).

| mode        | draws               | arithmetic                 | the relation decides                    |
|-------------|---------------------|----------------------------|-----------------------------------------|
| float64     | dyadic rationals    | Float64Bounded             | with the running error bounds of both   |
| mpmath      | dyadic rationals    | Multiprecision(30/60/120)  | with the float64 bound · u_p / u_64     |
| rational    | dyadic rationals    | Rational                   | exactly                                 |
| prime-field | uniform in GF(p)    | PrimeField                 | exactly; Schwartz–Zippel bound stated   |
| symbolic    | free symbols        | Symbolic                   | as rational functions; degree measured  |
| ball        | dyadic rationals    | Ball(128 → 512 → 2048 bits)| certainly; undecided → more bits        |

Dyadic draws are exact both as doubles and as rationals, so every kind of
evidence sees the very same instance.  A check that raises is reported as
``error`` for its claim, never aborting the run.
"""

from __future__ import annotations

import traceback
from dataclasses import replace
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from transformer_proofs.constructions.arithmetic import (
    UNIT_ROUNDOFF_64,
    ArithmeticDomainError,
    Ball,
    ErrArray,
    Float64Bounded,
    Multiprecision,
    PrimeField,
    Rational,
)
from transformer_proofs.verify.draws import DyadicDraw, FieldDraw, SymbolDraw
from transformer_proofs.verify.evidence import Evidence
from transformer_proofs.verify.relations import AtMost, Equal, Verdict
from transformer_proofs.verify.spec import Check, CheckResult, ClaimSpec, Context, Falsifier, Mutant, Sizes

MODE_EVIDENCE = {
    "float64": Evidence.NUMERICAL,
    "mpmath": Evidence.MULTIPRECISION,
    "rational": Evidence.EXACT,
    "prime-field": Evidence.EXACT,
    "symbolic": Evidence.SYMBOLIC,
    "ball": Evidence.CERTIFIED,
}
# Instances per size for each mode (a spec's ``counts`` overrides); the prime
# field's count comes from Schwartz–Zippel.
DEFAULT_COUNTS = {"float64": 20, "mpmath": 3, "rational": 4, "symbolic": 1, "ball": 8}
# A mutant run through a mode is a search with a stated budget, not one lucky
# draw: the mode draws up to this many instances per size and stops at the
# first that rejects the mutant (the checkers return at the first failing
# instance), so the budget bounds the work of a caught mutant, never its luck.
FALSIFIER_BUDGET = {"float64": 40, "mpmath": 10, "rational": 6, "symbolic": 8, "ball": 20, "prime-field": 4}
FALSIFIER_COUNTS = FALSIFIER_BUDGET  # the older name
MP_DIGITS = (30, 60, 120)
BALL_PRECISIONS = (128, 512, 2048)
BOUNDARY_REDRAWS = 3  # symbolic sample points redrawn when one lies on a ReLU cell boundary
SZ_TARGET_BITS = 64


def schwartz_zippel_points(degree: int, p: int, target_bits: int = SZ_TARGET_BITS) -> int:
    """The fewest independent uniform points r with (D/p)^r < 2^-target_bits
    (decided in integers: D^r · 2^bits < p^r)."""
    if degree < 1:
        return 1
    if degree >= p:
        raise ValueError(f"degree bound {degree} >= p = {p}: Schwartz–Zippel gives no bound in this field")
    r = 1
    while degree**r * 2**target_bits >= p**r:
        r += 1
    return r


def rng_for(ctx: Context, salt: str) -> np.random.Generator:
    """A stable per-(seed, check) stream: same seed, same instances, same report."""
    return np.random.default_rng([ctx.seed, *map(ord, salt)])


def guard(mode: str, evidence: Evidence, fn: Callable[[], CheckResult]) -> CheckResult:
    """Run a check; an exception becomes an ``error`` result naming it."""
    try:
        return fn()
    except Exception as exc:  # an erring check is reported, never hidden
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return CheckResult(mode, evidence.label, 0, None, None, "error", line)


def sizes_text(sizes: Sizes) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


class _Tally:
    """What one mode saw over its instances."""

    def __init__(self) -> None:
        self.count = 0
        self.worst: Verdict | None = None
        self.worst_ratio = -1.0
        self.margin = float("inf")
        self.undecided: list[str] = []

    def add(self, v: Verdict, where: str, instances: int = 1) -> None:
        self.count += instances
        r = v.ratio
        if r is not None and r > self.worst_ratio:
            self.worst, self.worst_ratio = v, r
        if v.margin is not None:
            self.margin = min(self.margin, v.margin)
        if v.status == "undecided":
            self.undecided.append(f"{where}: {v.where}")


def _fail(mode: str, count: int, v: Verdict, sizes: Sizes, what: str = "") -> CheckResult:
    text = f"{what or 'violated'} at {sizes_text(sizes)}" + (f" ({v.where})" if v.where else "")
    if v.error is not None and v.tolerance is not None and v.tolerance > 0:
        text += f": error {v.error:.3g} > tolerance {v.tolerance:.3g}"
    elif v.error is not None:
        text += f": error {v.error:.3g}"
    return CheckResult(mode, MODE_EVIDENCE[mode].label, count, v.error, v.tolerance, "fails", text)


def _finish(mode: str, spec: ClaimSpec, t: _Tally, detail: str, data: dict[str, Any] | None = None) -> CheckResult:
    data = dict(data or {})
    status = "holds"
    if t.undecided:
        data["undecided"] = t.undecided[:10]
        detail += f"; {len(t.undecided)} instance(s) too close to call ({t.undecided[0]}), not counted as passes"
        status = "fails"
    if t.margin < float("inf"):
        detail += f"; smallest certified slack {t.margin:.3g}"
        data["min_margin"] = t.margin
    err = t.worst.error if t.worst else (0.0 if status == "holds" else None)
    tol = t.worst.tolerance if t.worst else (0.0 if status == "holds" else None)
    if t.worst is not None and t.worst_ratio >= 0:
        data["worst_ratio"] = t.worst_ratio
    return CheckResult(mode, MODE_EVIDENCE[mode].label, t.count, err, tol, status, detail, data=data)


def _count(spec: ClaimSpec, mode: str, ctx: Context, per_size: int | None) -> int:
    if per_size is not None:
        return per_size
    return ctx.count(spec.counts.get(mode, DEFAULT_COUNTS[mode]))


def check_float64(spec: ClaimSpec, ctx: Context, mutant: Mutant | None = None,
                  per_size: int | None = None) -> CheckResult:
    if spec.batch is not None:
        return check_float64_batched(spec, ctx, mutant, per_size)
    ar, rng, t = Float64Bounded(), rng_for(ctx, "float64"), _Tally()
    for sizes in spec.sizes_for("float64"):
        for k in range(_count(spec, "float64", ctx, per_size)):
            inst = spec.draw(DyadicDraw(rng), sizes)
            v = spec.relation.float64(*spec.evaluate(ar, inst, mutant))
            if v.status == "fails":
                return _fail("float64", t.count + 1, v, sizes)
            t.add(v, f"{sizes_text(sizes)} #{k}")
    ratio = f"; largest error / running error bound = {t.worst_ratio:.2g}" if t.worst_ratio >= 0 else ""
    return _finish("float64", spec, t, f"{spec.relation.words}, within the running error bounds of both sides{ratio}")


def batch_verdict(relation: Any, lhs: ErrArray, rhs: ErrArray) -> tuple[Verdict, int | None]:
    """The relation over a batch of prompts, and the prompt its verdict names
    (the worst, or the first failing one; None when it holds).

    Equal and AtMost are read entry by entry, each entry against its own
    running error bound (the sum of both sides' bounds at that entry): a
    batch holds exactly when every prompt does, and the worst ratio is the
    worst over the prompts, so no prompt hides behind another.  Any other
    relation is read prompt by prompt."""
    if isinstance(lhs, tuple) or isinstance(rhs, tuple):
        return _parts_verdict(relation, lhs, rhs)
    lhs, rhs = ErrArray.lift(lhs), ErrArray.lift(rhs)
    B = lhs.shape[0]
    if rhs.shape[0] != B:
        raise ValueError(f"model side has {B} prompts but the reference side {rhs.shape[0]}")
    if isinstance(relation, (Equal, AtMost)):
        v = _equal_float64(lhs, rhs) if type(relation) is Equal else None
        v = v or relation.float64(lhs, rhs)
        if v.status == "holds":
            return v, None
        width = max(1, int(np.prod(lhs.shape[1:])))
        entry = _entry_of(v.where)
        if entry is None:
            return v, None
        b, rest = entry // width, v.where.split(" ", 2)[2:]
        v = replace(v, where=" ".join([f"worst: prompt {b} of {B}, entry {entry % width}", *rest]))
        return v, b
    worst: Verdict | None = None
    undecided: Verdict | None = None
    for b in range(B):
        v = relation.float64(lhs[b], rhs[b])
        if v.status != "holds":
            v = replace(v, where=f"prompt {b} of {B}" + (f", {v.where}" if v.where else ""))
            if v.status == "fails":
                return v, b
            undecided = undecided or v
        elif worst is None or (v.ratio or 0.0) > (worst.ratio or 0.0):
            worst = v
    return undecided or worst or Verdict("holds", 0.0, 0.0), None


def _parts_verdict(relation: Any, lhs: Any, rhs: Any) -> tuple[Verdict, int | None]:
    """Sides given as parts (the state, the prediction): each part read on its
    own; the batch holds when every part does; the verdict of the part that
    fails (else of the largest ratio) is returned, naming the part."""
    if not (isinstance(lhs, tuple) and isinstance(rhs, tuple)) or len(lhs) != len(rhs):
        raise ValueError("model and reference sides must be given as the same number of parts")
    best: tuple[Verdict, int | None] | None = None
    undecided: tuple[Verdict, int | None] | None = None
    for k, (a, b) in enumerate(zip(lhs, rhs)):
        v, bad = batch_verdict(relation, a, b)
        v = replace(v, where=f"part {k}" + (f", {v.where}" if v.where else ""))
        if v.status == "fails":
            return v, bad
        if v.status == "undecided":
            undecided = undecided or (v, bad)
        elif best is None or (v.ratio or 0.0) > (best[0].ratio or 0.0):
            best = (v, bad)
    return undecided or best or (Verdict("holds", 0.0, 0.0), None)


def _equal_float64(lhs: ErrArray, rhs: ErrArray) -> Verdict | None:
    """:meth:`Equal.float64` in fewer passes over a large batch (the same
    verdict, error, tolerance and entry); None for a non-finite entry or a
    shape mismatch, which Equal itself reports."""
    if lhs.shape != rhs.shape or lhs.val.size == 0:
        return None
    err = np.subtract(lhs.val, rhs.val).ravel()
    np.abs(err, out=err)
    tol = np.add(lhs.err, rhs.err).ravel()  # (no scan for zero bounds: that would cost a pass of its own)
    ok = bool(np.all(err <= tol))  # False at a NaN
    if not (ok and np.isfinite(tol.max())) and not np.isfinite(err).all():
        return None  # a non-finite entry: Equal says so
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = err / tol  # x/0 = inf for x > 0; 0/0 = NaN, ...
    np.fmax(ratio, 0.0, out=ratio)  # ... a ratio of 0
    worst = int(np.argmax(ratio))
    return Verdict("holds" if ok else "fails", float(err[worst]), float(tol[worst]), where=f"entry {worst}")


def _entry_of(where: str) -> int | None:
    """The flat entry index a float64 verdict names ("entry 17 ..."), if any."""
    parts = where.split()
    if len(parts) >= 2 and parts[0] == "entry" and parts[1].isdigit():
        return int(parts[1])
    return None


def check_float64_batched(spec: ClaimSpec, ctx: Context, mutant: Mutant | None = None,
                          per_size: int | None = None) -> CheckResult:
    """The float64 check over batches of prompts (:class:`~transformer_proofs.verify.spec.Batch`).

    Per size: ``batch.batches`` batches (``per_size`` for a falsifier's
    search: a batch is one unit of its budget), each with its own shared
    draws (step sizes, W_0, ...) and ``ctx.count(batch.size)`` prompts (the
    full size in a falsifier's search); every prompt is decided on its own
    against the running error bounds of both sides at each entry."""
    batch, ar, rng, t = spec.batch, Float64Bounded(), rng_for(ctx, "float64"), _Tally()
    size = max(1, ctx.count(batch.size)) if per_size is None else batch.size
    batches = per_size if per_size is not None else batch.batches
    for sizes in spec.sizes_for("float64"):
        for k in range(batches):
            inst = batch.draw(DyadicDraw(rng), sizes, size)
            with ar.working_precision():
                lhs, rhs = batch.evaluate(spec.built, ar, inst, mutant)
            v, bad = batch_verdict(spec.relation, lhs, rhs)
            if v.status == "fails":  # the whole batch was checked; ``where`` names its worst prompt
                return _fail("float64", t.count + size, v, sizes)
            t.add(v, f"{sizes_text(sizes)} batch #{k}", instances=size)
    ratio = f"; largest error / running error bound = {t.worst_ratio:.2g}" if t.worst_ratio >= 0 else ""
    return _finish("float64", spec, t, f"{spec.relation.words}, within the running error bounds of both sides, "
                   f"prompt by prompt ({batches} batches of {size} prompts per size, each batch with its own "
                   f"shared draws){ratio}")


def check_mpmath(spec: ClaimSpec, ctx: Context, mutant: Mutant | None = None,
                 per_size: int | None = None, digits: Sequence[int] = MP_DIGITS) -> CheckResult:
    rng, bounded = rng_for(ctx, "mpmath"), Float64Bounded()
    by_digits = {d: 0.0 for d in digits}
    pair, pair_ratio = (0.0, 0.0), -1.0  # (error, tolerance) of the instance of largest ratio, at the top precision
    t = _Tally()
    for sizes in spec.sizes_for("mpmath"):
        for _ in range(_count(spec, "mpmath", ctx, per_size)):
            inst = spec.draw(DyadicDraw(rng), sizes)
            o64, e64 = spec.evaluate(bounded, inst, mutant)
            bound64 = float(np.max((ErrArray.lift(o64).err + ErrArray.lift(e64).err).ravel(), initial=0.0))
            t.count += 1
            for d in digits:
                ar = Multiprecision(d)
                tol = bound64 * ar.unit_roundoff / UNIT_ROUNDOFF_64
                v = spec.relation.multiprecision(*spec.evaluate(ar, inst, mutant), tol)
                by_digits[d] = max(by_digits[d], v.error or 0.0)
                if d == digits[-1] and v.ratio is not None and v.ratio > pair_ratio:
                    pair, pair_ratio = (v.error or 0.0, tol), v.ratio
                if v.status == "fails":
                    return _fail("mpmath", t.count, v, sizes, f"at {d} digits the error does not fall with the precision")
    trail = " → ".join(f"{by_digits[d]:.1g} @{d}d" for d in digits)
    return CheckResult("mpmath", Evidence.MULTIPRECISION.label, t.count, pair[0], pair[1], "holds",
                       f"error within the float64 bound scaled to each precision: {trail}",
                       data={"digits": list(digits)})


def check_rational(spec: ClaimSpec, ctx: Context, mutant: Mutant | None = None,
                   per_size: int | None = None) -> CheckResult:
    ar, rng, t, bits = Rational(), rng_for(ctx, "rational"), _Tally(), 0
    for sizes in spec.sizes_for("rational"):
        for k in range(_count(spec, "rational", ctx, per_size)):
            inst = spec.draw(DyadicDraw(rng), sizes)
            lhs, rhs = spec.evaluate(ar, inst, mutant)
            v = spec.relation.exact(lhs, rhs)
            if v.status == "fails":
                return _fail("rational", t.count + 1, v, sizes, "exact mismatch")
            bits = max(bits, _bits(lhs), _bits(rhs))
            t.add(v, f"{sizes_text(sizes)} #{k}")
    return _finish("rational", spec, t, f"{spec.relation.words}, in exact rational arithmetic "
                   f"(largest numerator/denominator {bits} bits)", {"max_bits": bits})


def _bits(a: Any) -> int:
    try:
        return Rational.max_bits(np.asarray(a, dtype=object))
    except (AttributeError, TypeError):
        return 0


def check_prime_field(spec: ClaimSpec, ctx: Context, mutant: Mutant | None = None,
                      per_size: int | None = None) -> CheckResult:
    """Equality at uniform points of GF(p); with the declared degree bound D
    the number of points r per size makes (D/p)^r < 2^-64."""
    ar, rng, t = PrimeField(), rng_for(ctx, "prime-field"), _Tally()
    worst: tuple[float, int, int, Sizes] | None = None
    for sizes in spec.sizes_for("prime-field"):
        if spec.degree is None and per_size is None:
            raise ValueError("a prime-field check needs the claim's degree bound (ClaimSpec.degree)")
        degree = spec.degree(sizes) if spec.degree else 0
        r = per_size if per_size is not None else schwartz_zippel_points(degree, ar.p, SZ_TARGET_BITS)
        for k in range(r):
            inst = spec.draw(FieldDraw(rng, ar), sizes)
            v = spec.relation.exact(*spec.evaluate(ar, inst, mutant))
            if v.status == "fails":
                return _fail("prime-field", t.count + 1, v, sizes, f"model != reference in {ar.name}")
            t.add(v, f"{sizes_text(sizes)} #{k}")
        if spec.degree is not None:
            prob = ar.schwartz_zippel(degree, r)
            if worst is None or prob >= worst[0]:
                worst = (prob, degree, r, sizes)
    detail = f"{spec.relation.words}, at uniform points of {ar.name} ({t.count} in all)"
    data: dict[str, Any] = {}
    if worst is not None:
        prob, degree, r, sizes = worst
        below = prob < 2.0**-SZ_TARGET_BITS
        detail += (f"; Schwartz–Zippel: total degree <= {degree} at {sizes_text(sizes)}, {r} independent points, "
                   f"P(a false identity passes) <= (D/p)^r = {prob:.1g}" + (" < 2^-64" if below else ""))
        data = {"schwartz_zippel": prob, "degree": degree, "points_per_size": r}
    return _finish("prime-field", spec, t, detail, data)


def _total_degree(p: Any) -> int:
    if p is None:
        return 0
    if hasattr(p, "total_degree") and hasattr(p, "is_zero"):  # flint's fmpq_mpoly
        return 0 if p.is_zero() else int(p.total_degree())
    monoms = p.monoms() if hasattr(p, "monoms") else []
    return max((sum(m) for m in monoms), default=0)


def _numer(e: Any) -> Any:
    """The numerator of a rational function; a polynomial is its own."""
    return getattr(e, "numer", e)


def _denom(e: Any) -> Any:
    return getattr(e, "denom", None)  # None: a polynomial, denominator 1 (degree 0)


def measured_degree(lhs: Any, rhs: Any) -> int:
    """The total degree of the polynomial whose vanishing the identity lhs = rhs
    is: numer(lhs)·denom(rhs) − numer(rhs)·denom(lhs), entry by entry (a
    bound by the degrees of the two products)."""
    top = 0
    for a, b in zip(np.asarray(lhs, dtype=object).ravel(), np.asarray(rhs, dtype=object).ravel()):
        na, da, nb, db = _numer(a), _denom(a), _numer(b), _denom(b)
        top = max(top, _total_degree(na) + _total_degree(db), _total_degree(nb) + _total_degree(da))
    return top


def check_symbolic(spec: ClaimSpec, ctx: Context, mutant: Mutant | None = None,
                   per_size: int | None = None) -> CheckResult:
    """The relation as rational functions in free symbols; the degree the
    claim declares for Schwartz–Zippel is checked against the measured one."""
    rng, t, cells = rng_for(ctx, "symbolic"), _Tally(), False
    degrees: list[str] = []
    for sizes in spec.sizes_for("symbolic"):
        for k in range(_count(spec, "symbolic", ctx, per_size)):
            for attempt in range(BOUNDARY_REDRAWS + 1):
                draw = SymbolDraw(rng)
                inst = spec.draw(draw, sizes)
                ar = draw.arithmetic()
                try:
                    lhs, rhs = spec.evaluate(ar, inst, mutant)
                    break
                except ArithmeticDomainError as exc:  # a sample point on a ReLU cell boundary: another cell
                    if "boundary" not in str(exc) or attempt == BOUNDARY_REDRAWS:
                        raise
            v = spec.relation.exact(lhs, rhs)
            if v.status == "fails":
                return _fail("symbolic", t.count + 1, v, sizes, "not identically equal")
            if spec.degree is not None and mutant is None and "prime-field" in spec.modes:
                got, declared = measured_degree(lhs, rhs), spec.degree(sizes)
                if got > declared:
                    return CheckResult("symbolic", Evidence.SYMBOLIC.label, t.count + 1, None, None, "fails",
                                       f"the declared Schwartz–Zippel degree {declared} at {sizes_text(sizes)} is "
                                       f"below the measured degree {got}: the prime-field probability would be wrong")
                degrees.append(f"{got} <= {declared}")
            cells = cells or ar.used_cells
            t.add(v, f"{sizes_text(sizes)} #{k}")
    where = "on the open ReLU sign cell of each drawn point" if cells else "for all inputs of these sizes"
    sizes_txt = "; ".join(sizes_text(s) for s in spec.sizes_for("symbolic"))
    detail = f"{spec.relation.words}, as rational functions, {where} ({sizes_txt})"
    if degrees:
        detail += f"; measured degree vs declared: {', '.join(degrees)}"
    return _finish("symbolic", spec, t, detail)


def check_ball(spec: ClaimSpec, ctx: Context, mutant: Mutant | None = None,
               per_size: int | None = None) -> CheckResult:
    """Ball arithmetic: each instance decided certainly at 128 bits, or at 512
    or 2048 when the balls overlap; what stays undecided is reported."""
    rng, t, raised = rng_for(ctx, "ball"), _Tally(), 0
    for sizes in spec.sizes_for("ball"):
        for k in range(_count(spec, "ball", ctx, per_size)):
            inst = spec.draw(DyadicDraw(rng), sizes)
            for j, prec in enumerate(BALL_PRECISIONS):
                v = spec.relation.ball(*spec.evaluate(Ball(prec), inst, mutant))
                if v.status != "undecided":
                    raised += j > 0
                    break
            if v.status == "fails":
                return _fail("ball", t.count + 1, v, sizes, "certainly violated")
            t.add(v, f"{sizes_text(sizes)} #{k}")
    more = f"; {raised} needed more than {BALL_PRECISIONS[0]} bits" if raised else ""
    return _finish("ball", spec, t, f"{spec.relation.words}, certified with arb balls{more}")


CHECKERS: dict[str, Callable[..., CheckResult]] = {
    "float64": check_float64,
    "mpmath": check_mpmath,
    "rational": check_rational,
    "prime-field": check_prime_field,
    "symbolic": check_symbolic,
    "ball": check_ball,
}


def run_mode(spec: ClaimSpec, mode: str, ctx: Context, mutant: Mutant | None = None,
             per_size: int | None = None) -> CheckResult:
    """One mode's check of ``spec`` (a mutant's, if given), guarded."""
    return guard(mode, MODE_EVIDENCE[mode], lambda: CHECKERS[mode](spec, ctx, mutant, per_size))


def spec_checks(spec: ClaimSpec) -> dict[str, Check]:
    """One :class:`Check` per mode of ``spec`` (and a ``skipped`` one, with its
    reason, for each kind that cannot apply)."""
    checks: dict[str, Check] = {}
    for mode in spec.modes:
        if mode not in CHECKERS:
            raise ValueError(f"unknown check mode {mode!r}; the generic ones are {', '.join(CHECKERS)}")
        checks[mode] = Check(mode, MODE_EVIDENCE[mode], (lambda m: lambda ctx: run_mode(spec, m, ctx))(mode))
    for mode, why in spec.not_applicable.items():
        ev = MODE_EVIDENCE[mode]
        checks[mode] = Check(mode, ev, (lambda m, e, w: lambda ctx: CheckResult(m, e.label, 0, None, None,
                                                                                 "skipped", w))(mode, ev, why))
    return checks


def mutant_falsifier(spec: ClaimSpec, mutant: Mutant, modes: Iterable[str] | None = None) -> Falsifier:
    """The mutant is caught when *every* mode it is run through reports
    ``fails`` (an error is not a catch), each mode searching up to
    ``FALSIFIER_BUDGET[mode]`` instances per size."""
    chosen = tuple(mutant.modes or modes or spec.modes)

    def run(ctx: Context) -> tuple[bool, str]:
        once = Context(ctx.seed, 1.0)
        parts, caught = [], True
        selected = [m for m in chosen if _selected(m, ctx.mode)] or list(chosen)
        for mode in selected:
            res = run_mode(spec, mode, once, mutant, per_size=FALSIFIER_BUDGET[mode])
            ok = res.status == "fails"
            caught = caught and ok
            parts.append(f"{mode}: {'caught' if ok else res.status.upper()}"
                         + ("" if ok else f" ({res.detail[:200]}; searched {FALSIFIER_BUDGET[mode]} per size)"))
        if mutant.modes:
            parts.append(f"not run through the other kinds: {mutant.why}")
        return caught, "; ".join(parts)

    return Falsifier(mutant.name, mutant.description, run)


def _selected(mode: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    keys = {w.strip() for w in wanted.split(",")}
    ev = MODE_EVIDENCE[mode]
    return mode in keys or bool(keys & ({ev.label} | set(ev.selectors)))


def spec_falsifiers(spec: ClaimSpec, modes: Iterable[str] | None = None) -> list[Falsifier]:
    """Each mutant of ``spec`` as a falsifier run through every mode."""
    return [mutant_falsifier(spec, m, modes) for m in spec.mutants]


def falsifier_from_check(name: str, description: str, check: Callable[[Context], CheckResult]) -> Falsifier:
    """A mutant given as a check already bound to it: caught when that check
    reports ``fails``; an erring check is not a catch."""

    def run(ctx: Context) -> tuple[bool, str]:
        res = guard("falsifier", Evidence.NUMERICAL, lambda: check(ctx))
        return res.status == "fails", f"{res.mode} check: {res.status} ({res.detail[:300]})"

    return Falsifier(name, description, run)


# ---------------------------------------------------------------------------
# errata: the counterexample computed, the printed form confirmed where it holds
# ---------------------------------------------------------------------------


def counterexample_search(candidates: Callable[[], Iterable[Any]], printed: ClaimSpec,
                          describe: Callable[[Any, Any, Any], str], mode: str = "rational",
                          holds_on: ClaimSpec | None = None, holds_where: str = "",
                          budget: str = "", correction: bool = False) -> Check:
    """An erratum's check.  ``candidates()`` yields instances in a stated
    order (smallest first, within ``budget``); the first on which ``printed``
    (the construction against the *printed* statement) fails in ``mode`` is
    the counterexample, rendered by ``describe(instance, model side, printed
    side)`` into ``data["counterexample"]``.  With ``holds_on``, the printed
    form is then confirmed exactly on the class where it does hold, so the
    erratum is exactly that restriction.  Status ``refuted`` when both
    succeed; ``fails`` when no counterexample is found (the printed statement
    may hold after all).

    With ``correction=True`` the refuted form is an earlier statement of ours
    (a :class:`~transformer_proofs.verify.spec.Correction` of the claim that
    holds): the check then reports ``holds`` when the counterexample is
    confirmed, since the claim it belongs to is the corrected one."""
    ev = MODE_EVIDENCE[mode]
    ar_of = {"rational": Rational, "ball": lambda: Ball(BALL_PRECISIONS[-1])}

    def run(ctx: Context) -> CheckResult:
        ar = ar_of[mode]()
        tried = 0
        found = None
        for inst in candidates():
            tried += 1
            lhs, rhs = printed.evaluate(ar, inst)
            v = printed.relation.exact(lhs, rhs) if mode == "rational" else printed.relation.ball(lhs, rhs)
            if v.status == "fails":
                found = (inst, lhs, rhs)
                break
        if found is None:
            return CheckResult(mode, ev.label, tried, None, None, "fails",
                               f"no counterexample among {tried} candidates ({budget}): the printed statement may hold")
        text = describe(*found)
        detail = f"counterexample ({ev.label}, candidate {tried} of the search: {budget}): {text}"
        count = tried
        if holds_on is not None:
            res = run_mode(holds_on, "rational", ctx)
            if res.status != "holds":
                return CheckResult(mode, ev.label, tried + res.instances, None, None, "fails",
                                   f"the printed form fails even {holds_where}: {res.detail}")
            detail += f"; the printed form holds exactly on {res.instances} drawn instances {holds_where}"
            count += res.instances
        if correction:
            detail = "our earlier form is refuted: " + detail
        return CheckResult(mode, ev.label, count, None, None, "holds" if correction else "refuted", detail,
                           data={"counterexample": text, "searched": tried})

    return Check(mode, ev, lambda ctx: guard(mode, ev, lambda: run(ctx)))
