"""The ``npo-bench`` command line: one small function per command, each delegating to the library.

Importing this module is cheap (no torch); commands import what they need when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from npo_bench import __version__
from npo_bench.errors import UserError

EPILOG = """\
quick start:
  npo-bench run                              # warm-up (cached) + GRPO on the tiny CPU preset, then evaluate
  npo-bench run --source grpo --seed 1       # another seed
  npo-bench run --method npo                 # NPO, early + late interventions (configs/methods/npo.yaml)
  npo-bench run --source near_future --auto  # AutoNPO decides when and how far to roll back
  npo-bench run --resume runs/NAME           # continue a killed run exactly where it stopped
  npo-bench eval --model runs/NAME --benchmarks synthetic
  npo-bench eval --model runs/NAME --benchmarks all --data-dir data/   # the eight, from local files
  npo-bench config --explain                 # every config key with its default and meaning

configuration: defaults < --preset < --config FILE < flags < --set key=value (dotted keys, e.g. trainer.lr=1e-4).
Unknown keys and wrong types are errors. Environment: NPO_BENCH_CACHE (warm-up cache), NPO_BENCH_LOAD_PLUGINS,
NPO_BENCH_DISABLE_PLUGINS, NPO_BENCH_TRACE_PLUGINS.
"""


def _method_names() -> list[str]:
    from npo_bench.presets import builtin_config_dir

    return sorted(p.stem for p in builtin_config_dir("methods").glob("*.yaml"))


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("configuration")
    group.add_argument("--preset", help="built-in preset (tiny-cpu, micro, …) [tiny-cpu]")
    group.add_argument("--method", help=f"method preset layered over the preset ({', '.join(_method_names())})")
    group.add_argument("--config", metavar="FILE", help="YAML file layered over the preset and method")
    group.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one key, e.g. --set trainer.lr=1e-4 (repeatable)",
    )


EVAL_JUDGE_EPILOG = """\
LLM judge (optional, off without --judge-url): the official scorers of MathVista (answer extraction) and MathVerse
(extraction + 0/1 judgement) use an LLM, and MMStar/MMBench/WeMath ask one when no option letter is found. Any
OpenAI-compatible server works, e.g. a local vLLM:
  vllm serve Qwen/Qwen2.5-7B-Instruct          # serves http://localhost:8000/v1
  npo-bench eval --model runs/NAME --benchmarks mathvista,mathverse --data-dir data/ \\
      --judge-url http://localhost:8000/v1 --judge-model Qwen/Qwen2.5-7B-Instruct --judge-cache eval/judge.jsonl
"""


def _add_benchmark_data_options(parser: argparse.ArgumentParser) -> None:
    """Where each benchmark's data lives and how it loads: shared by `eval` and `lmeval export` (same items)."""
    parser.add_argument("--data-dir", metavar="DIR", help="local data: DIR/<benchmark>/ for each file-backed benchmark")
    parser.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="one benchmark's data: folder, file or hub id"
    )
    parser.add_argument(
        "--split", action="append", default=[], metavar="NAME=SPLIT", help="split other than the default"
    )
    parser.add_argument("--skip-bad", action="store_true", help="skip (and count) bad rows instead of stopping")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="one benchmark option, value as YAML, e.g. mmstar.gain=true (repeatable)",
    )


