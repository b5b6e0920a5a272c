"""GPU smoke of the embedded trainer at a real model size (a benchmark script for a GPU machine, not a test).

Builds a random-init Qwen3-VL with the published Qwen3-VL-2B-Instruct dimensions (28 × 2048 text decoder, 16/8
heads, 24 × 1024 vision tower with DeepStack at blocks 5/11/17) around the project's offline tokenizer and
torchvision-free processor, saves it with ``save_pretrained`` and loads it back through the same
``from_pretrained`` path a downloaded checkpoint takes (``model.path``). Then, on the GPU, in bfloat16:

1. timed GRPO steps of the tiny-cpu task (16 prompts × n = 8): step time, rollout and train tokens/s, peak memory;
   every step's loss and gradient norm must be finite and the weights must move. A random-init model solves almost
   nothing, so almost every advantage is 0: ``trainer.skip_zero_advantage`` is off here, so that every row goes
   through the backward pass and the train phase is timed at its full size;
2. the ``TrainerControl`` round trip NPO relies on: save → train 1 step → restore gives back the exact weights,
   optimizer state and next prompts; sampling with the saved checkpoint leaves the live weights untouched.

Each check prints PASS/FAIL with its number; the exit status is the number of failed checks.

    python perf/gpu_smoke.py                 # Qwen3-VL-2B dims, 1 untimed + 3 timed steps
    python perf/gpu_smoke.py --steps 5 --layers 4   # a quicker, shallower variant
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from npo_bench.config import TinyModelConfig
from npo_bench.presets import resolve
from npo_bench.runs import RunDir
from npo_bench.trainer.backend import EmbeddedBackend
from npo_bench.trainer.warmup import initial_model_dir

# Qwen3-VL-2B-Instruct's published architecture (text: Qwen3-1.7B-like decoder; vision: 24-block ViT).
TEXT_2B = {"hidden_size": 2048, "intermediate_size": 6144, "num_layers": 28, "num_heads": 16, "num_kv_heads": 8}
VISION_2B = {
    "depth": 24,
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_heads": 16,
    "num_position_embeddings": 2304,
    "deepstack_visual_indexes": [5, 11, 17],
}


def build_real_size_model(config, out_dir: Path, layers: int, device: str) -> tuple[Path, float]:
    """Save a random-init Qwen3-VL-2B-sized model (bfloat16) with the tiny preset's tokenizer and processor."""
    from transformers import AutoModelForImageTextToText, GenerationConfig

    from npo_bench.policy.processor import PROCESSORS
    from npo_bench.policy.tiny import tiny_model_config

    tiny_dir = initial_model_dir(config)  # the tokenizer trained offline on the task's text + the processor
    processor = PROCESSORS["qwen3_vl"].from_pretrained(tiny_dir, local_files_only=True)
    text = {**TEXT_2B, "num_layers": layers}
    sized = TinyModelConfig(arch="qwen3_vl", vision_depth=VISION_2B["depth"], vision_hidden=1024, **text)
    model_config = tiny_model_config(sized, processor.tokenizer)
    for key, value in VISION_2B.items():
        setattr(model_config.vision_config, key, value)
    with torch.device(device):
        torch.manual_seed(0)
        model = AutoModelForImageTextToText.from_config(model_config, dtype=torch.bfloat16)
    params = sum(p.numel() for p in model.parameters()) / 1e9
    model.generation_config = GenerationConfig.from_pretrained(tiny_dir)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    del model
    torch.cuda.empty_cache()
    return out_dir, params


