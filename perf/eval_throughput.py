"""Evaluation throughput of the multimodal benchmarks (a benchmark script, not a test).

Scoring only: items/s of ``benchmark.score(prompt, response)`` over the test fixtures' real-schema rows, each paired
with its own fixture response (the pairing is checked: every verdict must equal the fixture's expected one), cycled
to ``--items`` calls per benchmark after one warm-up pass. Goal: ≥ 2000/s for the rule-scored benchmarks. Free-form
MathVerse/MathVision items use the ``math`` verifier: an in-process fast path, else math-verify + sympy in a worker
process (one IPC round trip per item). MathVerse is loaded with ``versions="all"`` so that all twelve fixture rows
are scored. MMBench's circular evaluation asks each question once per option shift: its items/s counts *passes*
(one ``score`` call each); the per-question rate is that divided by the passes per question (printed below the
table).

Caches. The fixtures repeat (6–24 distinct items per benchmark), so by default the rate includes whatever the code
memoises: parsed golds and answers in this process and in the worker (``math_worker._parse``, math-verify's own
parse caches, sympy's cache). No verdict is cached anywhere. ``--cold`` empties the parse caches of both processes
before each item (the worker runs :func:`cold_check`), i.e. every item is parsed from scratch as if all responses
and golds were distinct; ``--cold all`` also empties sympy's cache each time — a pessimistic bound, since a long
run keeps sympy's cache of generic results warm.

``--compare-slow-path`` times each benchmark twice in this process: as is, and with the math verifier's newer fast
decisions (irrational-vs-number gaps, letters) and its gold memo switched off. The worker's shared ``parse_expr``
namespace (math_worker) cannot be switched off in a running worker, so it helps both columns; for the code before
all of these, run this script with ``PYTHONPATH`` at an export of that commit (``git archive <commit> npo_bench perf
tests | tar -x -C DIR``; the workers follow, their ``PYTHONPATH`` is the package root).

``--workload conformance`` scores the conformance suites instead (tests/unit/benchmarks/conformance/*.json: 25–35
varied official-rule cases per benchmark — tags, hedges, option texts, published output shapes — each checked
against its expected verdict), a harder mix than the fixtures.

    python perf/eval_throughput.py [--items 2000] [--cold [parse|all]] [--compare-slow-path] [--model DIR]
                                   [--workload fixtures|conformance]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "benchmarks"))
import benchmark_fixtures as fx  # noqa: E402

from npo_bench.benchmark import make_benchmark  # noqa: E402

GOAL = 2000.0
COLD_HANDLERS = {"parse": "perf.eval_throughput:cold_check", "all": "perf.eval_throughput:cold_check_all"}

Work = list[tuple[Any, str, bool]]  # (prompt, response, expected verdict)


def _zipped(bench, split: str, cases: list) -> Work:
    prompts = bench.load(split, None, 0)
    assert len(prompts) == len(cases), (bench.name, len(prompts), len(cases))
    return [(p, response, expected) for p, (_, response, expected) in zip(prompts, cases, strict=True)]


def _mathverse(bench, split: str) -> Work:
    by_id = {f"mathverse/{row['sample_index']}": (response, ok) for row, response, ok in fx.mathverse_cases()}
    return [(p, *by_id[p.id]) for p in bench.load(split, None, 0)]


def _mmbench(bench, split: str) -> Work:
    prompts = bench.load(split, None, 0)
    return [
        (p, response, expected) for p, (response, expected) in zip(prompts, fx.mmbench_passes(prompts), strict=True)
    ]


# name → (split, benchmark options, work builder)
CASES: dict[str, tuple[str, dict[str, Any], Callable[[Any, str], Work]]] = {
    "mathvista": ("testmini", {}, lambda b, s: _zipped(b, s, fx.mathvista_cases())),
    "mmstar": ("val", {}, lambda b, s: _zipped(b, s, fx.mmstar_cases())),
    "mmbench": ("dev", {}, _mmbench),
    "mathverse": ("testmini", {"versions": "all"}, _mathverse),
    "mathvision": ("test", {}, lambda b, s: _zipped(b, s, fx.mathvision_cases())),
    "wemath": ("testmini", {}, lambda b, s: _zipped(b, s, fx.wemath_cases())),
    "zerobench": ("zerobench_subquestions", {}, lambda b, s: _zipped(b, s, fx.zerobench_cases())),
    "mmmu_pro": ("test", {}, lambda b, s: _zipped(b, s, [c for part in fx.mmmu_pro_cases() for c in part])),
}


# ---- cache control (--cold) and the slow path (--compare-slow-path) -----------------------------------------------
def _parent_caches() -> list:
    """Every ``functools.lru_cache`` in the verifier and benchmark modules loaded in this process."""
    found = []
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("npo_bench", "npo_bench_benchmarks", "npo_bench_plugins")):
            continue
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):
                found.append(value)
    return found


def _clear_worker_caches(sympy_too: bool) -> None:
    from math_verify import parser
    from sympy.core.cache import clear_cache

    from npo_bench.verify import math_worker

    math_worker._parse.cache_clear()
    for name in ("parse_latex_cached", "parse_expr_cached", "extract_latex"):
        getattr(parser, name).cache_clear()
    if sympy_too:
        clear_cache()


def cold_check(*args: Any) -> str:
    """Worker handler for ``--cold``: ``math_worker.check`` with its parse caches emptied first."""
    from npo_bench.verify import math_worker

    _clear_worker_caches(sympy_too=False)
    return math_worker.check(*args)


def cold_check_all(*args: Any) -> str:
    """Worker handler for ``--cold all``: also sympy's cache emptied first."""
    from npo_bench.verify import math_worker

    _clear_worker_caches(sympy_too=True)
    return math_worker.check(*args)


