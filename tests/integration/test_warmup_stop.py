"""When the SFT warm-up stops: at the first probe that reaches ``warmup.target_pass_rate``, or after
``warmup.max_steps`` when the target is empty (the tiny-cpu preset's fixed step count)."""

from __future__ import annotations

import json

import pytest
import torch

from npo_bench.presets import resolve
from npo_bench.trainer import warmup


@pytest.mark.parametrize("target,steps", [("0.3", 2), ("0.9", 4), ("null", 4)])
def test_warmup_stops_at_the_target_probe_or_after_max_steps(tmp_path, monkeypatch, target, steps):
    probes = []

    def fake_pass_rates(policy, prompts, config, n, benchmark):
        probes.append(len(prompts))
        return [0.5] * len(prompts)  # every probe (and the report) sees a pass rate of 0.5

    monkeypatch.setattr(warmup, "pass_rates", fake_pass_rates)
    config = resolve(
        "micro",
        overrides=[
            "warmup.max_steps=4",
            "warmup.check_every=2",
            f"warmup.target_pass_rate={target}",
            "warmup.report_prompts=12",
        ],
    )
    config.cache_dir = str(tmp_path)
    report = warmup.run_warmup(config, tmp_path / "base", log=lambda line: None)
    assert report["steps"] == steps
    assert probes == [8] * (steps // 2) + [12]  # the probes (probe_prompts 8), then the report
    assert json.loads((tmp_path / "base" / warmup.REPORT_FILE).read_text())["steps"] == steps
    assert report["train_pass_rate"] == 0.5 and report["train_zero_frac"] == 0.0


def test_the_regime_report_says_inside_or_outside_and_gives_each_family(tmp_path, monkeypatch):
    def fake_pass_rates(policy, prompts, config, n, benchmark):  # read never solved, the rest at 0.5
        return [0.0 if p.meta["family"] == "read" else 0.5 for p in prompts]

    monkeypatch.setattr(warmup, "pass_rates", fake_pass_rates)
    config = resolve("micro", overrides=["warmup.max_steps=2", "warmup.check_every=2", "warmup.report_prompts=16"])
    config.cache_dir = str(tmp_path)
    lines = []
    report = warmup.run_warmup(config, tmp_path / "base", log=lines.append)
    assert report["families"]["read"] == {"pass_rate": 0.0, "zero_frac": 1.0, "prompts": 4}
    assert report["families"]["count"]["pass_rate"] == 0.5
    assert report["train_pass_rate"] == pytest.approx(0.375) and report["train_zero_frac"] == 0.25
    # 0.375 is inside 20–40 %, but only 25 % of prompts sit at 0/n: outside
    assert "OUTSIDE NPO's regime (pass rate 20%–40% and ≥ 30% of prompts at 0/4)" in report["regime"]
    assert "read 0.000 / 100%" in report["regime"] and report["regime"] in lines[-1]
    inside = {**report, "train_zero_frac": 0.36}
    assert "inside NPO's regime" in warmup.regime_verdict(inside)


def test_the_warmup_runs_on_its_own_thread_count_and_restores_the_callers(tmp_path, monkeypatch):
    monkeypatch.setattr(warmup, "pass_rates", lambda policy, prompts, config, n, benchmark: [0.5] * len(prompts))
    seen = []
    monkeypatch.setattr(warmup.torch, "set_num_threads", seen.append)
    monkeypatch.setattr(warmup.torch, "get_num_threads", lambda: 7)
    config = resolve("micro", overrides=["warmup.max_steps=1", "warmup.report_prompts=4", "model.threads=1"])
    config.cache_dir = str(tmp_path)
    warmup.run_warmup(config, tmp_path / "base", log=lambda line: None)
    assert seen == [2, 7]  # warmup.threads (default 2), not model.threads=1; then the caller's count again


def _weights(directory):
    from safetensors.torch import load_file

    return load_file(str(directory / "model.safetensors"))


def test_the_base_is_the_same_whatever_model_threads_the_run_uses(tmp_path, monkeypatch):
    """A compare with --jobs 2 --set model.threads=1 must train on the base that `npo-bench run` (2 threads) uses:
    the same cache key, and the same weights bit for bit when built under either setting."""
    monkeypatch.setattr(warmup, "pass_rates", lambda policy, prompts, config, n, benchmark: [0.5] * len(prompts))
    bases = {}
    for threads in (1, 2):
        overrides = ["warmup.max_steps=3", "warmup.report_prompts=4", f"model.threads={threads}"]
        config = resolve("micro", overrides=overrides)
        config.cache_dir = str(tmp_path / f"cache{threads}")
        bases[threads] = (warmup.warmup_key(config), _weights(warmup.base_model_dir(config, log=lambda line: None)))
    assert bases[1][0] == bases[2][0]
    assert bases[1][1].keys() == bases[2][1].keys()
    assert all(torch.equal(bases[1][1][k], bases[2][1][k]) for k in bases[1][1])
