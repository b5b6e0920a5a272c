"""AutoNPO's controller: the trigger, the mistake pool, Δ* selection, and the whole decision on a fake trainer."""

import math

import pytest

from npo_bench import UserError
from npo_bench.auto import (
    Candidate,
    MistakePool,
    Trigger,
    TriggerSettings,
    choose_rollback,
    entropy_slope,
    probe_selection,
    variance_cost,
)
from npo_bench.testing import make_group
from npo_bench.types import StepStats
from npo_bench_plugins.near_future import NearFutureSource


def _feed(trigger, rewards, entropies):
    for step, (r, e) in enumerate(zip(rewards, entropies), start=1):
        trigger.observe(step, r, e)
    return trigger.status(len(rewards))


def test_trigger_fires_on_stagnating_reward_and_falling_entropy():
    status = _feed(Trigger(TriggerSettings(window=10)), [0.4] * 25, [1.0 - 0.02 * i for i in range(25)])
    assert status["warning"] and status["stagnating"] and status["entropy_declining"]
    assert status["ema_improvement"] == pytest.approx(0.0, abs=1e-9)


def test_trigger_stays_quiet_on_rising_reward_or_rising_entropy():
    rising = _feed(
        Trigger(TriggerSettings(window=10)), [0.1 + 0.02 * i for i in range(25)], [1.0 - 0.02 * i for i in range(25)]
    )
    assert not rising["warning"] and not rising["stagnating"]
    exploring = _feed(Trigger(TriggerSettings(window=10)), [0.4] * 25, [0.5 + 0.02 * i for i in range(25)])
    assert not exploring["warning"] and not exploring["entropy_declining"]


def test_trigger_needs_a_full_window_and_respects_cooldown():
    trigger = Trigger(TriggerSettings(window=10, cooldown=15))
    assert not _feed(trigger, [0.4] * 5, [1.0] * 5)["warning"]
    _feed(trigger, [0.4] * 25, [1.0 - 0.02 * i for i in range(25)])
    trigger.cool_down(25)
    for step in range(26, 40):
        trigger.observe(step, 0.4, 0.5 - 0.01 * step)
    assert not trigger.status(39)["warning"]  # still cooling down until step 40
    trigger.observe(40, 0.4, 0.0)
    assert trigger.status(40)["warning"]


