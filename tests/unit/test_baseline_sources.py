"""LUFFY, ExGRPO and RLEP sources against the fake trainer: who gets injected, where, with which loss mode."""

from __future__ import annotations

import pytest
import torch

from npo_bench.errors import UserError
from npo_bench.grpo.groups import apply_injections
from npo_bench.testing import make_group
from npo_bench.types import Group, Prompt, StepStats, Trajectory
from npo_bench_plugins.external_teacher import ExternalTeacherSource
from npo_bench_plugins.far_future import FarFutureReplaySource
from npo_bench_plugins.past_replay import ExperienceReplaySource


def _groups_for(prompts: list[Prompt], correct: int = 0) -> list[Group]:
    return [Group(p, make_group(p.id, correct).trajectories) for p in prompts]


# ---- LUFFY ----------------------------------------------------------------------------------------------------------
def test_luffy_replaces_the_last_slot_of_every_group_with_a_verified_teacher_trace(fake_control):
    prompts = [
        Prompt("a", "q", "1", meta={"teacher": "<think>look closely</think><answer>1</answer>"}),
        Prompt("b", "q", "1", meta={"teacher": "<think>wrong</think><answer>2</answer>"}),  # rejected by the verifier
    ]
    source = ExternalTeacherSource()
    source.setup(fake_control, {})
    assert source.select_prompts(1, prompts) == prompts
    injections = source.guide(_groups_for(prompts, correct=3))  # LUFFY does not gate: solved groups get it too
    assert [(i.group_index, i.slot, i.trajectory.loss_mode) for i in injections] == [(0, "last", "luffy")]
    trace = injections[0].trajectory
    assert trace.origin == "teacher" and trace.correct and trace.logprobs is None
    assert trace.length == 3  # the fake tokenises one token per word + EOS
    assert source.metrics()["guidance/teacher_missing"] == 1.0
    source.guide(_groups_for(prompts))
    assert [c for c in fake_control.calls if c[0] == "make_trajectory"] == [
        ("make_trajectory", "a"),
        ("make_trajectory", "b"),
    ]
    mixed = apply_injections(_groups_for(prompts), injections)
    assert [t.loss_mode for t in mixed[0].trajectories] == ["on_policy"] * 7 + ["luffy"]
    assert all(t.origin == "policy" for t in mixed[1].trajectories)  # b's trace was rejected: no injection


def test_luffy_can_keep_unverified_traces_and_names_a_missing_field(fake_control):
    source = ExternalTeacherSource()
    source.setup(fake_control, {"require_correct": False, "field": "trace"})
    wrong = Prompt("b", "q", "1", meta={"trace": "<answer>2</answer>"})
    assert len(source.guide(_groups_for([wrong]))) == 1
    with pytest.raises(UserError, match=r"prompt c has no field 'trace'"):
        source.guide(_groups_for([Prompt("c", "q", "1", meta={"teacher": "x"})]))
    with pytest.raises(UserError, match="from=checkpoint needs"):
        ExternalTeacherSource().setup(fake_control, {"from": "checkpoint"})


# ---- ExGRPO ---------------------------------------------------------------------------------------------------------
def _success(prompt_id: str, text: str, entropy: float) -> Trajectory:
    # the fake's entropy is −(recorded log-prob): a trajectory's entropy is chosen through its log-probs
    return Trajectory(prompt_id, torch.tensor([5, 6]), text, torch.full((2,), -entropy), 1.0, True)


def _stats(step: int, groups: list[Group], pass_rate: float) -> StepStats:
    return StepStats(step, {"reward/pass_rate": pass_rate}, tuple(groups))


def _exgrpo_group(prompt: Prompt, successes: list[Trajectory], n: int = 8) -> Group:
    failures = make_group(prompt.id, 0, n - len(successes)).trajectories
    return Group(prompt, tuple(successes) + failures)


