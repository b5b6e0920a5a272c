"""The expected wall time of a comparison: a run's seconds from measured step costs, makespans, re-estimates."""

from __future__ import annotations

import pytest

from npo_bench.compare.cost import (
    PlannedRun,
    StepCosts,
    WallTracker,
    evaluations,
    fitted_slowdown,
    fitted_step_s,
    load_costs,
    makespan,
    plan_seconds,
    run_seconds,
)
from npo_bench.config import to_dict
from npo_bench.errors import UserError
from npo_bench.presets import resolve

COSTS = StepCosts(
    preset="tiny-cpu",
    measured="by hand",
    setup_s=10.0,
    eval_s=5.0,
    eval_items=2000,
    rollouts_per_step=128,
    step_s={"grpo": 0.5, "npo": 0.75},
    default_step_s=0.5,
    warmup_s=200.0,
    slowdown={2: 1.2},
)


def _config(steps=600, eval_every=100, prompts=16, n=8, test_size=500, samples=4):
    return {
        "trainer": {"steps": steps, "eval_every": eval_every},
        "rollout": {"prompts_per_step": prompts, "n": n},
        "eval": {"size": None, "samples": samples},
        "task": {"test_size": test_size},
    }


def test_evaluations_count_step_zero_the_periodic_ones_and_the_final():
    assert evaluations(600, 100) == 7  # 0, 100, …, 500, and the final at 600
    assert evaluations(601, 100) == 8
    assert evaluations(6, 0) == 2 and evaluations(0, 100) == 1


def test_run_seconds_from_the_step_costs():
    # 10 + 600 · 0.5 + 7 · 5 = 345; NPO 10 + 450 + 35 = 495; an unmeasured method costs default_step_s
    assert run_seconds(COSTS, "grpo", _config()) == pytest.approx(345.0)
    assert run_seconds(COSTS, "npo", _config()) == pytest.approx(495.0)
    assert run_seconds(COSTS, "my_source", _config()) == pytest.approx(345.0)
    # twice the rollouts per step and half the evaluation items: 10 + 600 · 1.0 + 7 · 2.5
    assert run_seconds(COSTS, "grpo", _config(prompts=32, test_size=250)) == pytest.approx(627.5)
    assert run_seconds(COSTS, "grpo", _config(), jobs=2) == pytest.approx(345.0 * 1.2)
    assert run_seconds(COSTS, "grpo", _config(), jobs=3) == pytest.approx(345.0 * 1.2)  # the largest known ≤ jobs


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_fitted_step_cost_predicts_the_wall_it_came_from(jobs):
    config = _config(steps=300, prompts=8, samples=2)
    wall = run_seconds(COSTS, "npo", config, jobs=jobs)
    assert fitted_step_s(COSTS, wall, config, jobs=jobs) == pytest.approx(0.75)
    # 600 steps of 16 × 8 on 2 workers: 1440 s → 1440 / 1.2 = 1200 alone − 10 setup − 7 × 5 eval = 1155 → 1.925 s
    assert fitted_step_s(COSTS, 1440.0, _config(), jobs=2) == pytest.approx(1155 / 600)


def test_a_method_measured_apart_slows_by_its_own_factor_when_runs_share_the_cores():
    from dataclasses import replace

    costs = replace(COSTS, method_slowdown={2: {"npo": 1.5}})
    assert run_seconds(costs, "npo", _config(), jobs=2) == pytest.approx(495.0 * 1.5)
    assert run_seconds(costs, "npo", _config(), jobs=1) == pytest.approx(495.0)  # alone: no factor at all
    assert run_seconds(costs, "grpo", _config(), jobs=2) == pytest.approx(345.0 * 1.2)  # the common factor
    # the fit inverts the method's own factor, and the slowdown fit reads it back from the wall
    wall = run_seconds(costs, "npo", _config(), jobs=2)
    assert fitted_step_s(costs, wall, _config(), jobs=2, method="npo") == pytest.approx(0.75)
    assert fitted_slowdown(costs, wall, _config(), "npo") == pytest.approx(1.5)
    assert fitted_slowdown(costs, 345.0 * 1.2, _config(), "grpo") == pytest.approx(1.2)


