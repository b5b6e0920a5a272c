"""``npo-bench analyze qvs RUN``: measure Q(Δ), V(Δ), S(Δ) (see :mod:`.qvs`) between a run's saved checkpoints.

The run's own trainer (:class:`~npo_bench.trainer.backend.EmbeddedBackend`, loaded from checkpoint t) samples and
scores with :meth:`sample` and computes per-token log-probs with :meth:`logprobs`, each under a checkpoint's weights.
Every checkpoint samples the same prompts (the first ``prompts`` training prompts) under the same fixed seed.
Writes ``qvs.json`` (the numbers) and ``qvs.png`` (Q, V, S against Δ, Δ* marked) into ``RUN/analysis``.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from npo_bench.analysis.qvs import QVSPoint, best_delta, signal_quality, weight_stats
from npo_bench.errors import UserError
from npo_bench.json_values import finite_json
from npo_bench.types import CheckpointRef

SAMPLE_SEED = 4321
STEP_TAG = re.compile(r"^step-(\d+)$")


def step_checkpoints(run: Path) -> dict[int, CheckpointRef]:
    """``{step: ref}`` of the run's complete periodic checkpoints ``checkpoints/step-XXXXXX``."""
    from npo_bench.trainer.checkpoints import STATE_FILE

    refs = {}
    for path in sorted((run / "checkpoints").glob("step-*")):
        match = STEP_TAG.match(path.name)
        if match and (path / STATE_FILE).exists():
            refs[int(match.group(1))] = CheckpointRef(int(match.group(1)), path.name, path)
    return refs


def analyze_qvs(
    run_path: Path,
    deltas: list[int] | None = None,
    at: int = 0,
    prompts: int = 64,
    n: int | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    from npo_bench.config import from_dict
    from npo_bench.runs import RunDir, atomic_write_json
    from npo_bench.trainer.backend import EmbeddedBackend

    run = RunDir.open(run_path)
    refs = step_checkpoints(run_path)
    if at not in refs:
        raise UserError(f"{run_path} has no checkpoint at step {at}", hint=f"saved steps: {sorted(refs)}")
    deltas = deltas if deltas is not None else [step - at for step in sorted(refs) if step > at]
    missing = [d for d in deltas if at + d not in refs]
    if missing or not deltas:
        raise UserError(
            f"no checkpoint at step {at} + Δ for Δ in {missing or deltas}",
            hint=f"saved steps: {sorted(refs)} (Δ must land on one of them)",
        )
    config = from_dict(run.resolved_config(), where=str(run_path / "config.yaml"))
    backend = EmbeddedBackend(config, run, refs[at].path)
    probe = backend.train_prompts[:prompts]
    samples = n or config.rollout.n
    base_groups = _sample(backend, probe, samples, refs[at])
    base_correct = {g[0].prompt_id: [bool(t.correct) for t in g] for g in base_groups}
    points = []
    for delta in deltas:
        guide = refs[at + delta]
        groups = _sample(backend, probe, samples, guide)
        q, failed, solved = signal_quality(base_correct, {g[0].prompt_id: [bool(t.correct) for t in g] for g in groups})
        trajectories = [t for g in groups for t in g]
        weights = weight_stats(backend.logprobs(trajectories, refs[at]), backend.logprobs(trajectories, guide))
        points.append(QVSPoint(delta, q, failed, solved, weights))
    report = {
        "run": str(run_path),
        "at": at,
        "prompts": len(probe),
        "n": samples,
        "points": [{**asdict(p), "s": p.s} for p in points],
        "delta_star": best_delta(points),
    }
    out = out or run_path / "analysis"
    atomic_write_json(out / "qvs.json", finite_json(report))
    report["plot"] = _plot(points, report["delta_star"], out / "qvs.png")
    return report


def _sample(backend: Any, prompts: list, n: int, ref: CheckpointRef) -> list:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SAMPLE_SEED)
        return backend.sample(prompts, n, ref)


def _plot(points: list[QVSPoint], delta_star: int | None, target: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    deltas = [p.delta for p in points]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    series = (
        ("Q(Δ): failed prompts the guide solves", [p.q for p in points]),
        ("V(Δ) = E[w²]/E[w]²", [p.weights.v for p in points]),
        ("S(Δ) = Q/V", [p.s for p in points]),
    )
    for ax, (title, values) in zip(axes, series, strict=True):
        ax.plot(deltas, values, marker="o")
        if delta_star is not None:
            ax.axvline(delta_star, color="tab:red", linestyle="--", label=f"Δ* = {delta_star}")
            ax.legend(fontsize=8)
        ax.set(xlabel="Δ (steps)", title=title)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return str(target)


def format_qvs(report: dict[str, Any]) -> str:
    lines = [f"Q/V/S of {report['run']} from step {report['at']} ({report['prompts']} prompts × {report['n']}):"]
    lines.append(f"  {'Δ':>5} {'Q':>7} {'failed':>7} {'solved':>7} {'Var(w)':>10} {'KL/tok':>9} {'V':>9} {'S':>9}")
    for p in report["points"]:
        w = p["weights"]
        lines.append(
            f"  {p['delta']:>5} {p['q']:>7.3f} {p['failed']:>7} {p['solved']:>7} {w['variance']:>10.4g} "
            f"{w['kl_per_token']:>9.4g} {w['v']:>9.4g} {p['s']:>9.4g}"
        )
    lines.append(f"  Δ* = {report['delta_star']}" + (f"   plot: {report['plot']}" if report.get("plot") else ""))
    return "\n".join(lines)
