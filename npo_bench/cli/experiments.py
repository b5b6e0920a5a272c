"""``npo-bench compare`` (methods × seeds → a Table-1-style report) and ``npo-bench analyze`` (a finished run)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from npo_bench.cli.common import add_set_option, check_inputs, method_names
from npo_bench.errors import UserError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    comp = sub.add_parser("compare", help=cmd_compare.__doc__, description=cmd_compare.__doc__)
    comp.add_argument("methods", nargs="+", metavar="METHOD", help=f"method presets ({', '.join(method_names())})")
    comp.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per method [%(default)s]")
    comp.add_argument("--benchmarks", default="synthetic", help="comma-separated benchmarks, or all [%(default)s]")
    comp.add_argument("--preset", default="tiny-cpu", help="built-in preset (tiny-cpu, micro, …) [%(default)s]")
    comp.add_argument("--config", metavar="FILE", help="YAML file layered over the preset and each method")
    add_set_option(comp, "override one key (repeatable)")
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
    samples = analyses.add_parser(
        "samples",
        help="pass@k and maj@k per family from evaluations with several samples per item (sharpen or learn?)",
        description=cmd_analyze_samples.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    samples.add_argument("evals", nargs="+", metavar="EVAL_JSON", help="eval/<benchmark>.json files (one table each)")
    samples.add_argument(
        "--k", default="1,4,16", help="comma-separated k for pass@k (those ≤ the samples) [%(default)s]"
    )
    samples.add_argument(
        "--by",
        default="family,level",
        help="item fields to group by, comma-separated (a benchmark's record fields, e.g. category) [%(default)s]",
    )
    samples.add_argument(
        "--plot",
        metavar="PNG",
        help="also draw pass@k against k: a curve per folder name (a comparison's METHOD-seedN-… runs: per method)",
    )
    samples.set_defaults(handler=cmd_analyze_samples)


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
        result = compare(request, check_inputs=check_inputs)
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are kept; run the same compare again to continue", file=sys.stderr)
        return 130
    print(to_text(result.table))
    print(f"report: {request.out}")
    return 1 if any(r.status != "ok" for r in result.results) else 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyses of a finished run: ``qvs`` measures Q(Δ), V(Δ) and S(Δ) = Q/V between its checkpoints (paper §5);
    ``samples`` reads pass@k and maj@k from evaluations with several samples per item."""
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


def cmd_analyze_samples(args: argparse.Namespace) -> int:
    """pass@k (unbiased, Chen et al. 2021) and maj@n per family and level (``--by``) from evaluations that drew n
    samples per item, e.g. a base and a trained run evaluated the same way:

      S="--split synthetic=val --set eval.samples=16 --set eval.temperature=1 --set eval.top_p=1 --set eval.top_k=0"
      npo-bench eval --model BASE $S --out evals/base
      npo-bench eval --model runs/NAME $S --out evals/NAME
      npo-bench analyze samples evals/base/synthetic.json evals/NAME/synthetic.json --plot passk.png

    pass@1 rising while pass@16 falls is RL sharpening what the model could already sample; maj@n near pass@1 says
    the model has no consistent answer, so its correct samples are guesses."""
    from npo_bench.analysis.samples import curve_label, format_stats, pass_curve, sample_stats

    try:
        ks = [int(k) for k in args.k.split(",") if k.strip()]
    except ValueError:
        raise UserError(f"--k {args.k!r}: expected comma-separated integers, e.g. 1,4,16") from None
    by = [field.strip() for field in args.by.split(",") if field.strip()]
    curves: dict[str, list[dict[int, float]]] = {}
    for path in map(Path, args.evals):
        items = _eval_items(path)
        print(format_stats(sample_stats(items, ks, by=by), str(path)))
        curves.setdefault(curve_label(path.resolve().parent.name), []).append(pass_curve(items))
    if args.plot:
        from npo_bench.compare.plots import plot_pass_curves

        skipped = plot_pass_curves(curves, Path(args.plot))
        print(skipped or f"plot: {args.plot}", file=sys.stderr if skipped else sys.stdout)
    return 0


def _eval_items(path: Path) -> list[dict]:
    """The items of an ``eval/<benchmark>.json``, each checked for the fields the analysis reads."""
    import json

    try:
        items = json.loads(path.read_text())["items"]
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder; give the <benchmark>.json inside it") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not JSON ({exc})") from None
    except (KeyError, TypeError):
        raise UserError(f"{path}: no 'items' list (an eval/<benchmark>.json written by npo-bench eval)") from None
    if not isinstance(items, list):
        raise UserError(f"{path}: 'items' is not a list")
    for row, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item or not isinstance(item.get("correct"), bool):
            raise UserError(f"{path}: item {row} lacks an 'id' or a true/false 'correct'")
    return items
