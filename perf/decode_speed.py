"""Rollout decoding speed: HF ``generate`` against the compact decoder (a benchmark script, not a test).

Samples one training step's rollouts (``prompts_per_step`` prompts × n, the preset's temperature and length cap)
with each decoder in turn, round after round on the same prompts, so a busy machine slows all alike. The compact
decoder runs twice: dropping finished rows as soon as one finishes, and once they are 1/8 of the batch (the
default). Uses the preset's cached warm-up base when it exists (realistic response lengths), else the random init.

    python perf/decode_speed.py                   # tiny-cpu, 8 rounds
    python perf/decode_speed.py --rounds 4 --set rollout.n=16
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from step_throughput import _trainer  # noqa: E402

from npo_bench.policy.batching import collate, encode_prompt  # noqa: E402
from npo_bench.policy.decode import decode, warp_function  # noqa: E402
from npo_bench.policy.sampling import _decode_hf  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny-cpu")
    parser.add_argument("--rounds", type=int, default=8, help="timed rounds (each runs every decoder once)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        backend, config, kind = _trainer(args.preset, args.overrides, Path(tmp))
    policy, r = backend.policy, config.rollout
    policy.model.eval()
    prompts = backend.prompts_between(0, 1)  # the first step's prompts
    encodings = [encode_prompt(policy, p, config.task.prompt_template) for p in prompts]
    warp = warp_function(r.temperature, r.top_p, 0)

    def compact(drop_fraction: float):
        batch = collate(encodings, None, policy.pad_id)
        out = decode(policy, batch, r.n, r.max_new_tokens, warp, greedy=False, drop_fraction=drop_fraction)
        return out.tokens

    decoders = {
        "generate": lambda: _decode_hf(policy, encodings, r.n, r.temperature, r.top_p, 0, r.max_new_tokens)[0],
        "compact, drop at 1/8": lambda: compact(0.125),
        "compact, drop each row": lambda: compact(0.0),
    }
    seconds: dict[str, list[float]] = {name: [] for name in decoders}
    tokens: dict[str, list[int]] = {name: [] for name in decoders}
    eos = torch.tensor(policy.eos_ids)
    for round_index in range(args.rounds + 1):  # round 0 warms up and is not timed
        for name, run in decoders.items():
            torch.manual_seed(round_index)
            started = time.perf_counter()
            with torch.no_grad():
                generated = run()  # (B, R)
            elapsed = time.perf_counter() - started
            if round_index:
                seconds[name].append(elapsed)
                tokens[name].append(_response_tokens(generated, eos))

    print(f"preset      {args.preset} ({kind}, {torch.get_num_threads()} threads)")
    print(f"one step    {len(prompts)} prompts × n={r.n}, ≤ {r.max_new_tokens} tokens, T {r.temperature}")
    base = statistics.median(seconds["generate"])
    rows = [("decoder", "median s", "response tokens/s", "speed-up")]
    for name in decoders:
        median = statistics.median(seconds[name])
        rate = sum(tokens[name]) / sum(seconds[name])
        rows.append((name, f"{median:.3f}", f"{rate:,.0f}", f"{base / median:.2f}×"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def _response_tokens(generated: torch.Tensor, eos: torch.Tensor) -> int:
    """Tokens up to and including each row's first EOS."""
    is_eos = torch.isin(generated, eos)  # (B, R)
    ended = is_eos.any(dim=1)
    lengths = torch.where(ended, is_eos.float().argmax(dim=1) + 1, torch.full_like(ended, generated.shape[1]).long())
    return int(lengths.sum())


if __name__ == "__main__":
    main()
