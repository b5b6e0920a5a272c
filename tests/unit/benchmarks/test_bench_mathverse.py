"""MathVerse: vision-only by default, every version on request, rule-mode verdicts and per-version scores."""

from __future__ import annotations

import pytest
from benchmark_fixtures import mathverse_cases, write_split

from npo_bench.benchmark import make_benchmark
from npo_bench.errors import UserError


@pytest.fixture
def folder(tmp_path):
    return write_split(tmp_path, "testmini", [row for row, _, _ in mathverse_cases()])


def _score(bench, prompts):
    responses = {f"mathverse/{row['sample_index']}": (r, e) for row, r, e in mathverse_cases()}
    verdicts = [bench.score(p, responses[p.id][0]) for p in prompts]
    return verdicts, [responses[p.id][1] for p in prompts]


def test_vision_only_is_the_default(folder):
    bench = make_benchmark("mathverse", {"data": str(folder)})
    prompts = bench.load("testmini", None, 0)
    assert {p.meta["problem_version"] for p in prompts} == {"Vision Only"} and len(prompts) == 6
    verdicts, expected = _score(bench, prompts)
    assert [v.correct for v in verdicts] == expected
    scores = bench.aggregate(prompts, verdicts)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["mode/rule"] == 1.0


def test_all_versions_and_per_version_scores(folder):
    bench = make_benchmark("mathverse", {"data": str(folder), "versions": "all"})
    prompts = bench.load("testmini", None, 0)
    verdicts, expected = _score(bench, prompts)
    assert len(prompts) == 12 and [v.correct for v in verdicts] == expected
    scores = bench.aggregate(prompts, verdicts)
    assert scores["accuracy"] == pytest.approx(7 / 12)
    assert scores["problem_version/Vision Only"] == pytest.approx(4 / 6)
    assert scores["problem_version/Text Dominant"] == pytest.approx(3 / 6)
    assert scores["subject/Functions"] == pytest.approx(2 / 4)
    assert scores["subject/Solid Geometry"] == pytest.approx(2 / 4)
    assert scores["question_type/multi-choice"] == pytest.approx(2 / 4)


def test_limit_counts_loaded_items_and_bad_versions_are_named(folder):
    assert len(make_benchmark("mathverse", {"data": str(folder)}).load("testmini", 2, 0)) == 2
    with pytest.raises(UserError, match="unknown MathVerse version"):
        make_benchmark("mathverse", {"versions": ["Vision Only", "Vision Heavy"]})
