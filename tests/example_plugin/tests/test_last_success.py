"""Tests a third-party source with the fixtures npo-bench ships (``npo_bench.testing``, loaded as a pytest plugin)."""

import pytest

from npo_bench.guidance import GuidanceSource
from npo_bench.testing import checkpoint_round_trip, make_group
from npo_bench.types import StepStats


def test_registered_through_the_entry_point(plugin_host):
    registration = plugin_host.get("source", "last_success")
    assert registration.plugin == "example_source"
    assert isinstance(registration.load()(), GuidanceSource)


def test_replays_the_latest_success_into_the_last_slot_of_a_failed_group(plugin_host, fake_control):
    source = plugin_host.get("source", "last_success").load()()
    source.setup(fake_control, {"max_age": 10})
    solved = make_group("p0", correct=3)
    source.after_step(StepStats(1, {}, (solved, make_group("p1", correct=0))))
    fake_control.step = 4
    source.before_step(fake_control)
    injections = source.guide([make_group("p0", 0), make_group("p1", 0), make_group("p0", 2)])
    assert [(i.group_index, i.slot) for i in injections] == [(0, "last")]
    assert injections[0].trajectory is solved.trajectories[2]  # the last correct one of that group
    assert source.metrics() == {"guidance/replayed_groups": 1.0, "guidance/memory": 1.0}
    fake_control.step = 20  # older than max_age: forgotten
    source.before_step(fake_control)
    assert source.guide([make_group("p0", 0)]) == []


def test_state_survives_a_checkpoint(plugin_host, fake_control):
    cls = plugin_host.get("source", "last_success").load()
    source = cls()
    source.setup(fake_control, {})
    source.after_step(StepStats(1, {}, (make_group("p0", correct=1),)))
    restored = cls()
    restored.setup(fake_control, {})
    restored.load_state_dict(checkpoint_round_trip(source.state_dict()))  # as a checkpoint stores it
    assert restored.guide([make_group("p0", 0)])


@pytest.mark.slow
def test_a_micro_run_with_the_third_party_source(tmp_path, monkeypatch):
    from npo_bench.cli import main

    monkeypatch.setenv("NPO_BENCH_CACHE", str(tmp_path / "cache"))
    argv = ["run", "--preset", "micro", "--source", "last_success", "--runs-dir", str(tmp_path), "--name", "x"]
    assert main(argv) == 0
    lines = (tmp_path / "x" / "metrics.jsonl").read_text().splitlines()
    assert any('"guidance/memory"' in line for line in lines)
