"""NPO's source against a fake trainer: gate boundary, last-slot surgery, schedules, state."""

import pytest

from npo_bench.errors import UserError
from npo_bench.grpo.groups import apply_injections
from npo_bench.testing import make_group
from npo_bench.types import StepStats
from npo_bench_plugins.near_future import NearFutureSource


def _source(fake_control, **options):
    source = NearFutureSource()
    source.setup(fake_control, {"schedule": [{"kind": "early", "at": 0, "delta": 3}], **options})
    return source


def test_early_intervention_scouts_harvests_and_rolls_back(fake_control):
    fake_control.solves_after = 3  # the scout's weights (step 3) solve everything, the base does not
    source = _source(fake_control)
    source.before_step(fake_control)
    kinds = [name for name, _ in fake_control.calls]
    assert kinds == ["save", "train", "sample", "restore", "logprobs"]
    assert fake_control.calls[1] == ("train", 3)
    assert fake_control.step == 0  # rolled back to the anchor
    assert set(source.cache) == {p.id for p in fake_control.prompts_between(0, 3)}
    event = fake_control.events[-1]
    assert event["event"] == "intervention" and event["rollback"] == {"from": 3, "to": 0}
    assert event["cache_size"] == 6 and event["guide_solve_rate"] == 1.0
    assert event["kl_guide_current"] == pytest.approx(0.0)  # fake log-probs: −1 − 0.01·step at step 0 vs guide −1


def test_a_run_killed_during_the_scout_resumes_into_the_same_intervention(fake_control):
    source = _source(fake_control)
    saved_states = {}
    save = fake_control.save

    def save_with_source_state(tag):  # what the real backend writes into the checkpoint alongside the weights
        saved_states[tag] = source.state_dict()
        return save(tag)

    fake_control.save = save_with_source_state
    source.before_step(fake_control)
    assert source.plan == []  # consumed once the scout has run
    anchor_state = saved_states["npo-anchor-000000"]
    assert anchor_state["plan"] == [{"kind": "early", "at": 0, "delta": 3, "segment": 3}]  # still planned at the anchor
    resumed = _source(fake_control)
    resumed.load_state_dict(anchor_state)
    fake_control.calls.clear()
    resumed.before_step(fake_control)  # resuming from the anchor scouts again: nothing lost
    assert ("train", 3) in fake_control.calls and resumed.active is not None


@pytest.mark.parametrize("correct, injected", [(0, True), (4, True), (5, False), (8, False)])
def test_gate_boundary_at_n_8(fake_control, correct, injected):
    fake_control.solves_after = 3
    source = _source(fake_control)
    source.before_step(fake_control)
    prompt_id = fake_control.prompts[0].id
    injections = source.guide([make_group(prompt_id, correct)])
    assert bool(injections) is injected  # p̂ = 4/8 = 0.5 ≤ 0.6 injects, 5/8 = 0.625 does not


def test_only_the_last_slot_changes(fake_control):
    fake_control.solves_after = 3
    source = _source(fake_control)
    source.before_step(fake_control)
    group = make_group(fake_control.prompts[1].id, 0)
    (injection,) = source.guide([group])
    assert injection.slot == "last" and injection.trajectory.loss_mode == "on_policy"
    mixed = apply_injections([group], [injection])[0]
    assert mixed.trajectories[:7] == group.trajectories[:7]
    assert mixed.trajectories[7] is source.cache[group.prompt.id]
    assert mixed.rewards == [0.0] * 7 + [1.0]


def test_no_cache_hit_no_injection(fake_control):
    fake_control.solves_after = 100  # the guide fails too: nothing cached
    source = _source(fake_control)
    source.before_step(fake_control)
    assert source.cache == {}
    assert source.guide([make_group(fake_control.prompts[0].id, 0)]) == []
    assert source.metrics()["guidance/cache_hit_rate"] == 0.0


def test_importance_mode_carries_the_guides_log_probs(fake_control):
    fake_control.solves_after = 3
    source = _source(fake_control, loss_mode="importance")
    source.before_step(fake_control)
    (injection,) = source.guide([make_group(fake_control.prompts[0].id, 1)])
    guide = injection.trajectory
    assert guide.loss_mode == "importance" and guide is source.cache[fake_control.prompts[0].id]
    assert guide.logprobs is not None and guide.origin.startswith("guide@step-")  # read as π_behaviour by the loss


def test_segment_ends_after_its_steps_and_late_intervention_fires_on_time(fake_control):
    fake_control.solves_after = 3
    source = _source(
        fake_control, schedule=[{"kind": "early", "at": 0, "delta": 2}, {"kind": "late", "at": 4, "delta": 3}]
    )
    source.before_step(fake_control)
    for step in range(1, 4):
        fake_control.step = step
        source.before_step(fake_control)
    assert source.active is None and source.cache == {}
    # the segment has the scout's length: guided steps 0→1 and 1→2, over at step 2
    assert fake_control.events[-1] == {"step": 2, "event": "segment_end", "kind": "early", "anchor": 0}
    fake_control.step = 4
    source.before_step(fake_control)
    assert source.active.kind == "late" and fake_control.step == 4
    assert ("train", 3) in fake_control.calls
    source.guide([make_group(fake_control.prompts[0].id, 0)])
    assert source.metrics()["guidance/scout_steps"] == 5.0


def test_state_round_trip(fake_control):
    fake_control.solves_after = 3
    source = _source(fake_control)
    source.before_step(fake_control)
    state = source.state_dict()
    other = _source(fake_control)
    other.load_state_dict(state)
    assert other.cache.keys() == source.cache.keys() and other.active == source.active and other.plan == []
    assert other.guide([make_group(fake_control.prompts[0].id, 0)])


def test_bad_options_are_clear_errors(fake_control):
    with pytest.raises(UserError, match="unknown options \\['tau'\\]"):
        NearFutureSource().setup(fake_control, {"tau": 0.5})
    with pytest.raises(UserError, match="bad schedule entry"):
        NearFutureSource().setup(fake_control, {"schedule": [{"kind": "middle", "at": 0, "delta": 2}]})
    with pytest.raises(UserError, match="loss_mode"):
        NearFutureSource().setup(fake_control, {"loss_mode": "luffy"})


def test_after_step_feeds_the_mistake_pool_in_auto_mode(fake_control):
    source = NearFutureSource()
    source.setup(fake_control, {"auto": True})
    groups = (make_group("a", 0), make_group("b", 5), make_group("c", 8))
    source.after_step(StepStats(7, {"reward/mean": 0.5, "policy/entropy": 0.3}, groups))
    assert source.pool.failures == {"a": [7]}  # b: p̂ = 5/8 = 0.625 > 0.6, c: solved
