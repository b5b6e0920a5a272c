"""PNG plots of a comparison (matplotlib, a dependency; should it fail to import, the report says so).

One figure per curve — held-out accuracy, policy entropy, reward and injected fraction against the step — with a line
per method (the mean over seeds at the steps every seed logged) and a band of ± 95% CI over seeds (min–max with two
seeds would be the same information; one seed has no band).
"""

from __future__ import annotations

import math
from pathlib import Path

from npo_bench.compare.results import RunResult
from npo_bench.compare.stats import mean_ci
from npo_bench.compare.table import Table

TITLES = {
    "accuracy": ("held-out accuracy", "accuracy"),
    "entropy": ("policy entropy of the training rollouts", "nats / token"),
    "reward": ("mean reward of the on-policy rollouts", "reward"),
    "injected": ("fraction of trained trajectories injected by the source", "injected fraction"),
}


def band(curves: list[dict[int, float]]) -> tuple[list[int], list[float], list[float], list[float]]:
    """(steps, mean, low, high) over the steps every curve has; low = high = mean where there is no interval."""
    if not curves:
        return [], [], [], []
    steps = sorted(set.intersection(*(set(c) for c in curves)))
    means, lows, highs = [], [], []
    for step in steps:
        est = mean_ci([c[step] for c in curves])
        width = 0.0 if math.isnan(est.half_width) else est.half_width
        means.append(est.mean)
        lows.append(est.mean - width)
        highs.append(est.mean + width)
    return steps, means, lows, highs


def plot_curves(results: list[RunResult], table: Table, out: Path) -> tuple[list[Path], str | None]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "plots skipped: matplotlib is not installed (it is a dependency of npo-bench: reinstall it)"
    methods = [row.method for row in table.rows]
    paths = []
    for name, (title, ylabel) in TITLES.items():
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for index, method in enumerate(methods):
            curves = [r.curves.get(name, {}) for r in results if r.method == method and r.status == "ok"]
            steps, means, lows, highs = band([c for c in curves if c])
            if not steps:
                continue
            colour = f"C{index}"
            ax.plot(steps, means, color=colour, marker="o" if name == "accuracy" else None, ms=3, label=method)
            ax.fill_between(steps, lows, highs, color=colour, alpha=0.2, linewidth=0)
        ax.set(xlabel="step", ylabel=ylabel, title=title)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths, None
