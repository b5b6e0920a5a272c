"""WeMath: per-question letter verdicts and the four-dimensional metric (IK/IG/CM/RM, strict/loose) by hand."""

from __future__ import annotations

import pytest
from benchmark_fixtures import wemath_cases, write_split

from npo_bench.benchmark import make_benchmark
from npo_bench_benchmarks.wemath.plugin import split_option_string


@pytest.fixture
def folder(tmp_path):
    return write_split(tmp_path, "testmini", [row for row, _, _ in wemath_cases()], ("image_path",))


def _scored(folder, size=None):
    cases = wemath_cases()
    bench = make_benchmark("wemath", {"data": str(folder)})
    prompts = bench.load("testmini", size, 0)
    return bench, prompts, [bench.score(p, r) for p, (_, r, _) in zip(prompts, cases)], cases


def test_option_string_is_split():
    assert split_option_string("A. 3; B. 4 cm; C. 5") == ["3", "4 cm", "5"]
    assert split_option_string("3 or 4") == []


def test_each_verdict(folder):
    _, prompts, verdicts, cases = _scored(folder)
    assert [v.correct for v in verdicts] == [expected for _, _, expected in cases]


def test_four_dimensional_metric_by_hand(folder):
    bench, prompts, verdicts, _ = _scored(folder)
    scores = bench.aggregate(prompts, verdicts)
    assert scores["problems"] == 5 and scores["problems_incomplete"] == 0
    assert scores["IK"] == pytest.approx(1 / 5) and scores["IG"] == pytest.approx(1 / 5)
    assert scores["CM_strict"] == pytest.approx(1 / 5) and scores["RM_strict"] == pytest.approx(2 / 5)
    assert scores["CM_loose"] == pytest.approx(2 / 5) and scores["RM_loose"] == pytest.approx(1 / 5)
    assert scores["score_strict"] == pytest.approx((5 - 0.5 - 2 - 1) / 5)
    assert scores["score_loose"] == pytest.approx((5 - 0.5 - 1 - 1) / 5)
    assert scores["accuracy"] == pytest.approx(11 / 18)
    assert scores["step/1"] == pytest.approx(1 / 2)
    assert scores["step/2"] == pytest.approx(8 / 12)
    assert scores["step/3"] == pytest.approx(2 / 4)


def test_a_truncated_problem_is_counted_incomplete(folder):
    bench, prompts, verdicts, _ = _scored(folder, size=16)  # drops 3steps_3 and 3steps_multi of problem 20
    scores = bench.aggregate(prompts, verdicts)
    assert scores["problems"] == 4 and scores["problems_incomplete"] == 1
    assert scores["score_strict"] == pytest.approx((4 - 0.5 - 2 - 0) / 4)
