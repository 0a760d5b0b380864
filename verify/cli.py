"""Command line: ``python -m verify list | run | report | compare | baseline``.

- ``list``      the claims, a line each.
- ``run``       run checks (``--claim GLOB``, ``--mode KIND``, ``--seed N``,
                ``--json``, ``--baseline FILE``); exit 0 only when no selected
                claim fails or errs and every falsifier is caught.
- ``report``    run everything and write REPORT.md, results.json, figures.
- ``compare``   gate results.json against the baseline (CI's regression gate).
- ``baseline``  write the baseline from results.json.
- ``conform``   fit an algorithm family to a model's weights (docs/conform.md).
A progress line per claim goes to stderr.

Exit codes: 0 success; 1 a claim fails or errs, a falsifier is not caught, or
the gate finds a regression; 2 bad input (a flag, a file, a baseline that
cannot be compared), said in one line on stderr before anything is computed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, NoReturn

from transformer_proofs.verify.conform import command as conform_command
from transformer_proofs.verify.gate import GateError, baseline_from, compare, validate_baseline, validate_results
from transformer_proofs.verify.parallel import default_jobs
from transformer_proofs.verify.registry import Claim, ClaimPluginError, Context, all_claims, select
from transformer_proofs.verify.report import results_document, write_report
from transformer_proofs.verify.runner import exit_code, known_modes, mode_selected, run_all

DEFAULT_OUT = Path("reports")
MAX_EFFORT = 100.0  # effort scales instance counts; 100x the default already runs for hours


class UsageError(Exception):
    """Bad input: printed as one line ``error: ...``, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        raise UsageError(f"{self.prog}: {message}")


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``, or a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


seed_arg = int_at_least(0)
jobs_arg = int_at_least(1)


def effort_arg(text: str) -> float:
    try:
        effort = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(effort) or not 0 < effort <= MAX_EFFORT:
        raise argparse.ArgumentTypeError(f"must be a finite number in (0, {MAX_EFFORT:g}], got {text}")
    return effort


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m verify", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the claims")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--claim", help="glob over claim ids, comma-separated (e.g. 'gd.*')")
        sp.add_argument("--mode", help="check name or evidence kind: float64, mpmath, rational, prime-field, "
                                       "symbolic, lemma, ball, torch; numerical, multiprecision, exact, certified")
        sp.add_argument("--seed", type=seed_arg, default=0, help="a non-negative integer (default 0)")
        sp.add_argument("--effort", type=effort_arg, default=1.0,
                        help=f"scale instance counts, in (0, {MAX_EFFORT:g}] (default 1.0)")
        sp.add_argument("--jobs", type=jobs_arg, default=None,
                        help="processes to run claims over (default: every core; 1: serial); the same results")

    run = sub.add_parser("run", help="run checks")
    common(run)
    run.add_argument("--json", action="store_true", help="print the results document on stdout")
    run.add_argument("--baseline", type=Path, help="also gate the run against this baseline")
    rep = sub.add_parser("report", help="run the claims and write the report")
    common(rep)
    rep.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="directory (default reports/); a partial report (--claim, --mode) needs one "
                          "that holds no full report")
    rep.add_argument("--site", action="store_true", help="also write the HTML catalogue (OUT/site/, not committed)")
    rep.add_argument("--latex", action="store_true", help="also write a LaTeX table of the claims (OUT/latex/)")
    rep.add_argument("--katex", type=Path, help="a KaTeX dist folder for the site (default: looked for)")
    cmp_ = sub.add_parser("compare", help="gate results against the baseline")
    cmp_.add_argument("--results", type=Path, default=DEFAULT_OUT / "results.json")
    cmp_.add_argument("--baseline", type=Path, default=DEFAULT_OUT / "baseline.json")
    base = sub.add_parser("baseline", help="write the baseline from results.json")
    base.add_argument("--results", type=Path, default=DEFAULT_OUT / "results.json")
    base.add_argument("--out", type=Path, default=DEFAULT_OUT / "baseline.json")
    conform_command.add_parser(sub)
    return p


# ---------------------------------------------------------------------------
# input and output, checked before anything is computed
# ---------------------------------------------------------------------------


def load_json(path: Path, what: str) -> Any:
    """A JSON file, or a UsageError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file ({what})") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.__class__.__name__}: {exc}") from None
    if not text.strip():
        raise UsageError(f"{path}: the {what} file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: the {what} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}); truncated or corrupt?") from None


def load_validated(path: Path, what: str) -> dict[str, Any]:
    """A results document (``what="results"``) or a baseline, read and
    checked, or a UsageError naming the file and the problem."""
    validate = validate_results if what == "results" else validate_baseline
    try:
        return validate(load_json(path, what))
    except GateError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_writable_dir(directory: Path, flag: str) -> None:
    """``directory`` is, or can be made as, a directory we can write in."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{flag} {directory}: is a file, not a directory")
    base = _nearest_existing(directory)
    if not base.is_dir():
        raise UsageError(f"{flag} {directory}: {base} is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {directory}: cannot write in {base}: {exc.strerror or exc}") from None


