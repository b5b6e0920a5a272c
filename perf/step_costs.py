"""Refit a preset's step costs (``configs/costs/<preset>.yaml``) from the walls of a finished comparison.

``npo-bench compare`` prints its expected wall time from the preset's measured seconds per guided step; a method
without a measurement is assumed to cost what GRPO costs. This script reads the runs a comparison trained — each
run's own wall (summed over resumes), steps, evaluations and rollout shape — and solves the same cost model for
each method's seconds per step (:func:`npo_bench.compare.cost.fitted_step_s`), so that the table predicts those
walls again. A run without a recorded wall (trained by `npo-bench run`, not by a comparison) is skipped; a run the
comparison reused carries the wall of the comparison that trained it.

    npo-bench compare grpo npo luffy --seeds 3 --jobs 2 --set model.threads=1 --out reports/c
    python perf/step_costs.py reports/c --jobs 2      # the --jobs the comparison ran with
    python perf/step_costs.py reports/c --jobs 2 --started-after 2026-12-06T02:20   # only runs begun since then

Prints, per method: runs fitted, seconds per step (mean ± sd over runs), the table's current value and the
ratio, then a ``step_s:`` block to paste into the cost table (its ``measured:`` line says where the numbers came
from: the commit, the machine, the comparison). With ``--jobs`` above 1 it also prints each method's slowdown
against its table value: where that value was measured alone (the machine to itself), this is the method's own
factor for sharing the cores, for the table's ``method_slowdown`` when it differs from the common ``slowdown``.
Walls measured beside other work are not costs: fit from a comparison that had the machine to itself, and skip
runs an earlier, busier comparison trained (``--started-after``, against each run's ``meta.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

from npo_bench.compare.cost import fitted_slowdown, fitted_step_s, load_costs
from npo_bench.compare.results import read_wall
from npo_bench.errors import UserError
from npo_bench.runs import RunDir


def run_dirs(report: Path) -> list[tuple[str, Path]]:
    """(method, run directory) of every run in a comparison report; relative paths are tried from the working
    directory, then from the report's parent (where ``compare`` usually ran)."""
    runs = json.loads((report / "results.json").read_text())["runs"]
    found = []
    for run in runs:
        path = Path(run["path"])
        if not path.is_absolute() and not path.is_dir():
            path = report.parent / path
        found.append((str(run["method"]), path))
    return found


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def started(path: Path) -> datetime:
    """When the run began (``meta.json``; a resumed run keeps its first start)."""
    return aware(datetime.fromisoformat(json.loads((path / "meta.json").read_text())["started"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path, help="a compare report folder (holds results.json)")
    parser.add_argument("--jobs", type=int, required=True, help="runs at a time in that comparison")
    parser.add_argument("--preset", default="tiny-cpu", help="whose cost table supplies setup, eval and slowdown")
    parser.add_argument(
        "--started-after",
        type=datetime.fromisoformat,
        help="skip runs whose meta.json says they started before this time (ISO, UTC when no zone is given)",
    )
    args = parser.parse_args()
    if not (args.report / "results.json").is_file():
        sys.exit(f"{args.report}: no results.json (the --out folder of an `npo-bench compare`)")
    costs = load_costs(args.preset)
    if costs is None:
        sys.exit(f"preset {args.preset!r} has no cost table (configs/costs/{args.preset}.yaml)")

    fitted: dict[str, list[float]] = {}
    slowdowns: dict[str, list[float]] = {}
    for method, path in run_dirs(args.report):
        if args.started_after is not None and started(path) < aware(args.started_after):
            print(f"skipped {path}: started before {args.started_after:%Y-%m-%d %H:%M}")
            continue
        wall = read_wall(path)
        if wall is None:
            print(f"skipped {path}: no wall recorded (not trained by a comparison)")
            continue
        try:
            config = RunDir.open(path).resolved_config()  # read only: no lock taken, nothing written
        except UserError as exc:
            sys.exit(str(exc))
        fitted.setdefault(method, []).append(fitted_step_s(costs, wall, config, jobs=args.jobs, method=method))
        slowdowns.setdefault(method, []).append(fitted_slowdown(costs, wall, config, method))

    shared = args.jobs > 1
    header = f"{'method':<10} {'runs':>4} {'step_s':>15} {'table':>7} {'fit/table':>9}"
    print(header + (f" {'slowdown vs table':>17} {'table':>5}" if shared else ""))
    for method, values in sorted(fitted.items()):
        mean = statistics.fmean(values)
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        table = costs.step_s.get(method, costs.default_step_s)
        line = f"{method:<10} {len(values):>4} {mean:>8.3f} ± {spread:.3f} {table:>7.3f} {mean / table:>9.2f}"
        if shared:
            factor = statistics.fmean(slowdowns[method])
            line += f" {factor:>17.2f} {costs.slowdown_for(args.jobs, method):>5.2f}"
        print(line)
    print("\nstep_s:")
    for method, values in sorted(fitted.items()):
        print(f"  {method}: {statistics.fmean(values):.3f}")


if __name__ == "__main__":
    main()
