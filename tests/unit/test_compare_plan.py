"""Which runs a comparison needs: reuse keys, the RLEP prerequisite, reuse/resume/new placement, ETA arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from npo_bench.compare.display import Line, eta_seconds
from npo_bench.compare.plan import key_of_run_dir, launch_config, place, resolve_specs, run_key


def _fake_run(path: Path, config: dict, finished: bool) -> None:
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump({"resolved": config, "passed": {}}))
    (path / "meta.json").write_text(json.dumps({"ended": "2026-01-01T00:00:00" if finished else None}))


def test_key_ignores_where_a_run_lives_but_not_what_it_trains():
    (grpo0,) = resolve_specs(["grpo"], [0], "micro")
    moved = dict(grpo0.config, name="elsewhere", runs_dir="/tmp/x", cache_dir="/tmp/c")
    assert run_key(moved) == grpo0.key
    (grpo1,) = resolve_specs(["grpo"], [1], "micro")
    (lr,) = resolve_specs(["grpo"], [0], "micro", overrides=["trainer.lr=1e-4"])
    assert len({grpo0.key, grpo1.key, lr.key}) == 3


def test_rlep_gets_the_same_seed_grpo_run_planned_first():
    specs = resolve_specs(["rlep", "npo"], [0, 1], "micro")
    labels = ["grpo/seed0", "npo/seed0", "grpo/seed1", "npo/seed1", "rlep/seed0", "rlep/seed1"]
    assert [s.label for s in specs] == labels
    grpo = {s.seed: s for s in specs if s.method == "grpo"}
    assert not any(s.shown for s in grpo.values())  # a prerequisite only, not a row
    rlep = [s for s in specs if s.method == "rlep"]
    assert [s.needs.label for s in rlep] == ["grpo/seed0", "grpo/seed1"]
    # asking for grpo too makes it a row, still one run
    both = resolve_specs(["grpo", "rlep"], [0], "micro")
    assert [(s.label, s.shown) for s in both] == [("grpo/seed0", True), ("rlep/seed0", True)]


def test_placement_reuses_finished_resumes_unfinished_and_names_new_runs(tmp_path):
    specs = resolve_specs(["grpo", "npo", "rlep"], [0], "micro")
    grpo, npo, rlep = specs
    _fake_run(tmp_path / "by-hand", grpo.config, finished=True)  # any name: matched by key
    _fake_run(tmp_path / "half", npo.config, finished=False)
    place(specs, tmp_path)
    assert (grpo.state, grpo.path.name) == ("reuse", "by-hand")
    assert (npo.state, npo.path.name) == ("resume", "half")
    assert (rlep.state, rlep.path.name) == ("new", f"rlep-seed0-{rlep.key[:8]}")
    config = launch_config(rlep)
    assert config["source"]["options"]["run"] == str(tmp_path / "by-hand")
    assert (config["name"], config["runs_dir"]) == (rlep.path.name, str(tmp_path))
    # once trained, the RLEP run's own directory has the planned key (the input run's key stands for its path)
    _fake_run(rlep.path, config, finished=True)
    assert key_of_run_dir(rlep.path) == rlep.key
    place(specs, tmp_path)
    assert [s.state for s in specs] == ["reuse", "resume", "reuse"]


def test_eta_is_remaining_steps_times_observed_pace():
    running = Line("a", Path("a"), total=10, state="running", step=4, started=0.0, first_step=2)  # 2 steps in 10 s
    queued = Line("b", Path("b"), total=10)
    done = Line("c", Path("c"), total=10, state="reused", step=10)
    assert eta_seconds([running, queued, done], now=10.0) == pytest.approx((6 + 10) * 5.0)
    assert eta_seconds([running, queued], now=10.0, parallel=2) == pytest.approx(40.0)
    assert eta_seconds([queued], now=10.0) is None
