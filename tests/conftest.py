"""Shared fixtures: one micro base checkpoint per test session, built offline into a temporary cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from npo_bench.config import RunConfig, resolve


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("npo-bench-cache")
    os.environ["NPO_BENCH_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def micro_base(session_cache: Path) -> Path:
    """The micro preset's warm-up output (tiny model + tokenizer + SFT), built once per session."""
    from npo_bench.trainer.warmup import base_model_dir

    return base_model_dir(micro(session_cache), log=lambda line: None)


def micro(cache: Path, runs: Path | None = None, overrides: tuple[str, ...] = ()) -> RunConfig:
    config = resolve("micro", overrides=list(overrides))
    config.cache_dir = str(cache)
    if runs is not None:
        config.runs_dir = str(runs)
    return config


@pytest.fixture
def micro_config(session_cache: Path, micro_base: Path, tmp_path: Path) -> RunConfig:
    return micro(session_cache, tmp_path / "runs")
