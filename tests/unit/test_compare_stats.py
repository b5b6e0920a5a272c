"""Mean ± 95% CI over seeds (Student t) and the learning-curve helpers, against hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from npo_bench.analysis.curves import final_by_step, metric_curve, steps_to_reach, updates_at
from npo_bench.compare.stats import (
    bootstrap_mean_ci,
    holm,
    mean_ci,
    paired_difference,
    sign_test_p,
    t_cdf,
    t_quantile,
    t_test_p,
    verdict,
)


@pytest.mark.parametrize(
    ("df", "quantile"),
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (9, 2.2622), (30, 2.0423)],  # printed t tables
)
def test_t_quantile_matches_the_printed_table(df, quantile):
    assert t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-4)
    assert t_cdf(quantile, df) == pytest.approx(0.975, abs=1e-5)


def test_mean_ci_by_hand():
    # values 0.5, 0.7, 0.6: mean 0.6, s = 0.1, half-width = t_{0.975,2} · 0.1 / √3 = 4.302653 · 0.057735 = 0.248414
    est = mean_ci([0.5, 0.7, 0.6])
    assert est.mean == pytest.approx(0.6)
    assert est.half_width == pytest.approx(0.248414, abs=1e-6)
    assert (est.low, est.high, est.n) == (pytest.approx(0.351586, abs=1e-6), pytest.approx(0.848414, abs=1e-6), 3)
    # two seeds 0.40, 0.50: s = 0.0707107, half-width = 12.7062 · 0.0707107 / √2 = 0.635310
    assert mean_ci([0.4, 0.5]).half_width == pytest.approx(0.635310, abs=1e-5)


def test_mean_ci_with_one_or_no_value_has_no_interval():
    one = mean_ci([0.25])
    assert one.mean == 0.25 and math.isnan(one.half_width) and one.n == 1
    assert mean_ci([]).n == 0 and math.isnan(mean_ci([]).mean)


# a run with an NPO rollback: steps 1-2 scouted, rolled back to 0, replayed (updates keep counting)
RECORDS = [
    {"step": 0, "phase": "eval", "eval/accuracy": 0.10},
    {"step": 1, "phase": "scout", "train/updates": 1},
    {"step": 2, "phase": "scout", "train/updates": 2},
    {"step": 1, "phase": "train", "train/updates": 3, "policy/entropy": 0.9},
    {"step": 2, "phase": "train", "train/updates": 4, "policy/entropy": 0.8},
    {"step": 2, "phase": "eval", "eval/accuracy": 0.30},
    {"step": 3, "phase": "train", "train/updates": 5, "policy/entropy": 0.7},
    {"step": 4, "phase": "train", "train/updates": 6},
    {"step": 4, "phase": "eval", "eval/accuracy": 0.25},
]


def test_curves_keep_the_last_record_of_each_step():
    assert list(final_by_step(RECORDS, "train")) == [1, 2, 3, 4]
    assert metric_curve(RECORDS, "eval", "eval/accuracy") == {0: 0.10, 2: 0.30, 4: 0.25}
    assert metric_curve(RECORDS, "train", "policy/entropy") == {1: 0.9, 2: 0.8, 3: 0.7}  # step 4 lacks it


def test_steps_to_reach_and_compute_honest_updates():
    curve = metric_curve(RECORDS, "eval", "eval/accuracy")
    assert steps_to_reach(curve, 0.25) == 2 and steps_to_reach(curve, 0.05) == 2  # step 0 never counts
    assert steps_to_reach(curve, 0.5) is None
    assert updates_at(RECORDS, 2) == 4  # 2 guided steps cost 4 updates (2 scouts)
    assert updates_at(RECORDS, 9) is None


# ---- paired differences -------------------------------------------------------------------------------------------


def test_paired_difference_by_hand():
    # method − reference per seed: +0.02, +0.04, +0.03, +0.05, +0.01 → mean 0.03, s = 0.0158114,
    # t half-width = 2.776445 · 0.0158114 / √5 = 0.0196324
    pairs = [(0, 0.42, 0.40), (1, 0.54, 0.50), (2, 0.33, 0.30), (3, 0.45, 0.40), (4, 0.41, 0.40)]
    diff = paired_difference(pairs)
    assert diff.seeds == (0, 1, 2, 3, 4)
    assert diff.mean == pytest.approx(0.03)
    assert diff.sd == pytest.approx(0.0158114, abs=1e-6)
    assert (diff.t_low, diff.t_high) == (pytest.approx(0.0103676, abs=1e-6), pytest.approx(0.0496324, abs=1e-6))
    assert (diff.wins, diff.losses, diff.ties) == (5, 0, 0)
    assert diff.sign_p == pytest.approx(2 / 32)  # 5 of 5: two-sided exact sign test
    # the bootstrap interval lies inside the range of the differences and around the mean, and is reproducible
    assert 0.01 <= diff.boot_low < 0.03 < diff.boot_high <= 0.05
    assert (diff.boot_low, diff.boot_high) == (paired_difference(pairs).boot_low, paired_difference(pairs).boot_high)
    assert diff.resolved and "resolved, CI excludes 0" in verdict(diff, "npo", "grpo")
    assert "npo is above grpo at n = 5 seeds" in verdict(diff, "npo", "grpo")


def test_paired_difference_that_straddles_zero_is_not_resolved():
    diff = paired_difference([(0, 0.40, 0.38), (1, 0.35, 0.39), (2, 0.44, 0.41), (3, 0.37, 0.38), (4, 0.45, 0.40)])
    assert (diff.wins, diff.losses) == (3, 2) and diff.sign_p == pytest.approx(1.0)
    assert diff.t_low < 0 < diff.t_high and not diff.resolved
    words = verdict(diff, "luffy", "grpo")
    assert "not resolved, CI includes 0" in words and "3 of 5 seeds above grpo, 2 below" in words
    assert "+1.00 points" in words  # +0.02 −0.04 +0.03 −0.01 +0.05: mean 0.01, shown in points


def test_paired_difference_needs_two_seeds_for_an_interval():
    diff = paired_difference([(3, 0.5, 0.4)])
    assert diff.n == 1 and math.isnan(diff.t_low) and math.isnan(diff.boot_low) and not diff.resolved
    assert "not resolved (one seed has no interval)" in verdict(diff, "npo", "grpo")
    assert "no seed has both runs" in verdict(paired_difference([]), "npo", "grpo")


def test_bootstrap_matches_its_definition_on_two_values():
    # two values a < b: a resample's mean is a (¼), (a+b)/2 (½) or b (¼); the 2.5% and 97.5% quantiles are a and b
    low, high = bootstrap_mean_ci([0.0, 1.0], resamples=4000)
    assert (low, high) == (0.0, 1.0)
    low, high = bootstrap_mean_ci([0.0, 1.0], level=0.4, resamples=4000)  # the 30%/70% quantiles: the middle value
    assert (low, high) == (0.5, 0.5)


def test_sign_test_p_values():
    assert sign_test_p(5, 0) == pytest.approx(0.0625)
    assert sign_test_p(4, 1) == pytest.approx(0.375)  # 2 · (1 + 5) / 32
    assert sign_test_p(0, 0) == 1.0 and sign_test_p(3, 3) == 1.0


def test_paired_t_p_values_at_known_quantiles():
    # differences a ± 1, a, a, a: s = 1/√2, se = 1/√10, t = a·√10; at t = t_{0.995,4} = 4.604095 the two-sided p is
    # 0.01, at t_{0.975,4} = 2.776445 it is 0.05 (the CI then touches 0)
    for t, p in ((4.604095, 0.01), (2.776445, 0.05)):
        a = t / math.sqrt(10)
        assert t_test_p([a - 1, a + 1, a, a, a]) == pytest.approx(p, abs=1e-6)
        assert t_test_p([-a + 1, -a - 1, -a, -a, -a]) == pytest.approx(p, abs=1e-6)  # two-sided
    assert t_test_p([0.02, 0.02]) == 0.0 and t_test_p([0.0, 0.0]) == 1.0 and math.isnan(t_test_p([0.1]))
    diff = paired_difference([(0, 0.42, 0.40), (1, 0.54, 0.50), (2, 0.33, 0.30), (3, 0.45, 0.40), (4, 0.41, 0.40)])
    assert diff.t_p < 0.05 and diff.t_excludes_zero  # the test and the interval agree


def test_holm_adjusts_in_rank_order_and_keeps_it_monotone():
    # m = 3: 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1 = 0.04 → raised to 0.06 (adjusted p never falls with rank)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    adjusted = holm([0.02, math.nan, 0.01])  # NaN (one seed) is not one of the m tests: m = 2
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)
