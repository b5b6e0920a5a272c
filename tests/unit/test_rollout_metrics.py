"""The per-step rollout statistics against hand-counted values."""

import dataclasses

import pytest

from npo_bench.grpo.groups import apply_injections
from npo_bench.testing import make_trajectory
from npo_bench.trainer.step import rollout_metrics
from npo_bench.types import Group, Injection, Prompt, Trajectory

WELL_FORMED = "<think>3 red</think><answer>3</answer>"
REVISION = "<think>j</think><answer>1</think><answer>2</think><answer>2</answer>"  # the drift seen at seed 0


def _trajectory(text: str, length: int, correct: bool, origin: str = "policy") -> Trajectory:
    return dataclasses.replace(make_trajectory("p", correct, origin, length), text=text)


def _groups() -> list[Group]:
    prompt = Prompt("p", "How many?", "3")
    first = Group(
        prompt,
        (
            _trajectory(WELL_FORMED, 12, True),
            _trajectory(REVISION, 26, True),
            _trajectory("<think>a b c d e", 32, False),  # cut at the cap
            _trajectory(WELL_FORMED, 12, True),
        ),
    )
    second = Group(prompt, tuple(_trajectory(WELL_FORMED, 10, False) for _ in range(4)))
    return [first, second]


def test_rollout_metrics_count_rewards_lengths_and_format():
    groups = _groups()
    metrics = rollout_metrics(groups, [], apply_injections(groups, []), max_new_tokens=32)
    assert metrics["reward/pass_rate"] == pytest.approx(3 / 8)
    assert metrics["reward/mean"] == pytest.approx(3 / 8)
    assert metrics["reward/all_zero_frac"] == pytest.approx(1 / 2)
    assert metrics["reward/all_one_frac"] == 0.0
    assert metrics["response/length_mean"] == pytest.approx((12 + 26 + 32 + 12 + 40) / 8)
    assert metrics["response/tokens"] == 122.0
    assert metrics["response/truncated_frac"] == pytest.approx(1 / 8)
    assert metrics["response/well_formed_frac"] == pytest.approx(6 / 8)  # not the revision, not the cut one
    assert metrics["guidance/injected_frac"] == 0.0


def test_injections_count_in_guidance_but_not_in_the_rollout_statistics():
    groups = _groups()
    guide = _trajectory(WELL_FORMED, 12, True, origin="guide@step-40")
    injections = [Injection(group_index=1, slot="last", trajectory=guide)]
    metrics = rollout_metrics(groups, injections, apply_injections(groups, injections), max_new_tokens=32)
    assert metrics["guidance/injected_frac"] == pytest.approx(1 / 8)
    assert metrics["guidance/groups_injected_frac"] == pytest.approx(1 / 2)
    assert metrics["reward/all_zero_frac"] == pytest.approx(1 / 2)  # the on-policy rollouts, before surgery