def _add_judge_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("LLM judge (optional; see below)")
    group.add_argument("--judge-url", metavar="URL", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
    group.add_argument("--judge-model", metavar="NAME", help="model name the judge server serves (needed with the URL)")
    group.add_argument(
        "--judge-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key; unset = no key (local servers) [%(default)s]",
    )
    group.add_argument(
        "--judge-cache", metavar="FILE", help="jsonl cache of judge outputs, reused by later runs (no repeat calls)"
    )


def _resolve(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> Any:
    from npo_bench.presets import resolve

    preset = args.preset or "tiny-cpu"
    return resolve(preset, args.config, args.overrides, extra, method=getattr(args, "method", None))


# ---- commands --------------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """Train one run (warm-up cached), evaluating the base, every few steps and at the end."""
    from npo_bench.config import from_dict
    from npo_bench.runs import RunDir
    from npo_bench.trainer.loop import Run, create_run

    if args.resume:
        _refuse_config_flags_on_resume(args)
        run = RunDir.open(Path(args.resume), lock=True)  # one writer: fail now if another process holds it
        config = from_dict(run.resolved_config(), where=str(run.path / "config.yaml"))
    else:
        extra: dict[str, Any] = {}
        if args.source:
            extra.setdefault("source", {})["name"] = args.source
        if args.auto:
            extra.setdefault("source", {}).setdefault("options", {})["auto"] = True
        if args.seed is not None:
            extra["seed"] = args.seed
        if args.name is not None:
            extra["name"] = args.name
        if args.steps is not None:
            extra.setdefault("trainer", {})["steps"] = args.steps
        if args.runs_dir is not None:
            extra["runs_dir"] = args.runs_dir
        if args.backend:
            extra["backend"] = args.backend
        config = _resolve(args, extra)
        _check_inputs(config)
        if args.dry_run:
            return _dry_run(config)
        passed = {"preset": args.preset or "tiny-cpu", "config": args.config, "overrides": args.overrides}
        run = create_run(config, {**passed, "flags": extra})
        print(f"run directory: {run.path}", file=sys.stderr)  # known before any work, in case it gets killed
    launch = getattr(_backend_class(config), "launch", None)  # a backend that drives its own cluster (openrlhf)
    try:
        final = launch(config, run, bool(args.resume)) if launch else Run(config, run).execute(resume=bool(args.resume))
    except KeyboardInterrupt:
        if run.path.exists():
            print(f"\ninterrupted; continue with: npo-bench run --resume {run.path}", file=sys.stderr)
        else:
            print(f"\ninterrupted before the first checkpoint; {run.path} was removed", file=sys.stderr)
        return 130
    except UserError as exc:  # mid-run (a plugin fault, a full disk, …): say how to go on
        _add_resume_hint(exc, run.path)
        raise
    _print_scores(final)
    print(f"run directory: {run.path}")
    return 0


def _backend_class(config: Any) -> Any:
    from npo_bench.host import get_host

    return get_host().get("backend", config.backend).load()


def _dry_run(config: Any) -> int:
    """Print what a run would do without starting anything: the backend's own plan, else the resolved config."""
    import yaml

    from npo_bench.config import to_dict

    plan = getattr(_backend_class(config), "dry_run", None)
    print(plan(config) if plan else yaml.safe_dump(to_dict(config), sort_keys=False), end="")
    return 0


RESUME_CONFLICTS = (
    "preset",
    "method",
    "config",
    "source",
    "auto",
    "seed",
    "name",
    "steps",
    "runs_dir",
    "overrides",
    "backend",
    "dry_run",
)


def _refuse_config_flags_on_resume(args: argparse.Namespace) -> None:
    """A resumed run keeps its own config (else it would not continue identically): config flags are an error."""
    given = [name for name in RESUME_CONFLICTS if getattr(args, name, None) not in (None, False, [])]
    if given:
        flags = ", ".join("--set" if name == "overrides" else "--" + name.replace("_", "-") for name in given)
        raise UserError(
            f"{flags} cannot be combined with --resume: a resumed run keeps the config in {args.resume}/config.yaml",
            hint="start a new run to change settings",
        )


def _add_resume_hint(exc: UserError, run_path: Path) -> None:
    from npo_bench.trainer.checkpoints import resume_candidates

    if run_path.exists() and resume_candidates(run_path / "checkpoints")[0]:
        resume = f"the run stopped; once fixed, continue it with: npo-bench run --resume {run_path}"
        exc.hint = f"{exc.hint}; {resume}" if exc.hint and "--resume" not in exc.hint else (exc.hint or resume)


def _check_inputs(config: Any) -> None:
    """Fail before any work (and before a run directory exists): see :mod:`npo_bench.preflight`."""
    from npo_bench.preflight import check_run_inputs

    check_run_inputs(config)


def cmd_warmup(args: argparse.Namespace) -> int:
    """Build (or reuse) the SFT-warmed base checkpoint of a preset and print its regime report."""
    from npo_bench.trainer.warmup import (
        REPORT_FILE,
        base_model_dir,
        cache_root,
        regime_verdict,
        run_warmup,
        warmup_key,
    )

    config = _resolve(args)
    target = cache_root(config) / "warmup" / warmup_key(config)
    if args.force or not (target / REPORT_FILE).exists():
        run_warmup(config, target, lambda line: print(line, file=sys.stderr))
    path = base_model_dir(config)
    report = json.loads((path / REPORT_FILE).read_text())
    print(json.dumps(report, indent=2))
    print(f"regime: {report.get('regime') or regime_verdict(report)}")
    print(f"base checkpoint: {path}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate a model directory, a checkpoint or a run's final checkpoint on benchmarks."""
    from npo_bench.model_eval import (
        benchmark_names,
        benchmark_settings,
        data_paths,
        evaluate_model,
        judge_config,
        pairs,
    )

    config = _resolve(args)
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
    )
    for name, result in results.items():
        print(f"{name}:")
        _print_scores({f"  {k}": v for k, v in result.scores.items()})
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
    for folder in export_tasks(_resolve(args), names, args.out, data, splits, args.skip_bad, args.limit, settings):
        print(folder)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """List every plugin with its version, hooks and what it registers."""
    from npo_bench.host import get_host

    rows = get_host().describe_plugins()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    backends = {f"backend:{r.name}": r.summary for r in get_host().registry("backend")}
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        print(f"{row['name']}{version}: {', '.join(row['registers']) or '(no registrations)'}")
        print(f"    hooks: {', '.join(row['hooks'])}")
        for registered in row["registers"]:
            if registered in backends:  # a backend says what it is and whether it can run here
                print(f"    {registered}: {backends[registered]}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    """List guidance sources: a one-line description and every option with its default, meaning and limits."""
    from npo_bench.host import get_host
    from npo_bench.options import describe_limits

    for registration in get_host().registry("source"):
        source = registration.load()
        print(f"{registration.name}  ({registration.plugin}): {registration.summary}")
        for option, spec in sorted(getattr(source, "options", {}).items()):
            default, meaning = spec
            print(f"    {option:18s} {json.dumps(default):28s} {meaning}{describe_limits(spec)}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the resolved config as YAML (or every key's meaning with --explain)."""
    import yaml

    from npo_bench.config import explain, to_dict

    if args.explain:
        for key, default, help_text in explain():
            print(f"{key:32s} {default:18s} {help_text}")
        return 0
    print(yaml.safe_dump(to_dict(_resolve(args)), sort_keys=False), end="")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Train (or reuse) every method × seed, evaluate the final checkpoints and write a Table-1-style report."""
    from npo_bench.compare.render import to_text
    from npo_bench.compare.runner import CompareRequest, compare
    from npo_bench.model_eval import benchmark_names

    if args.seeds < 1:
        raise UserError(f"--seeds {args.seeds}: need at least one seed")
    request = CompareRequest(
        methods=args.methods,
        seeds=list(range(args.seeds)),
        benchmarks=benchmark_names(args.benchmarks),
        out=Path(args.out),
        preset=args.preset,
        config_file=args.config,
        overrides=args.overrides,
        executor=args.executor,
        jobs=args.jobs,
        address=args.address,
        cpus_per_run=args.cpus_per_run,
        reference=args.reference,
        data_dir=args.data_dir,
    )
    try:
        result = compare(request, check_inputs=_check_inputs)
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are kept; run the same compare again to continue", file=sys.stderr)
        return 130
    print(to_text(result.table))
    print(f"report: {request.out}")
    return 1 if any(r.status != "ok" for r in result.results) else 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyses of a finished run: ``qvs`` measures Q(Δ), V(Δ) and S(Δ) = Q/V between its checkpoints (paper §5)."""
    from npo_bench.analysis.qvs_run import analyze_qvs, format_qvs

    deltas = [int(d) for d in args.deltas.split(",")] if args.deltas else None
    report = analyze_qvs(
        Path(args.run),
        deltas=deltas,
        at=args.at,
        prompts=args.prompts,
        n=args.n,
        out=Path(args.out) if args.out else None,
    )
    print(format_qvs(report))
    return 0


def _print_scores(scores: dict[str, float]) -> None:
    for key, value in scores.items():
        print(f"{key:28s} {value:.4f}")


# ---- parser ----------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npo-bench",
        description="Train and evaluate NPO and its RLVR rivals (GRPO, LUFFY, ExGRPO, RLEP) through one harness.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"npo-bench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help=cmd_run.__doc__, description=cmd_run.__doc__)
    _add_config_options(run)
    run.add_argument("--source", help="guidance source plugin (see `npo-bench plugins`) [grpo]")
    run.add_argument("--auto", action="store_true", help="AutoNPO: the near_future source decides when/how far")
    run.add_argument("--seed", type=int, help="RL seed [0]")
    run.add_argument("--steps", type=int, help="optimizer steps (trainer.steps)")
    run.add_argument("--name", help="run directory name (default: PRESET-SOURCE-seedN-TIMESTAMP)")
    run.add_argument("--runs-dir", help="parent folder of run directories [runs]")
    run.add_argument("--resume", metavar="RUN", help="continue the run directory RUN from its newest checkpoint")
    run.add_argument("--backend", help="training backend: embedded (default) | openrlhf (config key `backend`)")
    run.add_argument(
        "--dry-run", action="store_true", help="print what would run (openrlhf: its flags, the Ray job); start nothing"
    )
    run.set_defaults(handler=cmd_run)

    warm = sub.add_parser("warmup", help=cmd_warmup.__doc__, description=cmd_warmup.__doc__)
    _add_config_options(warm)
    warm.add_argument("--force", action="store_true", help="rebuild even when cached")
    warm.set_defaults(handler=cmd_warmup)

    ev = sub.add_parser(
        "eval",
        help=cmd_eval.__doc__,
        description=cmd_eval.__doc__,
        epilog=EVAL_JUDGE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_options(ev)
    ev.add_argument("--model", required=True, metavar="DIR|RUN", help="HF model dir, checkpoint dir or run dir")
    ev.add_argument("--benchmarks", default="synthetic", help="comma-separated names, or all [%(default)s]")
    ev.add_argument("--limit", type=int, help="evaluate only the first N items (for quick checks)")
    ev.add_argument("--batch-size", type=int, help="prompts per generation batch (eval.batch_size)")
    ev.add_argument("--out", metavar="DIR", help="where to write <benchmark>.json (default: RUN/eval or ./eval)")
    _add_benchmark_data_options(ev)
    _add_judge_options(ev)
    ev.set_defaults(handler=cmd_eval)

    bench = sub.add_parser("benchmarks", help=cmd_benchmarks.__doc__, description=cmd_benchmarks.__doc__)
    bench.set_defaults(handler=cmd_benchmarks)

    lmeval = sub.add_parser("lmeval", help="lm-evaluation-harness: export benchmarks as lm-eval tasks")
    export = lmeval.add_subparsers(metavar="COMMAND").add_parser(
        "export", help=cmd_lmeval_export.__doc__, description=cmd_lmeval_export.__doc__
    )
    _add_config_options(export)
    export.add_argument("--benchmarks", default="all", help="comma-separated names, or all [%(default)s]")
    export.add_argument("--out", required=True, metavar="DIR", help="where to write DIR/npo_<benchmark>/")
    export.add_argument("--limit", type=int, help="export only the first N items")
    _add_benchmark_data_options(export)
    export.set_defaults(handler=cmd_lmeval_export)

    plugins = sub.add_parser("plugins", help=cmd_plugins.__doc__, description=cmd_plugins.__doc__)
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(handler=cmd_plugins)

    sources = sub.add_parser("sources", help=cmd_sources.__doc__, description=cmd_sources.__doc__)
    sources.set_defaults(handler=cmd_sources)

    config = sub.add_parser("config", help=cmd_config.__doc__, description=cmd_config.__doc__)
    _add_config_options(config)
    config.add_argument("--explain", action="store_true", help="list every key with its default and meaning")
    config.set_defaults(handler=cmd_config)

    comp = sub.add_parser("compare", help=cmd_compare.__doc__, description=cmd_compare.__doc__)
    comp.add_argument("methods", nargs="+", metavar="METHOD", help=f"method presets ({', '.join(_method_names())})")
    comp.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per method [%(default)s]")
    comp.add_argument("--benchmarks", default="synthetic", help="comma-separated benchmarks, or all [%(default)s]")
    comp.add_argument("--preset", default="tiny-cpu", help="built-in preset (tiny-cpu, micro, …) [%(default)s]")
    comp.add_argument("--config", metavar="FILE", help="YAML file layered over the preset and each method")
    comp.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one key (repeatable)",
    )
    comp.add_argument("--executor", default="local", choices=("local", "ray"), help="where runs train [%(default)s]")
    comp.add_argument("--address", help="Ray cluster address (default: a local cluster started for the comparison)")
    comp.add_argument("--jobs", type=int, default=1, help="runs at a time with --executor local [%(default)s]")
    comp.add_argument("--cpus-per-run", type=float, default=1.0, help="CPUs of each Ray task [%(default)s]")
    comp.add_argument("--reference", default="grpo", help="method whose final accuracy the steps-to columns use")
    comp.add_argument("--data-dir", metavar="DIR", help="local data for file-backed benchmarks: DIR/<benchmark>/")
    comp.add_argument("--out", default="reports/compare", metavar="DIR", help="report folder [%(default)s]")
    comp.set_defaults(handler=cmd_compare)

    analyze = sub.add_parser("analyze", help=cmd_analyze.__doc__, description=cmd_analyze.__doc__)
    analyses = analyze.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    qvs = analyses.add_parser("qvs", help="Q(Δ), V(Δ), S(Δ) between a run's checkpoints t and t+Δ")
    qvs.add_argument("run", metavar="RUN", help="a run directory with checkpoints/step-*")
    qvs.add_argument("--deltas", help="comma-separated Δ in steps (default: every saved checkpoint after --at)")
    qvs.add_argument("--at", type=int, default=0, help="the step t of the reference checkpoint [%(default)s]")
    qvs.add_argument("--prompts", type=int, default=64, help="training prompts probed [%(default)s]")
    qvs.add_argument("--n", type=int, help="samples per prompt (default: the run's rollout.n)")
    qvs.add_argument("--out", metavar="DIR", help="where qvs.json and qvs.png go [RUN/analysis]")
    qvs.set_defaults(handler=cmd_analyze)

    from npo_bench.host import get_host

    get_host().hooks.register_commands(sub)  # a plugin that raises is named (npo_bench.hookcalls)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 1
        return int(args.handler(args) or 0)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
