"""A mutation pass over ``constructions/`` and ``verify/algorithms/``: does
some check of the relevant claims reject each mutant of the code?

    python benchmarks/mutation_pass.py [--files GLOB ...] [--sample N] [--jobs J] [--effort E]

Mutants (one AST edit each, our own mutator):

- ``+`` ↔ ``-``, ``*`` ↔ ``/``;
- a numeric constant ±1;
- a term dropped (``a + b`` → ``a``, ``a - b`` → ``a``);
- a unary minus dropped (``-x`` → ``x``);
- the two indices of a subscript swapped (``a[i, j]`` → ``a[j, i]``);
- a comparison's boundary moved (``<`` ↔ ``<=``, ``>`` ↔ ``>=``).

Code inside ``raise`` statements, annotations and docstrings is not mutated.
Each mutant runs in its own process: the mutated module is installed by an
import hook before anything imports it, then the checks (not the falsifiers)
of the claims that use that module run at ``--effort`` and seed 0, claim by
claim, stopping at the first claim whose status differs from the unmutated
run.  The mutant is **killed** when a status differs, when the module does
not import, or when the run exceeds ``--timeout``; otherwise it **survives**
and is run through the unit tests that mirror its module
(``tests/test_<module>.py``); a mutant both miss is listed with its line, for
a reader to explain (an equivalent mutant, dead code, or a gap to close with a
test or a falsifier).

``--sample N`` draws N mutants per file (seeded: the same sample every time);
without it every mutant runs (slow: hundreds per file).
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]

# Which claims exercise which module (the package maps constructions/ and
# verify/ into transformer_proofs).  The shared engine and arithmetic get a
# sample of claims that together use every layer kind and number system.
SHARED = "gd.one_layer,gd.relu_attention_ridge,fgd.functional_gd,induction.mixture,energy.hopfield,energy.feedforward_pgd"
CLAIMS_OF = {
    "constructions/gradient_descent.py": "gd.*",
    "constructions/newton.py": "newton.*",
    "constructions/functional_gd.py": "fgd.*",
    "constructions/induction_head.py": "induction.*",
    "constructions/energy.py": "energy.*",
    "constructions/engine.py": SHARED,
    "constructions/arithmetic.py": SHARED,
    "constructions/factored.py": "gd.*,newton.*",
    "constructions/float_attention.py": "gd.*,fgd.*",
    "constructions/polynomial_sums.py": "gd.*,newton.*,ridge.*",
    "constructions/rational_functions.py": "gd.*,newton.*,ridge.*",
    "verify/algorithms/gradient_descent.py": "gd.*",
    "verify/algorithms/newton.py": "newton.*",
    "verify/algorithms/functional_gd.py": "fgd.*",
    "verify/algorithms/induction.py": "induction.*",
    "verify/algorithms/energy.py": "energy.*",
}

# The unit tests that mirror each module: a mutant the claims' checks miss
# is run through them too (reported as "killed by the tests").
TESTS_OF = {
    "constructions/gradient_descent.py": "tests/test_gradient_descent.py",
    "constructions/newton.py": "tests/test_newton.py",
    "constructions/functional_gd.py": "tests/test_functional_gd.py",
    "constructions/induction_head.py": "tests/test_induction_head.py",
    "constructions/energy.py": "tests/test_energy.py",
    "constructions/engine.py": "tests/test_engine.py",
    "constructions/arithmetic.py": "tests/test_arithmetic.py tests/test_engine.py",
    "constructions/factored.py": "tests/test_factored.py",
    "constructions/float_attention.py": "tests/test_float_attention.py tests/test_arithmetic.py",
    "constructions/polynomial_sums.py": "tests/test_polynomial_sums.py",
    "constructions/rational_functions.py": "tests/test_rational_functions.py tests/test_polynomial_sums.py",
    "verify/algorithms/gradient_descent.py": "tests/test_gradient_descent.py",
    "verify/algorithms/newton.py": "tests/test_newton.py",
    "verify/algorithms/functional_gd.py": "tests/test_functional_gd.py",
    "verify/algorithms/induction.py": "tests/test_induction_head.py",
    "verify/algorithms/energy.py": "tests/test_energy.py",
}

SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}


@dataclass(frozen=True)
class Mutant:
    file: str
    index: int  # the index-th mutation site of the file, in a fixed walk order
    line: int
    what: str

    def label(self) -> str:
        return f"{self.file}:{self.line} {self.what}"


# ---------------------------------------------------------------------------
# the mutator
# ---------------------------------------------------------------------------


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes we do not mutate: raise statements (messages), annotations,
    docstrings."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Raise, ast.Assert)):
            mark(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mark(node.returns)
            for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
                mark(a.annotation)
        elif isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            mark(node)
    return skip


def _edits(node: ast.AST) -> Iterator[tuple[str, Any]]:
    """(description, edit) for each mutation of one node; an edit is a
    function of the node returning its replacement."""
    if isinstance(node, ast.BinOp) and type(node.op) in SWAP:
        new = SWAP[type(node.op)]
        yield (f"{type(node.op).__name__} -> {new.__name__}",
               lambda n, new=new: ast.BinOp(left=n.left, op=new(), right=n.right))
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield "term dropped (a ± b -> a)", lambda n: n.left
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        yield f"constant {node.value!r} + 1", lambda n: ast.Constant(n.value + 1)
        yield f"constant {node.value!r} - 1", lambda n: ast.Constant(n.value - 1)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "unary minus dropped", lambda n: n.operand
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 2:
        yield "indices swapped", lambda n: ast.Subscript(value=n.value, slice=ast.Tuple(
            elts=list(reversed(n.slice.elts)), ctx=ast.Load()), ctx=n.ctx)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in BOUNDARY:
        new = BOUNDARY[type(node.ops[0])]
        yield (f"{type(node.ops[0]).__name__} -> {new.__name__}",
               lambda n, new=new: ast.Compare(left=n.left, ops=[new()], comparators=n.comparators))


def _sites(tree: ast.AST) -> list[tuple[ast.AST, str, Any]]:
    docstrings = {id(b.body[0].value) for b in ast.walk(tree)
                  if isinstance(b, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and b.body and isinstance(b.body[0], ast.Expr) and isinstance(b.body[0].value, ast.Constant)}
    skip = _skipped_nodes(tree) | docstrings
    return [(node, what, edit) for node in ast.walk(tree) if id(node) not in skip for what, edit in _edits(node)]


def mutants_of(file: str) -> list[Mutant]:
    tree = ast.parse((ROOT / file).read_text())
    return [Mutant(file, i, getattr(node, "lineno", 0), what) for i, (node, what, _) in enumerate(_sites(tree))]


def mutated_source(file: str, index: int) -> str:
    tree = ast.parse((ROOT / file).read_text())
    node, _, edit = _sites(tree)[index]
    replacement = ast.copy_location(edit(node), node)

    class Replace(ast.NodeTransformer):
        def generic_visit(self, n: ast.AST) -> ast.AST:
            if n is node:
                return replacement
            return super().generic_visit(n)

    return ast.unparse(ast.fix_missing_locations(Replace().visit(tree)))


# ---------------------------------------------------------------------------
# one mutant, in a child process
# ---------------------------------------------------------------------------


def module_name(file: str) -> str:
    return "transformer_proofs." + file[:-3].replace("/", ".")


def child(file: str, index: int, claims: str, effort: float, reference: dict[str, str] | None,
          tests: bool = False) -> dict[str, Any]:
    """Install the mutant (index < 0: none), run the checks (or, with
    ``tests``, the module's unit tests), report statuses."""
    import importlib.abc
    import importlib.util

    if index >= 0:
        name, source, path = module_name(file), mutated_source(file, index), str(ROOT / file)

        class Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> None:
                return None

            def exec_module(self, module: Any) -> None:
                module.__file__ = path
                exec(compile(source, path, "exec"), module.__dict__)

        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, fullname: str, target: Any = None, *a: Any) -> Any:
                if fullname == name:
                    return importlib.util.spec_from_loader(fullname, Loader(), origin=path)
                return None

        sys.meta_path.insert(0, Finder())
    if tests:
        import contextlib
        import io

        import pytest

        with contextlib.redirect_stdout(io.StringIO()):
            code = pytest.main([*(str(ROOT / t) for t in TESTS_OF[file].split()), "-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist",
                                "-o", "claims=", "--no-header"])
        return {"killed": code != 0, "by": f"killed by {TESTS_OF[file]}" if code != 0 else ""}
    try:
        from transformer_proofs.verify.registry import Context, select
        from transformer_proofs.verify.runner import run_claim
    except Exception as exc:  # the mutant breaks the import: killed
        return {"killed": True, "by": f"import fails: {type(exc).__name__}: {str(exc)[:100]}"}
    statuses: dict[str, str] = {}
    for claim in select(claims):
        r = run_claim(claim, Context(0, effort), falsify=False)
        statuses[claim.id] = r.status
        if reference is not None and r.status != reference.get(claim.id):
            bad = next((f"{c.mode}: {c.status}" for c in r.checks if c.status != "holds"), "")
            return {"killed": True, "by": f"{claim.id} {reference.get(claim.id)} -> {r.status} ({bad})"}
    return {"killed": False, "statuses": statuses}


