"""Command line: ``python -m verify list | run | report | compare | baseline``.

- ``list``      the claims, a line each.
- ``run``       run checks (``--claim GLOB``, ``--mode KIND``, ``--seed N``,
                ``--json``, ``--baseline FILE``); exit 0 only when no selected
                claim fails or errs and every falsifier is caught.
- ``report``    run everything and write REPORT.md, results.json, figures.
- ``compare``   compare results.json with the baseline (CI's regression gate).
- ``baseline``  write the baseline from results.json.
- ``conform``   fit an algorithm family to a model's weights (docs/conform.md).
A progress line per claim goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from transformer_proofs.verify.conform import command as conform_command
from transformer_proofs.verify.parallel import default_jobs
from transformer_proofs.verify.registry import Context, all_claims, select
from transformer_proofs.verify.report import baseline_from, compare_with_baseline, results_document, write_report
from transformer_proofs.verify.runner import exit_code, run_all

DEFAULT_OUT = Path("reports")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m verify", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the claims")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--claim", help="glob over claim ids, comma-separated (e.g. 'gd.*')")
        sp.add_argument("--mode", help="check name or evidence kind: float64, mpmath, rational, prime-field, "
                                       "symbolic, lemma, ball, torch; numerical, multiprecision, exact, certified")
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--effort", type=float, default=1.0, help="scale instance counts (default 1.0)")
        sp.add_argument("--jobs", type=int, default=None,
                        help="processes to run claims over (default: every core; 1: serial); same results")

    run = sub.add_parser("run", help="run checks")
    common(run)
    run.add_argument("--json", action="store_true", help="print the results document on stdout")
    run.add_argument("--baseline", type=Path, help="also compare with this baseline")
    rep = sub.add_parser("report", help="run every claim and write the report")
    common(rep)
    rep.add_argument("--out", type=Path, default=DEFAULT_OUT)
    rep.add_argument("--site", action="store_true", help="also write the HTML catalogue (OUT/site/, not committed)")
    rep.add_argument("--latex", action="store_true", help="also write a LaTeX table of the claims (OUT/latex/)")
    rep.add_argument("--katex", type=Path, help="a KaTeX dist folder for the site (default: looked for)")
    cmp_ = sub.add_parser("compare", help="compare results with the baseline")
    cmp_.add_argument("--results", type=Path, default=DEFAULT_OUT / "results.json")
    cmp_.add_argument("--baseline", type=Path, default=DEFAULT_OUT / "baseline.json")
    base = sub.add_parser("baseline", help="write the baseline from results.json")
    base.add_argument("--results", type=Path, default=DEFAULT_OUT / "results.json")
    base.add_argument("--out", type=Path, default=DEFAULT_OUT / "baseline.json")
    conform_command.add_parser(sub)
    return p


def _check_effort(effort: float) -> None:
    if not effort > 0:
        raise SystemExit(f"--effort must be positive, got {effort}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "conform":
        return conform_command.run(args)
    if args.command == "list":
        for c in all_claims():
            tag = " [erratum]" if c.erratum else ""
            print(f"{c.id:40s} {c.kind:10s} {c.paper.short():45s} {', '.join(c.checks)}{tag}")
        return 0
    if args.command in ("run", "report"):
        _check_effort(args.effort)
        try:
            claims = select(args.claim)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        ctx = Context(seed=args.seed, effort=args.effort)
        if args.jobs is not None and args.jobs < 1:
            raise SystemExit(f"--jobs must be at least 1, got {args.jobs}")
        results = run_all(claims, ctx, mode=args.mode, jobs=default_jobs() if args.jobs is None else args.jobs)
        if args.mode and not results:
            print(f"error: no check of the selected claims matches --mode {args.mode!r}", file=sys.stderr)
            return 2
        code = exit_code(results)
        if args.command == "report":
            command = "python -m verify report" + (f" --seed {args.seed}" if args.seed else "")
            write_report(results, ctx, args.out, command, site=args.site, latex=args.latex, katex=args.katex)
            print(f"wrote {args.out / 'REPORT.md'} and {args.out / 'results.json'}", file=sys.stderr)
        else:
            doc = results_document(results, ctx)
            if args.json:
                print(json.dumps(doc, indent=2, sort_keys=True, default=str))
            if args.baseline:
                problems = compare_with_baseline(doc, json.loads(args.baseline.read_text()))
                for p in problems:
                    print(f"REGRESSION {p}", file=sys.stderr)
                code = code or (1 if problems else 0)
        return code
    if args.command == "compare":
        doc = json.loads(args.results.read_text())
        problems = compare_with_baseline(doc, json.loads(args.baseline.read_text()))
        for p in problems:
            print(f"REGRESSION {p}")
        print("no regressions against the baseline" if not problems else f"{len(problems)} regression(s)")
        return 1 if problems else 0
    if args.command == "baseline":
        doc = json.loads(args.results.read_text())
        args.out.write_text(json.dumps(baseline_from(doc), indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.out}")
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
