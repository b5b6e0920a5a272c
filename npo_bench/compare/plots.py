"""PNG plots of a comparison (matplotlib, a dependency; should it fail to import, the report says so).

One figure per curve — held-out accuracy, policy entropy, reward and injected fraction against the step — with a line
per method (the mean over seeds at the steps every seed logged) and a band of ± 95% CI over seeds (min–max with two
seeds would be the same information; one seed has no band). The same lines and bands draw pass@k against k for
``npo-bench analyze samples --plot`` (:func:`plot_pass_curves`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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


NO_MATPLOTLIB = "plots skipped: matplotlib is not installed (it is a dependency of npo-bench: reinstall it)"


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or None where matplotlib does not import."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot_curves(results: list[RunResult], table: Table, out: Path) -> tuple[list[Path], str | None]:
    plt = _pyplot()
    if plt is None:
        return [], NO_MATPLOTLIB
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


def plot_pass_curves(curves: dict[str, list[dict[int, float]]], out: Path) -> str | None:
    """Write ``out`` (PNG); ``curves`` maps a label to one k → pass@k curve per evaluation. None, or why it was not
    written."""
    plt = _pyplot()
    if plt is None:
        return NO_MATPLOTLIB
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for index, (label, per_eval) in enumerate(curves.items()):
        ks, means, lows, highs = band([c for c in per_eval if c])
        if not ks:
            continue
        seeds = f" (n = {len(per_eval)})" if len(per_eval) > 1 else ""
        ax.plot(ks, means, color=f"C{index}", marker="o", ms=3, label=label + seeds)
        ax.fill_between(ks, lows, highs, color=f"C{index}", alpha=0.2, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="k (samples)", ylabel="pass@k", title="pass@k: at least one of k samples correct")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None
