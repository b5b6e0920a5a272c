"""MMMU-Pro: 10-option standard and vision verdicts, overall = mean of the two settings, disciplines by hand."""

from __future__ import annotations

import pytest
from benchmark_fixtures import mmmu_pro_cases, write_split

from npo_bench.benchmark import make_benchmark


@pytest.fixture
def scored(tmp_path):
    standard, vision = mmmu_pro_cases()
    write_split(tmp_path, "standard10", [row for row, _, _ in standard], ("image_1",))
    write_split(tmp_path, "vision", [row for row, _, _ in vision])
    bench = make_benchmark("mmmu_pro", {"data": str(tmp_path)})
    prompts = bench.load("test", None, 0)
    cases = standard + vision
    return bench, prompts, [bench.score(p, r) for p, (_, r, _) in zip(prompts, cases)], cases


def test_each_verdict(scored):
    _, prompts, verdicts, cases = scored
    assert [p.meta["setting"] for p in prompts] == ["standard"] * 6 + ["vision"] * 6
    assert [v.correct for v in verdicts] == [expected for _, _, expected in cases]
    assert verdicts[1].rule == "official:answer_colon" and verdicts[4].reason == "no answer found"
    assert verdicts[4].rule == "ours:no_random_guess"  # the official parser would pick a random letter


def test_prompts(scored):
    _, prompts, _, _ = scored
    assert "J. opt 9" in prompts[0].question and prompts[0].meta["verify_options"]["options"][9] == "opt 9"
    assert prompts[6].question.startswith("The question and its options are shown in the image.")
    assert prompts[6].meta["verify_options"]["options"][0] == "opt 0"  # the official parser has them in both settings


def test_overall_is_the_mean_of_standard_and_vision(scored):
    bench, prompts, verdicts, _ = scored
    scores = bench.aggregate(prompts, verdicts)
    assert scores["setting/standard"] == pytest.approx(4 / 6)
    assert scores["setting/vision"] == pytest.approx(3 / 6)
    assert scores["overall"] == pytest.approx((4 / 6 + 3 / 6) / 2)
    assert scores["discipline/Humanities and Social Science"] == 1.0
    assert scores["discipline/Science"] == pytest.approx(3 / 6)
    assert scores["discipline/Health and Medicine"] == pytest.approx(1 / 2)
    assert scores["subject/Art_Theory"] == pytest.approx(1 / 2)


def test_one_setting_alone_has_no_overall(tmp_path):
    _, vision = mmmu_pro_cases()
    write_split(tmp_path, "vision", [row for row, _, _ in vision])
    bench = make_benchmark("mmmu_pro", {"data": str(tmp_path)})
    prompts = bench.load("vision", 3, 0)
    scores = bench.aggregate(prompts, [bench.score(p, r) for p, (_, r, _) in zip(prompts, vision)])
    assert len(prompts) == 3 and "overall" not in scores and scores["accuracy"] == pytest.approx(2 / 3)


def test_standard_row_without_images_is_named(tmp_path):
    standard, _ = mmmu_pro_cases()
    write_split(tmp_path, "standard10", [{**standard[0][0], "image_1": None}], ("image_1",))
    with pytest.raises(Exception, match="standard10.jsonl row 1: field 'image_1': no image"):
        make_benchmark("mmmu_pro", {"data": str(tmp_path)}).load("standard", None, 0)
