"""Evaluation throughput of the multimodal benchmarks (a benchmark script, not a test).

Scoring only: items/s of ``benchmark.score`` over the test fixtures' real-schema rows and responses, repeated to
``--items`` per benchmark (goal ≥ 2000/s for the rule-scored ones; free-form MathVerse/MathVision items go through
the math worker). With ``--model DIR`` (e.g. the micro warm-up checkpoint) also end to end: load, generate, score.

    python perf/eval_throughput.py [--items 5000] [--model DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "benchmarks"))
import benchmark_fixtures as fx  # noqa: E402

from npo_bench.benchmark import make_benchmark  # noqa: E402

CASES = {
    "mathvista": ("testmini", fx.mathvista_cases),
    "mmstar": ("val", fx.mmstar_cases),
    "mathverse": ("testmini", fx.mathverse_cases),
    "mathvision": ("test", fx.mathvision_cases),
    "wemath": ("testmini", fx.wemath_cases),
    "zerobench": ("zerobench_subquestions", fx.zerobench_cases),
    "mmmu_pro": ("test", lambda: [c for part in fx.mmmu_pro_cases() for c in part]),
}


def scoring_rate(name: str, root: Path, items: int) -> float:
    split, cases = CASES[name]
    bench = make_benchmark(name, {"data": str(root / name)})
    pairs = list(zip(bench.load(split, None, 0), [r for _, r, _ in cases()], strict=False))
    work = [pairs[i % len(pairs)] for i in range(items)]
    bench.score(*work[0])  # warm caches / worker start-up
    start = time.perf_counter()
    for prompt, response in work:
        bench.score(prompt, response)
    return items / (time.perf_counter() - start)


def end_to_end_rate(name: str, root: Path, model: str) -> float:
    from npo_bench.cli import main

    start = time.perf_counter()
    out = Path(tempfile.mkdtemp())
    args = ["eval", "--preset", "micro", "--model", model, "--benchmarks", name, "--data-dir", str(root)]
    assert main([*args, "--out", str(out), "--set", "eval.temperature=0"]) == 0
    import json

    n = len(json.loads((out / f"{name}.json").read_text())["items"])
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--model", help="model directory for the end-to-end column")
    args = parser.parse_args()
    root = fx.write_all(Path(tempfile.mkdtemp()))
    print(f"{'benchmark':12s} {'score items/s':>14s} {'e2e items/s':>12s}")
    for name in [*CASES, "mmbench"]:
        rate = scoring_rate(name, root, args.items) if name in CASES else float("nan")
        e2e = end_to_end_rate(name, root, args.model) if args.model else float("nan")
        print(f"{name:12s} {rate:14.0f} {e2e:12.2f}")


if __name__ == "__main__":
    main()
