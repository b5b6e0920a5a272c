"""Group surgery: slots, appends, validation."""

import pytest
import torch

from npo_bench.errors import UserError
from npo_bench.grpo.groups import apply_injections
from npo_bench.types import Group, Injection, Prompt, Trajectory


def _traj(prompt_id: str, reward: float, source: str = "policy") -> Trajectory:
    return Trajectory(prompt_id, torch.tensor([5, 6, 2]), "t", reward=reward, correct=reward > 0, source=source)


def _group(prompt_id: str, rewards: list[float]) -> Group:
    return Group(Prompt(prompt_id, "q", "1"), tuple(_traj(prompt_id, r) for r in rewards))


def test_replace_last_slot_only():
    groups = [_group("a", [0.0] * 8), _group("b", [1.0] * 8)]
    guide = _traj("a", 1.0, source="guide@step-000020")
    mixed = apply_injections(groups, [Injection(0, 7, guide)])
    assert mixed[0].group.trajectories[7] is guide
    assert mixed[0].group.trajectories[:7] == groups[0].trajectories[:7]
    assert mixed[1].group.trajectories == groups[1].trajectories
    assert mixed[0].group.rewards == [0.0] * 7 + [1.0]
    assert mixed[0].injected == 1 and mixed[1].injected == 0
    assert groups[0].trajectories[7].source == "policy"  # the input is untouched


def test_append_enlarges_group_with_its_loss_mode():
    groups = [_group("a", [0.0, 1.0])]
    extra = _traj("a", 1.0, source="replay")
    logprobs = torch.tensor([-0.1, -0.2, -0.3])
    mixed = apply_injections(groups, [Injection(0, "append", extra, logprobs, "importance")])
    assert len(mixed[0].group.trajectories) == 3
    assert mixed[0].loss_modes == ("on_policy", "on_policy", "importance")
    assert mixed[0].behaviour_logprobs[2] is logprobs


def test_wrong_prompt_and_bad_slots_are_rejected():
    groups = [_group("a", [0.0] * 2)]
    with pytest.raises(UserError, match="prompt 'b'"):
        apply_injections(groups, [Injection(0, 1, _traj("b", 1.0))])
    with pytest.raises(ValueError, match="slot 2 outside"):
        apply_injections(groups, [Injection(0, 2, _traj("a", 1.0))])
    with pytest.raises(ValueError, match="two injections"):
        apply_injections(groups, [Injection(0, 1, _traj("a", 1.0)), Injection(0, 1, _traj("a", 1.0))])
    with pytest.raises(ValueError, match="needs behaviour log-probs"):
        apply_injections(groups, [Injection(0, 1, _traj("a", 1.0), None, "importance")])
    with pytest.raises(ValueError, match="do not match"):
        apply_injections(groups, [Injection(0, 1, _traj("a", 1.0), torch.zeros(2), "importance")])
