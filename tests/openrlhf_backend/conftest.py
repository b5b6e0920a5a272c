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
    from npo_bench.config import resolve
    from npo_bench_plugins.openrlhf.backend import OpenRLHFBackend
    from npo_bench_plugins.openrlhf.flags import parse_with_stock_parser

    config = resolve("micro", overrides=["rollout.n=4", "rollout.prompts_per_step=3"])
    config.backend_options = {"nodes": 1, "gpus_per_node": 1, "micro_rollout_batch_size": 3}
    return parse_with_stock_parser(OpenRLHFBackend.argv(config, Path("/tmp/run")))
