"""The checkers, one per kind of evidence, and the identity-claim machinery.

An identity claim is described by an :class:`IdentitySpec`: how to draw an
instance (through a :class:`Draw`, so that the same sampler yields dyadic
rationals, uniform prime-field elements or free symbols), how to build the
transformer, how to run it and the reference algorithm, both in any
arithmetic.  :func:`identity_checks` turns the spec into one check per mode:

| mode         | draws                | arithmetic              | passes when                            |
|--------------|----------------------|-------------------------|----------------------------------------|
| float64      | dyadic rationals     | Float64Bounded          | |model - ref| <= err_model + err_ref   |
| mpmath       | dyadic rationals     | Multiprecision(30/60/120)| error <= the float64 bound · u_p/u_64 |
| rational     | dyadic rationals     | Rational                | model == ref exactly                   |
| prime-field  | uniform in GF(p)     | PrimeField              | model == ref; Schwartz–Zippel bound    |
| symbolic     | free symbols         | Symbolic                | model - ref == 0 as rational functions |

The float64 tolerance is the running error bound of both computations
(:class:`constructions.arithmetic.Float64Bounded`): derived, never a magic
constant.  Dyadic draws are exact both as doubles and as rationals, so the
float64 and exact checks see the very same instance.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from transformer_proofs.constructions.arithmetic import (
    UNIT_ROUNDOFF_64,
    Arithmetic,
    ArithmeticDomainError,
    ErrArray,
    Float64Bounded,
    Multiprecision,
    PrimeField,
    Rational,
)
from transformer_proofs.verify.draws import Draw, DyadicDraw, FieldDraw, SymbolDraw  # noqa: F401  (re-exported)
from transformer_proofs.verify.registry import CheckResult, Context, Falsifier

# ---------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------


def _flat(a: Any) -> Any:
    if isinstance(a, ErrArray):
        return a.reshape(-1)
    return np.asarray(a, dtype=object if np.asarray(a).dtype == object else float).reshape(-1)


def exact_mismatches(observed: Any, expected: Any) -> list[int]:
    """Indices where two exact arrays differ."""
    o, e = _flat(observed), _flat(expected)
    if o.shape != e.shape:
        raise ValueError(f"model output shape {np.shape(observed)} != reference shape {np.shape(expected)}")
    return [i for i, (a, b) in enumerate(zip(o, e)) if not (a - b) == 0]


def bounded_comparison(observed: Any, expected: Any) -> tuple[float, float, bool]:
    """(max error, tolerance at the worst entry, passed) for float64+bound."""
    o, e = ErrArray.lift(observed), ErrArray.lift(expected)
    if o.val.shape != e.val.shape:
        raise ValueError(f"model output shape {o.val.shape} != reference shape {e.val.shape}")
    err = np.abs(o.val - e.val).ravel()
    tol = (o.err + e.err).ravel()
    if not np.all(np.isfinite(o.val)) or not np.all(np.isfinite(e.val)):
        return float("inf"), float(tol.max(initial=0.0)), False
    ratio = np.where(tol > 0, err / np.where(tol > 0, tol, 1), np.where(err > 0, np.inf, 0))
    worst = int(np.argmax(ratio)) if ratio.size else 0
    return float(err.max(initial=0.0)), float(tol[worst]) if tol.size else 0.0, bool(np.all(err <= tol))


# ---------------------------------------------------------------------------
# identity claims
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    """A mutated construction that the identity checks must reject."""

    name: str
    description: str
    apply: Callable[[Any, Any], Any]  # (model, instance) -> mutated model


@dataclass
class IdentitySpec:
    """Everything the identity checkers need to know about a claim.

    ``sample(draw, sizes)`` returns an instance; ``build(instance)`` the
    transformer; ``run(ar, model, instance)`` its output and
    ``reference(ar, instance)`` the algorithm's, both arrays of ``ar``.
    ``sizes`` maps a mode to the list of size dictionaries to test;
    ``degree(sizes)`` bounds the total degree of the identity's polynomial in
    the drawn entries (for Schwartz–Zippel)."""

    sample: Callable[[Draw, dict[str, int]], Any]
    build: Callable[[Any], Any]
    run: Callable[[Arithmetic, Any, Any], Any]
    reference: Callable[[Arithmetic, Any], Any]
    sizes: dict[str, list[dict[str, int]]]
    degree: Callable[[dict[str, int]], int] | None = None
    mutants: Sequence[Mutant] = ()
    modes: tuple[str, ...] = ("float64", "mpmath", "rational", "prime-field", "symbolic")
    not_applicable: dict[str, str] = field(default_factory=dict)  # mode -> why not
    falsify_with: str = "rational"  # the check mutants are run through

    def evaluate(self, ar: Arithmetic, inst: Any, mutant: Mutant | None = None) -> tuple[Any, Any]:
        model = self.build(inst)
        if mutant is not None:
            model = mutant.apply(model, inst)
        with ar.working_precision():
            return self.run(ar, model, inst), self.reference(ar, inst)


def _rng(ctx: Context, salt: str) -> np.random.Generator:
    # A stable per-(seed, check) stream: same seed, same instances, same report.
    return np.random.default_rng([ctx.seed, *map(ord, salt)])


def _sizes_str(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _guard(mode: str, evidence: str, fn: Callable[[], CheckResult]) -> CheckResult:
    try:
        return fn()
    except Exception as exc:  # an erring check is reported, never hidden
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return CheckResult(mode, evidence, 0, None, None, "error", tb)


def check_float64(spec: IdentitySpec, ctx: Context, mutant: Mutant | None = None, per_size: int = 20) -> CheckResult:
    ar = Float64Bounded()
    rng = _rng(ctx, "float64")
    worst_err, worst_tol, worst_ratio, count = 0.0, 0.0, -1.0, 0
    for sizes in spec.sizes["float64"]:
        for _ in range(ctx.count(per_size)):
            inst = spec.sample(DyadicDraw(rng), sizes)
            observed, expected = spec.evaluate(ar, inst, mutant)
            err, tol, ok = bounded_comparison(observed, expected)
            count += 1
            ratio = err / tol if tol > 0 else (0.0 if err == 0 else float("inf"))
            if ratio > worst_ratio:
                worst_err, worst_tol, worst_ratio = err, tol, ratio
            if not ok:
                return CheckResult("float64", "numerical", count, err, tol, "fails",
                                   f"|model - reference| = {err:.3g} exceeds the running error bound {tol:.3g} at {_sizes_str(sizes)}")
    return CheckResult("float64", "numerical", count, worst_err, worst_tol, "holds",
                       f"error and tolerance at the binding instance; largest |model - reference| / running error bound = {worst_ratio:.3g}")


def check_mpmath(spec: IdentitySpec, ctx: Context, digits: Sequence[int] = (30, 60, 120), per_size: int = 3) -> CheckResult:
    rng = _rng(ctx, "mpmath")
    bounded = Float64Bounded()
    by_digits: dict[int, float] = {d: 0.0 for d in digits}
    tol_by_digits: dict[int, float] = {d: 0.0 for d in digits}
    count = 0
    for sizes in spec.sizes.get("mpmath", spec.sizes["float64"]):
        for _ in range(ctx.count(per_size)):
            inst = spec.sample(DyadicDraw(rng), sizes)
            o64, e64 = spec.evaluate(bounded, inst)
            bound64 = float(np.max((ErrArray.lift(o64).err + ErrArray.lift(e64).err).ravel(), initial=0.0))
            count += 1
            for d in digits:
                ar = Multiprecision(d)
                observed, expected = spec.evaluate(ar, inst)
                diff = np.abs(_flat(observed) - _flat(expected))
                err = float(max(diff, default=0))
                tol = bound64 * ar.unit_roundoff / UNIT_ROUNDOFF_64
                by_digits[d] = max(by_digits[d], err)
                tol_by_digits[d] = max(tol_by_digits[d], tol)
                if err > tol:
                    return CheckResult("mpmath", "multiprecision", count, err, tol, "fails",
                                       f"at {d} digits the error {err:.3g} exceeds the scaled bound {tol:.3g}; "
                                       "an identity's error must fall with the working precision")
    top = digits[-1]
    trail = " → ".join(f"{by_digits[d]:.2g} @{d}d" for d in digits)
    return CheckResult("mpmath", "multiprecision", count, by_digits[top], tol_by_digits[top], "holds",
                       f"error falls with precision: {trail}",
                       data={"error_by_digits": {str(d): by_digits[d] for d in digits}})


def check_rational(spec: IdentitySpec, ctx: Context, mutant: Mutant | None = None, per_size: int = 4) -> CheckResult:
    ar = Rational()
    rng = _rng(ctx, "rational")
    count, bits = 0, 0
    for sizes in spec.sizes.get("rational", spec.sizes["float64"]):
        for _ in range(ctx.count(per_size)):
            inst = spec.sample(DyadicDraw(rng), sizes)
            observed, expected = spec.evaluate(ar, inst, mutant)
            count += 1
            bits = max(bits, Rational.max_bits(observed), Rational.max_bits(expected))
            bad = exact_mismatches(observed, expected)
            if bad:
                err = float(max(abs(_flat(observed)[i] - _flat(expected)[i]) for i in bad))
                return CheckResult("rational", "exact", count, err, 0.0, "fails",
                                   f"exact mismatch in {len(bad)} entries at {_sizes_str(sizes)}")
    return CheckResult("rational", "exact", count, 0.0, 0.0, "holds",
                       f"equal in exact rational arithmetic; largest numerator/denominator {bits} bits",
                       data={"max_bits": bits})


SZ_TARGET_BITS = 64  # a false identity passes with probability below 2^-64


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


def check_prime_field(spec: IdentitySpec, ctx: Context, mutant: Mutant | None = None, points: int | None = None) -> CheckResult:
    """Equality at uniform points of GF(p).  With a degree bound D, the number
    of points per size is chosen so that (D/p)^r < 2^-64 (unless ``points``
    is given, as the falsifiers do)."""
    ar = PrimeField()
    rng = _rng(ctx, "prime-field")
    count, worst_prob, worst = 0, 0.0, None
    for sizes in spec.sizes.get("prime-field", spec.sizes.get("rational", spec.sizes["float64"])):
        degree = spec.degree(sizes) if spec.degree else None
        r = points if points is not None else (schwartz_zippel_points(degree, ar.p) if degree is not None else 2)
        for _ in range(r):
            inst = spec.sample(FieldDraw(rng, ar), sizes)
            observed, expected = spec.evaluate(ar, inst, mutant)
            count += 1
            if exact_mismatches(observed, expected):
                return CheckResult("prime-field", "exact", count, None, 0.0, "fails",
                                   f"model != reference in {ar.name} at {_sizes_str(sizes)}")
        if degree is not None:
            prob = ar.schwartz_zippel(degree, r)
            if prob >= worst_prob:
                worst_prob, worst = prob, (degree, r, sizes)
    detail = f"equal at uniform points of {ar.name} ({count} in all)"
    data: dict[str, Any] = {}
    if worst is not None:
        degree, r, sizes = worst
        detail += (f"; Schwartz–Zippel: total degree <= {degree} at {_sizes_str(sizes)}, {r} independent points per "
                   f"size, P(a false identity passes) <= (D/p)^r = {worst_prob:.2g}"
                   + (" < 2^-64" if worst_prob < 2.0**-SZ_TARGET_BITS else " (NOT below 2^-64: points fixed by the caller)"))
        data = {"schwartz_zippel": worst_prob, "degree": degree, "points_per_size": r}
    else:
        detail += "; no degree bound given, so no Schwartz–Zippel probability is stated"
    return CheckResult("prime-field", "exact", count, 0.0, 0.0, "holds", detail, data=data)


BOUNDARY_REDRAWS = 3  # sample points redrawn when one lies on a ReLU cell boundary


def check_symbolic(spec: IdentitySpec, ctx: Context, mutant: Mutant | None = None) -> CheckResult:
    rng = _rng(ctx, "symbolic")
    count, cells = 0, False
    for sizes in spec.sizes["symbolic"]:
        for attempt in range(BOUNDARY_REDRAWS + 1):
            draw = SymbolDraw(rng)
            inst = spec.sample(draw, sizes)
            ar = draw.arithmetic()
            try:
                observed, expected = spec.evaluate(ar, inst, mutant)
                break
            except ArithmeticDomainError as exc:
                # the sample point fell on a ReLU cell boundary: draw another cell
                if "boundary" not in str(exc) or attempt == BOUNDARY_REDRAWS:
                    raise
        count += 1
        bad = exact_mismatches(observed, expected)
        if bad:
            residual = (_flat(observed)[bad[0]] - _flat(expected)[bad[0]]).as_expr()
            return CheckResult("symbolic", "symbolic", count, None, 0.0, "fails",
                               f"residual at {_sizes_str(sizes)}: {str(residual)[:300]}")
        cells = cells or ar.used_cells
    sizes_txt = "; ".join(_sizes_str(s) for s in spec.sizes["symbolic"])
    where = ("on the open ReLU sign cell of each drawn point" if cells else "for all inputs")
    return CheckResult("symbolic", "symbolic", count, 0.0, 0.0, "holds",
                       f"model - reference == 0 as rational functions, {where} ({sizes_txt})")


def printed_form_refuted(counterexample: str | None, restricted: IdentitySpec, ctx: Context,
                         where: str) -> CheckResult:
    """An erratum's check: the exact counterexample to the printed statement,
    and the printed form confirmed exactly (rationals) on the restricted class
    ``where`` it does hold, so the erratum is exactly that restriction."""
    if counterexample is None:
        return CheckResult("rational", "exact", 0, None, None, "fails",
                           "no counterexample found: the printed statement may hold after all")
    res = check_rational(restricted, ctx)
    if res.status != "holds":
        return CheckResult("rational", "exact", res.instances, res.max_error, 0.0, "fails",
                           f"the printed form fails even {where}: " + res.detail)
    return CheckResult("rational", "exact", 1 + res.instances, None, 0.0, "refuted",
                       f"counterexample (exact): {counterexample}; the printed form holds exactly on "
                       f"{res.instances} drawn instances {where}", data={"counterexample": counterexample})


def identity_checks(spec: IdentitySpec) -> dict[str, Callable[[Context], CheckResult]]:
    makers: dict[str, tuple[str, Callable[[Context], CheckResult]]] = {
        "float64": ("numerical", lambda ctx: check_float64(spec, ctx)),
        "mpmath": ("multiprecision", lambda ctx: check_mpmath(spec, ctx)),
        "rational": ("exact", lambda ctx: check_rational(spec, ctx)),
        "prime-field": ("exact", lambda ctx: check_prime_field(spec, ctx)),
        "symbolic": ("symbolic", lambda ctx: check_symbolic(spec, ctx)),
    }
    checks: dict[str, Callable[[Context], CheckResult]] = {}
    for mode in spec.modes:
        evidence, fn = makers[mode]
        checks[mode] = (lambda m, e, f: (lambda ctx: _guard(m, e, lambda: f(ctx))))(mode, evidence, fn)
    for mode, why in spec.not_applicable.items():
        if mode in makers:
            evidence = makers[mode][0]
            checks[mode] = (lambda m, e, w: (lambda ctx: CheckResult(m, e, 0, None, None, "skipped", w)))(mode, evidence, why)
    return checks


def falsifier_from_check(name: str, description: str, check: Callable[[Context], CheckResult]) -> Falsifier:
    """A mutant, given as a check already bound to it, is caught when that
    check reports ``fails``; an erring check is not a catch."""

    def run(ctx: Context) -> tuple[bool, str]:
        res = _guard("falsifier", "", lambda: check(ctx))
        return res.status == "fails", f"{res.mode} check: {res.status} ({res.detail[:300]})"

    return Falsifier(name, description, run)


def identity_falsifiers(spec: IdentitySpec) -> list[Falsifier]:
    """Each mutant is run through the ``falsify_with`` check; caught means the
    check reports ``fails`` (an error is not a catch)."""
    runner = {
        "rational": lambda ctx, m: check_rational(spec, ctx, m, per_size=2),
        "float64": lambda ctx, m: check_float64(spec, ctx, m, per_size=5),
        "prime-field": lambda ctx, m: check_prime_field(spec, ctx, m, points=1),
        "symbolic": lambda ctx, m: check_symbolic(spec, ctx, m),
    }[spec.falsify_with]

    def make(m: Mutant) -> Falsifier:
        def run(ctx: Context) -> tuple[bool, str]:
            res = _guard(spec.falsify_with, "", lambda: runner(Context(ctx.seed, 1.0), m))
            if res.status == "fails":
                return True, f"{spec.falsify_with}: {res.detail}"
            return False, f"{spec.falsify_with} check: {res.status} ({res.detail})"

        return Falsifier(m.name, m.description, run)

    return [make(m) for m in spec.mutants]