def check_report_out(out: Path, partial: bool) -> None:
    """The report's directory is writable; a partial report never lands on a
    full one (the committed reports/ among them)."""
    _check_writable_dir(out, "--out")
    existing = out / "results.json"
    if partial and existing.exists():
        try:
            sel = json.loads(existing.read_text(encoding="utf-8")).get("selection") or {}
        except (OSError, ValueError, AttributeError):
            sel = {}
        if not (sel.get("claim") or sel.get("mode")):
            raise UsageError(f"--out {out}: holds a full report, which a partial one (--claim/--mode) would replace; "
                             "give --out a directory of its own")


def check_file_out(out: Path) -> None:
    if out.is_dir():
        raise UsageError(f"--out {out}: is a directory, not a file")
    _check_writable_dir(out.parent, "--out")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is not what a written file should have
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_mode(mode: str | None, claims: list[Claim]) -> None:
    """Every part of ``--mode`` is a known name and the selection runs at least
    one check; a mode whose every selected check needs a missing extra is an error."""
    if not mode:
        return
    known = known_modes(all_claims())
    for part in (m.strip() for m in mode.split(",")):
        if part not in known:
            raise UsageError(f"--mode {mode}: unknown name {part!r}; known: {', '.join(sorted(known))}")
    chosen = [ch for c in claims for ch in c.checks.values() if mode_selected(ch, mode)]
    if not chosen:
        raise UsageError(f"--mode {mode}: no check of the selected claims matches it")
    if all(ch.optional for ch in chosen):
        from transformer_proofs.verify.torch_backend import lens_missing, torch_missing

        why = lens_missing() if all(ch.mode == "lens" for ch in chosen) else torch_missing()
        if why:
            raise UsageError(f"--mode {mode}: every selected check needs an optional extra that is missing: {why}")


def _gate(doc: dict[str, Any], baseline: dict[str, Any], stream: Any) -> int:
    try:
        problems = compare(doc, baseline)
    except GateError as exc:
        raise UsageError(f"cannot compare: {exc}") from None
    for p in problems:
        print(f"REGRESSION {p}", file=stream)
    print("no regressions against the baseline" if not problems else f"{len(problems)} regression(s)", file=stream)
    return 1 if problems else 0


# ---------------------------------------------------------------------------
# the commands
# ---------------------------------------------------------------------------


def _run_or_report(args: argparse.Namespace) -> int:
    try:
        claims = select(args.claim)
    except LookupError as exc:
        raise UsageError(f"--claim: {exc}") from None
    check_mode(args.mode, claims)
    selection = {"claim": args.claim, "mode": args.mode}
    baseline = None
    if args.command == "report":
        check_report_out(args.out, partial=bool(args.claim or args.mode))
    elif args.baseline is not None:
        baseline = load_validated(args.baseline, "baseline")
        for key in ("seed", "effort"):
            if getattr(args, key) != baseline[key]:
                raise UsageError(f"--baseline {args.baseline}: recorded at {key} {baseline[key]}, "
                                 f"this run is at {key} {getattr(args, key)}")
    ctx = Context(seed=args.seed, effort=args.effort)
    results = run_all(claims, ctx, mode=args.mode, jobs=default_jobs() if args.jobs is None else args.jobs)
    if not results:
        raise UsageError(f"no check of the selected claims matches --mode {args.mode!r}")
    if args.mode and all(r.status == "skipped" for r in results):
        why = next((c.detail for r in results for c in r.checks if c.detail), "")
        print(f"error: --mode {args.mode}: every selected check was skipped ({why})", file=sys.stderr)
        return 2
    code = exit_code(results)
    if args.command == "report":
        command = "python -m verify report" + (f" --seed {args.seed}" if args.seed else "")
        write_report(results, ctx, args.out, command, site=args.site, latex=args.latex, katex=args.katex,
                     selection=selection)
        print(f"wrote {args.out / 'REPORT.md'} and {args.out / 'results.json'}", file=sys.stderr)
        return code
    doc = results_document(results, ctx, selection=selection)
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True, default=str))
    if baseline is not None:
        code = _gate(doc, baseline, sys.stderr) or code
    return code


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "conform":
        return conform_command.run(args)
    if args.command == "list":
        for c in all_claims():
            tag = " [erratum]" if c.erratum else ""
            print(f"{c.id:40s} {c.kind:10s} {c.paper.short():45s} {', '.join(c.checks)}{tag}")
        return 0
    if args.command in ("run", "report"):
        return _run_or_report(args)
    if args.command == "compare":
        doc = load_validated(args.results, "results")
        return _gate(doc, load_validated(args.baseline, "baseline"), sys.stdout)
    if args.command == "baseline":
        doc = load_validated(args.results, "results")
        check_file_out(args.out)
        try:
            base = baseline_from(doc)
        except GateError as exc:
            print(f"error: {args.results}: {exc}", file=sys.stderr)
            return 1
        write_atomically(args.out, json.dumps(base, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.out}")
        return 0
    return 2  # pragma: no cover


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except (UsageError, ClaimPluginError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk that fills or a directory that vanishes while writing
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
