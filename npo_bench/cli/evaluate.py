"""``npo-bench eval``, ``npo-bench benchmarks`` and ``npo-bench lmeval export``: score models on benchmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from npo_bench.cli.common import (
    add_benchmark_data_options,
    add_config_options,
    add_judge_options,
    print_scores,
    resolved_config,
)

EVAL_JUDGE_EPILOG = """\
LLM judge (optional, off without --judge-url): the official scorers of MathVista (answer extraction) and MathVerse
(extraction + 0/1 judgement) use an LLM, and MMStar/MMBench/WeMath ask one when no option letter is found. Any
OpenAI-compatible server works, e.g. a local vLLM:
  vllm serve Qwen/Qwen2.5-7B-Instruct          # serves http://localhost:8000/v1
  npo-bench eval --model runs/NAME --benchmarks mathvista,mathverse --data-dir data/ \\
      --judge-url http://localhost:8000/v1 --judge-model Qwen/Qwen2.5-7B-Instruct --judge-cache eval/judge.jsonl
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "eval",
        help=cmd_eval.__doc__,
        description=cmd_eval.__doc__,
        epilog=EVAL_JUDGE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_options(ev)
    ev.add_argument(
        "--model",
        required=True,
        metavar="DIR|RUN",
        help="HF model dir, checkpoint dir or run dir (a run: its own config, --set on top)",
    )
    ev.add_argument("--benchmarks", default="synthetic", help="comma-separated names, or all [%(default)s]")
    ev.add_argument("--limit", type=int, help="evaluate only the first N items (for quick checks)")
    ev.add_argument("--batch-size", type=int, help="prompts per generation batch (eval.batch_size)")
    ev.add_argument("--out", metavar="DIR", help="where to write <benchmark>.json (default: RUN/eval or ./eval)")
    add_benchmark_data_options(ev)
    add_judge_options(ev)
    ev.set_defaults(handler=cmd_eval)

    bench = sub.add_parser("benchmarks", help=cmd_benchmarks.__doc__, description=cmd_benchmarks.__doc__)
    bench.set_defaults(handler=cmd_benchmarks)

    lmeval = sub.add_parser("lmeval", help="lm-evaluation-harness: export benchmarks as lm-eval tasks")
    export = lmeval.add_subparsers(metavar="COMMAND").add_parser(
        "export", help=cmd_lmeval_export.__doc__, description=cmd_lmeval_export.__doc__
    )
    add_config_options(export)
    export.add_argument("--benchmarks", default="all", help="comma-separated names, or all [%(default)s]")
    export.add_argument("--out", required=True, metavar="DIR", help="where to write DIR/npo_<benchmark>/")
    export.add_argument("--limit", type=int, help="export only the first N items")
    add_benchmark_data_options(export)
    export.set_defaults(handler=cmd_lmeval_export)


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate a model directory, a checkpoint or a run's final checkpoint on benchmarks."""
    from npo_bench.model_eval import (
        benchmark_names,
        benchmark_settings,
        data_paths,
        evaluate_model,
        is_run_dir,
        judge_config,
        pairs,
    )

    config = resolved_config(args)
    ignored = [
        flag
        for flag, value in (("--preset", args.preset), ("--method", args.method), ("--config", args.config))
        if value
    ]
    if ignored and is_run_dir(Path(args.model)):
        print(
            f"[eval] {args.model} is a run: evaluated with its own config.yaml (--set applies on top); "
            f"{', '.join(ignored)} ignored",
            file=sys.stderr,
        )
    judge = judge_config(args.judge_url, args.judge_model, args.judge_key_env, args.judge_cache)
    results = evaluate_model(
        config,
        args.model,
        benchmark_names(args.benchmarks),
        limit=args.limit,
        batch_size=args.batch_size,
        out=args.out,
        data=data_paths(args.data_dir, args.data),
        splits=pairs("--split", args.split),
        skip_bad=args.skip_bad,
        judge=judge,
        settings=benchmark_settings(args.option),
        overrides=args.overrides,
    )
    for name, result in results.items():
        print(f"{name}:")
        print_scores({f"  {k}": v for k, v in result.scores.items()})
        if result.skipped:
            print(f"  skipped {len(result.skipped)} bad row(s); first: {result.skipped[0]}", file=sys.stderr)
    return 0


def cmd_benchmarks(args: argparse.Namespace) -> int:
    """List benchmarks with their splits (default split first) and a one-line description."""
    from npo_bench.model_eval import describe_benchmarks

    for row in describe_benchmarks():
        print(f"{row['name']}  ({row['plugin']}): {row['summary']}")
        print(f"    splits: {', '.join(row['splits'])}  [default: {row['default_split']}]")
    return 0


def cmd_lmeval_export(args: argparse.Namespace) -> int:
    """Write one lm-eval task directory per benchmark (run them with `lm_eval --include_path OUT`)."""
    from npo_bench.lmeval.export import export_tasks
    from npo_bench.model_eval import benchmark_names, benchmark_settings, data_paths, pairs

    names = benchmark_names(args.benchmarks)
    data, splits = data_paths(args.data_dir, args.data), pairs("--split", args.split)
    settings = benchmark_settings(args.option)
    for folder in export_tasks(
        resolved_config(args), names, args.out, data, splits, args.skip_bad, args.limit, settings
    ):
        print(folder)
    return 0
