"""The pass@k curves of ``npo-bench analyze samples --plot``: one line per label (the seeds of one method share it,
mean and ± 95 % CI band over seeds, as in a comparison's plots), k on a log₂ axis."""

from __future__ import annotations

from pathlib import Path

from npo_bench.compare.plots import band


def plot_pass_curves(curves: dict[str, list[dict[int, float]]], out: Path) -> str | None:
    """Write ``out`` (PNG); ``curves`` maps a label to one k → pass@k curve per evaluation. None, or why it was not
    written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (it is a dependency of npo-bench: reinstall it)"
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
