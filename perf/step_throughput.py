"""Throughput of the embedded GRPO trainer on a preset (a benchmark script, not a test).

Prints steps/s, rollout tokens/s (generated response tokens), train tokens/s (prompt + response tokens through the
forward/backward) and peak memory, as a table. Uses the preset's cached warm-up base when it exists (realistic
response lengths), otherwise the random-init model (responses run to the length cap) — the table says which.

    python perf/step_throughput.py                       # tiny-cpu, 10 timed steps after 2 warm-up steps
    python perf/step_throughput.py --preset micro --steps 5 --set rollout.n=4
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from npo_bench.config import resolve
from npo_bench.runs import RunDir
from npo_bench.trainer.backend import EmbeddedBackend
from npo_bench.trainer.warmup import REPORT_FILE, cache_root, initial_model_dir, warmup_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny-cpu")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps first")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    config = resolve(args.preset, overrides=args.overrides)
    cached = cache_root(config) / "warmup" / warmup_key(config)
    base, kind = (
        (cached, "warm-up base") if (cached / REPORT_FILE).exists() else (initial_model_dir(config), "random init")
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir.create(Path(tmp) / "perf", {}, {}, config.seed)
        backend = EmbeddedBackend(config, run, base)
        backend.train(args.warmup_steps)
        rows = []
        for _ in range(args.steps):
            started = time.perf_counter()
            stats = backend._grpo_step(guided=False)
            rows.append((time.perf_counter() - started, stats.metrics))
    seconds = [r[0] for r in rows]
    total = sum(seconds)
    rollout_tokens = sum(m["response/tokens"] for _, m in rows)
    generate_seconds = sum(m["time/generate_s"] for _, m in rows)
    train_tokens = sum(m["train/tokens"] for _, m in rows)
    train_seconds = sum(m["time/train_s"] for _, m in rows)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    params = sum(p.numel() for p in backend.policy.model.parameters())
    table = [
        ("preset", f"{args.preset} ({kind}, {params / 1e6:.2f} M params, {torch.get_num_threads()} threads)"),
        ("rollouts per step", f"{config.rollout.prompts_per_step} prompts × n={config.rollout.n}"),
        ("steps/s", f"{args.steps / total:.3f}  (median step {statistics.median(seconds):.2f} s)"),
        ("rollout tokens/s", f"{rollout_tokens / generate_seconds:,.0f}  (generation phase only)"),
        ("train tokens/s", f"{train_tokens / train_seconds:,.0f}  (forward + backward + optimizer)"),
        (
            "peak memory",
            f"{peak_rss_mib:,.0f} MiB RSS"
            + (f", {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB CUDA" if torch.cuda.is_available() else ""),
        ),
    ]
    width = max(len(k) for k, _ in table)
    for key, value in table:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
