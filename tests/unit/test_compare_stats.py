"""Mean ± 95% CI over seeds (Student t) and the learning-curve helpers, against hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from npo_bench.analysis.curves import final_by_step, metric_curve, steps_to_reach, updates_at
from npo_bench.compare.stats import mean_ci, t_cdf, t_quantile


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
