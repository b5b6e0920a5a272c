"""MathVista: every fixture verdict as the official rules give it, and the aggregate sub-scores by hand."""

from __future__ import annotations

import pytest
from benchmark_fixtures import mathvista_cases, write_split

from npo_bench.benchmark import make_benchmark


@pytest.fixture
def scored(tmp_path):
    cases = mathvista_cases()
    write_split(tmp_path, "testmini", [row for row, _, _ in cases])
    bench = make_benchmark("mathvista", {"data": str(tmp_path)})
    prompts = bench.load("testmini", None, 0)
    verdicts = [bench.score(p, response) for p, (_, response, _) in zip(prompts, cases)]
    return bench, prompts, verdicts, cases


def test_each_verdict_follows_the_official_rule(scored):
    _, prompts, verdicts, cases = scored
    assert len(prompts) == 12
    got = {p.id: v.correct for p, v in zip(prompts, verdicts)}
    assert got == {f"mathvista/{row['pid']}": expected for row, _, expected in cases}


def test_rules_and_extracted_answers(scored):
    _, prompts, verdicts, _ = scored
    by_id = {p.id: (p, v) for p, v in zip(prompts, verdicts)}
    prompt, verdict = by_id["mathvista/1"]
    assert prompt.meta["verifier"] == "mathvista_rule" and verdict.extracted == "35°"
    assert verdict.rule == "ours:answer_tag"  # the official rule path would have its LLM extract "B"
    options = {"question_type": "free_form", "answer_type": "float", "precision": 1}
    assert by_id["mathvista/6"][0].meta["verify_options"] == options
    assert by_id["mathvista/4"][1].rule == "ours:boxed"
    assert by_id["mathvista/12"][1].reason == "no answer found"
    assert "Choices:\nA. 145°\nB. 35°" in prompt.question and prompt.question.rstrip().endswith("(or \\boxed{LETTER}).")
    assert "(Unit: cm)" in by_id["mathvista/11"][0].question
    assert prompt.image is not None and prompt.image.size == (64, 48)


def test_aggregate_sub_scores_by_hand(scored):
    bench, prompts, verdicts, _ = scored
    scores = bench.aggregate(prompts, verdicts)
    assert scores["accuracy"] == pytest.approx(7 / 12)
    assert scores["task/geometry problem solving"] == pytest.approx(2 / 3)
    assert scores["task/visual question answering"] == pytest.approx(1 / 2)
    assert scores["task/figure question answering"] == pytest.approx(2 / 4)  # 6 ✓, 7 ✗, 8 ✓, 9 ✗
    assert scores["task/math word problem"] == pytest.approx(1 / 2)
    assert scores["task/textbook question answering"] == 1.0
    assert scores["skill/statistical reasoning"] == pytest.approx(2 / 4)  # 6 ✓, 7 ✗, 8 ✓, 9 ✗
    assert scores["skill/geometry reasoning"] == pytest.approx(2 / 3)
    assert scores["skill/arithmetic reasoning"] == pytest.approx(3 / 6)  # 4 ✓, 5 ✗, 6 ✓, 7 ✗, 11 ✓, 12 ✗
    assert scores["question_type/multi_choice"] == pytest.approx(2 / 3)
    assert scores["answer_type/float"] == pytest.approx(1 / 2)


def test_a_multi_choice_gold_outside_the_choices_names_row_and_field(tmp_path):
    row, _, _ = mathvista_cases()[0]
    write_split(tmp_path, "testmini", [{**row, "answer": "90°"}])
    with pytest.raises(Exception, match=r"testmini.jsonl row 1: field 'answer': '90°' is not one of the choices"):
        make_benchmark("mathvista", {"data": str(tmp_path)}).load("testmini", None, 0)
