"""MathVision: letter or option text for MC, two-decimal numeric equality, math-verify for tuples; subject/level."""

from __future__ import annotations

import pytest
from benchmark_fixtures import mathvision_cases, write_split

from npo_bench.benchmark import make_benchmark


@pytest.fixture
def scored(tmp_path):
    cases = mathvision_cases()
    write_split(tmp_path, "test", [row for row, _, _ in cases])
    bench = make_benchmark("mathvision", {"data": str(tmp_path)})
    prompts = bench.load("test", None, 0)
    return bench, prompts, [bench.score(p, r) for p, (_, r, _) in zip(prompts, cases)], cases


def test_each_verdict(scored):
    _, prompts, verdicts, cases = scored
    assert [v.correct for v in verdicts] == [expected for _, _, expected in cases]
    rules = [p.meta["verifier"] for p in prompts]
    assert rules == ["mathvision_rule"] * 12
    assert "<image1>" not in prompts[0].question and "E. 5" in prompts[0].question


def test_aggregate_by_hand(scored):
    bench, prompts, verdicts, _ = scored
    scores = bench.aggregate(prompts, verdicts)
    assert scores["accuracy"] == pytest.approx(8 / 12)
    assert scores["level/1"] == pytest.approx(3 / 4)
    assert scores["level/2"] == pytest.approx(3 / 4)
    assert scores["level/3"] == pytest.approx(2 / 4)
    assert scores["subject/metric geometry - angle"] == pytest.approx(3 / 4)
    assert scores["subject/algebra"] == pytest.approx(5 / 8)