def run_child(file: str, index: int, claims: str, effort: float, reference: dict[str, str] | None,
              timeout: float, tests: bool = False) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", json.dumps([file, index, claims, effort, reference, tests])]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"killed": True, "by": f"timeout after {timeout:.0f} s", "seconds": timeout}
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        out = {"killed": True, "by": f"the run crashed: {last[:120]}"}
    out["seconds"] = time.perf_counter() - t0
    return out


# ---------------------------------------------------------------------------
# the pass
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", nargs="*", default=sorted(CLAIMS_OF), help="files (globs) to mutate")
    p.add_argument("--sample", type=int, help="mutants per file, a seeded sample (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--effort", type=float, default=0.3, help="effort of the checks (default 0.3)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant")
    p.add_argument("--no-tests", action="store_true", help="do not run a survivor through its module's unit tests")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(*json.loads(args.child))))
        return 0
    files = [f for f in sorted(CLAIMS_OF) if any(fnmatch.fnmatch(f, g) for g in args.files)]
    if not files:
        p.error(f"no mutable file matches {args.files}; known: {', '.join(sorted(CLAIMS_OF))}")
    rng = random.Random(args.seed)
    chosen: list[Mutant] = []
    for f in files:
        ms = mutants_of(f)
        chosen += sorted(rng.sample(ms, min(args.sample, len(ms))) if args.sample else ms, key=lambda m: m.index)
        print(f"{f}: {len(ms)} mutants" + (f", {min(args.sample, len(ms))} sampled" if args.sample else ""), flush=True)
    t0 = time.perf_counter()
    references: dict[str, dict[str, str]] = {}
    survivors: list[Mutant] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        globs = sorted({CLAIMS_OF[f] for f in files})
        for glob, ref in zip(globs, pool.map(lambda g: run_child(files[0], -1, g, args.effort, None, args.timeout),
                                             globs)):
            if "statuses" not in ref:
                print(f"the unmutated run of {glob} failed: {ref.get('by')}")
                return 2
            references[glob] = ref["statuses"]
        futs = {pool.submit(run_child, m.file, m.index, CLAIMS_OF[m.file], args.effort, references[CLAIMS_OF[m.file]],
                            args.timeout): m for m in chosen}
        for fut in as_completed(futs):
            m, res = futs[fut], fut.result()
            if not res["killed"] and not args.no_tests:
                res = run_child(m.file, m.index, "", args.effort, None, args.timeout, tests=True)
            state = "killed  " if res["killed"] else "SURVIVES"
            print(f"{state} {m.label():70s} {res['seconds']:6.1f}s  {res.get('by', '')}", flush=True)
            if not res["killed"]:
                survivors.append(m)
    print(f"\n{len(chosen) - len(survivors)}/{len(chosen)} mutants killed in {time.perf_counter() - t0:.0f} s "
          f"(effort {args.effort}, seed 0, checks only)")
    for m in sorted(survivors, key=lambda m: (m.file, m.line)):
        print(f"  survivor: {m.label()}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