def test_exgrpo_mixes_half_the_batch_with_the_lowest_entropy_success_after_the_solve_rate_threshold(fake_control):
    source = ExperienceReplaySource()
    source.setup(fake_control, {})
    p = [Prompt(f"p{i}", "q", "1") for i in range(8)]
    fresh = p[4:8]
    assert source.select_prompts(1, fresh) == fresh  # no experience yet
    half = [_success("p0", "x", 0.9), _success("p0", "y", 0.2), _success("p0", "z", 0.5), _success("p0", "w", 0.7)]
    groups = [_exgrpo_group(p[0], half), _exgrpo_group(p[1], [_success("p1", "v", 0.3)] * 2), _exgrpo_group(p[2], [])]
    source.after_step(_stats(1, groups, pass_rate=0.30))
    assert not source.mixing and len(source.pool) == 2  # p2 failed 0/8: not collected
    assert source.select_prompts(2, fresh) == fresh  # 0.30 ≤ 0.35: not yet
    source.after_step(_stats(2, [_exgrpo_group(p[3], [_success("p3", "u", 0.1)] * 8)], pass_rate=0.40))
    assert source.mixing and source.pool.retired == {"p3"}  # solved 8/8: retired
    batch = source.select_prompts(3, [p[3], *fresh[:3]])  # p3 is retired: skipped, its place goes to experience
    assert len(batch) == 4 and "p3" not in {q.id for q in batch}
    assert sorted(source.replayed) == ["p0", "p1"] and [q.id for q in batch[2:]] == ["p4", "p5"]
    injections = source.guide(_groups_for(batch))
    chosen = {batch[i.group_index].id: i for i in injections}
    assert chosen["p0"].trajectory.text == "y"  # entropy 0.2 is the lowest of p0's four stored successes
    replay = chosen["p0"].trajectory
    assert chosen["p0"].slot == "last" and replay.loss_mode == "exgrpo"
    assert torch.equal(replay.logprobs, torch.full((2,), -0.2))  # the recorded log-probs, read by the exgrpo loss
    assert replay.origin == "replay"
    assert source.metrics()["guidance/experience_frac"] == 0.5


def test_exgrpo_draws_are_a_function_of_the_step_and_survive_a_state_round_trip(fake_control):
    source = ExperienceReplaySource()
    source.setup(fake_control, {"experience_ratio": 0.5})
    prompts = fake_control.prompts
    groups = [_exgrpo_group(q, [_success(q.id, f"t{k}", 0.5) for k in range(1 + i % 7)]) for i, q in enumerate(prompts)]
    source.after_step(_stats(1, groups, pass_rate=0.5))
    fresh = [Prompt(f"f{i}", "q", "1") for i in range(4)]
    first = [q.id for q in source.select_prompts(7, fresh)]
    fake_control.step = 4  # every fake prompt has been seen by step 4
    restored = ExperienceReplaySource()
    restored.setup(fake_control, {"experience_ratio": 0.5})
    restored.load_state_dict(source.state_dict())
    assert [q.id for q in restored.select_prompts(7, fresh)] == first
    assert restored.pool.latest_k == source.pool.latest_k and restored.mixing


# ---- RLEP -----------------------------------------------------------------------------------------------------------
@pytest.fixture
def finished_run(tmp_path):
    model = tmp_path / "final-model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"")  # the fake trainer never loads it
    return model


def test_rlep_appends_m_verified_successes_of_the_finished_policy(fake_control, finished_run):
    def finished_policy(prompt, n, checkpoint, weights_step):  # solves p0 three distinct ways, p1 never
        texts = [f"sol{k % 3}" for k in range(n)] if prompt.id == "p0" else ["nope"] * n
        ok = prompt.id == "p0"
        return [Trajectory(prompt.id, torch.tensor([1]), t, torch.tensor([-0.1]), float(ok), ok, "far") for t in texts]

    fake_control.sampler = finished_policy
    source = FarFutureReplaySource()
    source.setup(fake_control, {"run": str(finished_run)})
    source.before_step(fake_control)
    prompts = fake_control.prompts[:2]
    injections = source.guide(_groups_for(prompts))
    assert [(i.group_index, i.slot, i.trajectory.loss_mode) for i in injections] == [(0, "append", "on_policy")] * 2
    assert len({i.trajectory.text for i in injections}) == 2  # two distinct pool members, without replacement
    assert [len(v) for v in source.pool.values()] == [3, 0]  # distinct verified texts only
    mixed = apply_injections(_groups_for(prompts), injections)
    assert [len(m.trajectories) for m in mixed] == [10, 8]  # n + M where the pool has successes
    again = source.guide(_groups_for(prompts))
    assert [i.trajectory.text for i in again] == [i.trajectory.text for i in injections]  # same step, same draw
    assert [c for c in fake_control.calls if c[0] == "sample"] == [("sample", (2, 8, "far-future"))]  # harvested once
    assert source.metrics()["guidance/covered_frac"] == 0.5


def test_rlep_needs_a_finished_run(fake_control, tmp_path):
    with pytest.raises(UserError, match="needs source.options.run"):
        FarFutureReplaySource().setup(fake_control, {})
    with pytest.raises(UserError, match="does not exist"):
        FarFutureReplaySource().setup(fake_control, {"run": str(tmp_path / "missing")})
    with pytest.raises(UserError, match="no \\*.safetensors"):
        FarFutureReplaySource().setup(fake_control, {"run": str(tmp_path)})
