"""Throughput of the embedded GRPO trainer on a preset (a benchmark script, not a test).

Prints steps/s, rollout tokens/s (generated response tokens), train tokens/s (prompt + response tokens through the
forward/backward) and peak memory, as a table. Uses the preset's cached warm-up base when it exists (realistic
response lengths), otherwise the random-init model (responses run to the length cap) — the table says which.

``--against KEY=VALUE`` (repeatable) times a second configuration side by side in the same process: the two
trainers take turns step by step, so a busy machine slows both alike, and the table adds the speed-up of this
configuration over the other (> 1: this one is faster). Both start from this configuration's base, even when the
other's settings would key a different warm-up (``model.decoder`` does).

    python perf/step_throughput.py                       # tiny-cpu, 10 timed steps after 2 warm-up steps
    python perf/step_throughput.py --preset micro --steps 5 --set rollout.n=4
    python perf/step_throughput.py --against model.dedup_images=false   # what image dedup buys
    python perf/step_throughput.py --against trainer.skip_zero_advantage=false   # what skipping Â = 0 rows buys
    python perf/step_throughput.py --against model.decoder=generate   # what the compact decoder buys
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from npo_bench.presets import resolve
from npo_bench.runs import RunDir
from npo_bench.trainer.backend import EmbeddedBackend
from npo_bench.trainer.warmup import REPORT_FILE, cache_root, initial_model_dir, warmup_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny-cpu")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (per configuration)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps first")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--against", action="append", default=[], help="KEY=VALUE of a second configuration")
    args = parser.parse_args()

    variants = {"this": args.overrides}
    if args.against:
        variants["against"] = args.overrides + args.against
    with tempfile.TemporaryDirectory() as tmp:
        base = _base(resolve(args.preset, overrides=args.overrides))  # both start from this configuration's base
        trainers = {
            name: _trainer(args.preset, overrides, Path(tmp) / name, base) for name, overrides in variants.items()
        }
        for backend, _, _ in trainers.values():
            backend.train(args.warmup_steps)
        timings: dict[str, list] = {name: [] for name in trainers}
        for _ in range(args.steps):
            for name, (backend, _, _) in trainers.items():
                started = time.perf_counter()
                stats = backend._grpo_step(guided=False)
                timings[name].append((time.perf_counter() - started, stats.metrics))
    columns = {name: _measures(timings[name]) for name in trainers}
    first = next(iter(trainers.values()))
    backend, config, kind = first
    params = sum(p.numel() for p in backend.policy.model.parameters())
    print(f"preset             {args.preset} ({kind}, {params / 1e6:.2f} M params, {torch.get_num_threads()} threads)")
    print(f"rollouts per step  {config.rollout.prompts_per_step} prompts × n={config.rollout.n}")
    if args.against:
        print(f"against            {' '.join(args.against)} (steps interleaved with this configuration's)")
    names = list(columns)
    header = ["", *names] + (["speed-up"] if args.against else [])
    rows = [header]
    for measure in ("steps/s", "median step s", "rollout tokens/s", "train tokens/s"):
        values = [columns[name][measure] for name in names]
        row = [measure, *(f"{v:,.3f}" if v < 100 else f"{v:,.0f}" for v in values)]
        if args.against:  # > 1: this configuration is faster
            speedup = values[1] / values[0] if measure.endswith(" s") else values[0] / values[1]
            row.append(f"{speedup:.2f}×")
        rows.append(row)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cuda = f", {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB CUDA" if torch.cuda.is_available() else ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"peak memory        {peak_rss_mib:,.0f} MiB RSS (whole process){cuda}")


def _base(config) -> tuple[Path, str]:
    """The cached warm-up base of ``config`` when it exists, else its random-init model; and which it is."""
    cached = cache_root(config) / "warmup" / warmup_key(config)
    return (cached, "warm-up base") if (cached / REPORT_FILE).exists() else (initial_model_dir(config), "random init")


def _trainer(preset: str, overrides: list[str], run_root: Path, base: tuple[Path, str] | None = None):
    """A backend for ``preset`` + ``overrides``, started from ``base`` (default: its own, see ``_base``)."""
    config = resolve(preset, overrides=overrides)
    model_dir, kind = base or _base(config)
    run = RunDir.create(run_root, {}, {}, config.seed)
    return EmbeddedBackend(config, run, model_dir), config, kind


def _measures(rows: list) -> dict[str, float]:
    """steps/s, median step time, generated tokens/s in the generation phase, trained tokens/s in the update."""
    seconds = [r[0] for r in rows]
    metrics = [r[1] for r in rows]
    return {
        "steps/s": len(seconds) / sum(seconds),
        "median step s": statistics.median(seconds),
        "rollout tokens/s": sum(m["response/tokens"] for m in metrics) / sum(m["time/generate_s"] for m in metrics),
        "train tokens/s": sum(m["train/tokens"] for m in metrics) / sum(m["time/train_s"] for m in metrics),
    }


if __name__ == "__main__":
    main()