def warm_up() -> None:
    """Run by the worker process that imports this module as its handler (``--cold``)."""
    from npo_bench.verify import math_worker

    math_worker.warm_up()


@contextmanager
def cold_workers(cold: str | None) -> Iterator[None]:
    """With ``cold`` ("parse"/"all"), math items go to workers running :func:`cold_check`/:func:`cold_check_all`."""
    from npo_bench.verify import math as math_verifier

    if not cold:
        yield
        return
    saved = math_verifier.HANDLER
    math_verifier.HANDLER = COLD_HANDLERS[cold]
    try:
        yield
    finally:
        math_verifier.HANDLER = saved


@contextmanager
def slow_path(enabled: bool) -> Iterator[None]:
    """With ``enabled``: the math verifier without the irrational-gap and letter decisions and without the gold memo."""
    from npo_bench.verify import math as math_verifier

    if not enabled:
        yield
        return
    saved = math_verifier._irrational_apart, math_verifier._letters, math_verifier._gold_latex
    math_verifier._irrational_apart = lambda *args: False
    math_verifier._letters = lambda *args: None
    math_verifier._gold_latex = math_verifier._gold_latex.__wrapped__
    try:
        yield
    finally:
        math_verifier._irrational_apart, math_verifier._letters, math_verifier._gold_latex = saved


# ---- measuring ------------------------------------------------------------------------------------------------------
class WorkerCalls:
    """Counts math-worker round trips (each is one IPC exchange with a worker process)."""

    def __init__(self) -> None:
        from npo_bench.verify import pool

        self.count = 0
        self._pool_class = pool.WorkerPool
        self._call = pool.WorkerPool.call
        counter = self

        def counted(pool_self, *args, **kwargs):
            counter.count += 1
            return counter._call(pool_self, *args, **kwargs)

        pool.WorkerPool.call = counted

    def close(self) -> None:
        self._pool_class.call = self._call


def build(name: str, root: Path) -> tuple[Any, Work]:
    split, options, builder = CASES[name]
    bench = make_benchmark(name, {"data": str(root / name), **options})
    return bench, builder(bench, split)


CONFORMANCE = Path(__file__).resolve().parents[1] / "tests" / "unit" / "benchmarks" / "conformance"


def build_conformance(name: str, root: Path) -> tuple[Any, Work]:
    """The benchmark's conformance suite: its rows written to ``root/name``, each case paired with its verdict."""
    suite = json.loads((CONFORMANCE / f"{name}.json").read_text(encoding="utf-8"))
    folder = root / name
    for stem, rows in suite["files"].items():
        fx.write_split(folder, stem, rows, tuple(suite["image_fields"][stem]))
    bench = make_benchmark(name, {"data": str(folder), **suite["options"]})
    prompts = {p.id: p for p in bench.load(suite["split"], None, 0)}
    return bench, [(prompts[c["prompt"]], c["response"], c["ours"]) for c in suite["cases"]]


def check_pairing(name: str, bench, work: Work) -> None:
    wrong = [(p.id, r) for p, r, expected in work if bench.score(p, r).correct != expected]
    assert not wrong, f"{name}: fixture verdicts differ from the expected ones (pairing or scoring changed): {wrong}"