def test_makespan_takes_runs_in_order_on_free_workers():
    assert makespan([3.0, 3.0, 3.0], 1) == 9.0
    assert makespan([5.0, 1.0, 1.0, 1.0], 2) == 5.0  # the short runs go to the second worker
    assert makespan([1.0, 1.0, 5.0], 2) == 6.0  # the long one starts when a worker frees at 1
    assert makespan([], 2) == 0.0
    # waves run one after the other: RLEP waits for every run of the first wave
    runs = [PlannedRun("grpo/seed0", 0, 4.0), PlannedRun("npo/seed0", 0, 6.0), PlannedRun("rlep/seed0", 1, 5.0)]
    assert plan_seconds(runs, 2) == 11.0


def test_tracker_rescales_what_is_left_by_how_the_finished_runs_went():
    clock = [0.0]
    runs = [PlannedRun("grpo/seed0", 0, 100.0), PlannedRun("npo/seed0", 0, 200.0), PlannedRun("luffy/seed0", 0, 300.0)]
    tracker = WallTracker(runs, 1, COSTS, now=lambda: clock[0])
    assert tracker.expected_s == 600.0
    assert "expected wall 0:10:00: 3 run(s), 1 at a time" in tracker.opening_line(reused=1)
    assert "1 finished run(s) reused" in tracker.opening_line(reused=1)
    tracker.start("grpo/seed0")
    clock[0] = 150.0
    line = tracker.finish("grpo/seed0", 150.0)  # took 1.5× its estimate: the other two are expected 1.5× longer
    assert tracker.speed_factor() == pytest.approx(1.5)
    assert "grpo/seed0 took 0:02:30 (expected 0:01:40)" in line
    assert "expected wall now 0:15:00 (elapsed 0:02:30 + remaining 0:12:30; finished runs took 1.50×" in line
    tracker.start("npo/seed0")
    clock[0] = 250.0
    line = tracker.finish("npo/seed0", 100.0)  # 250 s for 300 expected: factor 250/300; luffy 300 · 0.833 = 250
    assert "expected wall now 0:08:20" in line
    assert tracker.finish("rlep/seed9", 1.0) is None


def test_a_running_run_counts_only_its_remaining_seconds():
    clock = [0.0]
    runs = [PlannedRun("a/seed0", 0, 100.0), PlannedRun("b/seed0", 0, 100.0), PlannedRun("c/seed0", 0, 100.0)]
    tracker = WallTracker(runs, 2, COSTS, now=lambda: clock[0])
    assert tracker.expected_s == 200.0
    tracker.start("a/seed0")
    tracker.start("b/seed0")
    clock[0] = 100.0
    line = tracker.finish("a/seed0", 100.0)
    tracker.start("c/seed0")
    # b has 0 s left, c 100 s on the freed worker: 100 + 100
    assert "expected wall now 0:03:20" in line


def test_the_tiny_cpu_costs_load_and_estimate_the_default_compare():
    costs = load_costs("tiny-cpu")
    assert costs is not None and {"grpo", "npo", "luffy"} <= set(costs.step_s)
    seconds = [run_seconds(costs, m, to_dict(resolve("tiny-cpu", method=m))) for m in ("npo", "grpo", "luffy")]
    assert 10 * 60 < sum(seconds) < 40 * 60  # the three-run default comparison: tens of minutes, not hours
    # LUFFY's long teacher traces slow more than the other methods' steps at one thread each (measured, stop 25)
    assert costs.slowdown_for(2, "luffy") > costs.slowdown_for(2, "grpo") == costs.slowdown[2]
    assert load_costs("micro") is None


def test_a_broken_cost_table_names_its_file(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("measured: x\nstep_s: {grpo: fast}\n")
    with pytest.raises(UserError, match="x.yaml: bad step-cost table"):
        load_costs("x", bad)
    table = "measured: x\nsetup_s: 1\neval_s: 1\neval_items: 1\nrollouts_per_step: 1\nstep_s: {grpo: 1}\nwarmup_s: 1\n"
    bad.write_text(table + "slowdown: {2: 1.1}\nmethod_slowdown: {3: {luffy: 1.3}}\n")
    with pytest.raises(UserError, match=r"method_slowdown for \[3\] runs at a time, which `slowdown` does not list"):
        load_costs("x", bad)
    bad.write_text(table + "slowdown: {2: 1.1}\nmethod_slowdown: {2: {luffy: 1.3}}\n")
    assert load_costs("x", bad).slowdown_for(4, "luffy") == 1.3
