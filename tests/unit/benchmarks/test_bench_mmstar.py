"""MMStar: letter/option-text verdicts as the official rule gives them, option parsing, capability sub-scores."""

from __future__ import annotations

import pytest
from benchmark_fixtures import mmstar_cases, write_split

from npo_bench.benchmark import make_benchmark
from npo_bench_benchmarks.mmstar.rules import split_options


@pytest.fixture
def scored(tmp_path):
    cases = mmstar_cases()
    write_split(tmp_path, "val", [row for row, _, _ in cases])
    bench = make_benchmark("mmstar", {"data": str(tmp_path)})
    prompts = bench.load("val", None, 0)
    return bench, prompts, [bench.score(p, r) for p, (_, r, _) in zip(prompts, cases)], cases


def test_each_verdict(scored):
    _, prompts, verdicts, cases = scored
    assert [v.correct for v in verdicts] == [expected for _, _, expected in cases]
    assert verdicts[1].extracted == "B" and verdicts[1].rule == "official:can_infer_text"
    assert verdicts[8].rule == "official:can_infer_option"


def test_options_are_parsed_out_of_the_question():
    assert split_options("What?\nOptions: A: a cat, B: a dog, C: 1, 2, D: none") == (
        "What?",
        ["a cat", "a dog", "1, 2", "none"],
    )
    assert split_options("No options here") == ("No options here", [])


def test_prompt_lists_options_and_ends_with_the_instruction(scored):
    _, prompts, _, _ = scored
    assert "Question: What animal is shown?\nOptions:\nA. a cat\nB. a dog" in prompts[0].question
    assert prompts[0].question.endswith("(or \\boxed{LETTER}).") and prompts[9].meta["verify_options"] == {
        "n_options": 4
    }


def test_aggregate_by_hand(scored):
    bench, prompts, verdicts, _ = scored
    scores = bench.aggregate(prompts, verdicts)
    assert scores["accuracy"] == pytest.approx(6 / 10)
    assert scores["category/coarse perception"] == 1.0
    assert scores["category/fine-grained perception"] == pytest.approx(1 / 3)
    assert scores["category/math"] == 0.0
    assert scores["category/logical reasoning"] == 1.0
    assert scores["l2_category/attribute recognition"] == pytest.approx(1 / 3)
    assert len([k for k in scores if k.startswith("category/")]) == 4


def test_answer_must_be_a_letter(tmp_path):
    row, _, _ = mmstar_cases()[0]
    write_split(tmp_path, "val", [{**row, "answer": "cat"}])
    with pytest.raises(Exception, match="val.jsonl row 1: field 'answer': 'CAT' is not an option letter"):
        make_benchmark("mmstar", {"data": str(tmp_path)}).load("val", None, 0)