def scoring_rate(bench, work: Work, items: int, cold: str | None, calls: WorkerCalls) -> tuple[float, float]:
    """(items/s, worker round trips per item) over ``items`` score calls cycling through ``work``."""
    jobs = [work[i % len(work)] for i in range(items)]
    for prompt, response, _ in work:  # warm-up pass: worker start-up, imports
        bench.score(prompt, response)
    caches = _parent_caches() if cold else []
    before = calls.count
    elapsed = 0.0
    if cold:
        for prompt, response, _ in jobs:
            for cache in caches:
                cache.cache_clear()
            start = time.perf_counter()
            bench.score(prompt, response)
            elapsed += time.perf_counter() - start
    else:
        start = time.perf_counter()
        for prompt, response, _ in jobs:
            bench.score(prompt, response)
        elapsed = time.perf_counter() - start
    return items / elapsed, (calls.count - before) / items


def end_to_end_rate(name: str, root: Path, model: str) -> float:
    from npo_bench.cli import main

    start = time.perf_counter()
    out = Path(tempfile.mkdtemp())
    args = ["eval", "--preset", "micro", "--model", model, "--benchmarks", name, "--data-dir", str(root)]
    assert main([*args, "--out", str(out), "--set", "eval.temperature=0"]) == 0
    n = len(json.loads((out / f"{name}.json").read_text())["items"])
    return n / (time.perf_counter() - start)


def verifier_mix(work: Work) -> str:
    counts = Counter(p.meta["verifier"] for p, _, _ in work)
    return " ".join(f"{name}:{n}" for name, n in counts.most_common())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="score calls timed per benchmark (default 5000)")
    parser.add_argument(
        "--cold",
        nargs="?",
        const="parse",
        choices=list(COLD_HANDLERS),
        help="empty the parse caches (with 'all': also sympy's cache) before each item (see above)",
    )
    parser.add_argument(
        "--compare-slow-path", action="store_true", help="also time the math verifier without its newer fast path"
    )
    parser.add_argument("--benchmarks", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--model", help="model directory for the end-to-end column")
    parser.add_argument("--workload", choices=["fixtures", "conformance"], default="fixtures")
    args = parser.parse_args()
    root = fx.write_all(Path(tempfile.mkdtemp()))
    conformance_root = Path(tempfile.mkdtemp())
    calls = WorkerCalls()
    mode = {
        None: "warm (fixtures repeat; parse caches on)",
        "parse": "cold (parse caches emptied before each item)",
        "all": "cold (parse caches and sympy's cache emptied before each item)",
    }[args.cold]
    print(f"scoring-only, {args.workload}, {args.items} score calls per benchmark, {mode}; goal ≥ {GOAL:.0f} items/s")
    header = f"{'benchmark':11s} {'verifier mix (distinct items)':32s} {'worker/item':>11s} {'items/s':>9s}"
    if args.compare_slow_path:
        header += f" {'slow path':>9s} {'worker/item':>11s}"
    header += f" {'≥2000/s':>8s}" + (f" {'e2e items/s':>12s}" if args.model else "")
    print(header)
    notes = []
    with cold_workers(args.cold):
        if args.model:  # one untimed pass: first-use costs (imports, kernels) belong to no benchmark
            end_to_end_rate(args.benchmarks[0], root, args.model)
        for name in args.benchmarks:
            if args.workload == "conformance":
                bench, work = build_conformance(name, conformance_root)
            else:
                bench, work = build(name, root)
            check_pairing(name, bench, work)
            rate, per_item = scoring_rate(bench, work, args.items, args.cold, calls)
            row = f"{name:11s} {verifier_mix(work):32s} {per_item:11.2f} {rate:9.0f}"
            if args.compare_slow_path:
                with slow_path(True):
                    check_pairing(name, bench, work)
                    slow_rate, slow_per_item = scoring_rate(bench, work, args.items, args.cold, calls)
                row += f" {slow_rate:9.0f} {slow_per_item:11.2f}"
            row += f" {'yes' if rate >= GOAL else 'NO':>8s}"
            if args.model:
                row += f" {end_to_end_rate(name, root, args.model):12.2f}"
            print(row, flush=True)
            if name == "mmbench":
                passes = len(work) / len({p.meta["question_index"] for p, _, _ in work})
                notes.append(
                    f"mmbench: items = passes (one score call per option shift); {passes:.1f} passes per question "
                    f"→ {rate / passes:.0f} questions/s"
                )
    calls.close()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