def check(results: list[bool], name: str, ok: bool, detail: str) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3, help="timed GRPO steps (after one untimed step)")
    parser.add_argument("--layers", type=int, default=TEXT_2B["num_layers"], help="text decoder layers [28]")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config overrides")
    parser.add_argument("--device", default="cuda", help="cpu: a dry run of this script (use with --layers 1)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: this script is for a GPU machine (--device cpu for a dry run)", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(f"device: {name}, torch {torch.__version__}", flush=True)
    results: list[bool] = []
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [
            f"model.device={args.device}",
            "model.dtype=bfloat16",
            "trainer.skip_zero_advantage=false",
            *args.overrides,
        ]
        config = resolve("tiny-cpu", overrides=overrides)
        started = time.perf_counter()
        model_dir, billions = build_real_size_model(config, Path(tmp) / "qwen3-vl-2b-random", args.layers, args.device)
        print(f"built and saved {billions:.2f} B parameters in {time.perf_counter() - started:.0f} s", flush=True)
        config = resolve("tiny-cpu", overrides=[*overrides, f"model.path={model_dir}"])
        run = RunDir.create(Path(tmp) / "runs", {}, {}, config.seed)
        started = time.perf_counter()
        backend = EmbeddedBackend(config, run, model_dir)
        print(f"loaded through from_pretrained in {time.perf_counter() - started:.0f} s", flush=True)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        _grpo_steps(backend, args.steps, results)
        _rollback(backend, results)
    failed = results.count(False)
    print(f"{len(results) - failed}/{len(results)} checks passed")
    return failed


def _grpo_steps(backend: EmbeddedBackend, steps: int, results: list[bool]) -> None:
    before = {n: p.detach().clone() for n, p in backend.policy.model.named_parameters() if "layers.0." in n}
    records = []
    for i in range(steps + 1):
        _synchronize()
        started = time.perf_counter()
        stats = backend._grpo_step(guided=False)
        _synchronize()
        if i:  # the first step compiles kernels and fills caches
            records.append((time.perf_counter() - started, stats.metrics))
    m = [r[1] for r in records]
    finite = all(math.isfinite(x["policy/loss"]) and math.isfinite(x["policy/grad_norm"]) for x in m)
    check(results, "finite loss and gradient norm", finite, f"losses {[round(x['policy/loss'], 4) for x in m]}")
    moved = max(
        float((p.detach() - before[n]).abs().max()) for n, p in backend.policy.model.named_parameters() if n in before
    )
    check(results, "weights move", moved > 0, f"max |Δw| in layer 0 = {moved:.2e}")
    seconds = [r[0] for r in records]
    rollout = sum(x["response/tokens"] for x in m) / sum(x["time/generate_s"] for x in m)
    train = sum(x["train/tokens"] for x in m) / sum(x["time/train_s"] for x in m)
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
    generate_s = statistics.median(x["time/generate_s"] for x in m)
    train_s = statistics.median(x["time/train_s"] for x in m)
    print(
        f"median step {statistics.median(seconds):.2f} s (generate {generate_s:.2f} s, train {train_s:.2f} s); "
        f"rollout {rollout:,.0f} tok/s; train {train:,.0f} tok/s; peak {peak:.1f} GiB; "
        f"pass rate {m[-1]['reward/pass_rate']:.3f}",
        flush=True,
    )


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _rollback(backend: EmbeddedBackend, results: list[bool]) -> None:
    model = backend.policy.model
    ref = backend.save("smoke")
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    moments = [s["exp_avg"].clone() for s in backend.optimizer.state.values() if "exp_avg" in s][:8]
    next_prompts = [p.id for p in backend.stream.batch(backend.step + 1)]
    backend.train(1)
    backend.restore(ref)
    same = all(torch.equal(p.detach(), weights[n]) for n, p in model.named_parameters())
    check(results, "restore: weights bit-identical", same, f"{len(weights)} tensors")
    after = [s["exp_avg"] for s in backend.optimizer.state.values() if "exp_avg" in s][:8]
    check(
        results, "restore: optimizer moments", all(torch.equal(a, b) for a, b in zip(after, moments, strict=True)), ""
    )
    again = [p.id for p in backend.stream.batch(backend.step + 1)]
    check(results, "restore: next prompts", again == next_prompts, f"{len(again)} prompts")
    backend.train(1)
    prompts = backend.stream.batch(backend.step + 1)[:2]
    guides = backend.sample(prompts, 2, checkpoint=ref)
    live = all(not torch.equal(p.detach(), weights[n]) for n, p in model.named_parameters() if "layers.0.mlp" in n)
    check(results, "sample from a checkpoint", len(guides) == 2 and live, "live weights kept after the guide sample")


if __name__ == "__main__":
    raise SystemExit(main())
