"""Q(Δ), V(Δ), S(Δ) and Δ* (the NPO paper's §5) on hand-computed inputs."""

from __future__ import annotations

import math

import pytest
import torch

from npo_bench.analysis.qvs import QVSPoint, WeightStats, best_delta, signal_quality, weight_stats


def test_q_is_the_solved_fraction_of_prompts_the_base_fails():
    base = {"a": [False, False], "b": [False, False], "c": [True, False], "d": [False, False]}
    guide = {"a": [False, True], "b": [False, False], "c": [False, False], "d": [True, True]}
    assert signal_quality(base, guide) == (pytest.approx(2 / 3), 3, 2)  # a, b, d failed; a and d solved
    q, failed, solved = signal_quality({"c": [True]}, {"c": [True]})
    assert math.isnan(q) and (failed, solved) == (0, 0)


def test_weight_statistics_by_hand():
    # two tokens: π_t = 0.5, 0.25 and π_{t+Δ} = 0.5, 0.5 → w = 1, 0.5
    base = [torch.log(torch.tensor([0.5, 0.25]))]
    guide = [torch.log(torch.tensor([0.5, 0.5]))]
    stats = weight_stats(base, guide)
    assert stats.tokens == 2
    assert stats.variance == pytest.approx(0.0625)  # mean 0.75, deviations ± 0.25
    assert stats.v == pytest.approx(0.625 / 0.5625)  # E[w²] = (1 + 0.25)/2, E[w]² = 0.5625
    assert stats.kl_per_token == pytest.approx(math.log(2) / 2)
    same = weight_stats(base, base)
    assert (same.variance, same.v, same.kl_per_token) == (0.0, 1.0, 0.0)


def test_best_delta_maximises_s_and_prefers_the_smaller_on_ties():
    def point(delta, q, v):
        return QVSPoint(delta, q, 10, 0 if math.isnan(q) else round(10 * q), WeightStats(0.0, v, 0.0, 5))

    points = [point(10, 0.2, 1.0), point(20, 0.5, 1.25), point(40, 0.6, 2.0)]
    assert [p.s for p in points] == [pytest.approx(0.2), pytest.approx(0.4), pytest.approx(0.3)]
    assert best_delta(points) == 20
    assert best_delta([point(10, 0.4, 1.0), point(20, 0.8, 2.0)]) == 10
    assert best_delta([point(10, math.nan, 1.0)]) is None
