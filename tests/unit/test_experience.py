"""ExGRPO's experience pool: collection, retirement, Gaussian bucket weights (χ² test), sampling without replacement."""

import math
import random

import pytest
import torch

from npo_bench.experience import ExperiencePool, bucket_probabilities, bucket_weight, sample_buckets
from npo_bench.types import Group, Prompt, Trajectory


def _group(prompt_id: str, verdicts: list[bool], texts: list[str] | None = None) -> Group:
    texts = texts or [f"answer {i}" for i in range(len(verdicts))]
    trajectories = tuple(
        Trajectory(prompt_id, torch.tensor([1, 2]), text, torch.tensor([-0.5, -0.25]), float(ok), ok)
        for ok, text in zip(verdicts, texts)
    )
    return Group(Prompt(prompt_id, "q", "1"), trajectories)


def test_bucket_weights_are_gaussian_around_half_the_group():
    assert bucket_weight(4, 4.0, 1.0) == 1.0
    assert bucket_weight(3, 4.0, 1.0) == pytest.approx(math.exp(-0.5))
    assert bucket_weight(1, 4.0, 1.0) == pytest.approx(math.exp(-4.5))
    probs = bucket_probabilities({1: 5, 4: 2, 7: 9, 5: 0}, 4.0, 1.0)
    total = 1 + 2 * math.exp(-4.5)
    assert probs == pytest.approx({1: math.exp(-4.5) / total, 4: 1 / total, 7: math.exp(-4.5) / total})
    assert 5 not in probs  # empty buckets are never drawn


def test_bucket_sampling_matches_the_gaussian_weights_chi_square():
    buckets = {k: [f"k{k}-{i}" for i in range(200)] for k in range(1, 8)}
    expected = bucket_probabilities({k: len(v) for k, v in buckets.items()}, 4.0, 1.0)
    rng = random.Random(0)
    draws = 20000
    observed = dict.fromkeys(buckets, 0)
    for _ in range(draws // 4):
        for prompt_id in sample_buckets(buckets, 4, 4.0, 1.0, rng):
            observed[int(prompt_id[1])] += 1
    chi2 = sum((observed[k] - draws * p) ** 2 / (draws * p) for k, p in expected.items())
    assert chi2 < 22.458  # χ²(6 dof) at p = 0.001
    uniform = sum((observed[k] - draws / 7) ** 2 / (draws / 7) for k in buckets)
    assert uniform > 1000  # the test has power: a uniform bucket choice would be rejected outright
    assert observed[4] / draws == pytest.approx(expected[4], abs=0.01)  # ≈ 0.40


def test_sampling_is_without_replacement_and_refills_from_other_buckets():
    buckets = {4: ["a", "b"], 1: ["c", "d", "e"]}
    drawn = sample_buckets(buckets, 4, 4.0, 1.0, random.Random(1))
    assert len(drawn) == 4 and len(set(drawn)) == 4
    assert {"a", "b"} <= set(drawn)  # the favoured bucket is exhausted first, the shortfall comes from k = 1
    assert sorted(sample_buckets(buckets, 10, 4.0, 1.0, random.Random(2))) == ["a", "b", "c", "d", "e"]
    assert sample_buckets({}, 3, 4.0, 1.0, random.Random(0)) == []


def test_pool_collects_partial_successes_dedupes_and_retires_full_solves():
    pool = ExperiencePool(group_size=4)
    pool.record(_group("none", [False] * 4))
    pool.record(_group("half", [True, True, False, False], ["x", "x", "y", "z"]))  # duplicate text "x"
    pool.record(_group("all", [True] * 4))
    assert list(pool.trajectories) == ["half"] and len(pool) == 1
    assert [t.text for t in pool.trajectories["half"]] == ["x"]
    assert pool.latest_k == {"half": 2} and pool.retired == {"all"}
    pool.record(_group("half", [True, False, False, False], ["w", "a", "b", "c"]))  # seen again: k moves, "w" added
    assert pool.latest_k == {"half": 1} and [t.text for t in pool.trajectories["half"]] == ["x", "w"]
    assert pool.buckets() == {1: ["half"]}
    pool.record(_group("half", [False] * 4))  # failed completely: stays, in bucket 0
    assert pool.buckets() == {0: ["half"]}
    pool.record(_group("half", [True] * 4))
    assert len(pool) == 0 and pool.retired == {"all", "half"}
