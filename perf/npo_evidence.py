"""Does NPO help at this scale? GRPO vs NPO-early (and AutoNPO's controller cost), side by side, several seeds.

A benchmark script, not a test. It runs (or resumes, or reuses) one run per method and seed through the real CLI,
then reads their ``metrics.jsonl`` / ``events.jsonl`` and prints:

1. held-out accuracy (the preset's protocol) at every evaluation, per method and seed, with mean ± std;
2. **speed-up**: the first evaluated step at which NPO-early reaches the same seed's final GRPO accuracy, over GRPO's
   step count — without and with NPO's scout steps counted (the paper reports ≈ 2.1× early-stage speed-up);
3. **entropy**: the policy entropy of the training rollouts, GRPO vs NPO-early, averaged over seeds (and a plot);
4. **AutoNPO's controller overhead**: the source's own time (snapshots, probes, Q̂/V̂, rollbacks, prompt selection and
   group surgery) as a fraction of the run's wall time; replayed steps are ordinary training and are not counted.

    python perf/npo_evidence.py                            # tiny-cpu, seeds 0 1 2, eval every 50 steps (≈ 70 min)
    python perf/npo_evidence.py --seeds 0 --no-auto        # one seed, no AutoNPO run
    python perf/npo_evidence.py --report-only              # re-read finished runs, run nothing

Runs live in ``--out`` (default ``reports/npo-evidence``); a killed script re-run continues each unfinished run
with ``--resume``. Evaluation happens under a forked RNG, so ``--eval-every`` does not change what is trained.
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

from npo_bench.analysis.curves import eval_curve, final_by_step, mean_std, scout_steps_by, steps_to_reach

CLI = [sys.executable, "-m", "npo_bench.cli"]  # the installed CLI of this interpreter (`npo-bench`)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny-cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("reports/npo-evidence"))
    parser.add_argument("--no-auto", action="store_true", help="skip the AutoNPO run")
    parser.add_argument("--auto-seed", type=int, default=0)
    parser.add_argument("--report-only", action="store_true", help="do not start or resume runs")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra --set for every run")
    args = parser.parse_args()

    plan = [(method, seed) for seed in args.seeds for method in ("grpo", "npo_early")]
    if not args.no_auto:
        plan.insert(min(2, len(plan)), ("autonpo", args.auto_seed))
    walls: dict[str, float] = _load_walls(args.out)
    for method, seed in plan:
        name = f"{method}-seed{seed}"
        if not args.report_only and not _finished(args.out / name):
            walls[name] = _run(args, method, seed, name) + walls.get(name, 0.0)
            _save_walls(args.out, walls)
    runs = {name: _read(args.out / name) for name in (f"{m}-seed{s}" for m, s in plan) if _finished(args.out / name)}
    report = build_report(runs, walls, args.seeds)
    print(format_report(report))
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


def build_report(runs: dict[str, dict], walls: dict[str, float], seeds: list[int]) -> dict[str, Any]:
    report: dict[str, Any] = {
        "curves": {name: eval_curve(run) for name, run in runs.items()},
        "speedup": [],
        "entropy": {},
    }
    for seed in seeds:
        grpo, npo = runs.get(f"grpo-seed{seed}"), runs.get(f"npo_early-seed{seed}")
        if grpo is None or npo is None:
            continue
        grpo_curve, npo_curve = eval_curve(grpo), eval_curve(npo)
        total = max(grpo_curve)
        target = grpo_curve[total]
        reached = steps_to_reach(npo_curve, target)
        row: dict[str, Any] = {
            "seed": seed,
            "grpo_steps": total,
            "grpo_final": target,
            "npo_final": npo_curve[max(npo_curve)],
        }
        row["base"] = grpo_curve.get(0)
        row["npo_steps_to_grpo_final"] = reached
        if reached is not None:
            scouts = scout_steps_by(npo, reached)
            row["scout_steps"] = scouts
            row["speedup"] = total / reached
            row["speedup_with_scouts"] = total / (reached + scouts)
        report["speedup"].append(row)
    for method in ("grpo", "npo_early"):
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
    lines.append("speed-up of NPO-early (GRPO steps / NPO steps to reach GRPO's final accuracy, same seed):")
    for row in report["speedup"]:
        if row["npo_steps_to_grpo_final"] is None:
            lines.append(
                f"  seed {row['seed']}: NPO-early never reached GRPO's final {row['grpo_final']:.3f} "
                f"(NPO final {row['npo_final']:.3f})"
            )
        else:
            lines.append(
                f"  seed {row['seed']}: reached {row['grpo_final']:.3f} at step {row['npo_steps_to_grpo_final']} of "
                f"{row['grpo_steps']}: {row['speedup']:.2f}× ({row['speedup_with_scouts']:.2f}× counting "
                f"{row['scout_steps']} scout steps)"
            )
    for method, curve in report["entropy"].items():
        marks = [s for s in curve if s in (1, 25, 50, 100, 150, 200, 250, 300)]
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
    colours = {"grpo": "tab:blue", "npo_early": "tab:orange", "autonpo": "tab:green"}
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