def test_entropy_slope_is_least_squares():
    assert entropy_slope([3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert entropy_slope([1.0, 1.0]) == 0.0


def test_mistake_pool_slices_by_failure_step():
    pool = MistakePool(threshold=0.0)
    pool.record(10, {"a": 0.0, "b": 0.5})
    pool.record(30, {"c": 0.0})
    pool.record(32, {"a": 0.0})  # a failed again later: it belongs to both slices
    pool.record(32, {"a": 0.2})  # the same step twice is one failure
    assert pool.failures == {"a": [10, 32], "c": [30]}
    assert pool.slice(30, half_width=5) == ["a", "c"]
    assert pool.slice(10, half_width=5) == ["a"]
    assert pool.slice(20, half_width=5) == []
    assert pool.last_failure("a") == 32
    pool.forget(["a"])
    assert len(pool) == 1


def test_probe_selection_covers_every_slice_before_filling_up():
    slices = [["a", "b", "c", "d"], ["b", "x"], ["y"]]
    assert probe_selection(slices, 3) == ["a", "b", "y"]
    assert probe_selection(slices, 10) == ["a", "b", "y", "c", "x", "d"]
    assert probe_selection([], 5) == [] and probe_selection(slices, 0) == []


def test_delta_star_on_a_synthetic_q_v_table():
    # Q concave-increasing, V exponential in Δ: S = Q/V peaks inside the range (the paper's Fig. 2 shape)
    table = []
    for delta in (10, 20, 30, 40, 50, 60, 70, 80):
        q = 1 - math.exp(-delta / 20)
        kl = 0.03 * delta
        table.append(Candidate(delta, 100 - delta, q, kl, variance_cost(kl, 1.0), slice_size=5))
    best = choose_rollback(table)
    s = {c.delta: c.s_hat for c in table}
    assert best.delta == max(s, key=s.get) == 20
    # by hand: S(10) = (1 − e^−0.5)/e^0.3 = 0.2915, S(20) = (1 − e^−1)/e^0.6 = 0.3469, S(30) = 0.3159
    assert s[10] == pytest.approx(0.2915, abs=1e-4) and s[20] == pytest.approx(0.3469, abs=1e-4)
    assert s[30] == pytest.approx(0.3159, abs=1e-4) and s[20] > s[80]


def test_delta_star_ignores_empty_slices_and_zero_q_and_breaks_ties_towards_small_delta():
    empty = Candidate(20, 80, 0.9, 0.0, 1.0, slice_size=0)
    zero = Candidate(30, 70, 0.0, 0.0, 1.0, slice_size=4)
    assert choose_rollback([empty, zero]) is None
    a, b = Candidate(40, 60, 0.5, 0.0, 1.0, 3), Candidate(10, 90, 0.5, 0.0, 1.0, 3)
    assert choose_rollback([a, b]).delta == 10


def test_autonpo_decision_on_a_fake_trainer(fake_control):
    fake_control.solves_after = 25  # π^(t) at step ≥ 25 solves every prompt; older snapshots do not
    source = NearFutureSource()
    options = {"auto": True, "window": 5, "snapshot_every": 10, "min_delta": 10, "max_delta": 30, "slice_half_width": 3}
    source.setup(fake_control, options)
    for step in range(0, 31):
        fake_control.step = step
        source.before_step(fake_control)
        if source.active is not None:
            break
        groups = tuple(make_group(p.id, 0) for p in fake_control.prompts_between(step, step + 1))
        source.after_step(StepStats(step + 1, {"reward/mean": 0.2, "policy/entropy": 1.0 - 0.01 * step}, groups))
    warnings = [e for e in fake_control.events if e["event"] == "auto_warning"]
    # unconfirmed while the weights cannot solve anything (step < 25), re-checked after each fresh 5-step window;
    # no warning before step 10, when the first snapshot (step 0) is min_delta away
    assert [(e["step"], e["confirmed"]) for e in warnings] == [(10, False), (16, False), (22, False), (28, True)]
    decision = warnings[-1]
    # snapshots at 0, 10, 20: Δ = 28, 18 (8 < min_delta); both slices fully solved, KL ≤ 0 → V̂ = 1: tie → smaller Δ
    assert [row["delta"] for row in decision["candidates"]] == [28, 18]
    assert decision["delta_star"] == 18
    assert decision["rollback"]["to"] == decision["rollback"]["from"] - decision["delta_star"]
    assert fake_control.step == decision["rollback"]["to"]
    assert source.active.kind == "auto" and source.cache
    assert all(t.correct for t in source.cache.values())
    rows = {row["delta"]: row for row in decision["candidates"]}
    assert all(row["s_hat"] == pytest.approx(row["q_hat"] / row["v_hat"]) for row in rows.values())
    prompt_id = next(iter(source.cache))
    assert source.guide([make_group(prompt_id, 0)])[0].trajectory.correct
    assert source.guide([make_group("not-in-the-pool", 0)]) == []
    metrics = source.metrics()
    assert metrics["auto/delta_star"] == decision["delta_star"] and metrics["guidance/active"] == 1.0
    # the confirmed decision: one probe (probe_k = 4 per prompt), then the KL responses (kl_samples_per_prompt = 1 of
    # each probe group) scored once under π^(t) and once per candidate snapshot
    probe = [args for kind, args in fake_control.calls if kind == "sample"][-1]
    scored = [args for kind, args in fake_control.calls if kind == "logprobs"]
    assert probe[1] == 4 and scored == [
        (probe[0], None),
        (probe[0], "npo-snapshot-000000"),
        (probe[0], "npo-snapshot-000010"),
    ]


def test_kl_samples_per_prompt_sets_how_many_probe_responses_score_the_kl(fake_control):
    fake_control.solves_after = 25
    source = NearFutureSource()
    options = {"auto": True, "window": 5, "snapshot_every": 10, "min_delta": 10, "max_delta": 30}
    source.setup(fake_control, {**options, "slice_half_width": 3, "kl_samples_per_prompt": 3})
    assert _drive(source, fake_control, 0, 40) == 10
    probe = [args for kind, args in fake_control.calls if kind == "sample"][-1]
    assert {args[0] for kind, args in fake_control.calls if kind == "logprobs"} == {3 * probe[0]}
    with pytest.raises(UserError, match="kl_samples_per_prompt=0: must be ≥ 1"):
        NearFutureSource.validate_options({"auto": True, "kl_samples_per_prompt": 0})


def _drive(source, fake_control, start, stop):
    """Run the source over steps start..stop−1 on a stagnating reward with falling entropy (the trigger's pattern)."""
    for step in range(start, stop):
        fake_control.step = step
        source.before_step(fake_control)
        if fake_control.step != step:  # rolled back
            return fake_control.step
        groups = tuple(make_group(p.id, 0) for p in fake_control.prompts_between(step, step + 1))
        source.after_step(StepStats(step + 1, {"reward/mean": 0.2, "policy/entropy": 1.0 - 0.01 * step}, groups))
    return None


def test_after_a_rollback_the_trigger_waits_for_the_replay_and_a_cooldown(fake_control):
    fake_control.solves_after = 25
    source = NearFutureSource()
    options = {"auto": True, "window": 5, "snapshot_every": 10, "min_delta": 10, "max_delta": 30, "cooldown": 8}
    source.setup(fake_control, {**options, "slice_half_width": 3})
    assert _drive(source, fake_control, 0, 40) == 10  # confirmed at t = 28, rolled back to 10 (Δ* = 18)
    # the replay 10 → 28 sees the same stagnating stream; quiet until t + cooldown = 36, not 10 + 8 = 18
    assert _drive(source, fake_control, 10, 36) is None
    warnings = [e["step"] for e in fake_control.events if e["event"] == "auto_warning"]
    assert warnings == [10, 16, 22, 28]
    assert _drive(source, fake_control, 36, 60) is not None  # after the cooldown it may intervene again


def test_max_interventions_bounds_the_replayed_compute(fake_control):
    fake_control.solves_after = 25
    source = NearFutureSource()
    options = {"auto": True, "window": 5, "snapshot_every": 10, "min_delta": 10, "max_delta": 30, "cooldown": 0}
    source.setup(fake_control, {**options, "slice_half_width": 3, "max_interventions": 1})
    assert _drive(source, fake_control, 0, 40) == 10
    assert _drive(source, fake_control, 10, 120) is None  # one rollback taken: never again
    assert source.state_dict()["interventions"] == 1
