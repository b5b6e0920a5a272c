"""The warm-up cache key: settings that shape the base change it, settings that cannot do not."""

from __future__ import annotations

import pytest

from npo_bench.presets import resolve
from npo_bench.trainer.warmup import warmup_key


@pytest.mark.parametrize(
    "override",
    ["model.threads=1", "task.test_split=val", "task.test_size=100", "model.share_prompt_forward=true"],
)
def test_evaluation_and_thread_settings_reuse_the_cached_base(override):
    assert warmup_key(resolve("tiny-cpu", overrides=[override])) == warmup_key(resolve("tiny-cpu"))


@pytest.mark.parametrize(
    "override",
    [
        "task.seed=2",
        "task.train_size=100",
        "model.tiny.hidden_size=64",
        "warmup.lr=0.001",
        "rollout.n=4",
        "warmup.threads=1",  # the SFT's float summation order: a different base
    ],
)
def test_settings_that_shape_the_base_change_the_key(override):
    assert warmup_key(resolve("tiny-cpu", overrides=[override])) != warmup_key(resolve("tiny-cpu"))


def test_the_decoder_keys_the_base():
    """The two decoders sample the same distribution with different random draws, so the warm-up's probe (and the
    step it stops at) can differ: a base built with one is not reused for the other."""
    assert warmup_key(resolve("tiny-cpu", overrides=["model.decoder=generate"])) != warmup_key(resolve("tiny-cpu"))
