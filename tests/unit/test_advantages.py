"""Group advantages against hand-computed values."""

import math

import pytest
import torch

from npo_bench.grpo.advantages import group_advantages, mean_advantages, mean_std_advantages


def test_mean_std_matches_hand_computation_for_npo_worked_example():
    # NPO §3.3 worked example: 7 wrong on-policy samples + 1 correct guide in the last slot.
    rewards = torch.tensor([0.0] * 7 + [1.0])
    adv = mean_std_advantages(rewards, eps=1e-6)
    std = math.sqrt((7 * 0.125**2 + 0.875**2) / 7)  # unbiased: divide by n - 1 = 7
    assert adv[-1].item() == pytest.approx(0.875 / (std + 1e-6), rel=1e-6)
    assert adv[-1].item() == pytest.approx(2.4749, abs=1e-4)
    assert adv[0].item() == pytest.approx(-0.125 / (std + 1e-6), rel=1e-6)
    assert adv[0].item() == pytest.approx(-0.3536, abs=1e-4)


def test_mean_std_on_mixed_rewards():
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.5])
    adv = mean_std_advantages(rewards, eps=0.0)
    # mean 0.5, unbiased std sqrt((0.25 + 0.25) / 3)
    std = math.sqrt(0.5 / 3)
    assert adv.tolist() == pytest.approx([0.5 / std, -0.5 / std, 0.0, 0.0], rel=1e-6)


def test_uniform_group_gets_zero_advantage():
    assert mean_std_advantages(torch.ones(8)).abs().max().item() == 0.0
    assert mean_std_advantages(torch.zeros(8)).abs().max().item() == 0.0


@pytest.mark.parametrize("reward", [0.1, 0.3, 0.7, 1 / 3])
@pytest.mark.parametrize("size", [8, 9, 18])
def test_equal_non_dyadic_rewards_get_exactly_zero(reward, size):
    # e.g. all wrong but well formatted with trainer.format_weight = 0.1: the literal formula leaves a rounding
    # residue that the std normalisation blows up (|Â| = 0.056 for eight rewards of 0.7).
    rewards = torch.full((size,), reward)
    assert mean_std_advantages(rewards).tolist() == [0.0] * size
    assert mean_advantages(rewards).tolist() == [0.0] * size


def test_mean_only_has_no_std_normalisation():
    adv = mean_advantages(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert adv.tolist() == pytest.approx([0.75, -0.25, -0.25, -0.25])


def test_groups_of_different_sizes_are_normalised_separately():
    out = group_advantages([torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0])], "mean", 1e-6)
    assert out[0].tolist() == pytest.approx([0.5, -0.5])
    assert out[1].tolist() == pytest.approx([1 / 3, 1 / 3, -2 / 3])


def test_single_sample_group_is_zero_not_nan():
    assert mean_std_advantages(torch.tensor([1.0])).tolist() == [0.0]
