"""Group surgery: the last slot, appends, validation; a member's training role travels with it."""

import dataclasses

import pytest
import torch

from npo_bench.errors import UserError
from npo_bench.grpo.groups import apply_injections
from npo_bench.types import Group, Injection, Prompt, Trajectory


def _traj(prompt_id: str, reward: float, origin: str = "policy") -> Trajectory:
    return Trajectory(prompt_id, torch.tensor([5, 6, 2]), "t", reward=reward, correct=reward > 0, origin=origin)


def _group(prompt_id: str, rewards: list[float]) -> Group:
    return Group(Prompt(prompt_id, "q", "1"), tuple(_traj(prompt_id, r) for r in rewards))


def test_replace_last_slot_only():
    groups = [_group("a", [0.0] * 8), _group("b", [1.0] * 8)]
    guide = _traj("a", 1.0, origin="guide@step-000020")
    mixed = apply_injections(groups, [Injection(group_index=0, slot="last", trajectory=guide)])
    assert mixed[0].trajectories[7] is guide
    assert mixed[0].trajectories[:7] == groups[0].trajectories[:7]
    assert mixed[1].trajectories == groups[1].trajectories
    assert mixed[0].rewards == [0.0] * 7 + [1.0]
    assert groups[0].trajectories[7].origin == "policy"  # the input is untouched


def test_append_enlarges_group_and_the_member_keeps_its_role():
    groups = [_group("a", [0.0, 1.0])]
    logprobs = torch.tensor([-0.1, -0.2, -0.3])
    extra = dataclasses.replace(_traj("a", 1.0, origin="replay"), logprobs=logprobs, loss_mode="importance")
    mixed = apply_injections(groups, [Injection(group_index=0, slot="append", trajectory=extra)])
    assert len(mixed[0].trajectories) == 3
    assert [t.loss_mode for t in mixed[0].trajectories] == ["on_policy", "on_policy", "importance"]
    assert mixed[0].trajectories[2].logprobs is logprobs


def test_appends_and_a_last_slot_replacement_compose():
    groups = [_group("a", [0.0, 0.0, 0.0])]
    guide, extra = _traj("a", 1.0, origin="guide"), _traj("a", 0.5, origin="far")
    injections = [
        Injection(group_index=0, slot="append", trajectory=extra),
        Injection(group_index=0, slot="last", trajectory=guide),  # the last *rollout*, not the appended member
    ]
    assert [t.origin for t in apply_injections(groups, injections)[0].trajectories] == [
        "policy",
        "policy",
        "guide",
        "far",
    ]


def test_injection_is_keyword_only_with_a_named_slot():
    with pytest.raises(TypeError):
        Injection(0, "last", _traj("a", 1.0))  # type: ignore[misc]
    with pytest.raises(ValueError, match="'last' or 'append'"):
        Injection(group_index=0, slot=1, trajectory=_traj("a", 1.0))  # type: ignore[arg-type]


def test_wrong_prompt_bad_targets_and_unusable_roles_are_rejected():
    groups = [_group("a", [0.0] * 2)]

    def inject(trajectory: Trajectory, index: int = 0) -> list[Injection]:
        return [Injection(group_index=index, slot="last", trajectory=trajectory)]

    with pytest.raises(UserError, match="prompt 'b'"):
        apply_injections(groups, inject(_traj("b", 1.0)))
    with pytest.raises(ValueError, match="targets group 1"):
        apply_injections(groups, inject(_traj("a", 1.0), index=1))
    with pytest.raises(ValueError, match="two injections"):
        apply_injections(groups, inject(_traj("a", 1.0)) * 2)
    with pytest.raises(ValueError, match="needs the recorded log-probs"):
        apply_injections(groups, inject(dataclasses.replace(_traj("a", 1.0), loss_mode="importance")))
    with pytest.raises(ValueError, match="do not match"):
        bad = dataclasses.replace(_traj("a", 1.0), logprobs=torch.zeros(2), loss_mode="exgrpo")
        apply_injections(groups, inject(bad))
    with pytest.raises(ValueError, match="unknown loss mode 'mine'"):
        apply_injections(groups, inject(dataclasses.replace(_traj("a", 1.0), loss_mode="mine")))  # type: ignore
