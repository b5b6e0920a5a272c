"""Shared fixtures: one micro base checkpoint per test session, built offline into a temporary cache."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from npo_bench.config import RunConfig
from npo_bench.presets import resolve


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


METRICS_DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


def _documented_metric_names() -> list[str]:
    """The names in the first column of docs/metrics.md's tables (``<x>`` marks a placeholder)."""
    names = []
    for line in METRICS_DOC.read_text().splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([^`]+)`", line.split("|")[1])
    return names


def _name_pattern(name: str) -> re.Pattern[str]:
    """A documented name as a regex: each ``<placeholder>`` stands for one path segment."""
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in re.split(r"<[^>]+>", name)) + "$")


@pytest.fixture(scope="session")
def documented_metrics() -> list[str]:
    return _documented_metric_names()


@pytest.fixture(scope="session")
def undocumented_metrics(documented_metrics: list[str]):
    """``undocumented_metrics(keys)``: the metric names among ``keys`` docs/metrics.md does not document."""
    patterns = [_name_pattern(name) for name in documented_metrics]

    def check(keys: set[str]) -> list[str]:
        return sorted(k for k in keys - {"step", "phase"} if not any(p.match(k) for p in patterns))

    return check
