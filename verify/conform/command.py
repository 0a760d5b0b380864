"""``python -m verify conform WEIGHTS --against TARGET [--json]``.

Exit 0 when the model conforms exactly, 1 when it departs (the report says
where), 2 on bad input (one line on stderr naming the problem)."""

from __future__ import annotations

import argparse
import json
import sys

from transformer_proofs.constructions.engine import PromptError
from transformer_proofs.verify.conform.core import DEFAULT_PROMPTS, conform
from transformer_proofs.verify.conform.families import ALIASES, UnknownTarget
from transformer_proofs.verify.conform.files import load_weights


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("conform", help="fit an algorithm family to a model's weights and measure the deviation")
    p.add_argument("weights", help=".npz (docs/conform.md) or a torch state dict file (.pt, .pth, .bin)")
    p.add_argument("--against", required=True, help=f"claim id or family: {', '.join(sorted(ALIASES))}")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prompts", type=int, default=DEFAULT_PROMPTS, help="drawn prompts for the deviation")
    p.add_argument("--n-ctx", type=int, help="context length of a state dict that does not say it")
    p.add_argument("--dyadic", action="store_true", help="read float weights as their binary values, not the "
                                                         "simplest rationals within 4 ulps")


def run(args: argparse.Namespace) -> int:
    if args.prompts < 2:
        print(f"error: --prompts must be at least 2, got {args.prompts}", file=sys.stderr)
        return 2
    try:
        report = conform(load_weights(args.weights, n_ctx=args.n_ctx), args.against, seed=args.seed,
                         prompts=args.prompts, dyadic=args.dyadic)
    except (PromptError, UnknownTarget) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(report.text())
    return 0 if report.exact else 1
