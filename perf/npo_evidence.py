"""Does NPO help at this scale? Every method against GRPO, seed by seed (and AutoNPO's controller cost).

A benchmark script, not a test. It runs (or resumes, or reuses) one run per method and seed through the real CLI —
or reads finished runs made elsewhere (``--from runs/``: a compare's or hand-made runs, matched by the method and
seed in their ``config.yaml``) — then reads their ``metrics.jsonl`` / ``events.jsonl`` and prints:

1. held-out accuracy (the preset's protocol) at every evaluation, per method and seed, with mean ± std;
2. **paired evidence**: per seed, the method's final accuracy minus the same seed's GRPO final (same base, same seed,
   same data order), the mean difference with its 95% CI by paired t and by a seeded bootstrap, the sign count, and
   whether the difference is resolved (both CIs exclude 0) — in words;
3. **speed-up**: the first evaluated step at which the method reaches the same seed's final GRPO accuracy, over GRPO's
   step count — without and with the method's scout steps counted (the paper reports ≈ 2.1× early-stage speed-up);
4. **entropy**: the policy entropy of the training rollouts per method, averaged over seeds (and a plot);
5. **AutoNPO's controller overhead**: the source's own time (snapshots, probes, Q̂/V̂, rollbacks, prompt selection and
   group surgery) as a fraction of the run's wall time; replayed steps are ordinary training and are not counted.

    python perf/npo_evidence.py                            # tiny-cpu, GRPO vs NPO-early, seeds 0 1 2, eval every 50
    python perf/npo_evidence.py --seeds 0 --no-auto        # one seed, no AutoNPO run
    python perf/npo_evidence.py --methods grpo npo_early npo --seeds 0 1 2 3 4
    python perf/npo_evidence.py --from reports/compare/results.json --seeds 0 1 2 3 4 --no-auto \
        --methods grpo npo_early npo autonpo luffy exgrpo rlep   # the runs of `npo-bench compare ... --seeds 5`
    python perf/npo_evidence.py --report-only              # re-read finished runs, run nothing

Runs live in ``--out`` (default ``reports/npo-evidence``); a killed script re-run continues each unfinished run
with ``--resume``. Evaluation happens under a forked RNG, so ``--eval-every`` does not change what is trained.
RLEP needs a finished run (``--set source.options.run=...``): run it through ``npo-bench compare`` and read it with
``--from``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from npo_bench.analysis.curves import eval_curve, final_by_step, mean_std, scout_steps_by, steps_to_reach
from npo_bench.compare.stats import paired_difference, verdict

CLI = [sys.executable, "-m", "npo_bench.cli"]  # the installed CLI of this interpreter (`npo-bench`)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny-cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=["grpo", "npo_early"], help="grpo is the reference")
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="read finished runs, run nothing: a compare's results.json (its exact runs) or a runs dir",
    )
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("reports/npo-evidence"))
    parser.add_argument("--no-auto", action="store_true", help="skip the AutoNPO run")
    parser.add_argument("--auto-seed", type=int, default=0)
    parser.add_argument("--report-only", action="store_true", help="do not start or resume runs")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra --set for every run")
    args = parser.parse_args()

    methods = ["grpo", *(m for m in args.methods if m != "grpo")]
    plan = [(method, seed) for seed in args.seeds for method in methods]
    if not args.no_auto and ("autonpo", args.auto_seed) not in plan:
        plan.insert(min(2, len(plan)), ("autonpo", args.auto_seed))
    if args.source is not None:
        paths, walls = _index_runs(args.source, plan)
    else:
        paths = {f"{m}-seed{s}": args.out / f"{m}-seed{s}" for m, s in plan}
        walls = _load_walls(args.out)
        for method, seed in plan:
            name = f"{method}-seed{seed}"
            if not args.report_only and not _finished(paths[name]):
                walls[name] = _run(args, method, seed, name) + walls.get(name, 0.0)
                _save_walls(args.out, walls)
    runs = {name: _read(path) for name, path in paths.items() if _finished(path)}
    report = build_report(runs, walls, args.seeds, methods)
    print(format_report(report))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    _plot(runs, args.seeds, args.out / "entropy_and_accuracy.png")


# ---- running -------------------------------------------------------------------------------------------------------
def _run(args: argparse.Namespace, method: str, seed: int, name: str) -> float:
    path = args.out / name
    if path.exists():
        command = [*CLI, "run", "--resume", str(path)]
    else:
        command = [*CLI, "run", "--preset", args.preset, "--method", method, "--seed", str(seed)]
        command += ["--runs-dir", str(args.out), "--name", name, "--set", f"trainer.eval_every={args.eval_every}"]
        for override in args.overrides:
            command += ["--set", override]
    print("$", " ".join(command), file=sys.stderr, flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def _index_runs(root: Path, plan: list[tuple[str, int]]) -> tuple[dict[str, Path], dict[str, float]]:
    """Finished runs by method and seed: the runs a compare's ``results.json`` lists, or those under a runs dir
    (matched by the method and seed of their resolved config; the last in name order when several match)."""
    wanted = {f"{m}-seed{s}" for m, s in plan}
    paths: dict[str, Path] = {}
    walls: dict[str, float] = {}
    if root.is_file():
        candidates = [Path(run["path"]) for run in json.loads(root.read_text())["runs"]]
    else:
        candidates = sorted(p for p in root.iterdir() if (p / "config.yaml").is_file())
    for path in candidates:
        try:
            config = yaml.safe_load((path / "config.yaml").read_text())["resolved"]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            continue
        method = config.get("method") or config["source"]["name"]
        name = f"{method}-seed{config['seed']}"
        if name in wanted and _finished(path):
            paths[name] = path
            wall = path / "compare-wall.json"
            if wall.exists():
                walls[name] = float(json.loads(wall.read_text())["seconds"])
    return paths, walls


def _finished(path: Path) -> bool:
    meta = path / "meta.json"
    return meta.exists() and bool(json.loads(meta.read_text()).get("ended"))


def _load_walls(out: Path) -> dict[str, float]:
    file = out / "wall_seconds.json"
    return json.loads(file.read_text()) if file.exists() else {}


def _save_walls(out: Path, walls: dict[str, float]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "wall_seconds.json").write_text(json.dumps(walls, indent=2))


def _read(path: Path) -> dict[str, Any]:
    metrics = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    events_file = path / "events.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines()] if events_file.exists() else []
    return {"metrics": metrics, "events": events}


# ---- analysis (pure: npo_bench.analysis.curves) -------------------------------------------------------------------


def build_report(
    runs: dict[str, dict], walls: dict[str, float], seeds: list[int], methods: list[str] | None = None
) -> dict[str, Any]:
    methods = methods or ["grpo", "npo_early"]
    report: dict[str, Any] = {
        "curves": {name: eval_curve(run) for name, run in runs.items()},
        "speedup": [],
        "paired": [],
        "entropy": {},
    }
    for method in methods[1:]:
        pairs = []
        for seed in seeds:
            grpo, other = runs.get(f"grpo-seed{seed}"), runs.get(f"{method}-seed{seed}")
            if grpo is None or other is None:
                continue
            grpo_curve, curve = eval_curve(grpo), eval_curve(other)
            total = max(grpo_curve)
            target = grpo_curve[total]
            reached = steps_to_reach(curve, target)
            row: dict[str, Any] = {
                "method": method,
                "seed": seed,
                "grpo_steps": total,
                "grpo_final": target,
                "final": curve[max(curve)],
                "base": grpo_curve.get(0),
                "steps_to_grpo_final": reached,
            }
            if reached is not None:
                scouts = scout_steps_by(other, reached)
                row["scout_steps"] = scouts
                row["speedup"] = total / reached
                row["speedup_with_scouts"] = total / (reached + scouts)
            report["speedup"].append(row)
            pairs.append((seed, row["final"], target))
        diff = paired_difference(pairs)
        report["paired"].append(
            {
                "method": method,
                "seeds": list(diff.seeds),
                "differences": list(diff.differences),
                "mean": diff.mean,
                "ci95_paired_t": [diff.t_low, diff.t_high],
                "ci95_bootstrap": [diff.boot_low, diff.boot_high],
                "wins": diff.wins,
                "losses": diff.losses,
                "ties": diff.ties,
                "sign_test_p": diff.sign_p,
                "resolved": diff.resolved,
                "verdict": verdict(diff, method, "grpo"),
            }
        )
    for method in methods:
        curves = [
            {s: r["policy/entropy"] for s, r in final_by_step(runs[f"{method}-seed{seed}"]["metrics"], "train").items()}
            for seed in seeds
            if f"{method}-seed{seed}" in runs
        ]
        if curves:
            steps = sorted(set.intersection(*(set(c) for c in curves)))
            report["entropy"][method] = {s: statistics.fmean(c[s] for c in curves) for s in steps}
    auto = next((name for name in runs if name.startswith("autonpo")), None)
    if auto is not None:
        records = runs[auto]["metrics"]
        controller = sum(
            r.get("time/before_step_s", 0.0) + r.get("time/select_s", 0.0) + r.get("time/guide_s", 0.0)
            for r in records
            if r["phase"] == "train"
        )
        decisions = [e for e in runs[auto]["events"] if e["event"] == "auto_warning"]
        wall = walls.get(auto)
        report["autonpo"] = {
            "run": auto,
            "controller_s": controller,
            "wall_s": wall,
            "overhead_frac": controller / wall if wall else None,
            "warnings": len(decisions),
            "confirmed": sum(bool(e.get("confirmed")) for e in decisions),
            "rollbacks": [
                {"at": e["rollback"]["from"], "delta_star": e["delta_star"], "cache": e["cache_size"]}
                for e in decisions
                if e.get("delta_star") is not None
            ],
            "final": eval_curve(runs[auto])[max(eval_curve(runs[auto]))],
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = ["held-out accuracy by step (eval protocol of the preset):"]
    for name, curve in sorted(report["curves"].items()):
        lines.append(f"  {name:<18} " + "  ".join(f"{s}:{a:.3f}" for s, a in curve.items()))
    by_method: dict[str, list[float]] = {}
    for name, curve in report["curves"].items():
        by_method.setdefault(name.rsplit("-seed", 1)[0], []).append(curve[max(curve)] - curve.get(0, math.nan))
    for method, gains in sorted(by_method.items()):
        m, s = mean_std(gains)
        lines.append(
            f"  gain over base, {method}: {m:+.3f} ± {s:.3f} (n={len(gains)}: {', '.join(f'{g:+.3f}' for g in gains)})"
        )
    lines.append("paired: final held-out accuracy, method − GRPO on the same seed (points):")
    for paired in report["paired"]:
        per_seed = ", ".join(
            f"s{s}:{100 * d:+.2f}" for s, d in zip(paired["seeds"], paired["differences"], strict=True)
        )
        lines.append(f"  {paired['method']:<10} {per_seed or '—'}")
        lines.append(f"    {paired['verdict']}")
    lines.append("speed-up (GRPO steps / the method's steps to reach GRPO's final accuracy, same seed):")
    for row in report["speedup"]:
        if row["steps_to_grpo_final"] is None:
            lines.append(
                f"  {row['method']} seed {row['seed']}: never reached GRPO's final {row['grpo_final']:.3f} "
                f"(its final {row['final']:.3f})"
            )
        else:
            lines.append(
                f"  {row['method']} seed {row['seed']}: reached {row['grpo_final']:.3f} at step "
                f"{row['steps_to_grpo_final']} of {row['grpo_steps']}: {row['speedup']:.2f}× "
                f"({row['speedup_with_scouts']:.2f}× counting {row['scout_steps']} scout steps)"
            )
    for method, curve in report["entropy"].items():
        marks = [s for s in curve if s in (1, 25, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000)]
        lines.append(f"entropy {method:<10} " + "  ".join(f"{s}:{curve[s]:.3f}" for s in marks))
    auto = report.get("autonpo")
    if auto:
        frac = f"{100 * auto['overhead_frac']:.2f}%" if auto["overhead_frac"] is not None else "n/a (wall unknown)"
        lines.append(
            f"AutoNPO ({auto['run']}): controller {auto['controller_s']:.1f} s of {auto['wall_s'] or math.nan:.0f} s "
            f"wall = {frac}; warnings {auto['warnings']}, confirmed {auto['confirmed']}, "
            f"rollbacks {auto['rollbacks']}, final accuracy {auto['final']:.3f}"
        )
    return "\n".join(lines)


def _plot(runs: dict[str, dict], seeds: list[int], target: Path) -> None:
    """Left: held-out accuracy, per-seed lines (thin) and the mean over seeds (thick). Right: rollout entropy, mean
    over seeds of a trailing 20-step moving average (raw per-step entropy is too noisy to read)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(pip install matplotlib for the plot)", file=sys.stderr)
        return
    fig, (ax_acc, ax_ent) = plt.subplots(1, 2, figsize=(11, 4))
    colours = {
        "grpo": "tab:blue",
        "npo_early": "tab:orange",
        "autonpo": "tab:green",
        "npo": "tab:red",
        "luffy": "tab:purple",
        "exgrpo": "tab:brown",
        "rlep": "tab:pink",
    }
    by_method: dict[str, list[dict]] = {}
    for name, run in runs.items():
        by_method.setdefault(name.rsplit("-seed", 1)[0], []).append(run)
    for method, members in by_method.items():
        colour = colours.get(method)
        curves = [eval_curve(run) for run in members]
        for curve in curves:
            ax_acc.plot(list(curve), list(curve.values()), color=colour, alpha=0.3, linewidth=0.8)
        steps = sorted(set.intersection(*(set(c) for c in curves)))
        means = [statistics.fmean(c[s] for c in curves) for s in steps]
        ax_acc.plot(steps, means, marker="o", color=colour, linewidth=2, label=f"{method} (mean of {len(curves)})")
        smoothed = [_moving_average(final_by_step(run["metrics"], "train"), "policy/entropy", 20) for run in members]
        common = sorted(set.intersection(*(set(c) for c in smoothed)))
        ax_ent.plot(common, [statistics.fmean(c[s] for c in smoothed) for s in common], color=colour, label=method)
    ax_acc.set(xlabel="step", ylabel="held-out accuracy", title="held-out accuracy (thin: seeds)")
    ax_ent.set(xlabel="step", ylabel="policy entropy (nats/token)", title="rollout entropy (20-step mean, seed mean)")
    for ax in (ax_acc, ax_ent):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=120)
    print(f"plot: {target}", file=sys.stderr)


def _moving_average(records: dict[int, dict], key: str, window: int) -> dict[int, float]:
    """Trailing mean of ``key`` over the last ``window`` steps, from the first full window on."""
    steps = sorted(records)
    values = [float(records[s][key]) for s in steps]
    return {steps[i]: statistics.fmean(values[i - window + 1 : i + 1]) for i in range(window - 1, len(steps))}


if __name__ == "__main__":
    main()
