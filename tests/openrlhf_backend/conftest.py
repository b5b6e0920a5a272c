"""Tests of the ``openrlhf`` backend against the real OpenRLHF 0.11.2 classes (``tox -e openrlhf``).

Only two things are stubbed, as OpenRLHF's own tests do: flash-attn's CUDA kernel module and vLLM
(``npo_bench_plugins.openrlhf.cpu_stubs``). Skipped where openrlhf is not installed (the default test env).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from npo_bench_plugins.openrlhf import cpu_stubs

cpu_stubs.install()
pytest.importorskip("openrlhf", reason="the openrlhf extra is not installed (tox -e openrlhf)")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-init Qwen3-VL with an offline-trained tokenizer, saved like the embedded backend saves it."""
    from npo_bench.config import TinyModelConfig
    from npo_bench.policy.tiny import build_tiny_policy

    corpus = [f"how many circles {i} <think> count {i % 7} </think> <answer>{i % 9}</answer>" for i in range(200)]
    cfg = TinyModelConfig(
        hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
        vision_depth=1, vision_hidden=32, vocab_size=300,
    )  # fmt: skip
    return build_tiny_policy(cfg, corpus, tmp_path_factory.mktemp("tiny-vlm"), 32 * 32, 64 * 64)


@pytest.fixture(scope="session")
def parsed_args():
    """OpenRLHF's own parsed namespace for a small GRPO config (n = 4, 3 prompts, micro-batches of 3)."""
    from npo_bench.presets import resolve
    from npo_bench_plugins.openrlhf.backend import OpenRLHFBackend
    from npo_bench_plugins.openrlhf.flags import parse_with_stock_parser

    config = resolve("micro", overrides=["rollout.n=4", "rollout.prompts_per_step=3"])
    config.backend_options = {"nodes": 1, "gpus_per_node": 1, "micro_rollout_batch_size": 3}
    return parse_with_stock_parser(OpenRLHFBackend.argv(config, Path("/tmp/run")))


@pytest.fixture(scope="session")
def digit_vlm(tiny_vlm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen3-VL taught a few dozen SFT steps to answer ``<answer>d</answer>`` with d uniform in 1–5,
    whatever the question: on the synthetic task some rollouts of a group are right and some wrong (p̂ ≈ 0.2 on
    counting prompts), so a micro RL run has non-zero advantages, guides to harvest and probes that succeed."""
    import random
    import shutil

    import torch

    from npo_bench.policy.batching import collate, encode_prompt
    from npo_bench.policy.loading import load_policy
    from npo_bench.policy.logprobs import response_token_stats
    from npo_bench.presets import resolve

    out = tmp_path_factory.mktemp("digit-vlm")
    shutil.copytree(tiny_vlm, out, dirs_exist_ok=True)
    config = resolve("micro")
    policy = load_policy(tiny_vlm, device="cpu", dtype="float32", share_prompts=False, dedup_images=False)
    prompts = list(make_benchmark_prompts(config))
    encodings = [encode_prompt(policy, p, config.task.prompt_template) for p in prompts]
    eos = policy.tokenizer.eos_token_id
    rng = random.Random(0)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=3e-3)
    for _ in range(40):
        picked = rng.sample(range(len(prompts)), 8)
        responses = [
            torch.tensor(policy.tokenizer(f"<answer>{rng.randint(1, 5)}</answer>")["input_ids"] + [eos]) for _ in picked
        ]
        batch = collate([encodings[i] for i in picked], responses, policy.pad_id)
        stats = response_token_stats(policy, batch, temperature=1.0)
        loss = -stats.logprobs.sum() / batch.response_mask.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    policy.model.save_pretrained(out)
    return out


def make_benchmark_prompts(config):
    from npo_bench.benchmark import make_benchmark

    t = config.task
    return make_benchmark(t.benchmark, t.options).load(t.train_split, 16, t.seed)
